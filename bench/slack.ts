/**
 * Slack slash-command round trip through the real Bolt app in HTTP mode on loopback: from the signed request being
 * sent to respond()'s post reaching the fake Slack's response_url, p50 and p99 over 500 commands (after a warm-up).
 * Target p99 <= 50 ms; Slack's own deadline for the ack is 3,000 ms.
 */
import { stringify } from 'node:querystring';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createIncidentService } from '../src/core/create-service.js';
import { BUNDLED_DATA_DIR, loadIncidentDir } from '../src/core/load-data.js';
import { slackSignature } from '../test/support/fake-slack.js';
import { startTestSlackBot } from '../test/support/fake-slack-bot.js';
import { slashCommandPayload } from '../test/support/fake-slack-payloads.js';

const COMMANDS_TIMED = 500;
const WARM_UP = 50;
/** What the commands ask, in turn: answers, lists, help and a miss, as people type them. */
const TEXTS = ['skyecc', 'what happened with Sky ECC?', 'encrochat', 'recent 5', 'search ransomware', 'help', 'labhost', 'no such thing'];

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
}

/** Prints p50/p99 (and mean, max) of 500 signed slash-command round trips: request sent -> respond() reaching the fake. */
export async function benchSlack(): Promise<void> {
  const incidents = loadIncidentDir(BUNDLED_DATA_DIR);
  const bot = await startTestSlackBot('http', { service: createIncidentService(incidents) });
  try {
    const times: number[] = [];
    for (let i = 0; i < WARM_UP + COMMANDS_TIMED; i += 1) {
      const url = bot.fake.responseUrl();
      const body = stringify(slashCommandPayload({ text: TEXTS[i % TEXTS.length], response_url: url }));
      const timestamp = Math.floor(Date.now() / 1000);
      const headers = {
        'content-type': 'application/x-www-form-urlencoded',
        'x-slack-request-timestamp': String(timestamp),
        'x-slack-signature': slackSignature(bot.signingSecret, timestamp, body),
      };
      const id = url.split('/').pop()!;
      const arrived = bot.fake.waitForResponse((r) => r.id === id, 5000);
      const sent = performance.now();
      const ack = await fetch(bot.endpoint!, { method: 'POST', headers, body });
      if (ack.status !== 200) throw new Error(`Bolt answered ${ack.status}`);
      // A command answered within the ack budget carries its answer in this response body.
      bot.fake.recordAckAnswer(url, await ack.text());
      const response = await arrived;
      if (response.problems.length) throw new Error(`invalid message: ${response.problems.join('; ')}`);
      if (i >= WARM_UP) times.push(response.at - sent);
    }
    times.sort((a, b) => a - b);
    const mean = times.reduce((a, b) => a + b, 0) / times.length;
    const f = (x: number) => `${x.toFixed(2)} ms`;
    console.log(`  slack /incident round trip (HTTP mode, ${incidents.length} bundled records, ${COMMANDS_TIMED} commands after ${WARM_UP} warm-up)`);
    console.log(`    p50 ${f(percentile(times, 0.5))}  p99 ${f(percentile(times, 0.99))}  mean ${f(mean)}  max ${f(times.at(-1)!)}  (target p99 <= 50 ms)`);
  } finally {
    await bot.close();
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  benchSlack().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}

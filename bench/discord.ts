/**
 * Discord interaction round trips through the real discord.js client on loopback, against the fake Discord: from the
 * INTERACTION_CREATE frame being written to the bot's callback reaching the fake, p50 and p99 over 1,000 slash
 * commands and 1,000 autocompletes (after a warm-up), one at a time. Targets: p99 <= 50 ms for answers and <= 20 ms
 * for autocomplete; Discord's own deadline is 3,000 ms.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createIncidentService } from '../src/core/create-service.js';
import { BUNDLED_DATA_DIR, loadIncidentDir } from '../src/core/load-data.js';
import { messageLimitViolations } from '../src/adapters/discord/render.js';
import { startFakeDiscordBot, type FakeDiscordBot } from '../test/support/fake-discord-bot.js';
import type { SentInteraction } from '../test/support/fake-discord.js';

const TIMED = 1_000;
const WARM_UP = 50;
/** What people type, in turn: names, aliases, a question, a near miss, a miss. */
const QUERIES = ['skyecc', 'Operation Argus', 'what happened with Sky ECC?', 'encrochat', 'labhost', 'water utilities', 'operation', 'no such thing'];
/** Partial words as autocomplete sends them while someone types. */
const PREFIXES = ['s', 'sk', 'sky', 'sky e', 'enc', 'encro', 'lab', 'labh', 'ukr', 'rus', 'op', ''];

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
}

async function timeRoundTrips(bot: FakeDiscordBot, send: (i: number) => SentInteraction, check: (body: any) => void): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < WARM_UP + TIMED; i += 1) {
    const sent = send(i);
    const callback = await bot.fake.waitForCallback(sent, 5_000);
    check(callback.body);
    if (i >= WARM_UP) times.push(callback.at - sent.sentAt);
  }
  // The fake keeps every request; drop them so the next series does not scan the old ones.
  bot.fake.requests.length = 0;
  return times.sort((a, b) => a - b);
}

function line(label: string, times: number[], target: number): string {
  const f = (x: number) => `${x.toFixed(2)} ms`;
  const mean = times.reduce((a, b) => a + b, 0) / times.length;
  return `    ${label}: p50 ${f(percentile(times, 0.5))}  p99 ${f(percentile(times, 0.99))}  mean ${f(mean)}  max ${f(times.at(-1)!)}  (target p99 <= ${target} ms)`;
}

/** Prints p50/p99 (and mean, max) of 1,000 slash-command and 1,000 autocomplete round trips through discord.js. */
export async function benchDiscord(): Promise<void> {
  const incidents = loadIncidentDir(BUNDLED_DATA_DIR);
  const bot = await startFakeDiscordBot({ service: createIncidentService(incidents) });
  try {
    const answers = await timeRoundTrips(
      bot,
      (i) => bot.fake.sendSlashCommand('incident', { query: QUERIES[i % QUERIES.length] }),
      (body) => {
        const data = body?.data ?? {};
        const problems = messageLimitViolations({ content: data.content, embeds: data.embeds ?? [], components: data.components ?? [] });
        if (body?.type !== 4 || problems.length) throw new Error(`bad reply: type ${body?.type}; ${problems.join('; ')}`);
      },
    );
    const completions = await timeRoundTrips(
      bot,
      (i) => bot.fake.sendAutocomplete('incident', 'query', PREFIXES[i % PREFIXES.length]),
      (body) => {
        if (body?.type !== 8 || !Array.isArray(body.data?.choices)) throw new Error(`bad autocomplete reply: ${JSON.stringify(body)}`);
      },
    );
    console.log(`  discord (gateway + REST on loopback, ${incidents.length} bundled records, ${TIMED} each after ${WARM_UP} warm-up)`);
    console.log(line('/incident     ', answers, 50));
    console.log(line('autocomplete  ', completions, 20));
  } finally {
    await bot.stop();
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  benchDiscord().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}

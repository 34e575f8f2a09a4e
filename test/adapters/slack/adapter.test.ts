import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createIncidentService } from '../../../src/core/create-service.js';
import { parseIncident, type Incident } from '../../../src/core/incident.js';
import { BUNDLED_DATA_DIR, loadIncidentDir } from '../../../src/core/load-data.js';
import { messageTexts } from '../../support/fake-slack-blocks.js';
import { settle, startTestSlackBot, type TestSlackBot } from '../../support/fake-slack-bot.js';
import { appMentionBody, messageBody, shareClickPayload, slashCommandPayload, unique } from '../../support/fake-slack-payloads.js';
import { spyOnService, type FakeSlackService } from '../../support/fake-slack-service.js';

const HOSTILE_TITLE = 'Hostile <!channel> @here <https://evil.example|click>';

/** A record whose title and summary try to ping everyone and forge a link. */
const HOSTILE: Incident = parseIncident({
  id: 'test:hostile',
  kind: 'incident',
  title: HOSTILE_TITLE,
  aliases: ['hostiletest'],
  summary: 'Summary with <!everyone> and <@U999> and a <https://evil.example|fake link> & more.',
  sources: [{ url: 'https://ok.example/report', title: 'Report <!here> | part 2' }],
});

/** A record far beyond every Slack limit: a 20,000-character summary and 60 sources. */
const HUGE: Incident = parseIncident({
  id: 'test:huge',
  kind: 'incident',
  title: 'Huge dump of everything',
  aliases: ['hugetest'],
  summary: Array.from({ length: 2500 }, (_, i) => `word${i}`).join(' ').slice(0, 20_000),
  sources: Array.from({ length: 60 }, (_, i) => ({ url: `https://news.example.com/${i}?q=${'x'.repeat(100)}`, title: `Source ${i}` })),
});

/** The bundled records (Sky ECC is seed:skyecc-2021) and the two hostile ones, through the real incident service. */
const INCIDENTS = [...loadIncidentDir(BUNDLED_DATA_DIR), HOSTILE, HUGE];

/** Every `<...>` sequence in a message must be a link we made to an http(s) URL. */
function assertOnlyOurLinks(message: Record<string, any>): void {
  for (const text of messageTexts(message)) {
    for (const seq of text.match(/<[^>]*>/g) ?? []) {
      if (/^<@U0001>$/.test(seq)) continue; // "Shared by", built from Slack's own user id
      assert.match(seq, /^<https?:\/\/[^|<>\s]+\|[^|<>]*>$/, `unexpected ${seq}`);
    }
  }
}

for (const mode of ['socket', 'http'] as const) {
  describe(`Slack adapter in ${mode} mode`, () => {
    let bot: TestSlackBot;
    let service: FakeSlackService;

    before(async () => {
      service = spyOnService(createIncidentService(INCIDENTS), { throwOn: 'explode now' });
      bot = await startTestSlackBot(mode, { service });
    });
    after(async () => {
      await bot.close();
    });

    async function command(text: string, channel = unique('C')) {
      const url = bot.fake.responseUrl();
      await bot.driver.command(slashCommandPayload({ text, response_url: url, channel_id: channel }));
      return bot.fake.waitForResponse((r) => url.endsWith(`/${r.id}`));
    }

    it('answers /incident skyecc ephemerally with blocks naming Sky ECC, a source link, a fallback and a share button', async () => {
      const { body, problems } = await command('skyecc');
      assert.deepEqual(problems, []);
      assert.equal(body.response_type, 'ephemeral');
      assert.equal(body.blocks[0].type, 'header');
      assert.match(body.blocks[0].text.text, /Sky ECC/);
      const sources = body.blocks.find((b: any) => b.type === 'context' && /Sources:/.test(b.elements[0].text));
      assert.ok(sources, 'a context block lists the sources');
      assert.match(sources.elements[0].text, /<https:\/\/[^|>\s]+\|[^|<>]+>/);
      assert.match(body.text, /^Sky ECC takedown/);
      const actions = body.blocks.at(-1);
      assert.equal(actions.type, 'actions');
      assert.equal(actions.elements[0].action_id, 'share_in_channel');
      assert.equal(actions.elements[0].value, 'skyecc');
    });

    it('routes /incident recent, search and help through the same slash command', async () => {
      const recent = await command('recent 2');
      assert.equal(recent.body.blocks[0].text.text, 'Recent incidents');
      assert.equal(recent.body.blocks.filter((b: any) => b.type === 'section').length, 2);
      const search = await command('search encrochat');
      assert.match(JSON.stringify(search.body.blocks), /EncroChat takedown/);
      const help = await command('help');
      assert.match(JSON.stringify(help.body.blocks), /\/incident recent \[count\]/);
      assert.equal(help.body.blocks.at(-1).type, 'context', 'help has no share button');
      const empty = await command('');
      assert.match(JSON.stringify(empty.body.blocks), /\/incident search &lt;query&gt;/);
    });

    it('answers a bad count with an ephemeral error and no share button', async () => {
      const { body, problems } = await command('recent 99');
      assert.deepEqual(problems, []);
      assert.equal(body.response_type, 'ephemeral');
      assert.match(body.text, /count must be/);
      assert.ok(!body.blocks.some((b: any) => b.type === 'actions'));
    });

    it('reposts the answer visibly when "Share in channel" is clicked', async () => {
      const url = bot.fake.responseUrl();
      await bot.driver.action(shareClickPayload({ value: 'skyecc', response_url: url }));
      const { body, problems } = await bot.fake.waitForResponse((r) => url.endsWith(`/${r.id}`));
      assert.deepEqual(problems, []);
      assert.equal(body.response_type, 'in_channel');
      assert.equal(body.delete_original, true);
      assert.match(body.blocks[0].text.text, /Sky ECC/);
      assert.match(JSON.stringify(body.blocks), /Shared by <@U0001>/);
      assert.ok(!body.blocks.some((b: any) => b.type === 'actions'), 'the shared copy has no button');
    });

    it('answers a mention in a thread on the mentioning message, with the mention stripped', async () => {
      const channel = unique('C');
      const ts = '1700000100.000200';
      await bot.driver.event(appMentionBody({ text: '<@UBOT> what happened with Sky ECC?', channel, ts }));
      const call = await bot.fake.waitForCall('chat.postMessage', (c) => c.params.channel === channel);
      assert.deepEqual(call.problems, []);
      assert.equal(call.params.thread_ts, ts);
      assert.equal(call.token, 'xoxb-test-bot-token');
      assert.equal(call.contentType, 'application/x-www-form-urlencoded');
      assert.match(call.params.blocks[0].text.text, /Sky ECC/);
      assert.match(call.params.text, /Sky ECC takedown/);
      assert.ok(service.queries.includes('what happened with Sky ECC?'));
    });

    it('answers a follow-up mention inside a thread in that same thread', async () => {
      const channel = unique('C');
      await bot.driver.event(appMentionBody({ text: '<@UBOT> recent 1', channel, ts: '1700000200.000300', thread_ts: '1700000100.000100' }));
      const call = await bot.fake.waitForCall('chat.postMessage', (c) => c.params.channel === channel);
      assert.equal(call.params.thread_ts, '1700000100.000100');
    });

    it('answers an event delivered twice with the same event_id once', async () => {
      const channel = unique('C');
      const body = appMentionBody({ text: '<@UBOT> skyecc', channel });
      await bot.driver.event(body);
      await bot.driver.event(body, 1);
      await bot.fake.waitForCall('chat.postMessage', (c) => c.params.channel === channel);
      await settle();
      assert.equal(bot.fake.callsOf('chat.postMessage').filter((c) => c.params.channel === channel).length, 1);
    });

    it('answers a mention that also arrives as a message event once', async () => {
      const channel = unique('C');
      const ts = '1700000300.000400';
      await bot.driver.event(messageBody({ text: '<@UBOT> skyecc', channel, ts }));
      await bot.driver.event(appMentionBody({ text: '<@UBOT> skyecc', channel, ts }));
      await bot.fake.waitForCall('chat.postMessage', (c) => c.params.channel === channel);
      await settle();
      assert.equal(bot.fake.callsOf('chat.postMessage').filter((c) => c.params.channel === channel).length, 1);
    });

    it('escapes a title holding <!channel> @here <https://evil|click> in answers and fallbacks', async () => {
      const { body, problems } = await command('hostiletest');
      assert.deepEqual(problems, []);
      assert.match(body.blocks[0].text.text, /^Hostile &lt;!channel&gt; @here &lt;https:\/\/evil\.example\|click&gt;$/);
      assert.match(body.text, /&lt;!channel&gt;/);
      assertOnlyOurLinks(body);
      const channel = unique('C');
      await bot.driver.event(appMentionBody({ text: '<@UBOT> hostiletest', channel }));
      const call = await bot.fake.waitForCall('chat.postMessage', (c) => c.params.channel === channel);
      assertOnlyOurLinks(call.params);
      assert.doesNotMatch(JSON.stringify(call.params), /<!channel>|<!everyone>|<@U999>|<https:\/\/evil/);
    });

    it('sends a valid message within limits for a 20,000-character summary and 60 sources', async () => {
      const { body, problems } = await command('hugetest');
      assert.deepEqual(problems, []);
      assert.ok(JSON.stringify({ blocks: body.blocks, text: body.text }).length < 12_000);
      const channel = unique('C');
      await bot.driver.event(appMentionBody({ text: '<@UBOT> hugetest', channel }));
      const call = await bot.fake.waitForCall('chat.postMessage', (c) => c.params.channel === channel);
      assert.deepEqual(call.problems, []);
    });

    it('logs channel_not_found clearly and keeps answering', async () => {
      const channel = unique('CGONE');
      bot.fake.failNext('chat.postMessage', 'channel_not_found');
      await bot.driver.event(appMentionBody({ text: '<@UBOT> skyecc', channel }));
      await bot.fake.waitForCall('chat.postMessage', (c) => c.params.channel === channel);
      await waitForLog(bot, (l) => l.level === 'error' && l.text.includes('channel_not_found'));
      const line = bot.logs.find((l) => l.text.includes('channel_not_found'))!;
      assert.match(line.text, new RegExp(`chat\\.postMessage in channel ${channel}: channel_not_found \\(the channel does not exist`));
      const next = unique('C');
      await bot.driver.event(appMentionBody({ text: '<@UBOT> skyecc', channel: next }));
      const ok = await bot.fake.waitForCall('chat.postMessage', (c) => c.params.channel === next);
      assert.deepEqual(ok.problems, []);
    });

    it('logs not_in_channel with the fix', async () => {
      const channel = unique('CPRIV');
      bot.fake.failNext('chat.postMessage', 'not_in_channel');
      await bot.driver.event(appMentionBody({ text: '<@UBOT> skyecc', channel }));
      await waitForLog(bot, (l) => l.level === 'error' && l.text.includes(`${channel}: not_in_channel`));
      assert.ok(bot.logs.some((l) => /not_in_channel \(the bot is not a member of the channel: invite it/.test(l.text)));
    });

    it('answers "something went wrong" ephemerally when the service throws', async () => {
      const { body } = await command('explode now');
      assert.equal(body.response_type, 'ephemeral');
      assert.match(body.text, /Something went wrong/);
      assert.ok(bot.logs.some((l) => l.level === 'error' && l.text.includes('fake service failure')));
    });
  });
}

async function waitForLog(bot: TestSlackBot, match: (line: { level: string; text: string }) => boolean, timeoutMs = 3000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!bot.logs.some(match)) {
    if (Date.now() > end) throw new Error(`no matching log line; got:\n${bot.logs.map((l) => `${l.level} ${l.text}`).join('\n')}`);
    await settle(10);
  }
}

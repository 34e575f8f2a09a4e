import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Comparison } from '../../../src/core/answer-model.js';
import { createMemoryConversationStore } from '../../../src/core/conversation.js';
import { parseIncident } from '../../../src/core/incident.js';
import { STALE_MORE_TEXT } from '../../../src/adapters/slack/listeners/actions.js';
import { MORE_ACTION_ID } from '../../../src/adapters/slack/lists.js';
import { SHARE_ACTION_ID } from '../../../src/adapters/slack/reply.js';
import { messageTexts } from '../../support/fake-slack-blocks.js';
import { startTestSlackBot, type TestSlackBot } from '../../support/fake-slack-bot.js';
import { appMentionBody, buttonClickPayload, slashCommandPayload, unique } from '../../support/fake-slack-payloads.js';
import { createFakeSlackService, FAKE_SLACK_INCIDENTS, type FakeSlackService } from '../../support/fake-slack-service.js';
import { buildRefs } from '../../support/fake-lists.js';

const MOVEIT = parseIncident({
  id: 'seed:moveit-2023',
  kind: 'incident',
  title: 'MOVEit Transfer mass exploitation',
  date: { value: '2023-05-27', precision: 'day' },
  aliases: ['MOVEit'],
  summary: 'A ransomware gang exploited a zero-day in the MOVEit Transfer file-sharing product.',
  sources: [{ url: 'https://www.cisa.gov/moveit', title: 'CISA advisory' }],
});

const CLOP = parseIncident({
  id: 'group:cl0p',
  kind: 'group',
  title: 'Cl0p',
  aliases: ['Clop', 'TA505'],
  summary: 'Cl0p is a ransomware and extortion group.',
  sources: [{ url: 'https://attack.mitre.org/groups/G0092/', title: 'ATT&CK: TA505' }],
});

const COMPARISON: Comparison = {
  left: { ref: { id: 'group:apt28', title: 'APT28', kind: 'group', date: '2004', blurb: 'GRU unit 26165.' }, facts: [{ label: 'Who', value: 'Russia (GRU)' }, { label: 'Tools', value: 'X-Agent, Mimikatz' }] },
  right: { ref: { id: 'group:apt29', title: 'APT29', kind: 'group', date: '2008', blurb: 'SVR.' }, facts: [{ label: 'Who', value: 'Russia (SVR)' }, { label: 'Tools', value: 'SUNBURST, Mimikatz' }] },
  shared: [{ label: 'Tools', values: ['Mimikatz'] }],
};

/** Returns the item numbers and titles a list message shows, e.g. ["11. Item 11", ...]. */
function shownItems(blocks: any[]): string[] {
  return blocks
    .filter((b) => b.type === 'section' && typeof b.text?.text === 'string')
    .map((b) => /^\*(\d+)\.\* \*<[^|]+\|([^>]+)>\*/.exec(b.text.text))
    .filter((m): m is RegExpExecArray => Boolean(m))
    .map((m) => `${m[1]}. ${m[2]}`);
}

function range(from: number, to: number): string[] {
  return Array.from({ length: to - from + 1 }, (_, i) => `${from + i}. Item ${from + i}`);
}

/** Returns a button of a message by action_id. */
function button(blocks: any[], actionId: string): any {
  return blocks.filter((b) => b.type === 'actions').flatMap((b) => b.elements).find((e: any) => e.action_id === actionId);
}

for (const mode of ['socket', 'http'] as const) {
  describe(`Slack lists, More and follow-ups through real Bolt in ${mode} mode`, { timeout: 30_000 }, () => {
    let bot: TestSlackBot;
    let service: FakeSlackService;

    before(async () => {
      service = createFakeSlackService({
        incidents: [...FAKE_SLACK_INCIDENTS, MOVEIT, CLOP],
        lists: { 'which groups use mimikatz': buildRefs(37, 'grp'), microsoft: buildRefs(23, 'cve', () => ({ kind: 'vulnerability' })) },
        comparisons: { 'apt28 vs apt29': COMPARISON },
        resolve: (query, context) => (/\bbehind (it|that)\b/i.test(query) && context?.recordId === 'seed:moveit-2023' ? 'Cl0p' : undefined),
      });
      bot = await startTestSlackBot(mode, { service, conversations: createMemoryConversationStore() });
    });
    after(async () => {
      await bot.close();
    });

    /** Sends a mention and returns the bot's chat.postMessage in reply (a call made after the mention was sent). */
    async function mention(text: string, channel: string, ts: string, threadTs?: string) {
      const before = bot.fake.calls.length;
      await bot.driver.event(appMentionBody({ text: `<@UBOT> ${text}`, channel, ts, thread_ts: threadTs }));
      return bot.fake.waitForCall('chat.postMessage', (c) => c.params.channel === channel && bot.fake.calls.indexOf(c) >= before);
    }

    /** Sends a slash command and returns the bot's response_url post. */
    async function command(text: string, channel: string, user = 'U0001') {
      const url = bot.fake.responseUrl();
      await bot.driver.command(slashCommandPayload({ text, response_url: url, channel_id: channel, user_id: user }));
      return bot.fake.waitForResponse((r) => url.endsWith(`/${r.id}`));
    }

    /** Clicks a button and returns the bot's response_url post. */
    async function clickButton(options: Omit<Parameters<typeof buttonClickPayload>[0], 'response_url'>) {
      const url = bot.fake.responseUrl();
      await bot.driver.action(buttonClickPayload({ ...options, response_url: url }));
      return bot.fake.waitForResponse((r) => url.endsWith(`/${r.id}`));
    }

    it('a list answered in a thread has a More button; its click replaces the message with the next page of the same question', async () => {
      const channel = unique('C');
      const ts = '1700001000.000100';
      const post = await mention('which groups use mimikatz', channel, ts);
      assert.deepEqual(post.problems, []);
      assert.deepEqual(shownItems(post.params.blocks), range(1, 10));
      assert.match(JSON.stringify(post.params.blocks), /Showing 1–10 of 37/);
      const more = button(post.params.blocks, MORE_ACTION_ID);
      assert.ok(more, 'a More button');
      assert.deepEqual(JSON.parse(more.value).t, 'incident which groups use mimikatz');

      assert.equal(post.params.thread_ts, ts, 'answered in the mention\'s thread');
      const postedTs = '1700001000.000200';
      const page2 = await clickButton({ action_id: MORE_ACTION_ID, value: more.value, channel, message_ts: postedTs, thread_ts: ts });
      assert.deepEqual(page2.problems, []);
      assert.equal(page2.body.replace_original, true, 'the page replaces the message');
      assert.deepEqual(shownItems(page2.body.blocks), range(11, 20));
      assert.match(JSON.stringify(page2.body.blocks), /Showing 11–20 of 37/);
      const asked = service.views.at(-1)!;
      assert.equal(asked.query, 'which groups use mimikatz', 'the same question asked again');
      assert.equal(asked.cursor, JSON.parse(more.value).c, 'with the cursor the button carried');
      assert.equal(button(page2.body.blocks, SHARE_ACTION_ID), undefined, 'a thread message gets no share button');

      let blocks = page2.body.blocks;
      for (const expected of [range(21, 30), range(31, 37)]) {
        const next = await clickButton({ action_id: MORE_ACTION_ID, value: button(blocks, MORE_ACTION_ID).value, channel, message_ts: postedTs, thread_ts: ts });
        blocks = next.body.blocks;
        assert.deepEqual(shownItems(blocks), expected);
      }
      assert.equal(button(blocks, MORE_ACTION_ID), undefined, 'no More on the last page');
    });

    it('a slash-command search pages in its ephemeral message, keeping a share button that shares the page shown', async () => {
      const channel = unique('C');
      const first = await command('search microsoft', channel);
      assert.equal(first.body.response_type, 'ephemeral');
      assert.deepEqual(shownItems(first.body.blocks), range(1, 10));
      const actions = first.body.blocks.filter((b: any) => b.type === 'actions');
      assert.equal(actions.length, 1, 'More and Share share one row');
      const more = button(first.body.blocks, MORE_ACTION_ID);
      assert.equal(JSON.parse(more.value).t, 'incidents search microsoft');

      const page2 = await clickButton({ action_id: MORE_ACTION_ID, value: more.value, channel, ephemeral: true });
      assert.equal(page2.body.replace_original, true);
      assert.deepEqual(shownItems(page2.body.blocks), range(11, 20));
      const share = button(page2.body.blocks, SHARE_ACTION_ID);
      assert.ok(share, 'the ephemeral page keeps its share button');

      const shared = await clickButton({ action_id: SHARE_ACTION_ID, value: share.value, channel, ephemeral: true });
      assert.equal(shared.body.response_type, 'in_channel');
      assert.deepEqual(shownItems(shared.body.blocks), range(11, 20), 'the page shown is the page shared');
    });

    it('a More button whose value is not ours gets an ephemeral notice and leaves the message alone', async () => {
      const response = await clickButton({ action_id: MORE_ACTION_ID, value: '{"t":"alerts remove all","c":"x","s":11}', channel: unique('C'), ephemeral: true });
      assert.equal(response.body.replace_original, false);
      assert.equal(response.body.text, STALE_MORE_TEXT);
    });

    it('a follow-up in the same thread resolves against the first answer; another thread does not share it', async () => {
      const channel = unique('C');
      const first = await mention('what happened with MOVEit?', channel, '1700002000.000100');
      assert.match(first.params.blocks[0].text.text, /MOVEit/);
      const followUp = await mention('who was behind it?', channel, '1700002000.000300', '1700002000.000100');
      assert.match(followUp.params.blocks[0].text.text, /Cl0p/, 'resolved against MOVEit in the thread');
      assert.equal(service.views.at(-1)!.context?.recordId, 'seed:moveit-2023');

      const elsewhere = await mention('who was behind it?', channel, '1700002000.000500', '1700009999.000100');
      assert.match(elsewhere.params.blocks[0].text.text, /No match/, 'another thread has no context');
      assert.equal(service.views.at(-1)!.context, undefined);
    });

    it('slash commands keep each user their own conversation: their answers are private', async () => {
      const channel = unique('C');
      await command('moveit', channel, 'U0001');
      const other = await command('who was behind it?', channel, 'U0002');
      assert.match(JSON.stringify(other.body.blocks), /No match/, 'another user in the channel does not inherit the answer');
      const same = await command('who was behind it?', channel, 'U0001');
      assert.match(same.body.blocks[0].text.text, /Cl0p/);
    });

    it('a comparison shows two sections with fields and what both share', async () => {
      const channel = unique('C');
      const post = await mention('APT28 vs APT29', channel, '1700003000.000100');
      assert.deepEqual(post.problems, []);
      const sides = post.params.blocks.filter((b: any) => b.type === 'section' && b.fields);
      assert.equal(sides.length, 2);
      assert.match(JSON.stringify(sides[0]), /APT28[\s\S]*Russia \(GRU\)/);
      assert.match(JSON.stringify(sides[1]), /APT29[\s\S]*SUNBURST/);
      assert.ok(messageTexts(post.params).some((t) => /^\*Both:\* Tools: Mimikatz$/.test(t)), 'the shared line');
      assert.match(post.params.text, /APT28 vs APT29/);
    });
  });
}

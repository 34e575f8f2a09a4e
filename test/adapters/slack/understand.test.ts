import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createMemoryConversationStore } from '../../../src/core/conversation.js';
import { MORE_ACTION_ID } from '../../../src/adapters/slack/lists.js';
import { startTestSlackBot, type TestSlackBot } from '../../support/fake-slack-bot.js';
import { appMentionBody, buttonClickPayload, unique } from '../../support/fake-slack-payloads.js';
import { buildUnderstandService } from '../../support/understand-records.js';

function button(blocks: any[], actionId: string): any {
  return blocks.filter((b) => b.type === 'actions').flatMap((b) => b.elements).find((e: any) => e.action_id === actionId);
}

/** Returns the titles a list message shows, in order. */
function shownTitles(blocks: any[]): string[] {
  return blocks
    .filter((b) => b.type === 'section' && typeof b.text?.text === 'string')
    .map((b) => /^\*\d+\.\* \*(?:<[^|]+\|([^>]+)>|([^*]+))\*/.exec(b.text.text))
    .filter((m): m is RegExpExecArray => Boolean(m))
    .map((m) => m[1] ?? m[2]);
}

// The real service (index, graph and understanding) behind real Bolt against the fake Slack.
describe('Slack with the real understanding: More and a follow-up in a thread', { timeout: 30_000 }, () => {
  let bot: TestSlackBot;

  before(async () => {
    bot = await startTestSlackBot('socket', { service: buildUnderstandService(), conversations: createMemoryConversationStore() });
  });
  after(async () => {
    await bot.close();
  });

  async function mention(text: string, channel: string, ts: string, threadTs?: string) {
    const before = bot.fake.calls.length;
    await bot.driver.event(appMentionBody({ text: `<@UBOT> ${text}`, channel, ts, thread_ts: threadTs }));
    return bot.fake.waitForCall('chat.postMessage', (c) => c.params.channel === channel && bot.fake.calls.indexOf(c) >= before);
  }

  it('More shows the rest of a real vendor list', async () => {
    const channel = unique('C');
    const ts = '1700003000.000100';
    const post = await mention('acme security holes being abused', channel, ts);
    const first = shownTitles(post.params.blocks);
    assert.equal(first.length, 10);
    assert.match(JSON.stringify(post.params.blocks), /Showing 1–10 of 14/);
    const more = button(post.params.blocks, MORE_ACTION_ID);
    const url = bot.fake.responseUrl();
    await bot.driver.action(buttonClickPayload({ action_id: MORE_ACTION_ID, value: more.value, channel, message_ts: '1700003000.000200', thread_ts: ts, response_url: url }));
    const page2 = await bot.fake.waitForResponse((r) => url.endsWith(`/${r.id}`));
    const second = shownTitles(page2.body.blocks);
    assert.equal(second.length, 4);
    assert.deepEqual(second.filter((t) => first.includes(t)), []);
    assert.equal(button(page2.body.blocks, MORE_ACTION_ID), undefined, 'no More on the last page');
  });

  it('a follow-up in a thread quotes the answer about the thread\'s record; another thread has no context', async () => {
    const channel = unique('C');
    const first = await mention('paper lantern', channel, '1700004000.000100');
    assert.match(JSON.stringify(first.params.blocks), /Operation Paper Lantern/);
    const who = await mention('who was responsible for that?', channel, '1700004000.000300', '1700004000.000100');
    assert.match(JSON.stringify(who.params.blocks), /attributed the operation to Crimson Kite/);
    const elsewhere = await mention('who was responsible for that?', channel, '1700004000.000500', '1700009000.000100');
    assert.doesNotMatch(JSON.stringify(elsewhere.params.blocks), /Paper Lantern/);
  });
});

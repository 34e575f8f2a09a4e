import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { COMMANDS, findCommand, type CommandContext } from '../../commands/index.js';
import type { Answer } from '../../src/core/answer-model.js';
import { createMemoryConversationStore } from '../../src/core/conversation.js';
import { MAX_CURSOR_CHARS } from '../../src/core/lists.js';
import { buildUnderstandService } from '../support/understand-records.js';

function ctxFor(service: ReturnType<typeof buildUnderstandService>, conversation: string): CommandContext {
  return { incidents: service, commands: COMMANDS, conversations: createMemoryConversationStore(), channel: { platform: 'console', canManageFeeds: false, canManageChannel: false, conversation } };
}

async function ask(ctx: CommandContext, query: string, cursor?: string): Promise<Answer> {
  const reply = await findCommand('incident')!.handle({ options: { query }, ...(cursor ? { cursor } : {}) }, ctx);
  assert.equal(reply.type, 'answer', JSON.stringify(reply).slice(0, 200));
  return (reply as { answer: Answer }).answer;
}

const ids = (a: Answer) => (a.items ?? []).map((i) => i.id);

describe('understanding questions through the command layer', () => {
  const service = buildUnderstandService();

  it('lists from the graph: campaigns and groups that use a tool, a group\'s tools, groups of a country', async () => {
    const ctx = ctxFor(service, 'lists');
    const campaigns = await ask(ctx, 'which operations relied on Harrow?');
    assert.equal(campaigns.status, 'list');
    assert.deepEqual(ids(campaigns), ['test:C2', 'test:C1'], 'newest first');
    assert.equal(campaigns.total, 2);
    assert.deepEqual(ids(await ask(ctx, 'what groups wield quillpen')), ['test:G2']);
    assert.deepEqual(ids(await ask(ctx, "crimson kite's arsenal")).sort(), ['test:S1']);
    assert.deepEqual(ids(await ask(ctx, 'who deploys harrow?')).sort(), ['test:G1', 'test:G2']);
    assert.deepEqual(ids(await ask(ctx, 'vietnamese hacking groups')), ['test:G1']);
    assert.deepEqual(ids(await ask(ctx, 'what has slate wolf done')), ['test:C2']);
  });

  it('lists a vendor\'s flaws newest first, a page at a time with a cursor that fits a button', async () => {
    const ctx = ctxFor(service, 'paging');
    const first = await ask(ctx, 'acme security holes being abused');
    assert.equal(first.status, 'list');
    assert.equal(first.total, 14);
    assert.equal(first.items!.length, 10);
    assert.equal(first.items![0].id, 'test:CVE-2023-1111');
    assert.ok(first.cursor && first.cursor.length <= MAX_CURSOR_CHARS);
    const second = await ask(ctx, 'acme security holes being abused', first.cursor);
    assert.equal(second.items!.length, 4);
    assert.equal(second.cursor, undefined, 'the last page has no cursor');
    assert.equal(new Set([...ids(first), ...ids(second)]).size, 14, 'pages do not overlap');
  });

  it('reads time: latest, a month, since a year', async () => {
    const ctx = ctxFor(service, 'time');
    const latest = await ask(ctx, 'most recent globex and acme flaws');
    assert.equal(latest.status, 'list');
    assert.equal(latest.items![0].id, 'test:CVE-2024-2222');
    assert.deepEqual(ids(await ask(ctx, 'campaigns kicked off since 2024')), ['test:C2']);
    const may = await ask(ctx, 'anything going on in May 2023?');
    assert.deepEqual(ids(may), ['test:C1']);
    assert.equal(may.intent, 'latest');
  });

  it('compares two records side by side with what they share', async () => {
    const ctx = ctxFor(service, 'compare');
    for (const q of ['Crimson Kite versus Slate Wolf', 'how does crimson kite differ from slate wolf?', "what's the difference between CK Team and Slate Wolf"]) {
      const a = await ask(ctx, q);
      assert.equal(a.status, 'comparison', q);
      assert.equal(a.comparison!.left.ref.id, 'test:G1', q);
      assert.equal(a.comparison!.right.ref.id, 'test:G2', q);
      assert.deepEqual(a.comparison!.shared.find((s) => s.label === 'Tools')?.values, ['Harrow'], q);
    }
  });

  it('answers follow-ups against the conversation: pronouns, ellipses, ordinals', async () => {
    const ctx = ctxFor(service, 'follow');
    assert.equal((await ask(ctx, 'paper lantern')).incident?.id, 'test:C1');
    const who = await ask(ctx, 'who was responsible for that?');
    assert.equal(who.incident?.id, 'test:C1');
    assert.match(who.quote?.text ?? '', /Crimson Kite/);
    const cve = await ask(ctx, 'which vulnerability?');
    assert.match(cve.quote?.text ?? '', /CVE-2023-1111/);
    const tools = await ask(ctx, 'what tools did they use?');
    assert.deepEqual(ids(tools), ['test:S1']);
    await ask(ctx, 'which operations relied on Harrow?');
    assert.equal((await ask(ctx, 'and the second one?')).incident?.id, 'test:C1');
    await ask(ctx, 'which operations relied on Harrow?');
    const os = await ask(ctx, 'what platforms did the first one hit?');
    assert.equal(os.incident?.id, 'test:C2');
    assert.match(os.quote?.text ?? '', /Windows/);
  });

  it('a follow-up about a date resolves "it" to the record named just before', async () => {
    const ctx = ctxFor(service, 'follow-page');
    await ask(ctx, 'acme gateway flaw 3');
    const more = await ask(ctx, 'when was it added?');
    assert.equal(more.incident?.id, 'test:CVE-2022-1002');
  });

  it('answers facts with the sentence that says it, and descriptions from full text', async () => {
    const ctx = ctxFor(service, 'facts');
    const when = await ask(ctx, 'when did operation paper lantern begin?');
    assert.equal(when.incident?.id, 'test:C1');
    assert.match(when.quote?.text ?? '', /May 2023/);
    assert.equal(when.intent, 'fact');
    assert.equal((await ask(ctx, 'port operators phished with bogus shipping invoices')).incident?.id, 'test:C2');
    const typo = await ask(ctx, 'glass harbour');
    assert.equal(typo.incident?.id, 'test:C2');
    assert.equal(typo.intent, 'lookup');
  });

  it('says it is not sure rather than answering with an unrelated record', async () => {
    const ctx = ctxFor(service, 'unsure');
    for (const q of ['marigold heron data leak', 'who breached the national lottery in 2019', 'tell me about quantum pelican']) {
      const a = await ask(ctx, q);
      assert.ok(a.status === 'not-found' || a.status === 'ambiguous', `${q}: ${a.status} ${a.incident?.id}`);
    }
  });
});

describe('follow-ups do not swallow questions about something else', () => {
  it('a question with a pronoun that names another record answers that record', async () => {
    const ctx = ctxFor(buildUnderstandService(), 'switch');
    await ask(ctx, 'paper lantern');
    const other = await ask(ctx, "what does quillpen read from its victims' browser stores?");
    assert.equal(other.incident?.id, 'test:S2');
    const back = await ask(ctx, 'what is it written in?');
    assert.equal(back.incident?.id, 'test:S2', 'the conversation moved on to Quillpen');
  });
});

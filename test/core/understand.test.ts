import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { COMMANDS, findCommand, type CommandContext } from '../../commands/index.js';
import type { Answer } from '../../src/core/answer-model.js';
import { createMemoryConversationStore } from '../../src/core/conversation.js';
import { createServedService } from '../../src/core/create-service.js';
import { parseIncident, type IncidentInput } from '../../src/core/incident.js';
import { MAX_CURSOR_CHARS } from '../../src/core/lists.js';
import { buildServed } from '../../src/core/served.js';

// Made-up records with the relations real datasets state (tags and links), and phrasings of our own: every rule of
// understanding is tried on wording no evaluation file uses.
const src = [{ url: 'https://example.org/report' }];
const records: IncidentInput[] = [
  { id: 'test:G1', kind: 'group', title: 'Crimson Kite', aliases: ['CK Team'], summary: 'Crimson Kite is a threat group based in Vietnam that targets shipping firms.', tags: ['uses:Harrow'], links: [{ type: 'attributed-to', to: 'country:VN' }], sources: src },
  { id: 'test:G2', kind: 'group', title: 'Slate Wolf', summary: 'Slate Wolf is an espionage group operating from Russia.', tags: ['uses:Quillpen', 'uses:Harrow'], links: [{ type: 'attributed-to', to: 'country:RU' }], sources: src },
  { id: 'test:S1', kind: 'software', title: 'Harrow', summary: 'Harrow is a modular backdoor written in Go.', sources: src },
  { id: 'test:S2', kind: 'software', title: 'Quillpen', summary: 'Quillpen is a credential stealer that reads browser stores.', sources: src },
  {
    id: 'test:C1', kind: 'incident', title: 'Operation Paper Lantern', date: { value: '2023-05', precision: 'month' },
    summary: 'Operation Paper Lantern began in May 2023 against logistics companies. The intrusions exploited CVE-2023-1111 in Acme Gateway. Investigators attributed the operation to Crimson Kite.',
    tags: ['attributed-to:Crimson Kite', 'uses:Harrow'], sources: src,
  },
  {
    id: 'test:C2', kind: 'incident', title: 'Glass Harbor', date: { value: '2024-02', precision: 'month' },
    summary: 'Glass Harbor was a campaign against port operators that sent fake shipping invoices carrying Quillpen. It ran on Windows and Linux hosts.',
    tags: ['attributed-to:Slate Wolf', 'uses:Quillpen', 'uses:Harrow'], sources: src,
  },
  ...Array.from({ length: 13 }, (_, i): IncidentInput => ({
    id: `test:CVE-2022-${1000 + i}`, kind: 'vulnerability', title: `Acme Gateway flaw ${i + 1}`, date: { value: `2022-${String(i < 9 ? i + 1 : 9).padStart(2, '0')}-15`, precision: 'day' },
    summary: `A flaw in Acme Gateway, number ${i + 1}.`, tags: ['vendor:Acme', 'product:Acme Gateway'], sources: src,
  })),
  { id: 'test:CVE-2023-1111', kind: 'vulnerability', title: 'Acme Gateway authentication bypass', date: { value: '2023-04-10', precision: 'day' }, summary: 'CVE-2023-1111 lets an attacker skip the login of Acme Gateway.', tags: ['vendor:Acme', 'product:Acme Gateway'], entities: { cves: ['CVE-2023-1111'] }, sources: src },
  { id: 'test:CVE-2024-2222', kind: 'vulnerability', title: 'Globex Mail remote code execution', date: { value: '2024-06-01', precision: 'day' }, summary: 'A flaw in Globex Mail.', tags: ['vendor:Globex', 'product:Globex Mail'], sources: src },
];

function build() {
  return createServedService(buildServed({ bundled: [], files: records.map((r) => parseIncident(r)) }));
}

function ctxFor(service: ReturnType<typeof build>, conversation: string): CommandContext {
  return { incidents: service, commands: COMMANDS, conversations: createMemoryConversationStore(), channel: { platform: 'console', canManageFeeds: false, canManageChannel: false, conversation } };
}

async function ask(ctx: CommandContext, query: string, cursor?: string): Promise<Answer> {
  const reply = await findCommand('incident')!.handle({ options: { query }, ...(cursor ? { cursor } : {}) }, ctx);
  assert.equal(reply.type, 'answer', JSON.stringify(reply).slice(0, 200));
  return (reply as { answer: Answer }).answer;
}

const ids = (a: Answer) => (a.items ?? []).map((i) => i.id);

describe('understanding questions through the command layer', () => {
  const service = build();

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
    assert.equal((await ask(ctx, 'port operators phished with bogus shipping invoices')).incident?.id, 'test:C2');
    assert.equal((await ask(ctx, 'glass harbour')).incident?.id, 'test:C2');
  });

  it('says it is not sure rather than answering with an unrelated record', async () => {
    const ctx = ctxFor(service, 'unsure');
    for (const q of ['marigold heron data leak', 'who breached the national lottery in 2019', 'tell me about quantum pelican']) {
      const a = await ask(ctx, q);
      assert.ok(a.status === 'not-found' || a.status === 'ambiguous', `${q}: ${a.status} ${a.incident?.id}`);
    }
  });
});

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { COMMANDS, findCommand, type CommandContext, type CommandInput } from '../commands/index.js';
import { answerInConversation, contextAfter } from '../commands/conversation.js';
import type { Answer, Comparison } from '../src/core/answer-model.js';
import { createMemoryConversationStore, type ConversationStore } from '../src/core/conversation.js';
import { parseIncident } from '../src/core/incident.js';
import { buildRefs, comparisonAnswer, listAnswer } from './support/fake-lists.js';
import { buildAnswer, createFakeSlackService, FAKE_SLACK_INCIDENTS } from './support/fake-slack-service.js';

const MOVEIT = parseIncident({ id: 'seed:moveit-2023', kind: 'incident', title: 'MOVEit Transfer mass exploitation', aliases: ['MOVEit'], summary: 'A zero-day in MOVEit Transfer.' });
const CLOP = parseIncident({ id: 'group:cl0p', kind: 'group', title: 'Cl0p', aliases: ['Clop'], summary: 'A ransomware group.' });

function service() {
  return createFakeSlackService({
    incidents: [...FAKE_SLACK_INCIDENTS, MOVEIT, CLOP],
    lists: { 'which groups use mimikatz': buildRefs(37, 'grp'), microsoft: buildRefs(23, 'cve') },
    resolve: (query, context) => (/\bbehind (it|that)\b/i.test(query) && context?.recordId === 'seed:moveit-2023' ? 'Cl0p' : undefined),
  });
}

function context(incidents: CommandContext['incidents'], conversation: string | undefined, conversations: ConversationStore): CommandContext {
  return {
    incidents,
    commands: COMMANDS,
    conversations,
    channel: { platform: 'console', canManageFeeds: false, canManageChannel: false, ...(conversation ? { conversation } : {}) },
  };
}

async function run(name: string, input: CommandInput, ctx: CommandContext) {
  return findCommand(name)!.handle(input, ctx);
}

describe('contextAfter', () => {
  const comparison: Comparison = { left: { ref: buildRefs(1, 'l')[0], facts: [] }, right: { ref: buildRefs(1, 'r')[0], facts: [] }, shared: [] };
  it('keeps the record an answer was about, the items of a list or comparison, and the candidates of an ambiguous one', () => {
    assert.deepEqual(contextAfter(buildAnswer({ query: 'q' }), 5), { recordId: 'seed:skyecc-2021', query: 'q', at: 5 });
    assert.deepEqual(contextAfter(listAnswer('q', buildRefs(3), undefined, 10), 5), { itemIds: ['list:1', 'list:2', 'list:3'], query: 'q', at: 5 });
    assert.deepEqual(contextAfter(comparisonAnswer('l vs r', comparison), 5)?.itemIds, ['l:1', 'r:1']);
    const ambiguous: Answer = buildAnswer({ status: 'ambiguous', candidates: buildRefs(2, 'c') });
    assert.deepEqual(contextAfter(ambiguous, 5), { recordId: 'seed:skyecc-2021', itemIds: ['c:1', 'c:2'], query: 'skyecc', at: 5 });
  });
  it('keeps nothing new after not-found or an empty list', () => {
    assert.equal(contextAfter(buildAnswer({ status: 'not-found', incident: undefined }), 5), undefined);
    assert.equal(contextAfter(listAnswer('q', [], undefined, 10), 5), undefined);
  });
});

describe('the command layer and conversations', () => {
  it('hands the conversation\'s context to the service and saves what each answer was about', async () => {
    const fake = service();
    const ctx = context(fake, 'test:one', createMemoryConversationStore());
    await run('incident', { options: { query: 'what happened with MOVEit?' } }, ctx);
    assert.equal(fake.views.at(-1)!.context, undefined, 'the first turn has no context');
    const reply = await run('incident', { options: { query: 'who was behind it?' } }, ctx);
    assert.equal(reply.type === 'answer' && reply.answer.incident?.id, 'group:cl0p');
    assert.equal(fake.views.at(-1)!.context?.recordId, 'seed:moveit-2023');
    assert.equal(fake.views.at(-1)!.context?.query, 'what happened with MOVEit?');
  });

  it('a not-found turn leaves the context as it was', async () => {
    const fake = service();
    const ctx = context(fake, 'test:two', createMemoryConversationStore());
    await run('incident', { options: { query: 'MOVEit' } }, ctx);
    await run('incident', { options: { query: 'zzz nothing' } }, ctx);
    await run('incident', { options: { query: 'who was behind that?' } }, ctx);
    assert.equal(fake.views.at(-1)!.context?.recordId, 'seed:moveit-2023');
  });

  it('conversations are kept apart by key, and none without a key', async () => {
    const fake = service();
    const store = createMemoryConversationStore();
    await run('incident', { options: { query: 'MOVEit' } }, context(fake, 'test:a', store));
    await run('incident', { options: { query: 'who was behind it?' } }, context(fake, 'test:b', store));
    assert.equal(fake.views.at(-1)!.context, undefined, 'another conversation');
    await run('incident', { options: { query: 'MOVEit' } }, context(fake, undefined, store));
    await run('incident', { options: { query: 'who was behind it?' } }, context(fake, undefined, store));
    assert.equal(fake.views.at(-1)!.context, undefined, 'no key, no memory');
  });

  it('passes the cursor through, and a search list saves its items as the context', async () => {
    const fake = service();
    const store = createMemoryConversationStore();
    const ctx = context(fake, 'test:c', store);
    const first = await run('incident', { options: { query: 'which groups use mimikatz' } }, ctx);
    assert.ok(first.type === 'answer' && first.answer.cursor, 'a first page with a cursor');
    const second = await run('incident', { options: { query: 'which groups use mimikatz' }, cursor: first.type === 'answer' ? first.answer.cursor : '' }, ctx);
    assert.deepEqual(second.type === 'answer' && second.answer.items?.map((i) => i.id).slice(0, 2), ['grp:11', 'grp:12']);
    assert.deepEqual((await store.get('test:c'))?.itemIds?.slice(0, 2), ['grp:11', 'grp:12'], 'the page shown is remembered');

    const search = await run('incidents', { subcommand: 'search', options: { query: 'microsoft' } }, ctx);
    assert.ok(search.type === 'list' && search.list.cursor);
    const next = await run('incidents', { subcommand: 'search', options: { query: 'microsoft' }, cursor: search.type === 'list' ? search.list.cursor : '' }, ctx);
    assert.deepEqual(next.type === 'list' && next.list.items.map((i) => i.id).slice(0, 1), ['cve:11']);
    assert.deepEqual((await store.get('test:c'))?.itemIds?.slice(0, 1), ['cve:11']);
  });

  it('a conversation store that fails costs the follow-up, never the answer', async () => {
    const fake = service();
    const broken: ConversationStore = {
      get: async () => {
        throw new Error('database down');
      },
      set: async () => {
        throw new Error('database down');
      },
    };
    const answer = await answerInConversation('MOVEit', context(fake, 'test:d', broken));
    assert.equal(answer.incident?.id, 'seed:moveit-2023');
  });
});

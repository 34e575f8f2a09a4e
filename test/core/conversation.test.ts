import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CONVERSATION_TTL_MS, createMemoryConversationStore } from '../../src/core/conversation.js';

describe('createMemoryConversationStore', () => {
  it('returns what was saved under a key, and nothing under another', async () => {
    const store = createMemoryConversationStore({ now: () => 1_000 });
    await store.set('discord:1', { recordId: 'attack:C0024', at: 1_000 });
    assert.deepEqual(await store.get('discord:1'), { recordId: 'attack:C0024', at: 1_000 });
    assert.equal(await store.get('discord:2'), undefined);
  });

  it('forgets a context 30 minutes after its last answer', async () => {
    let clock = 0;
    const store = createMemoryConversationStore({ now: () => clock });
    await store.set('console:a', { recordId: 'x:1', at: 0 });
    clock = CONVERSATION_TTL_MS;
    assert.ok(await store.get('console:a'), 'still there at exactly 30 minutes');
    clock = CONVERSATION_TTL_MS + 1;
    assert.equal(await store.get('console:a'), undefined);
  });

  it('keeps at most its capacity, dropping the least recently saved first', async () => {
    const store = createMemoryConversationStore({ now: () => 0, capacity: 2 });
    await store.set('a', { at: 0 });
    await store.set('b', { at: 0 });
    await store.set('a', { at: 0, query: 'again' });
    await store.set('c', { at: 0 });
    assert.equal(await store.get('b'), undefined, 'b was the least recently saved');
    assert.ok(await store.get('a'), 'a was saved again');
    assert.ok(await store.get('c'), 'c is the newest');
  });
});

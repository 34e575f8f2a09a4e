import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { COMMANDS, findCommand, type CommandContext } from '../../commands/index.js';
import type { Answer } from '../../src/core/answer-model.js';
import { createMemoryConversationStore } from '../../src/core/conversation.js';
import { buildUnderstandService } from '../support/understand-records.js';

const service = buildUnderstandService();

async function ask(query: string): Promise<Answer> {
  const ctx: CommandContext = { incidents: service, commands: COMMANDS, conversations: createMemoryConversationStore(), channel: { platform: 'console', canManageFeeds: false, canManageChannel: false, conversation: query } };
  const reply = await findCommand('incident')!.handle({ options: { query } }, ctx);
  assert.equal(reply.type, 'answer');
  return (reply as { answer: Answer }).answer;
}

describe('lists by time are labelled by what the question asked', () => {
  it('a subject with nothing in the range falls back to the range\'s records, labelled latest and saying so', async () => {
    for (const q of ['crimson kite operations since 2024', 'latest crimson kite operations since january 2024', 'crimson kite campaigns after 2023?']) {
      const a = await ask(q);
      assert.equal(a.status, 'list', q);
      assert.deepEqual(a.items!.map((i) => i.id), ['test:C2'], q);
      assert.equal(a.intent, 'latest', q);
      assert.match(a.summary, /^Nothing linked to Crimson Kite .*the latest campaigns/, q);
    }
  });

  it("a subject's own list stays a list, and a recent one of its own is latest", async () => {
    const own = await ask('which operations relied on harrow');
    assert.equal(own.intent, 'list');
    const recent = await ask('most recent operations relying on harrow');
    assert.equal(recent.intent, 'latest');
    assert.equal(recent.items![0].id, 'test:C2');
  });
});

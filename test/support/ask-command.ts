import assert from 'node:assert/strict';
import { COMMANDS, findCommand, type CommandContext } from '../../commands/index.js';
import type { Answer } from '../../src/core/answer-model.js';
import { createMemoryConversationStore } from '../../src/core/conversation.js';
import { createServedService } from '../../src/core/create-service.js';
import { parseIncident, type IncidentInput } from '../../src/core/incident.js';
import { buildServed } from '../../src/core/served.js';

/** Returns an `ask` that puts a question through the `incident` command over the records merged and served as the bot serves them. */
export function askerOver(records: readonly IncidentInput[]): (query: string) => Promise<Answer> {
  const service = createServedService(buildServed({ bundled: [], files: records.map((r) => parseIncident(r)) }));
  const ctx: CommandContext = { incidents: service, commands: COMMANDS, conversations: createMemoryConversationStore(), channel: { platform: 'console', canManageFeeds: false, canManageChannel: false } };
  return async (query) => {
    const reply = await findCommand('incident')!.handle({ options: { query } }, ctx);
    assert.equal(reply.type, 'answer', JSON.stringify(reply).slice(0, 200));
    return (reply as { answer: Answer }).answer;
  };
}

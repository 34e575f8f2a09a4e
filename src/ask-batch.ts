import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { answerInConversation } from '../commands/conversation.js';
import type { CommandContext } from '../commands/types.js';
import { createMemoryConversationStore } from './core/conversation.js';
import type { IncidentService } from './core/incident-service.js';

/** One line of `ask --batch` input, read: the question, and the conversation it continues when it names one. */
export interface BatchLine {
  query: string;
  /** Lines sharing this id share a conversation's context, in input order; absent: a question on its own. */
  conversation?: string;
}

/** Thrown for a line that starts like JSON but is not the `{"query": "...", "conversation": "..."}` object. */
export class BatchLineError extends Error {}

/**
 * Returns one input line read: a JSON object `{"query": "...", "conversation": "<id>"}` (conversation optional), or
 * plain text taken as the question. A line starting with `{` must be that object, so a typo in a JSON file is reported
 * instead of being asked as a question.
 */
export function readBatchLine(line: string): BatchLine {
  const text = line.replace(/\r$/, '');
  if (!text.trimStart().startsWith('{')) return { query: text };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new BatchLineError('not valid JSON: write plain text, or {"query": "...", "conversation": "<id>"}');
  }
  const { query, conversation } = (value ?? {}) as { query?: unknown; conversation?: unknown };
  if (typeof query !== 'string') throw new BatchLineError('the JSON line has no "query" string');
  if (conversation !== undefined && conversation !== null && typeof conversation !== 'string' && typeof conversation !== 'number') {
    throw new BatchLineError('"conversation" must be a string');
  }
  return conversation === undefined || conversation === null ? { query } : { query, conversation: String(conversation) };
}

/**
 * Answers every line of `input` in order and hands `write` one JSON line each (the Answer, or `{"error": "..."}` for a
 * line that could not be read), so line N of the output always belongs to line N of the input. Lines naming the same
 * conversation share its context, as a chat channel does: the follow-up seam of the commands (`answerInConversation`)
 * with a memory store of this run's own.
 */
export async function askBatch(service: IncidentService, input: Readable, write: (line: string) => void): Promise<number> {
  const conversations = createMemoryConversationStore();
  const lines = createInterface({ input, crlfDelay: Infinity });
  let count = 0;
  for await (const raw of lines) {
    count += 1;
    let line: BatchLine;
    try {
      line = readBatchLine(raw);
    } catch (error) {
      write(JSON.stringify({ error: `line ${count}: ${(error as Error).message}` }));
      continue;
    }
    const ctx: CommandContext = {
      incidents: service,
      commands: [],
      conversations,
      ...(line.conversation !== undefined
        ? { channel: { platform: 'cli', tenant: 'operator', canManageFeeds: false, canManageChannel: false, conversation: `cli:${line.conversation}` } }
        : {}),
    };
    write(JSON.stringify(await answerInConversation(line.query, ctx)));
  }
  return count;
}

import type { Answer, IncidentList } from '../src/core/answer-model.js';
import type { ConversationContext, ConversationStore } from '../src/core/conversation.js';
import type { IncidentService, SearchOptions, ViewOptions } from '../src/core/incident-service.js';
import type { CommandContext } from './types.js';

/**
 * How a command's turn meets its conversation: the context saved under the adapter's conversation key is read before
 * answering, handed to the answering service, and replaced by what the answer was about. Adapters name the
 * conversation (ChannelContext.conversation); the store lives in the app (CommandContext.conversations).
 */

/** What `answer` is handed for one turn: who may see what, the conversation's context, and the page to show. */
export interface TurnOptions extends ViewOptions {
  /** What the conversation remembers from its last answer, when anything: follow-ups resolve against it. */
  context?: ConversationContext;
  /** Where the page to show starts (a list's cursor); absent for the first page. */
  cursor?: string;
}

/** What the list calls (`recent`, `searchList`) are handed: filters, bounds and the page to show. */
export interface PageOptions extends SearchOptions {
  /** Where the page to show starts; absent for the first page. */
  cursor?: string;
}

/**
 * Returns the answer to one turn. The seam where follow-ups are resolved: the context and cursor travel as view
 * options, so a service that resolves pronouns and pages lists reads them there (one that does not ignores them).
 */
export function answerTurn(service: IncidentService, query: string, options: TurnOptions): Answer {
  return service.answer(query, options);
}

/**
 * Returns the context to keep after an answer: the record it was about, or the records it listed or compared (in
 * order, so "the second one" can be found), with the query; undefined after not-found, so that a question the bot
 * could not answer does not make the conversation forget what it was about.
 */
export function contextAfter(answer: Answer, at: number): ConversationContext | undefined {
  const query = answer.query;
  switch (answer.status) {
    case 'not-found':
      return undefined;
    case 'list':
    case 'comparison': {
      const ids = answer.items?.map((i) => i.id) ?? [];
      const compared = answer.comparison ? [answer.comparison.left.ref.id, answer.comparison.right.ref.id] : [];
      const itemIds = ids.length ? ids : compared;
      return itemIds.length ? { itemIds, query, at } : undefined;
    }
    case 'ambiguous': {
      if (!answer.incident) return undefined;
      const itemIds = answer.candidates.map((c) => c.id);
      return { recordId: answer.incident.id, ...(itemIds.length ? { itemIds } : {}), query, at };
    }
    case 'found':
      return answer.incident ? { recordId: answer.incident.id, query, at } : undefined;
  }
}

/** Returns the context to keep after a list reply (`incidents recent|search`), or undefined when it listed nothing. */
export function contextAfterList(list: IncidentList, query: string, at: number): ConversationContext | undefined {
  return list.items.length ? { itemIds: list.items.map((i) => i.id), query, at } : undefined;
}

/**
 * Returns the answer to `query` in the command's conversation: its context (when the adapter named a conversation
 * and the app keeps a store) is handed to the service, and what the answer was about is saved for the next turn.
 */
export async function answerInConversation(query: string, ctx: CommandContext, cursor?: string): Promise<Answer> {
  const key = ctx.channel?.conversation;
  const store = key ? ctx.conversations : undefined;
  const context = store && key ? await readContext(store, key) : undefined;
  const answer = answerTurn(ctx.incidents, query, { visible: ctx.canSee, context, cursor });
  if (store && key) await saveContext(store, key, contextAfter(answer, Date.now()));
  return answer;
}

/** Saves what a list reply showed as the conversation's context (when the adapter named one); returns the list. */
export async function rememberList(ctx: CommandContext, list: IncidentList, query: string): Promise<IncidentList> {
  const key = ctx.channel?.conversation;
  if (key && ctx.conversations) await saveContext(ctx.conversations, key, contextAfterList(list, query, Date.now()));
  return list;
}

/** Saves the context an answer leaves behind, outside a command (a picked candidate); never throws. */
export async function rememberAnswer(store: ConversationStore | undefined, key: string | undefined, answer: Answer): Promise<void> {
  if (store && key) await saveContext(store, key, contextAfter(answer, Date.now()));
}

// A conversation store that is down (a shared database, later) costs the follow-ups, never the answer itself.
async function readContext(store: ConversationStore, key: string): Promise<ConversationContext | undefined> {
  try {
    return await store.get(key);
  } catch {
    return undefined;
  }
}

async function saveContext(store: ConversationStore, key: string, context: ConversationContext | undefined): Promise<void> {
  if (!context) return;
  try {
    await store.set(key, context);
  } catch {
    // As for reading: the next turn simply has no context.
  }
}

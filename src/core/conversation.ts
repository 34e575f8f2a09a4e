/**
 * What a conversation remembers between turns, so that "who was behind it?" or "and the second one?" resolve against
 * the last answer. A conversation is a Discord channel, a Slack thread, or a console session; the adapter names it.
 */
export interface ConversationContext {
  /** The record the last answer was about (found or top candidate), when any. */
  recordId?: string;
  /** The last list's or comparison's record ids, in order, when the last answer was one. */
  itemIds?: string[];
  /** The last query as asked. */
  query?: string;
  /** When it was saved (epoch milliseconds). */
  at: number;
}

/** How long a conversation's context lasts after its last answer: a follow-up half an hour later is a new question. */
export const CONVERSATION_TTL_MS = 30 * 60_000;

/**
 * Where conversation contexts live, keyed by the adapter's conversation key (e.g. `discord:<channel>`,
 * `slack:<team>:<channel>:<thread ts>`, `console:<session>`). Asynchronous because a deployment of several replicas
 * keeps them in its shared database, so that a follow-up answered by another replica still resolves.
 */
export interface ConversationStore {
  /** Returns the context saved under `key`, or undefined when there is none or it expired. */
  get(key: string): Promise<ConversationContext | undefined>;
  /** Saves (replaces) the context under `key`; it expires CONVERSATION_TTL_MS after `context.at`. */
  set(key: string, context: ConversationContext): Promise<void>;
}

/** Most conversations kept in memory: a busy public bot has many channels; the oldest are dropped first. */
export const MAX_MEMORY_CONVERSATIONS = 10_000;

/** Returns a ConversationStore kept in this process's memory, bounded in size and expiring contexts by `now`. */
export function createMemoryConversationStore(options: { now?: () => number; capacity?: number } = {}): ConversationStore {
  const now = options.now ?? Date.now;
  const capacity = options.capacity ?? MAX_MEMORY_CONVERSATIONS;
  const contexts = new Map<string, ConversationContext>();
  return {
    async get(key) {
      const context = contexts.get(key);
      if (!context) return undefined;
      if (now() - context.at > CONVERSATION_TTL_MS) {
        contexts.delete(key);
        return undefined;
      }
      return context;
    },
    async set(key, context) {
      // Re-inserting moves the key to the end of the Map's order, so the first key is always the least recent.
      contexts.delete(key);
      contexts.set(key, context);
      while (contexts.size > capacity) contexts.delete(contexts.keys().next().value as string);
    },
  };
}

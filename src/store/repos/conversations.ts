import { CONVERSATION_TTL_MS, type ConversationContext, type ConversationStore } from '../../core/conversation.js';
import type { Db } from '../db.js';

/** Expired contexts are swept at most this often, by a `set`: rows are tiny, a sweep per minute is plenty. */
const SWEEP_EVERY_MS = 60_000;

/** Options for createDbConversationStore. */
export interface DbConversationStoreOptions {
  /** Clock in epoch milliseconds (tests pin it). */
  now?: () => number;
}

/**
 * Returns a ConversationStore kept in the database (table conversations), so that every replica sharing it resolves
 * a follow-up, whichever one answered the question before. A context expires CONVERSATION_TTL_MS after it was saved,
 * as in memory; expired rows are ignored at once and deleted by a later save.
 */
export function createDbConversationStore(db: Db, options: DbConversationStoreOptions = {}): ConversationStore {
  const now = options.now ?? Date.now;
  let lastSweep = now();
  return {
    async get(key) {
      const row = await db.one<{ data: string; expires_at: number }>('SELECT data, expires_at FROM conversations WHERE key = ?', [key]);
      if (!row || now() > row.expires_at) return undefined;
      try {
        return JSON.parse(row.data) as ConversationContext;
      } catch {
        // A damaged row is a forgotten conversation: the question is answered as a new one.
        return undefined;
      }
    },
    async set(key, context) {
      await db.run(
        'INSERT INTO conversations (key, data, expires_at) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET data = excluded.data, expires_at = excluded.expires_at',
        [key, JSON.stringify(context), context.at + CONVERSATION_TTL_MS],
      );
      const t = now();
      if (t - lastSweep >= SWEEP_EVERY_MS) {
        lastSweep = t;
        await db.run('DELETE FROM conversations WHERE expires_at < ?', [t]);
      }
    },
  };
}

import { AsyncLocalStorage } from 'node:async_hooks';
import type Database from 'better-sqlite3';
import type { Db, RunResult, SqlValue } from './db.js';

/** Prepared statements kept per connection: repositories use a few hundred distinct statements at most. */
const MAX_CACHED_STATEMENTS = 1_000;

interface TxContext {
  depth: number;
}

/**
 * Returns a Db over one better-sqlite3 connection. Its calls are synchronous underneath, so a transaction is only ever
 * interleaved with other work at its own `await`s: while one is open, queries from other call chains wait for it to
 * end (they would otherwise land inside it, and see or undo what it has not committed yet), and transactions queue.
 * The transaction's own call chain is recognised through AsyncLocalStorage, so its queries never wait for itself.
 */
export function createSqliteDb(db: Database.Database): Db {
  const als = new AsyncLocalStorage<TxContext>();
  const statements = new Map<string, Database.Statement>();
  let queue: Promise<void> = Promise.resolve();
  /** Settles when the open transaction ends; undefined when none is open. */
  let open: Promise<void> | undefined;

  const prepare = (sql: string): Database.Statement => {
    let stmt = statements.get(sql);
    if (!stmt) {
      if (statements.size >= MAX_CACHED_STATEMENTS) statements.clear();
      stmt = db.prepare(sql);
      statements.set(sql, stmt);
    }
    return stmt;
  };
  // better-sqlite3 binds numbers, strings, bigints, buffers and null; SQLite has no boolean type.
  const bind = (params: readonly SqlValue[]): unknown[] => params.map((p) => (typeof p === 'boolean' ? (p ? 1 : 0) : p));
  /**
   * Whether a statement from this call chain must wait: another chain's transaction is open. Checked right before the
   * statement, in the same turn: an `await` between the check and the statement (an async helper's return is one) lets
   * a transaction begin in between, and the statement would land inside it and go with its rollback.
   */
  const mustWait = (): boolean => open !== undefined && als.getStore() === undefined;

  const self: Db = {
    kind: 'sqlite',
    async query<R>(sql: string, params: readonly SqlValue[] = []): Promise<R[]> {
      while (mustWait()) await open;
      const stmt = prepare(sql);
      return (stmt.reader ? stmt.all(...bind(params)) : (stmt.run(...bind(params)), [])) as R[];
    },
    async one<R>(sql: string, params: readonly SqlValue[] = []): Promise<R | undefined> {
      while (mustWait()) await open;
      return prepare(sql).get(...bind(params)) as R | undefined;
    },
    async run(sql: string, params: readonly SqlValue[] = []): Promise<RunResult> {
      while (mustWait()) await open;
      const stmt = prepare(sql);
      if (stmt.reader) {
        // `INSERT ... RETURNING id` reads: the returned id is the one asked for.
        const rows = stmt.all(...bind(params)) as Record<string, unknown>[];
        const id = rows[0]?.id;
        return { changes: rows.length, ...(typeof id === 'number' || typeof id === 'bigint' ? { lastId: Number(id) } : {}) };
      }
      const info = stmt.run(...bind(params));
      return { changes: info.changes, lastId: Number(info.lastInsertRowid) };
    },
    async transaction<T>(fn: () => Promise<T>): Promise<T> {
      const outer = als.getStore();
      if (outer) {
        const name = `sp${outer.depth + 1}`;
        db.exec(`SAVEPOINT ${name}`);
        try {
          const result = await als.run({ depth: outer.depth + 1 }, fn);
          db.exec(`RELEASE ${name}`);
          return result;
        } catch (error) {
          db.exec(`ROLLBACK TO ${name}`);
          db.exec(`RELEASE ${name}`);
          throw error;
        }
      }
      let release!: () => void;
      const mine = new Promise<void>((resolve) => (release = resolve));
      const before = queue;
      queue = before.then(() => mine);
      await before;
      open = mine;
      try {
        // IMMEDIATE takes the write lock at once, so another process (the sync worker) cannot make this one fail halfway.
        db.exec('BEGIN IMMEDIATE');
        try {
          const result = await als.run({ depth: 0 }, fn);
          db.exec('COMMIT');
          return result;
        } catch (error) {
          if (db.inTransaction) db.exec('ROLLBACK');
          throw error;
        }
      } finally {
        open = undefined;
        release();
      }
    },
    inTransaction: () => als.getStore() !== undefined,
    async close() {
      await queue;
      if (db.open) db.close();
    },
  };
  return self;
}

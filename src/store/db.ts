/**
 * One way to talk to either database engine: SQLite (embedded, the default) or PostgreSQL (several replicas). The
 * repositories are written once against this interface; SQL uses `?` placeholders (turned into `$1, $2...` for
 * PostgreSQL) and the dialect differences that remain are branched on `kind`.
 */

/** Which engine a Db talks to. */
export type DbKind = 'sqlite' | 'postgres';

/** A value bound to a placeholder: what both engines store without conversion. */
export type SqlValue = string | number | bigint | boolean | null | Buffer;

/** What a write reports: rows changed, and the new row's id for an insert into a table with an integer key. */
export interface RunResult {
  changes: number;
  /** SQLite's last rowid, or PostgreSQL's first `id` of a `RETURNING id` clause; undefined otherwise. */
  lastId?: number;
}

/**
 * A connection (SQLite) or a pool (PostgreSQL) with transactions that follow the async call chain: inside
 * `transaction(fn)`, every query made by `fn` and whatever it awaits goes to that transaction, wherever it is issued
 * from; outside, a query waits for an open transaction of another call chain to finish (SQLite has one connection).
 */
export interface Db {
  readonly kind: DbKind;
  /** Returns the rows of a query. */
  query<R = Record<string, unknown>>(sql: string, params?: readonly SqlValue[]): Promise<R[]>;
  /** Returns the first row of a query, or undefined. */
  one<R = Record<string, unknown>>(sql: string, params?: readonly SqlValue[]): Promise<R | undefined>;
  /** Runs a statement (insert, update, delete, DDL) and returns what it changed. */
  run(sql: string, params?: readonly SqlValue[]): Promise<RunResult>;
  /**
   * Runs `fn` in one transaction: committed when it resolves, rolled back when it throws (the error is rethrown). A
   * nested call runs in a savepoint of the outer transaction.
   */
  transaction<T>(fn: () => Promise<T>): Promise<T>;
  /** Whether the current call chain is inside a transaction of this Db. */
  inTransaction(): boolean;
  /** Closes the connection or pool (safe to call twice). */
  close(): Promise<void>;
}

/** Thrown when a database cannot be reached or migrated; the message names the database and what to do. */
export class DbError extends Error {
  override name = 'DbError';
}

/** Returns `sql` with each `?` placeholder outside string literals numbered for PostgreSQL (`$1`, `$2`...). */
export function numberPlaceholders(sql: string): string {
  let n = 0;
  let out = '';
  let quote: string | undefined;
  for (let i = 0; i < sql.length; i++) {
    const c = sql[i]!;
    if (quote) {
      if (c === quote) quote = undefined;
      out += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      out += c;
    } else if (c === '?') {
      out += `$${++n}`;
    } else {
      out += c;
    }
  }
  return out;
}

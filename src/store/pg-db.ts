import { AsyncLocalStorage } from 'node:async_hooks';
import { createHash } from 'node:crypto';
import pg from 'pg';
import { DbError, numberPlaceholders, type Db, type RunResult, type SqlValue } from './db.js';

/** How a PostgreSQL Db is opened. */
export interface PgDbOptions {
  /** `postgres://user@host:port/database` (DATABASE_URL). */
  url: string;
  /** Schema to work in (created when missing); default the server's search_path (normally `public`). */
  schema?: string;
  /** Most pooled connections (default 10): each replica holds at most this many. */
  max?: number;
  /** Shown in pg_stat_activity, so an operator can tell replicas apart. */
  applicationName?: string;
}

interface TxContext {
  client: pg.PoolClient;
  depth: number;
}

/** Count columns and epoch-millisecond times are int8, which pg returns as strings; ours fit a double. */
const INT8_OID = 20;
const TYPES: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: string) =>
    oid === INT8_OID ? (value: string) => Number(value) : pg.types.getTypeParser(oid, format as 'text')) as pg.CustomTypesConfig['getTypeParser'],
};

/** Returns whether a schema name is safe to splice into SQL (it is an identifier, not a value). */
function isIdentifier(name: string): boolean {
  return /^[a-z_][a-z0-9_]{0,62}$/.test(name);
}

/**
 * Returns a Db over a PostgreSQL pool. Statements with parameters are prepared per connection under a name derived
 * from their text; a transaction holds one pooled connection, which every query of its call chain uses.
 */
export async function createPgDb(options: PgDbOptions): Promise<Db> {
  if (options.schema !== undefined && !isIdentifier(options.schema)) {
    throw new DbError(`schema "${options.schema}" is not a plain lower-case identifier`);
  }
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.max ?? 10,
    application_name: options.applicationName ?? 'incident-bot',
    types: TYPES,
    ...(options.schema ? { options: `-c search_path=${options.schema}` } : {}),
  });
  // An idle client's error (the server restarted) would otherwise be an unhandled 'error' event and end the process;
  // the pool drops that client and the next query opens a new one.
  pool.on('error', () => {});
  try {
    const client = await pool.connect();
    try {
      if (options.schema) await client.query(`CREATE SCHEMA IF NOT EXISTS ${options.schema}`);
    } finally {
      client.release();
    }
  } catch (error) {
    await pool.end().catch(() => {});
    throw new DbError(`cannot connect to PostgreSQL at ${redactDbUrl(options.url)} (${(error as Error).message}); check DATABASE_URL and that the server is running`, {
      cause: error,
    });
  }
  const als = new AsyncLocalStorage<TxContext>();
  const names = new Map<string, string>();
  const nameOf = (text: string): string => {
    let name = names.get(text);
    if (!name) {
      name = `q${createHash('sha1').update(text).digest('hex').slice(0, 20)}`;
      names.set(text, name);
    }
    return name;
  };
  const exec = async (sql: string, params: readonly SqlValue[]): Promise<pg.QueryResult> => {
    const text = numberPlaceholders(sql);
    const runner = als.getStore()?.client ?? pool;
    // Only statements with parameters are prepared: DDL and one-off statements without them are not worth a name.
    // Flags are INTEGER 0/1 on both engines (SQLite has no boolean type), so booleans are bound as numbers.
    const values = params.map((p) => (typeof p === 'boolean' ? (p ? 1 : 0) : p));
    const config: pg.QueryConfig = params.length > 0 ? { name: nameOf(text), text, values } : { text };
    const result = (await runner.query(config)) as pg.QueryResult | pg.QueryResult[];
    // Several statements in one text (a migration step) give one result each: the last one is the answer.
    return Array.isArray(result) ? result[result.length - 1]! : result;
  };

  return {
    kind: 'postgres',
    async query<R>(sql: string, params: readonly SqlValue[] = []): Promise<R[]> {
      return (await exec(sql, params)).rows as R[];
    },
    async one<R>(sql: string, params: readonly SqlValue[] = []): Promise<R | undefined> {
      return (await exec(sql, params)).rows[0] as R | undefined;
    },
    async run(sql: string, params: readonly SqlValue[] = []): Promise<RunResult> {
      const result = await exec(sql, params);
      const id = (result.rows[0] as Record<string, unknown> | undefined)?.id;
      return { changes: result.rowCount ?? 0, ...(id !== undefined && id !== null ? { lastId: Number(id) } : {}) };
    },
    async transaction<T>(fn: () => Promise<T>): Promise<T> {
      const outer = als.getStore();
      if (outer) {
        const name = `sp${outer.depth + 1}`;
        await outer.client.query(`SAVEPOINT ${name}`);
        try {
          const result = await als.run({ client: outer.client, depth: outer.depth + 1 }, fn);
          await outer.client.query(`RELEASE SAVEPOINT ${name}`);
          return result;
        } catch (error) {
          await outer.client.query(`ROLLBACK TO SAVEPOINT ${name}`);
          throw error;
        }
      }
      const client = await pool.connect();
      let broken = false;
      try {
        await client.query('BEGIN');
        try {
          const result = await als.run({ client, depth: 0 }, fn);
          await client.query('COMMIT');
          return result;
        } catch (error) {
          await client.query('ROLLBACK').catch(() => {
            broken = true;
          });
          throw error;
        }
      } finally {
        // A connection whose rollback failed is in an unknown state: it is closed, not returned to the pool.
        client.release(broken);
      }
    },
    inTransaction: () => als.getStore() !== undefined,
    async close() {
      if (!pool.ended) await pool.end();
    },
  };
}

/** Returns a database URL with its password hidden, for messages and logs. */
export function redactDbUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'the configured DATABASE_URL';
  }
}

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import type { Db } from '../../src/store/db.js';
import { createPgDb } from '../../src/store/pg-db.js';
import { createSqliteDb } from '../../src/store/sqlite-db.js';

/**
 * The PostgreSQL the contract tests use: TEST_DATABASE_URL (set by .ci/run), else the local server's `postgres`
 * database with the default superuser. Each test file works in a schema of its own, dropped at the end.
 */
export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** Why PostgreSQL tests are skipped on this machine, or undefined when a server answers (probed once per file). */
export const POSTGRES_SKIP: string | undefined = await probe(TEST_DATABASE_URL);

async function probe(url: string): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return undefined;
  } catch (error) {
    return `no PostgreSQL at ${url.replace(/:[^:@/]*@/, ':***@')} (${(error as Error).message}): set TEST_DATABASE_URL to run the PostgreSQL half of the contract tests`;
  } finally {
    await client.end().catch(() => {});
  }
}

/** One engine a contract test runs against: how to open a fresh, empty database, and why it is skipped, if it is. */
export interface DbCase {
  name: 'sqlite' | 'postgres';
  /** Set when the engine is not available here: pass it as the `skip` option of describe. */
  skip?: string;
  /** Opens a fresh, empty database (a new SQLite file; a new PostgreSQL schema). */
  open(): Promise<Db>;
  /** Removes every database this case opened (files, schemas). */
  cleanup(): Promise<void>;
}

let counter = 0;

/** Returns the engines to run a contract test against: SQLite always, PostgreSQL when a server answers. */
export function dbCases(label: string): DbCase[] {
  const slug = label.toLowerCase().replace(/[^a-z0-9]+/g, '_').slice(0, 30);
  const dirs: string[] = [];
  const schemas: string[] = [];
  const sqliteDbs: Db[] = [];
  const pgDbs: Db[] = [];
  return [
    {
      name: 'sqlite',
      async open() {
        const dir = mkdtempSync(path.join(tmpdir(), 'incident-db-'));
        dirs.push(dir);
        const raw = new Database(path.join(dir, 'test.db'));
        raw.pragma('journal_mode = WAL');
        const db = createSqliteDb(raw);
        sqliteDbs.push(db);
        return db;
      },
      async cleanup() {
        for (const db of sqliteDbs.splice(0)) await db.close();
        for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
      },
    },
    {
      name: 'postgres',
      skip: POSTGRES_SKIP,
      async open() {
        const schema = `t_${slug}_${process.pid}_${++counter}_${Math.random().toString(36).slice(2, 8)}`;
        schemas.push(schema);
        const db = await createPgDb({ url: TEST_DATABASE_URL, schema, max: 4 });
        pgDbs.push(db);
        return db;
      },
      async cleanup() {
        for (const db of pgDbs.splice(0)) await db.close();
        if (schemas.length === 0) return;
        const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
        await client.connect();
        try {
          for (const schema of schemas.splice(0)) await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
        } finally {
          await client.end();
        }
      },
    },
  ];
}

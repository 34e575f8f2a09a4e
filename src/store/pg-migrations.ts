import { DbError, type Db } from './db.js';
import { PG_OUTBOX_CLAIM_TOKEN_MIGRATION, PG_OUTBOX_CLAIMS_MIGRATION, PG_SCHEMA_FEEDS } from './pg-schema-feeds.js';
import { PG_RECORDS_MIGRATION } from './pg-schema-records.js';
import { PG_REPLICA_MIGRATIONS } from './pg-schema-replicas.js';

/** One PostgreSQL schema step; applied once, in order, recorded in `schema_migrations`. */
export interface PgMigration {
  version: number;
  name: string;
  sql: string;
}

/**
 * The PostgreSQL schema history, the counterpart of the SQLite migrations (same tables and meaning, PostgreSQL types:
 * BIGINT epoch milliseconds, JSONB documents, identity keys). Append only: a released step is never edited.
 */
export const PG_MIGRATIONS: PgMigration[] = [
  PG_SCHEMA_FEEDS,
  PG_RECORDS_MIGRATION,
  ...PG_REPLICA_MIGRATIONS,
  PG_OUTBOX_CLAIMS_MIGRATION,
  PG_OUTBOX_CLAIM_TOKEN_MIGRATION,
];

/** Any fixed number: the advisory lock key replicas take so that only one of them migrates at a time. */
const MIGRATION_LOCK_KEY = 7_284_190_441;

/**
 * Brings the schema up to date in one transaction, holding an advisory lock so that replicas starting together do not
 * run a step twice; returns the versions applied. Throws when the database was migrated by a newer version.
 */
export async function applyPgMigrations(db: Db, migrations: readonly PgMigration[] = PG_MIGRATIONS): Promise<number[]> {
  if (db.kind !== 'postgres') throw new DbError('applyPgMigrations needs a PostgreSQL Db');
  const latest = migrations[migrations.length - 1]?.version ?? 0;
  return db.transaction(async () => {
    await db.query('SELECT pg_advisory_xact_lock(?)', [MIGRATION_LOCK_KEY]);
    await db.run(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version    INTEGER PRIMARY KEY,
      name       TEXT NOT NULL,
      applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
    )`);
    const current = (await db.one<{ v: number | null }>('SELECT max(version) AS v FROM schema_migrations'))?.v ?? 0;
    if (current > latest) {
      throw new DbError(`database schema version ${current} is newer than this program supports (${latest}); upgrade the bot or point DATABASE_URL elsewhere`);
    }
    const applied: number[] = [];
    for (const step of migrations) {
      if (step.version <= current) continue;
      await db.run(step.sql);
      await db.run('INSERT INTO schema_migrations (version, name) VALUES (?, ?)', [step.version, step.name]);
      applied.push(step.version);
    }
    return applied;
  });
}

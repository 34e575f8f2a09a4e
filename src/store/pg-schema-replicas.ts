import type { PgMigration } from './pg-migrations.js';

/**
 * PostgreSQL tables for running several replicas on one database: the leases they take turns with (see leases.ts),
 * the counterpart of SQLite migration 8; and the Discord shards they share (see shard-locks.ts), PostgreSQL only
 * (one SQLite process runs every shard it is given).
 */
export const PG_REPLICA_MIGRATIONS: PgMigration[] = [
  {
    version: 3,
    name: 'leases (replicas sharing a database take turns at feeds and syncs)',
    sql: `
      CREATE TABLE leases (
        name        TEXT PRIMARY KEY,
        holder      TEXT NOT NULL,
        fence       BIGINT NOT NULL,
        acquired_at BIGINT NOT NULL,
        expires_at  BIGINT NOT NULL
      );
    `,
  },
  {
    version: 4,
    name: 'discord_shards (who last ran each gateway shard, and its session to resume)',
    sql: `
      CREATE TABLE discord_shards (
        shard_count INTEGER NOT NULL,
        shard_id    INTEGER NOT NULL,
        holder      TEXT,
        claimed_at  BIGINT,
        session_id  TEXT,
        sequence    BIGINT,
        resume_url  TEXT,
        bot_user    JSONB,
        updated_at  BIGINT NOT NULL,
        PRIMARY KEY (shard_count, shard_id)
      );
    `,
  },
];

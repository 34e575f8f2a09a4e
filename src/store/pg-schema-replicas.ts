import type { PgMigration } from './pg-migrations.js';

/**
 * PostgreSQL tables for running several replicas on one database: the leases they take turns with (see leases.ts),
 * the counterpart of SQLite migration 8.
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
];

import type { PgMigration } from './pg-migrations.js';

/**
 * PostgreSQL schema of the records side: imported records, the import log, settings, synced sources, relations,
 * Slack installations and conversation contexts; the same tables and meaning as SQLite migrations 1, 4, 6, 7 and 9.
 * Keys and ordered text use the "C" collation, so that `ORDER BY id` and the relations' keyset paging sort by code
 * point, as SQLite does, whatever the database's locale. Records stay JSON text, not JSONB: the text is what was
 * hashed and what the reader parses, and JSONB would reorder it and cost a server-side parse per row for nothing.
 */
export const PG_RECORDS_MIGRATION: PgMigration = {
  version: 2,
  name: 'records: incidents, imports, meta, sources, relations, Slack installations, conversations',
  sql: `
    CREATE TABLE incidents (
      id         TEXT COLLATE "C" PRIMARY KEY,
      kind       TEXT NOT NULL,
      origin     TEXT NOT NULL,
      data       TEXT NOT NULL,
      body       TEXT,
      -- ISO 8601, as on SQLite
      updated_at TEXT NOT NULL
    );
    CREATE INDEX incidents_origin ON incidents(origin);
    CREATE INDEX incidents_kind ON incidents(kind);

    CREATE TABLE imports (
      id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      origin      TEXT NOT NULL,
      format      TEXT NOT NULL,
      count       INTEGER NOT NULL,
      imported_at TEXT NOT NULL
    );
    CREATE INDEX imports_origin ON imports(origin);

    -- IF NOT EXISTS: settings are shared by every part of the bot, and another schema step may have made the table first
    CREATE TABLE IF NOT EXISTS meta (
      key   TEXT PRIMARY KEY,
      value TEXT
    );

    CREATE TABLE sources (
      name                     TEXT COLLATE "C" PRIMARY KEY,
      format                   TEXT NOT NULL,
      url                      TEXT NOT NULL,
      references_url           TEXT,
      etag                     TEXT,
      last_modified            TEXT,
      references_etag          TEXT,
      references_last_modified TEXT,
      body_hash                TEXT,
      version                  TEXT,
      notice                   TEXT,
      record_count             INTEGER NOT NULL DEFAULT 0,
      bytes                    BIGINT,
      last_attempt_at          BIGINT,
      last_success_at          BIGINT,
      last_changed_at          BIGINT,
      last_error               TEXT,
      last_error_at            BIGINT,
      consecutive_failures     INTEGER NOT NULL DEFAULT 0
    );

    CREATE TABLE source_records (
      source     TEXT COLLATE "C" NOT NULL,
      id         TEXT COLLATE "C" NOT NULL,
      kind       TEXT NOT NULL,
      data       TEXT NOT NULL,
      body       TEXT,
      hash       TEXT NOT NULL,
      updated_at BIGINT NOT NULL,
      PRIMARY KEY (source, id)
    );
    CREATE INDEX source_records_id ON source_records(id);

    CREATE TABLE relations (
      generation INTEGER NOT NULL,
      subject    TEXT COLLATE "C" NOT NULL,
      type       TEXT COLLATE "C" NOT NULL,
      object     TEXT COLLATE "C" NOT NULL,
      PRIMARY KEY (generation, subject, type, object)
    );
    CREATE INDEX relations_object ON relations(generation, object, type);

    CREATE TABLE relation_labels (
      generation INTEGER NOT NULL,
      node       TEXT COLLATE "C" NOT NULL,
      label      TEXT NOT NULL,
      PRIMARY KEY (generation, node)
    );

    CREATE TABLE slack_installations (
      key                   TEXT PRIMARY KEY,
      team_id               TEXT,
      enterprise_id         TEXT,
      is_enterprise_install INTEGER NOT NULL CHECK (is_enterprise_install IN (0, 1)),
      team_name             TEXT,
      app_id                TEXT,
      bot_user_id           TEXT,
      installer_user_id     TEXT,
      scopes                TEXT,
      -- Bolt's installation object, tokens included; sealed with SLACK_TOKEN_ENCRYPTION_KEY when set
      data                  TEXT NOT NULL,
      installed_at          BIGINT NOT NULL,
      updated_at            BIGINT NOT NULL
    );
    CREATE INDEX slack_installations_enterprise ON slack_installations(enterprise_id);

    CREATE TABLE conversations (
      key        TEXT PRIMARY KEY,
      data       TEXT NOT NULL,
      expires_at BIGINT NOT NULL
    );
    CREATE INDEX conversations_expiry ON conversations(expires_at);
  `,
};

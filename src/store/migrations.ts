import type Database from 'better-sqlite3';

/** One schema step; `version` is the `PRAGMA user_version` the database has once `sql` has run. */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/**
 * The ordered schema history. Append only: a released step is never edited, because databases that already ran it
 * will not run it again. Later steps (feeds, posts, subscriptions, outbox) reference `incidents.origin` by value
 * (e.g. origin "feed:<feed id>") rather than by foreign key, so a feed can be deleted and re-added without
 * cascading into incidents, and `removeOrigin` stays the one way to drop what a source contributed.
 */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'incidents, imports log, meta',
    sql: `
      CREATE TABLE incidents (
        id         TEXT PRIMARY KEY,
        kind       TEXT NOT NULL,
        origin     TEXT NOT NULL,
        -- the validated Incident as JSON without its body, so listing every record stays small
        data       TEXT NOT NULL CHECK (json_valid(data)),
        body       TEXT,
        updated_at TEXT NOT NULL
      ) STRICT;
      CREATE INDEX incidents_origin ON incidents(origin);
      CREATE INDEX incidents_kind ON incidents(kind);

      CREATE TABLE imports (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        origin      TEXT NOT NULL,
        format      TEXT NOT NULL,
        count       INTEGER NOT NULL,
        imported_at TEXT NOT NULL
      ) STRICT;
      CREATE INDEX imports_origin ON imports(origin);

      CREATE TABLE meta (
        key   TEXT PRIMARY KEY,
        value TEXT
      ) STRICT;
    `,
  },
];

/** The schema version this code expects (the last migration's version). */
export const SCHEMA_VERSION: number = MIGRATIONS[MIGRATIONS.length - 1]?.version ?? 0;

/** Thrown when the database was written by a newer version of the bot than this one. */
export class SchemaTooNewError extends Error {
  override name = 'SchemaTooNewError';
}

/** Returns the versions applied now (empty when the database was already current); throws if the file is newer. */
export function applyMigrations(db: Database.Database, migrations: readonly Migration[] = MIGRATIONS): number[] {
  const readVersion = (): number => db.pragma('user_version', { simple: true }) as number;
  const latest = migrations[migrations.length - 1]?.version ?? 0;
  const tooNew = (current: number): SchemaTooNewError =>
    new SchemaTooNewError(
      `database schema version ${current} is newer than this program supports (${latest}); upgrade the bot or use another DATABASE_PATH`,
    );
  if (readVersion() > latest) throw tooNew(readVersion());
  const applied: number[] = [];
  for (const step of migrations) {
    // IMMEDIATE takes the write lock before reading user_version, so two processes starting together cannot both
    // run the same step; user_version lives in the file header and rolls back with the transaction.
    const ran = db
      .transaction((): boolean => {
        const current = readVersion();
        if (current > latest) throw tooNew(current);
        if (current >= step.version) return false;
        if (current !== step.version - 1) {
          throw new Error(`migration ${step.version} expects schema version ${step.version - 1}, found ${current}`);
        }
        db.exec(step.sql);
        db.pragma(`user_version = ${Math.trunc(step.version)}`);
        return true;
      })
      .immediate();
    if (ran) applied.push(step.version);
  }
  return applied;
}

import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { IncidentKindSchema, parseIncident, type Incident, type IncidentInput, type IncidentKind } from '../core/incident.js';
import { checkInfo, rowToIncident, type ImportInfo, type ImportRecord, type ImportResult, type IncidentCounts } from './repos/records.js';
import type { Db } from './db.js';
import { applyMigrations, SchemaTooNewError } from './migrations.js';
import { createSqliteDb } from './sqlite-db.js';

export { looksLikeStoredIncident, type ImportInfo, type ImportRecord, type ImportResult, type IncidentCounts } from './repos/records.js';

/** Where the database lives when DATABASE_PATH is not set (relative to the working directory; `var/` is git-ignored). */
export const DEFAULT_DATABASE_PATH = './var/incident-bot.db';

/** How long a write waits for another connection's lock before failing with SQLITE_BUSY (milliseconds). */
const BUSY_TIMEOUT_MS = 5000;

/** Thrown when the database cannot be opened or migrated; the message names the file and what to do. */
export class StoreError extends Error {
  override name = 'StoreError';
  /** The absolute database path the error concerns. */
  readonly path: string;
  constructor(path: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.path = path;
  }
}

/** Options for openStore. */
export interface StoreOptions {
  /** Clock for updated_at / imported_at (tests pin it). */
  now?: () => Date;
}

/** The persistent incident store; every method is synchronous (better-sqlite3). */
export interface Store {
  /** The absolute path of the database file (or ":memory:"). */
  readonly path: string;
  /** The open connection, for modules that keep their own tables in this file (feeds, outbox) and share its transactions. */
  readonly db: Database.Database;
  /** Validates and upserts every record by id in one transaction, and logs the import; on any error nothing is written. */
  importIncidents(incidents: readonly IncidentInput[], info: ImportInfo): ImportResult;
  /** Runs `produce` (e.g. a parser) and imports its result in one transaction, so a parse failure leaves the store as it was. */
  importWith(origin: string, format: string, produce: () => readonly IncidentInput[]): ImportResult;
  /** Runs `fn` in a transaction (a savepoint when nested) and returns its result; throwing rolls back. `fn` must be synchronous. */
  runInTransaction<T>(fn: () => T): T;
  /** Every stored record, re-validated, bodies attached, ordered by id. */
  allIncidents(): Incident[];
  /** One record with its body, or undefined. */
  getIncident(id: string): Incident | undefined;
  /** The long text of one record, or undefined when the record is unknown or has none. */
  getBody(id: string): string | undefined;
  /** Totals overall and per kind. */
  countIncidents(): IncidentCounts;
  /** Deletes every record whose last import came from `origin`; returns how many were deleted. */
  removeOrigin(origin: string): number;
  /** A stored setting, or undefined. */
  getMeta(key: string): string | undefined;
  /** Stores or replaces a setting. */
  setMeta(key: string, value: string): void;
  /** The import log, oldest first. */
  imports(): ImportRecord[];
  /** Closes the database (safe to call twice). */
  close(): void;
}

/** Opens (creating if needed) the database at `path`, turns on WAL and foreign keys, and brings the schema up to date. */
export function openStore(path: string, options: StoreOptions = {}): Store {
  const inMemory = path === ':memory:';
  const file = inMemory ? path : resolve(path);
  let db: Database.Database | undefined;
  try {
    if (!inMemory) mkdirSync(dirname(file), { recursive: true });
    db = new Database(file);
    // WAL lets readers (the bot answering) proceed while an import writes; in-memory databases report "memory".
    db.pragma('journal_mode = WAL');
    db.pragma('foreign_keys = ON');
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    // NORMAL is durable against application crashes in WAL mode; only an OS crash can lose the last commit.
    db.pragma('synchronous = NORMAL');
    applyMigrations(db);
  } catch (err) {
    if (db?.open) db.close();
    const reason = err instanceof Error ? err.message : String(err);
    if (err instanceof SchemaTooNewError) throw new StoreError(file, `database ${file}: ${reason}`, { cause: err });
    throw new StoreError(
      file,
      `cannot open the database at ${file} (${reason}); set DATABASE_PATH to a writable file path`,
      { cause: err },
    );
  }
  return new SqliteStore(db, file, options.now ?? (() => new Date()));
}

interface IncidentRow {
  id: string;
  data: string;
  body: string | null;
}

interface ImportRow {
  id: number;
  origin: string;
  format: string;
  count: number;
  imported_at: string;
}

class SqliteStore implements Store {
  private readonly stmts;
  private readonly importTx;

  constructor(
    readonly db: Database.Database,
    readonly path: string,
    private readonly now: () => Date,
  ) {
    this.stmts = {
      exists: db.prepare<[string], { one: 1 }>('SELECT 1 AS one FROM incidents WHERE id = ?'),
      upsert: db.prepare<[{ id: string; kind: string; origin: string; data: string; body: string | null; updated_at: string }]>(
        `INSERT INTO incidents (id, kind, origin, data, body, updated_at)
         VALUES (@id, @kind, @origin, @data, @body, @updated_at)
         ON CONFLICT(id) DO UPDATE SET
           kind = excluded.kind, origin = excluded.origin, data = excluded.data,
           body = excluded.body, updated_at = excluded.updated_at`,
      ),
      logImport: db.prepare<[string, string, number, string]>(
        'INSERT INTO imports (origin, format, count, imported_at) VALUES (?, ?, ?, ?)',
      ),
      all: db.prepare<[], IncidentRow>('SELECT id, data, body FROM incidents ORDER BY id'),
      one: db.prepare<[string], IncidentRow>('SELECT id, data, body FROM incidents WHERE id = ?'),
      body: db.prepare<[string], { body: string | null }>('SELECT body FROM incidents WHERE id = ?'),
      countByKind: db.prepare<[], { kind: string; n: number }>('SELECT kind, COUNT(*) AS n FROM incidents GROUP BY kind'),
      removeOrigin: db.prepare<[string]>('DELETE FROM incidents WHERE origin = ?'),
      getMeta: db.prepare<[string], { value: string | null }>('SELECT value FROM meta WHERE key = ?'),
      setMeta: db.prepare<[string, string]>(
        'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value',
      ),
      imports: db.prepare<[], ImportRow>('SELECT id, origin, format, count, imported_at FROM imports ORDER BY id'),
    };
    this.importTx = db.transaction((incidents: readonly IncidentInput[], info: ImportInfo): ImportResult => {
      const stamp = this.now().toISOString();
      let inserted = 0;
      let updated = 0;
      incidents.forEach((raw, index) => {
        const rawId = (raw as { id?: unknown } | null)?.id;
        const label = `${info.origin} record ${index + 1}${typeof rawId === 'string' ? ` (${rawId})` : ''}`;
        const { body, ...rest } = parseIncident(raw, label);
        if (this.stmts.exists.get(rest.id)) updated++;
        else inserted++;
        this.stmts.upsert.run({
          id: rest.id,
          kind: rest.kind,
          origin: info.origin,
          data: JSON.stringify(rest),
          body: body ?? null,
          updated_at: stamp,
        });
      });
      this.stmts.logImport.run(info.origin, info.format, incidents.length, stamp);
      return { inserted, updated };
    });
  }

  importIncidents(incidents: readonly IncidentInput[], info: ImportInfo): ImportResult {
    checkInfo(info);
    return this.importTx(incidents, info);
  }

  importWith(origin: string, format: string, produce: () => readonly IncidentInput[]): ImportResult {
    return this.runInTransaction(() => this.importIncidents(produce(), { origin, format }));
  }

  runInTransaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  allIncidents(): Incident[] {
    return this.stmts.all.all().map((row) => this.toIncident(row));
  }

  getIncident(id: string): Incident | undefined {
    const row = this.stmts.one.get(id);
    return row ? this.toIncident(row) : undefined;
  }

  getBody(id: string): string | undefined {
    return this.stmts.body.get(id)?.body ?? undefined;
  }

  countIncidents(): IncidentCounts {
    const byKind = Object.fromEntries(IncidentKindSchema.options.map((k) => [k, 0])) as Record<IncidentKind, number>;
    let total = 0;
    for (const { kind, n } of this.stmts.countByKind.all()) {
      total += n;
      if (kind in byKind) byKind[kind as IncidentKind] = n;
    }
    return { total, byKind };
  }

  removeOrigin(origin: string): number {
    return this.stmts.removeOrigin.run(origin).changes;
  }

  getMeta(key: string): string | undefined {
    return this.stmts.getMeta.get(key)?.value ?? undefined;
  }

  setMeta(key: string, value: string): void {
    this.stmts.setMeta.run(key, value);
  }

  imports(): ImportRecord[] {
    return this.stmts.imports.all().map((r) => ({
      id: r.id,
      origin: r.origin,
      format: r.format,
      count: r.count,
      importedAt: r.imported_at,
    }));
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  /** Re-validates a row so a hand-edited or older-schema row fails loudly, naming the file and the record. */
  private toIncident(row: IncidentRow): Incident {
    return rowToIncident(row, `${this.path} incident ${row.id}`);
  }
}

const dbs = new WeakMap<Database.Database, Db>();

/**
 * Returns the async Db over a store's own connection, the same one for every caller: one Db per connection, so that
 * its transactions queue together and other call chains wait for an open one instead of landing inside it.
 */
export function storeDb(store: Store): Db {
  let db = dbs.get(store.db);
  if (!db) {
    db = createSqliteDb(store.db);
    dbs.set(store.db, db);
  }
  return db;
}

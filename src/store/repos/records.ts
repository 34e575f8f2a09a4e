import { setImmediate as nextTurn } from 'node:timers/promises';
import { IncidentKindSchema, parseIncident, type Incident, type IncidentInput, type IncidentKind } from '../../core/incident.js';
import type { Db } from '../db.js';
import { inJsonArray, insertRows, ROWS_PER_TURN } from './sql.js';

/** Where an import came from: `origin` groups the records (e.g. "seed", "file:x.json", "feed:cisa") for removeOrigin. */
export interface ImportInfo {
  origin: string;
  format: string;
}

/** How many records an import added and how many it replaced (same id already stored). */
export interface ImportResult {
  inserted: number;
  updated: number;
}

/** One entry of the import log. */
export interface ImportRecord {
  id: number;
  origin: string;
  format: string;
  /** Records in that import (inserted + updated). */
  count: number;
  /** ISO 8601 timestamp. */
  importedAt: string;
}

/** Stored record totals; every kind is present, with 0 when none is stored. */
export interface IncidentCounts {
  total: number;
  byKind: Record<IncidentKind, number>;
}

/** Row count, newest write and total size of a records table: part of the index snapshot's fingerprint. */
export interface RecordTableStats {
  n: number;
  t: number | string | null;
  bytes: number;
}

/** The imported records (`incidents`), their import log and the settings (`meta`), on either engine. */
export interface RecordRepo {
  /** Validates and upserts every record by id in one transaction, and logs the import; on any error nothing is written. */
  importIncidents(incidents: readonly IncidentInput[], info: ImportInfo): Promise<ImportResult>;
  /** Runs `produce` (e.g. a parser) and imports its result in one transaction, so a parse failure leaves the store as it was. */
  importWith(origin: string, format: string, produce: () => readonly IncidentInput[] | Promise<readonly IncidentInput[]>): Promise<ImportResult>;
  /** Every stored record (one query), re-validated where it looks wrong, bodies attached, ordered by id. */
  allIncidents(): Promise<Incident[]>;
  /** One record with its body, or undefined. */
  getIncident(id: string): Promise<Incident | undefined>;
  /** The stored records with these ids, by id. */
  incidentsById(ids: readonly string[]): Promise<Map<string, Incident>>;
  /** The long text of one record, or undefined when the record is unknown or has none. */
  getBody(id: string): Promise<string | undefined>;
  /** Totals overall and per kind. */
  countIncidents(): Promise<IncidentCounts>;
  /** Row count, newest write and total size of the stored records. */
  stats(): Promise<RecordTableStats>;
  /** Deletes every record whose last import came from `origin`; returns how many were deleted. */
  removeOrigin(origin: string): Promise<number>;
  /** A stored setting, or undefined. */
  getMeta(key: string): Promise<string | undefined>;
  /** Stores or replaces a setting. */
  setMeta(key: string, value: string): Promise<void>;
  /** The import log, oldest first. */
  imports(): Promise<ImportRecord[]>;
}

/** Options for createRecordRepo. */
export interface RecordRepoOptions {
  /** Clock for updated_at / imported_at (tests pin it). */
  now?: () => Date;
  /** Names the database in the message of a stored record that fails validation. */
  label?: string;
}

/** A stored record's row: the record as JSON without its body, and the body apart. */
export interface StoredRow {
  id: string;
  data: string;
  body: string | null;
}

/** Records validated per turn of the event loop before an import writes (the schema costs ~20 µs a record). */
const VALIDATE_PER_TURN = 2_000;

/** Returns the repository of imported records over `db`. */
export function createRecordRepo(db: Db, options: RecordRepoOptions = {}): RecordRepo {
  const now = options.now ?? (() => new Date());
  const label = options.label ?? 'the store';
  const toIncident = (row: StoredRow) => rowToIncident(row, `${label} incident ${row.id}`);

  const repo: RecordRepo = {
    async importIncidents(incidents, info) {
      checkInfo(info);
      const stamp = now().toISOString();
      // Validated before the transaction opens: a bad record fails fast, and the schema's CPU time is not spent holding the write lock.
      const rows: Array<[string, string, string, string, string | null, string]> = [];
      for (const [index, raw] of incidents.entries()) {
        const rawId = (raw as { id?: unknown } | null)?.id;
        const where = `${info.origin} record ${index + 1}${typeof rawId === 'string' ? ` (${rawId})` : ''}`;
        const { body, ...rest } = parseIncident(raw, where);
        rows.push([rest.id, rest.kind, info.origin, JSON.stringify(rest), body ?? null, stamp]);
        if ((index + 1) % VALIDATE_PER_TURN === 0) await nextTurn();
      }
      return db.transaction(async () => {
        const ids = [...new Set(rows.map((r) => r[0]))];
        const existing = new Set<string>();
        for (let at = 0; at < ids.length; at += ROWS_PER_TURN) {
          const found = await db.query<{ id: string }>(`SELECT id FROM incidents WHERE id ${inJsonArray(db)}`, [JSON.stringify(ids.slice(at, at + ROWS_PER_TURN))]);
          for (const r of found) existing.add(r.id);
        }
        // One statement may not touch a row twice (PostgreSQL refuses it): a repeated id keeps its last version, and
        // counts as an update, as it would written row by row.
        const last = new Map(rows.map((r) => [r[0], r]));
        let inserted = 0;
        const seen = new Set<string>();
        for (const [id] of rows) {
          if (!existing.has(id) && !seen.has(id)) inserted++;
          seen.add(id);
        }
        await insertRows(
          db,
          'INSERT INTO incidents (id, kind, origin, data, body, updated_at)',
          [...last.values()],
          `ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, origin = excluded.origin, data = excluded.data,
             body = excluded.body, updated_at = excluded.updated_at`,
        );
        await db.run('INSERT INTO imports (origin, format, count, imported_at) VALUES (?, ?, ?, ?)', [info.origin, info.format, incidents.length, stamp]);
        return { inserted, updated: rows.length - inserted };
      });
    },
    async importWith(origin, format, produce) {
      return db.transaction(async () => repo.importIncidents(await produce(), { origin, format }));
    },
    async allIncidents() {
      return (await db.query<StoredRow>('SELECT id, data, body FROM incidents ORDER BY id')).map(toIncident);
    },
    async getIncident(id) {
      const row = await db.one<StoredRow>('SELECT id, data, body FROM incidents WHERE id = ?', [id]);
      return row ? toIncident(row) : undefined;
    },
    async incidentsById(ids) {
      const out = new Map<string, Incident>();
      if (ids.length === 0) return out;
      for (const row of await db.query<StoredRow>(`SELECT id, data, body FROM incidents WHERE id ${inJsonArray(db)}`, [JSON.stringify(ids)])) {
        out.set(row.id, toIncident(row));
      }
      return out;
    },
    async getBody(id) {
      return (await db.one<{ body: string | null }>('SELECT body FROM incidents WHERE id = ?', [id]))?.body ?? undefined;
    },
    async countIncidents() {
      const byKind = Object.fromEntries(IncidentKindSchema.options.map((k) => [k, 0])) as Record<IncidentKind, number>;
      let total = 0;
      for (const { kind, n } of await db.query<{ kind: string; n: number }>('SELECT kind, count(*) AS n FROM incidents GROUP BY kind')) {
        total += n;
        if (kind in byKind) byKind[kind as IncidentKind] = n;
      }
      return { total, byKind };
    },
    async stats() {
      return (await db.one<RecordTableStats>('SELECT count(*) AS n, max(updated_at) AS t, coalesce(sum(length(data)), 0) AS bytes FROM incidents'))!;
    },
    async removeOrigin(origin) {
      return (await db.run('DELETE FROM incidents WHERE origin = ?', [origin])).changes;
    },
    async getMeta(key) {
      return (await db.one<{ value: string | null }>('SELECT value FROM meta WHERE key = ?', [key]))?.value ?? undefined;
    },
    async setMeta(key, value) {
      await db.run('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value', [key, value]);
    },
    async imports() {
      const rows = await db.query<{ id: number; origin: string; format: string; count: number; imported_at: string }>(
        'SELECT id, origin, format, count, imported_at FROM imports ORDER BY id',
      );
      return rows.map((r) => ({ id: Number(r.id), origin: r.origin, format: r.format, count: r.count, importedAt: r.imported_at }));
    },
  };
  return repo;
}

/**
 * Returns the record of a stored row, body attached. Rows were validated on the way in; reading 100k of them through
 * the full schema takes ~2 s at start-up, so a structural check comes first, and only a row that fails it (a hand
 * edit, an older version) meets the full schema, which names the field, the problem and `where`.
 */
export function rowToIncident(row: StoredRow, where: string): Incident {
  const record = JSON.parse(row.data) as Record<string, unknown>;
  if (row.body !== null) record.body = row.body;
  if (looksLikeStoredIncident(record, row.id)) return record as unknown as Incident;
  return parseIncident(record, where);
}

const KINDS = new Set(['incident', 'group', 'software', 'vulnerability']);
const PRECISIONS = new Set(['day', 'month', 'year']);

/** Returns whether a stored record has the shape the schema gives every validated record (defaults applied). */
export function looksLikeStoredIncident(r: Record<string, unknown>, id: string): boolean {
  const e = r.entities as Record<string, unknown> | undefined;
  const date = r.date as { value?: unknown; precision?: unknown } | null | undefined;
  return (
    r.id === id &&
    typeof r.kind === 'string' &&
    KINDS.has(r.kind) &&
    typeof r.title === 'string' &&
    r.title.trim() !== '' &&
    typeof r.summary === 'string' &&
    r.summary.trim() !== '' &&
    (date === null || (typeof date?.value === 'string' && PRECISIONS.has(date.precision as string))) &&
    Array.isArray(r.aliases) &&
    Array.isArray(r.sources) &&
    Array.isArray(r.tags) &&
    Array.isArray(r.related) &&
    typeof e === 'object' &&
    e !== null &&
    ['actors', 'victims', 'software', 'cves', 'countries'].every((k) => Array.isArray(e[k]))
  );
}

/** Throws a TypeError naming the field when an import's origin or format is empty. */
export function checkInfo(info: ImportInfo): void {
  if (!info || typeof info.origin !== 'string' || !info.origin.trim()) throw new TypeError('import origin must be a non-empty string');
  if (typeof info.format !== 'string' || !info.format.trim()) throw new TypeError('import format must be a non-empty string');
}

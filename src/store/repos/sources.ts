import { createHash } from 'node:crypto';
import type { Incident } from '../../core/incident.js';
import type { Db, SqlValue } from '../db.js';
import { rowToIncident } from './records.js';
import { inJsonArray, insertRows, ROWS_PER_TURN } from './sql.js';

/** What the store keeps about a source's configuration: enough to tell when its URL changed. */
export interface SourceIdentity {
  name: string;
  format: string;
  url: string;
  references?: string;
}

/** The stored state of one synced source; times are epoch milliseconds. */
export interface SourceState {
  name: string;
  format: string;
  url: string;
  referencesUrl?: string;
  etag?: string;
  lastModified?: string;
  referencesEtag?: string;
  referencesLastModified?: string;
  bodyHash?: string;
  version?: string;
  notice?: string;
  recordCount: number;
  bytes?: number;
  lastAttemptAt?: number;
  /** Last sync that ended well (a new version imported, or the same one confirmed). */
  lastSuccessAt?: number;
  /** Last time a new version was imported. */
  lastChangedAt?: number;
  lastError?: string;
  lastErrorAt?: number;
  consecutiveFailures: number;
}

/** One record in its storage form, serialised and hashed once. */
export interface SourceRecordRow {
  id: string;
  kind: string;
  data: string;
  body: string | null;
  hash: string;
}

/** The HTTP validators of a version (sent back as If-None-Match / If-Modified-Since). */
export interface SourceValidators {
  etag?: string;
  lastModified?: string;
  referencesEtag?: string;
  referencesLastModified?: string;
}

/** What is known about a downloaded version besides its records. */
export interface SourceVersionInfo extends SourceValidators {
  bodyHash: string;
  bytes: number;
  version?: string;
  notice?: string;
}

/** What replacing a source's records changed: ids added and updated, how many stayed, ids removed. */
export interface SourceDelta {
  added: string[];
  updated: string[];
  unchanged: number;
  removed: string[];
}

/** Row counts, newest write and total size of the synced records: part of the index snapshot's fingerprint. */
export interface SourceRecordStats {
  n: number;
  t: number | null;
  bytes: number;
}

/** Returns the storage form of a validated record: JSON without the body, the body apart, and a hash of both. */
export function toSourceRecordRow(incident: Incident): SourceRecordRow {
  const { body, ...rest } = incident;
  const data = JSON.stringify(rest);
  const hash = createHash('sha256').update(data).update('\u0000').update(body ?? '').digest('base64url');
  return { id: incident.id, kind: incident.kind, data, body: body ?? null, hash };
}

/** The stored row of a source's state. */
export interface SourceStateRow {
  name: string;
  format: string;
  url: string;
  references_url: string | null;
  etag: string | null;
  last_modified: string | null;
  references_etag: string | null;
  references_last_modified: string | null;
  body_hash: string | null;
  version: string | null;
  notice: string | null;
  record_count: number;
  bytes: number | null;
  last_attempt_at: number | null;
  last_success_at: number | null;
  last_changed_at: number | null;
  last_error: string | null;
  last_error_at: number | null;
  consecutive_failures: number;
}

interface RecordRow {
  source: string;
  id: string;
  data: string;
  body: string | null;
}

/** Records between two progress reports of a replace. */
const PROGRESS_STEP = 250;

/** Longest error message kept per source: enough to act on, bounded for `sources list` and chat hints. */
export const MAX_SOURCE_ERROR_CHARS = 500;

/** The synced sources' state and records, on either engine. */
export interface SourceRepo {
  /** Every source the store knows (configured now or once), by name. */
  states(): Promise<SourceState[]>;
  /** One source's state, or undefined when it was never synced. */
  state(name: string): Promise<SourceState | undefined>;
  /** Records a failed attempt; the source's records and validators stay as they were. */
  markFailed(source: SourceIdentity, error: string): Promise<void>;
  /** Records a sync that confirmed the stored version (304, or the same bytes again), with any new validators. */
  markUnchanged(source: SourceIdentity, validators?: SourceValidators): Promise<void>;
  /**
   * Replaces a source's records with `rows` and stores the version's validators, in one transaction written in slices:
   * a crash or an error part-way leaves the previous version whole. Rows whose hash is unchanged are not rewritten.
   */
  replaceRecords(source: SourceIdentity, rows: readonly SourceRecordRow[], info: SourceVersionInfo, onProgress?: (done: number, total: number) => void): Promise<SourceDelta>;
  /** Deletes a source's records and state (a source taken out of the list); returns how many records went. */
  forget(name: string): Promise<number>;
  /** Every synced record (one query), ordered by id then source: where two sources hold an id, the later one comes last. */
  allRecords(): Promise<Incident[]>;
  /** The synced records with these ids, by id; where several sources hold an id, the last source (by name) wins. */
  recordsById(ids: readonly string[]): Promise<Map<string, Incident>>;
  /** Record counts per source name. */
  recordCounts(): Promise<Map<string, number>>;
  /** Row count, newest write and total size of the synced records. */
  stats(): Promise<SourceRecordStats>;
}

/** Returns the repository of synced sources over `db`; `now` gives epoch milliseconds (tests pin it). */
export function createSourceRepo(db: Db, now: () => number = Date.now): SourceRepo {
  const ensure = (source: SourceIdentity) =>
    db.run('INSERT INTO sources (name, format, url, references_url) VALUES (?, ?, ?, ?) ON CONFLICT (name) DO NOTHING', [
      source.name,
      source.format,
      source.url,
      source.references ?? null,
    ]);
  const toIncident = (row: RecordRow) => rowToIncident(row, `source ${row.source} record ${row.id}`);

  return {
    async states() {
      return (await db.query<SourceStateRow>('SELECT * FROM sources ORDER BY name')).map(toSourceState);
    },
    async state(name) {
      const row = await db.one<SourceStateRow>('SELECT * FROM sources WHERE name = ?', [name]);
      return row ? toSourceState(row) : undefined;
    },
    async markFailed(source, error) {
      await ensure(source);
      const at = now();
      await db.run(
        `UPDATE sources SET last_attempt_at = ?, last_error = ?, last_error_at = ?, consecutive_failures = consecutive_failures + 1
         WHERE name = ?`,
        [at, error.slice(0, MAX_SOURCE_ERROR_CHARS), at, source.name],
      );
    },
    async markUnchanged(source, validators = {}) {
      await ensure(source);
      const at = now();
      await db.run(
        `UPDATE sources SET last_attempt_at = ?, last_success_at = ?, last_error = NULL, last_error_at = NULL,
           consecutive_failures = 0,
           etag = coalesce(?, etag), last_modified = coalesce(?, last_modified),
           references_etag = coalesce(?, references_etag),
           references_last_modified = coalesce(?, references_last_modified)
         WHERE name = ?`,
        [at, at, validators.etag ?? null, validators.lastModified ?? null, validators.referencesEtag ?? null, validators.referencesLastModified ?? null, source.name],
      );
    },
    async replaceRecords(source, rows, info, onProgress) {
      const seen = new Set<string>();
      for (const row of rows) {
        if (seen.has(row.id)) throw new Error(`${source.name}: id "${row.id}" appears twice in one version`);
        seen.add(row.id);
      }
      return db.transaction(async () => {
        await ensure(source);
        // Two replicas replacing the same source would compute their deltas from the same old rows: the row lock
        // makes the second wait for the first and then see its version.
        if (db.kind === 'postgres') await db.query('SELECT name FROM sources WHERE name = ? FOR UPDATE', [source.name]);
        const at = now();
        const previous = new Map((await db.query<{ id: string; hash: string }>('SELECT id, hash FROM source_records WHERE source = ?', [source.name])).map((r) => [r.id, r.hash]));
        const delta: SourceDelta = { added: [], updated: [], unchanged: 0, removed: [] };
        const changed: SqlValue[][] = [];
        for (const row of rows) {
          const old = previous.get(row.id);
          if (old === row.hash) delta.unchanged++;
          else {
            (old === undefined ? delta.added : delta.updated).push(row.id);
            changed.push([source.name, row.id, row.kind, row.data, row.body, row.hash, at]);
          }
        }
        let reported = 0;
        await insertRows(
          db,
          'INSERT INTO source_records (source, id, kind, data, body, hash, updated_at)',
          changed,
          `ON CONFLICT (source, id) DO UPDATE SET kind = excluded.kind, data = excluded.data, body = excluded.body,
             hash = excluded.hash, updated_at = excluded.updated_at`,
          (written) => {
            // Progress counts every row of the version (the unchanged ones are done already), in steps of 250.
            const step = Math.floor(Math.min(rows.length, delta.unchanged + written) / PROGRESS_STEP) * PROGRESS_STEP;
            if (onProgress && step > reported) onProgress((reported = step), rows.length);
          },
        );
        for (const id of previous.keys()) if (!seen.has(id)) delta.removed.push(id);
        for (let i = 0; i < delta.removed.length; i += ROWS_PER_TURN) {
          await db.run(`DELETE FROM source_records WHERE source = ? AND id ${inJsonArray(db)}`, [source.name, JSON.stringify(delta.removed.slice(i, i + ROWS_PER_TURN))]);
        }
        await db.run(
          `UPDATE sources SET format = ?, url = ?, references_url = ?, etag = ?, last_modified = ?, references_etag = ?,
             references_last_modified = ?, body_hash = ?, version = ?, notice = ?, record_count = ?, bytes = ?,
             last_attempt_at = ?, last_success_at = ?, last_changed_at = ?, last_error = NULL, last_error_at = NULL,
             consecutive_failures = 0
           WHERE name = ?`,
          [
            source.format,
            source.url,
            source.references ?? null,
            info.etag ?? null,
            info.lastModified ?? null,
            info.referencesEtag ?? null,
            info.referencesLastModified ?? null,
            info.bodyHash,
            info.version ?? null,
            info.notice ?? null,
            rows.length,
            info.bytes,
            at,
            at,
            at,
            source.name,
          ],
        );
        onProgress?.(rows.length, rows.length);
        return delta;
      });
    },
    async forget(name) {
      return db.transaction(async () => {
        const n = (await db.run('DELETE FROM source_records WHERE source = ?', [name])).changes;
        await db.run('DELETE FROM sources WHERE name = ?', [name]);
        return n;
      });
    },
    async allRecords() {
      return (await db.query<RecordRow>('SELECT source, id, data, body FROM source_records ORDER BY id, source')).map(toIncident);
    },
    async recordsById(ids) {
      const out = new Map<string, Incident>();
      if (ids.length === 0) return out;
      const rows = await db.query<RecordRow>(`SELECT source, id, data, body FROM source_records WHERE id ${inJsonArray(db)} ORDER BY id, source`, [JSON.stringify(ids)]);
      for (const row of rows) out.set(row.id, toIncident(row));
      return out;
    },
    async recordCounts() {
      return new Map((await db.query<{ source: string; n: number }>('SELECT source, count(*) AS n FROM source_records GROUP BY source')).map((r) => [r.source, r.n]));
    },
    async stats() {
      return (await db.one<SourceRecordStats>('SELECT count(*) AS n, max(updated_at) AS t, coalesce(sum(length(data)), 0) AS bytes FROM source_records'))!;
    },
  };
}

/** Returns a source's state from its stored row, leaving out what was never set. */
export function toSourceState(r: SourceStateRow): SourceState {
  const s: SourceState = { name: r.name, format: r.format, url: r.url, recordCount: r.record_count, consecutiveFailures: r.consecutive_failures };
  const opt = <K extends keyof SourceState>(key: K, value: SourceState[K] | null) => {
    if (value !== null && value !== undefined) s[key] = value;
  };
  opt('referencesUrl', r.references_url);
  opt('etag', r.etag);
  opt('lastModified', r.last_modified);
  opt('referencesEtag', r.references_etag);
  opt('referencesLastModified', r.references_last_modified);
  opt('bodyHash', r.body_hash);
  opt('version', r.version);
  opt('notice', r.notice);
  opt('bytes', r.bytes);
  opt('lastAttemptAt', r.last_attempt_at);
  opt('lastSuccessAt', r.last_success_at);
  opt('lastChangedAt', r.last_changed_at);
  opt('lastError', r.last_error);
  opt('lastErrorAt', r.last_error_at);
  return s;
}

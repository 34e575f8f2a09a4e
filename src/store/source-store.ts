import type Database from 'better-sqlite3';
import type { Incident } from '../core/incident.js';
import {
  MAX_SOURCE_ERROR_CHARS,
  toSourceState,
  type SourceDelta,
  type SourceIdentity,
  type SourceRecordRow,
  type SourceRecordStats,
  type SourceState,
  type SourceStateRow,
  type SourceValidators,
  type SourceVersionInfo,
} from './repos/sources.js';
import { rowToIncident } from './repos/records.js';

export {
  toSourceRecordRow,
  type SourceDelta,
  type SourceIdentity,
  type SourceRecordRow,
  type SourceRecordStats,
  type SourceState,
  type SourceValidators,
  type SourceVersionInfo,
} from './repos/sources.js';

interface RecordRow {
  source: string;
  id: string;
  data: string;
  body: string | null;
}


/**
 * The synced sources' state and records, over a connection to the bot's database. Every method is synchronous; the
 * sync worker opens its own connection and uses this class too (WAL lets the bot keep reading meanwhile).
 */
export class SourceStore {
  private readonly stmts;

  constructor(
    readonly db: Database.Database,
    private readonly now: () => number = Date.now,
  ) {
    this.stmts = {
      states: db.prepare<[], SourceStateRow>('SELECT * FROM sources ORDER BY name'),
      state: db.prepare<[string], SourceStateRow>('SELECT * FROM sources WHERE name = ?'),
      ensure: db.prepare<[string, string, string, string | null]>(
        `INSERT INTO sources (name, format, url, references_url) VALUES (?, ?, ?, ?)
         ON CONFLICT(name) DO NOTHING`,
      ),
      failed: db.prepare<[{ name: string; error: string; at: number }]>(
        `UPDATE sources SET last_attempt_at = @at, last_error = @error, last_error_at = @at,
           consecutive_failures = consecutive_failures + 1 WHERE name = @name`,
      ),
      unchanged: db.prepare<[{ name: string; at: number; etag: string | null; last_modified: string | null; references_etag: string | null; references_last_modified: string | null }]>(
        `UPDATE sources SET last_attempt_at = @at, last_success_at = @at, last_error = NULL, last_error_at = NULL,
           consecutive_failures = 0,
           etag = coalesce(@etag, etag), last_modified = coalesce(@last_modified, last_modified),
           references_etag = coalesce(@references_etag, references_etag),
           references_last_modified = coalesce(@references_last_modified, references_last_modified)
         WHERE name = @name`,
      ),
      imported: db.prepare<[Record<string, string | number | null>]>(
        `UPDATE sources SET format = @format, url = @url, references_url = @references_url,
           etag = @etag, last_modified = @last_modified, references_etag = @references_etag,
           references_last_modified = @references_last_modified, body_hash = @body_hash, version = @version,
           notice = @notice, record_count = @record_count, bytes = @bytes, last_attempt_at = @at, last_success_at = @at,
           last_changed_at = @at, last_error = NULL, last_error_at = NULL, consecutive_failures = 0
         WHERE name = @name`,
      ),
      hashes: db.prepare<[string], { id: string; hash: string }>('SELECT id, hash FROM source_records WHERE source = ?'),
      upsert: db.prepare<[{ source: string; id: string; kind: string; data: string; body: string | null; hash: string; updated_at: number }]>(
        `INSERT INTO source_records (source, id, kind, data, body, hash, updated_at)
         VALUES (@source, @id, @kind, @data, @body, @hash, @updated_at)
         ON CONFLICT(source, id) DO UPDATE SET kind = excluded.kind, data = excluded.data, body = excluded.body,
           hash = excluded.hash, updated_at = excluded.updated_at`,
      ),
      removeOne: db.prepare<[string, string]>('DELETE FROM source_records WHERE source = ? AND id = ?'),
      forgetRecords: db.prepare<[string]>('DELETE FROM source_records WHERE source = ?'),
      forgetSource: db.prepare<[string]>('DELETE FROM sources WHERE name = ?'),
      all: db.prepare<[], RecordRow>('SELECT source, id, data, body FROM source_records ORDER BY id, source'),
      byId: db.prepare<[string], RecordRow>(
        `SELECT source, id, data, body FROM source_records WHERE id IN (SELECT value FROM json_each(?)) ORDER BY id, source`,
      ),
      counts: db.prepare<[], { source: string; n: number }>('SELECT source, count(*) AS n FROM source_records GROUP BY source'),
      stats: db.prepare<[], SourceRecordStats>('SELECT count(*) AS n, max(updated_at) AS t, total(length(data)) AS bytes FROM source_records'),
    };
  }

  /** Every source the store knows (configured now or once), by name. */
  states(): SourceState[] {
    return this.stmts.states.all().map(toSourceState);
  }

  /** One source's state, or undefined when it was never synced. */
  state(name: string): SourceState | undefined {
    const row = this.stmts.state.get(name);
    return row ? toSourceState(row) : undefined;
  }

  /** Records a failed attempt; the source's records and validators stay as they were. */
  markFailed(source: SourceIdentity, error: string): void {
    this.ensure(source);
    this.stmts.failed.run({ name: source.name, error: error.slice(0, MAX_SOURCE_ERROR_CHARS), at: this.now() });
  }

  /** Records a sync that confirmed the stored version (304, or the same bytes again), with any new validators. */
  markUnchanged(source: SourceIdentity, validators: SourceValidators = {}): void {
    this.ensure(source);
    this.stmts.unchanged.run({
      name: source.name,
      at: this.now(),
      etag: validators.etag ?? null,
      last_modified: validators.lastModified ?? null,
      references_etag: validators.referencesEtag ?? null,
      references_last_modified: validators.referencesLastModified ?? null,
    });
  }

  /**
   * Replaces a source's records with `rows` and stores the version's validators, in one transaction: a crash or an
   * error part-way leaves the previous version whole. Rows whose hash is unchanged are not rewritten.
   */
  replaceRecords(source: SourceIdentity, rows: readonly SourceRecordRow[], info: SourceVersionInfo, onProgress?: (done: number, total: number) => void): SourceDelta {
    return this.db.transaction((): SourceDelta => {
      this.ensure(source);
      const at = this.now();
      const previous = new Map(this.stmts.hashes.all(source.name).map((r) => [r.id, r.hash]));
      const delta: SourceDelta = { added: [], updated: [], unchanged: 0, removed: [] };
      const seen = new Set<string>();
      rows.forEach((row, i) => {
        if (seen.has(row.id)) throw new Error(`${source.name}: id "${row.id}" appears twice in one version`);
        seen.add(row.id);
        const old = previous.get(row.id);
        if (old === row.hash) delta.unchanged++;
        else {
          (old === undefined ? delta.added : delta.updated).push(row.id);
          this.stmts.upsert.run({ source: source.name, ...row, updated_at: at });
        }
        if (onProgress && (i + 1) % 250 === 0) onProgress(i + 1, rows.length);
      });
      for (const id of previous.keys()) {
        if (seen.has(id)) continue;
        this.stmts.removeOne.run(source.name, id);
        delta.removed.push(id);
      }
      this.stmts.imported.run({
        name: source.name,
        format: source.format,
        url: source.url,
        references_url: source.references ?? null,
        etag: info.etag ?? null,
        last_modified: info.lastModified ?? null,
        references_etag: info.referencesEtag ?? null,
        references_last_modified: info.referencesLastModified ?? null,
        body_hash: info.bodyHash,
        version: info.version ?? null,
        notice: info.notice ?? null,
        record_count: rows.length,
        bytes: info.bytes,
        at,
      });
      onProgress?.(rows.length, rows.length);
      return delta;
    }).immediate();
  }

  /** Deletes a source's records and state (a source taken out of the list); returns how many records went. */
  forget(name: string): number {
    return this.db.transaction(() => {
      const n = this.stmts.forgetRecords.run(name).changes;
      this.stmts.forgetSource.run(name);
      return n;
    })();
  }

  /** Every synced record, ordered by id then source: where two sources hold an id, the later one comes last. */
  allRecords(): Incident[] {
    return this.stmts.all.all().map((row) => this.toIncident(row));
  }

  /** The synced records with these ids, by id; where several sources hold an id, the last source (by name) wins. */
  recordsById(ids: readonly string[]): Map<string, Incident> {
    const out = new Map<string, Incident>();
    if (ids.length === 0) return out;
    for (const row of this.stmts.byId.all(JSON.stringify(ids))) out.set(row.id, this.toIncident(row));
    return out;
  }

  /** Record counts per source name. */
  recordCounts(): Map<string, number> {
    return new Map(this.stmts.counts.all().map((r) => [r.source, r.n]));
  }

  /** Row count, newest write and total size of the synced records. */
  stats(): SourceRecordStats {
    return this.stmts.stats.get()!;
  }

  private ensure(source: SourceIdentity): void {
    this.stmts.ensure.run(source.name, source.format, source.url, source.references ?? null);
  }

  private toIncident(row: RecordRow): Incident {
    return rowToIncident(row, `source ${row.source} record ${row.id}`);
  }
}

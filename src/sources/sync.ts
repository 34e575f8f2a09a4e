import { webcrypto } from 'node:crypto';
import { FeedFetchError, fetchFeedWith, type FetchHooks } from '../feeds/fetch.js';
import type { FetchResult } from '../feeds/types.js';
import type { SourceIdentity, SourceRepo, SourceState, SourceValidators } from '../store/repos/sources.js';
import type { SourceImporter } from './import-runner.js';
import type { SourceSpec } from './source-list.js';

/** Cap on one downloaded file when SOURCES_MAX_MB is not set: ATT&CK Enterprise is 25-50 MB, with room to grow. */
export const DEFAULT_SOURCE_MAX_BYTES = 100 * 1024 * 1024;
/** Whole-download timeout when SOURCES_TIMEOUT_SECONDS is not set: 50 MB at a slow 200 kB/s. */
export const DEFAULT_SOURCE_TIMEOUT_MS = 300_000;
/** User-Agent of source downloads: names the bot, as publishers ask. */
export const SOURCE_USER_AGENT = 'incident-bot/0.1 (source sync)';

/** Why a source failed: the fetch's kinds, the importer refusing the data, or the database. */
export type SourceErrorKind = FeedFetchError['kind'] | 'import' | 'store';

/** What one source's sync did. */
export interface SourceSyncResult {
  name: string;
  title: string;
  /** synced: a new version was imported; unchanged: the stored one is current; failed: the stored one stays. */
  status: 'synced' | 'unchanged' | 'failed';
  added: number;
  updated: number;
  unchanged: number;
  removed: number;
  /** Records the source holds after the sync (the previous version's count when it failed). */
  records: number;
  /** Ids added or updated, and ids removed: what the live index must pick up. */
  changedIds: string[];
  removedIds: string[];
  /** The server answered 304 Not Modified (to every file of the source). */
  notModified: boolean;
  /** Bytes downloaded (wire bytes; 0 for a 304). */
  bytes: number;
  version?: string;
  error?: string;
  errorKind?: SourceErrorKind;
  ms: number;
}

/** What a sync run did, source by source, with totals. */
export interface SyncReport {
  results: SourceSyncResult[];
  totals: { added: number; updated: number; unchanged: number; removed: number };
  ms: number;
}

/** Progress of a sync run, for terminals and the start-up console. */
export type SyncEvent =
  | { type: 'source-start'; source: SourceSpec; index: number; total: number }
  | { type: 'download'; source: SourceSpec; url: string; received: number; total?: number }
  | { type: 'importing'; source: SourceSpec; done: number; total: number }
  | { type: 'source-done'; source: SourceSpec; result: SourceSyncResult };

/** How to sync. */
export interface SyncOptions {
  /** Allow loopback/private source URLs (ALLOW_PRIVATE_FEED_URLS). */
  allowPrivate: boolean;
  maxBytes?: number;
  timeoutMs?: number;
  /** Download even when the stored version is current (no conditional GET, no same-bytes skip). */
  force?: boolean;
  onEvent?: (event: SyncEvent) => void;
  /** Awaited after each source, before the next starts (the running bot updates its index there). */
  afterEach?: (result: SourceSyncResult) => Promise<void> | void;
  /** Stops the run: the download in hand is cut, nothing is recorded for it, and syncSources rejects. */
  signal?: AbortSignal;
  /** Replaceable fetch parts (tests). */
  fetchHooks?: FetchHooks;
}

/** Thrown by syncSources when its signal stopped it. */
export class SyncAbortedError extends Error {
  override name = 'SyncAbortedError';
}

/**
 * Syncs sources one after another: a conditional GET per file (ETag / Last-Modified), gzip, the size cap and the
 * SSRF guard of feeds; then, for a new version, a parse and a one-transaction replace of that source's records by the
 * importer. A source that fails keeps its previous version; once a host is unreachable (DNS, refused, timeout), the
 * run's other sources on that host fail at once with the same reason instead of waiting out their own timeouts.
 */
export async function syncSources(sources: SourceRepo, specs: readonly SourceSpec[], importer: SourceImporter, options: SyncOptions): Promise<SyncReport> {
  const started = performance.now();
  const unreachable = new Map<string, string>();
  const results: SourceSyncResult[] = [];
  for (const [index, spec] of specs.entries()) {
    if (options.signal?.aborted) throw new SyncAbortedError('sync stopped');
    options.onEvent?.({ type: 'source-start', source: spec, index, total: specs.length });
    const result = await syncOne(spec, sources, importer, options, unreachable);
    results.push(result);
    options.onEvent?.({ type: 'source-done', source: spec, result });
    await options.afterEach?.(result);
  }
  const totals = { added: 0, updated: 0, unchanged: 0, removed: 0 };
  for (const r of results) {
    totals.added += r.added;
    totals.updated += r.updated;
    totals.unchanged += r.unchanged;
    totals.removed += r.removed;
  }
  return { results, totals, ms: performance.now() - started };
}

async function syncOne(
  spec: SourceSpec,
  sources: SourceRepo,
  importer: SourceImporter,
  options: SyncOptions,
  unreachable: Map<string, string>,
): Promise<SourceSyncResult> {
  const started = performance.now();
  const identity: SourceIdentity = { name: spec.name, format: spec.format, url: spec.url, ...(spec.references ? { references: spec.references } : {}) };
  const state = await sources.state(spec.name);
  const result: SourceSyncResult = {
    name: spec.name,
    title: spec.title,
    status: 'failed',
    added: 0,
    updated: 0,
    unchanged: 0,
    removed: 0,
    records: state?.recordCount ?? 0,
    changedIds: [],
    removedIds: [],
    notModified: false,
    bytes: 0,
    ms: 0,
  };
  const done = (r: SourceSyncResult = result) => ((r.ms = performance.now() - started), r);
  // Validators and the bytes' hash only describe the stored version when it came from these same URLs.
  const current = state?.lastChangedAt !== undefined && state.url === spec.url && (state.referencesUrl ?? undefined) === spec.references && !options.force;
  const get = (url: string, validators: { etag?: string; lastModified?: string }) =>
    download(url, spec, validators, options, unreachable, (n) => (result.bytes += n));
  try {
    let main = await get(spec.url, current ? { etag: state?.etag, lastModified: state?.lastModified } : {});
    let refs = spec.references ? await get(spec.references, current ? { etag: state?.referencesEtag, lastModified: state?.referencesLastModified } : {}) : undefined;
    const validators = (): SourceValidators => ({
      ...(main.etag ? { etag: main.etag } : {}),
      ...(main.lastModified ? { lastModified: main.lastModified } : {}),
      ...(refs?.etag ? { referencesEtag: refs.etag } : {}),
      ...(refs?.lastModified ? { referencesLastModified: refs.lastModified } : {}),
    });
    if (main.status === 'not-modified' && (!refs || refs.status === 'not-modified')) {
      await sources.markUnchanged(identity, validators());
      return done(unchangedResult(result, state, true));
    }
    // One file changed and the other did not: the import needs both, and only the changed one came.
    if (main.status === 'not-modified') main = await get(spec.url, {});
    if (refs && refs.status === 'not-modified' && spec.references) refs = await get(spec.references, {});
    const body = bodyOf(main);
    const referencesBody = refs ? bodyOf(refs) : undefined;
    const bodyHash = await hashOf(body, referencesBody);
    if (current && state?.bodyHash === bodyHash) {
      await sources.markUnchanged(identity, validators());
      return done(unchangedResult(result, state, false));
    }
    const outcome = await importer.import(
      { source: identity, body, ...(referencesBody ? { referencesBody } : {}), validators: validators(), bodyHash },
      (n, total) => options.onEvent?.({ type: 'importing', source: spec, done: n, total }),
    );
    Object.assign(result, {
      status: 'synced',
      added: outcome.delta.added.length,
      updated: outcome.delta.updated.length,
      unchanged: outcome.delta.unchanged,
      removed: outcome.delta.removed.length,
      records: outcome.records,
      changedIds: [...outcome.delta.added, ...outcome.delta.updated],
      removedIds: outcome.delta.removed,
    });
    if (outcome.version) result.version = outcome.version;
    return done(result);
  } catch (error) {
    if (options.signal?.aborted) throw new SyncAbortedError('sync stopped', { cause: error });
    const { message, kind } = describeFailure(error);
    result.error = message;
    result.errorKind = kind;
    try {
      await sources.markFailed(identity, message);
    } catch {
      // The failure is reported either way; a database too busy to note it must not hide it.
    }
    return done(result);
  }
}

function unchangedResult(result: SourceSyncResult, state: SourceState | undefined, notModified: boolean): SourceSyncResult {
  return Object.assign(result, { status: 'unchanged', unchanged: state?.recordCount ?? 0, records: state?.recordCount ?? 0, notModified, version: state?.version });
}

async function download(
  url: string,
  spec: SourceSpec,
  validators: { etag?: string; lastModified?: string },
  options: SyncOptions,
  unreachable: Map<string, string>,
  count: (bytes: number) => void,
): Promise<FetchResult> {
  const host = new URL(url).host;
  const known = unreachable.get(host);
  if (known) throw new FeedFetchError(known, 'network', { url });
  let last = 0;
  try {
    return await fetchFeedWith(
      url,
      {
        ...(validators.etag ? { etag: validators.etag } : {}),
        ...(validators.lastModified ? { lastModified: validators.lastModified } : {}),
        allowPrivate: options.allowPrivate,
        maxBytes: options.maxBytes ?? DEFAULT_SOURCE_MAX_BYTES,
        timeoutMs: options.timeoutMs ?? DEFAULT_SOURCE_TIMEOUT_MS,
        userAgent: SOURCE_USER_AGENT,
        accept: 'application/json, application/x-ndjson;q=0.9, */*;q=0.5',
        ...(options.signal ? { signal: options.signal } : {}),
        onProgress: (received, total) => {
          count(received - last);
          last = received;
          options.onEvent?.({ type: 'download', source: spec, url, received, ...(total !== undefined ? { total } : {}) });
        },
      },
      options.fetchHooks ?? {},
    );
  } catch (error) {
    if (error instanceof FeedFetchError && (error.kind === 'network' || error.kind === 'timeout')) unreachable.set(host, error.message);
    throw error;
  }
}

function bodyOf(result: FetchResult): Buffer {
  if (result.status !== 'ok') throw new FeedFetchError(`${result.finalUrl}: answered 304 to an unconditional request`, 'http', { httpStatus: 304, url: result.finalUrl });
  return result.body;
}

async function hashOf(body: Uint8Array, references: Uint8Array | undefined): Promise<string> {
  // Web Crypto digests on libuv's thread pool: hashing 25 MB does not hold the event loop.
  const hex = async (bytes: Uint8Array) => Buffer.from(await webcrypto.subtle.digest('SHA-256', bytes)).toString('hex');
  return references ? `${await hex(body)}+${await hex(references)}` : hex(body);
}

function describeFailure(error: unknown): { message: string; kind: SourceErrorKind } {
  if (error instanceof FeedFetchError) {
    // The fetch is shared with feeds and says "feed not found"; a source is a data file.
    return { message: error.message.replace('(feed not found)', '(not found upstream)'), kind: error.kind };
  }
  const e = error as Error;
  const message = e?.message ?? String(error);
  // SQLite's errors, or PostgreSQL's (the driver's DatabaseError, or a connection that failed).
  const kind: SourceErrorKind = e?.name === 'SqliteError' || e?.name === 'DatabaseError' || e?.name === 'DbError' || /SQLITE_|ECONNREFUSED|Connection terminated/.test(message) ? 'store' : 'import';
  return { message, kind };
}

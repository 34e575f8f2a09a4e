import type { IncidentService } from '../core/incident-service.js';
import type { FetchHooks } from '../feeds/fetch.js';
import type { Logger } from '../logger.js';
import type { SourceRepo, SourceState } from '../store/repos/sources.js';
import type { DataStatus } from './data-hint.js';
import type { SourceImporter } from './import-runner.js';
import { applyToIndex, mergedResolver, type ServedResolver } from './live-index.js';
import type { SourceSpec } from './source-list.js';
import { formatBytes } from './format.js';
import { SyncAbortedError, syncSources, type SourceSyncResult, type SyncReport } from './sync.js';
import type { RoundGate } from '../store/replica-gates.js';

/** First retry of a failed source within a running bot; doubled per failure, never beyond its refresh interval. */
export const RETRY_BASE_MS = 15 * 60_000;
/** Longest timer Node accepts (about 24.8 days); a later due time is reached in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** What the background syncer needs. */
export interface SourceSyncerOptions {
  /** Where the sources' state is read and kept. */
  sources: SourceRepo;
  /** Parses and stores new versions (createImporter: a worker thread for a database file). */
  importer: SourceImporter;
  /** The live service: changed records are upserted into it, removed ones taken out. */
  service: IncidentService;
  specs: readonly SourceSpec[];
  /** The live service's merged ids (kept up to date as syncs merge records); absent, a fresh map. */
  canonical?: Map<string, string>;
  /** Returns what the bot serves for ids; by default merged as at start-up (`mergedResolver`). */
  resolve?: ServedResolver;
  allowPrivate: boolean;
  maxBytes?: number;
  timeoutMs?: number;
  logger: Logger;
  /** Where the one-line notices go (the console, or the log in chat mode). */
  notify: (line: string) => void;
  now?: () => number;
  retryBaseMs?: number;
  fetchHooks?: FetchHooks;
  /** Told every source's sync outcome (metrics); optional. */
  observer?: SyncObserver;
  /** Several replicas on one database: a round runs only on the one holding this gate (its lease). */
  gate?: RoundGate;
}

/** What watches source syncs from outside (metrics): called once per source synced, after its state is stored; must not throw. */
export interface SyncObserver {
  synced(result: SourceSyncResult): void;
}

/** Syncs due sources in the background while the bot answers, then again as each comes due. */
export interface SourceSyncer {
  /** Starts the first round (sources never synced or older than refreshHours) without waiting for it. */
  start(): void;
  /** Resolves when no round is running (now, or once the one in hand ends). */
  idle(): Promise<void>;
  /** The state for data hints: records served, sources with data, the run in hand. */
  status(): DataStatus;
  /** The last round's report, if a round ended. */
  readonly lastReport: SyncReport | undefined;
  /** Stops: the download in hand is cut, the timer cleared, the worker ended (safe to call twice). */
  stop(): Promise<void>;
}

/**
 * Returns when a source is next due: now when it never synced, its last success plus refreshHours otherwise, and after
 * failures within this process, a doubling retry delay from the last attempt, capped at refreshHours.
 */
export function nextDueAt(spec: SourceSpec, state: SourceState | undefined, failures: { count: number; lastAt: number } | undefined, retryBaseMs = RETRY_BASE_MS): number {
  const refreshMs = spec.refreshHours * 3_600_000;
  const sameUrl = state?.url === spec.url && (state?.referencesUrl ?? undefined) === spec.references;
  const fresh = state?.lastSuccessAt !== undefined && sameUrl ? state.lastSuccessAt + refreshMs : 0;
  if (!failures || failures.count === 0) return fresh;
  const retry = failures.lastAt + Math.min(refreshMs, retryBaseMs * 2 ** Math.min(failures.count - 1, 20));
  return Math.max(fresh, retry);
}

/** Returns the background syncer over the bot's store and live service. */
export function createSourceSyncer(options: SourceSyncerOptions): SourceSyncer {
  const { sources, importer, service, specs, logger, notify } = options;
  const now = options.now ?? Date.now;
  const resolve = options.resolve ?? mergedResolver(importer, options.canonical ?? new Map());
  const failures = new Map<string, { count: number; lastAt: number }>();
  const controller = new AbortController();
  let round: Promise<void> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let syncing: DataStatus['syncing'];
  let lastReport: SyncReport | undefined;
  const statesByName = async () => new Map((await sources.states()).map((s) => [s.name, s]));
  // Read at the start of each round and after each source: what `status()` and the schedule go by in between.
  let states = new Map<string, SourceState>();

  const schedule = () => {
    if (stopped) return;
    const t = now();
    const next = Math.min(...specs.map((s) => nextDueAt(s, states.get(s.name), failures.get(s.name), options.retryBaseMs)));
    if (!Number.isFinite(next)) return;
    timer = setTimeout(() => {
      timer = undefined;
      round = roundNow().finally(() => (round = undefined));
    }, Math.min(MAX_TIMER_MS, Math.max(0, next - t)));
    timer.unref();
  };

  const roundNow = () => (options.gate ? gatedRound(options.gate) : runRound());

  /** Another replica running the round: the sources it syncs are read again later, and synced by then. */
  async function gatedRound(gate: RoundGate): Promise<void> {
    const ran = await gate.run(async () => {
      await runRound();
      return true;
    });
    if (!ran) retryLater();
  }

  async function runRound(): Promise<void> {
    try {
      states = await statesByName();
    } catch (error) {
      logger.warn({ err: (error as Error).message }, 'could not read the sources from the store; retrying later');
      return retryLater();
    }
    const t = now();
    const due = specs.filter((s) => nextDueAt(s, states.get(s.name), failures.get(s.name), options.retryBaseMs) <= t);
    if (due.length === 0) return schedule();
    syncing = { current: due[0].title, done: 0, total: due.length };
    const announced = new Set<string>();
    let changed = false;
    try {
      const report = await syncSources(sources, due, importer, {
        allowPrivate: options.allowPrivate,
        ...(options.maxBytes !== undefined ? { maxBytes: options.maxBytes } : {}),
        ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
        signal: controller.signal,
        ...(options.fetchHooks ? { fetchHooks: options.fetchHooks } : {}),
        onEvent: (event) => {
          if (event.type === 'source-start') syncing = { current: event.source.title, done: event.index, total: due.length };
          // One line per source actually downloading, when its body starts: a 304 or a failure says nothing here.
          if (event.type === 'download' && !announced.has(event.source.name)) {
            announced.add(event.source.name);
            notify(`sources: fetching ${event.source.title}${event.total ? ` (${formatBytes(event.total)})` : ''}…`);
          }
        },
        afterEach: async (result) => {
          await recordOutcome(result);
          if (result.changedIds.length + result.removedIds.length === 0) return;
          changed = true;
          // Records reach the live index as each source lands, in slices, so answers improve during the run.
          await applyToIndex(service, resolve, [...result.changedIds, ...result.removedIds]);
        },
      });
      lastReport = report;
      notifyRound(report);
      if (changed) {
        // The snapshot is rebuilt off the event loop, so the next start loads instead of rebuilding.
        importer.writeSnapshot().catch((error: unknown) => logger.warn({ err: (error as Error).message }, 'could not write the index snapshot after a sync'));
      }
    } catch (error) {
      if (!(error instanceof SyncAbortedError)) logger.warn({ err: (error as Error).message }, 'source sync round failed');
    } finally {
      syncing = undefined;
      states = await statesByName().catch(() => states);
    }
    schedule();
  }

  function retryLater(): void {
    if (stopped) return;
    timer = setTimeout(() => {
      timer = undefined;
      round = roundNow().finally(() => (round = undefined));
    }, options.retryBaseMs ?? RETRY_BASE_MS);
    timer.unref();
  }

  async function recordOutcome(result: SourceSyncResult): Promise<void> {
    if (syncing) syncing = { ...syncing, done: syncing.done + 1 };
    if (result.status === 'failed') {
      const f = failures.get(result.name);
      failures.set(result.name, { count: (f?.count ?? 0) + 1, lastAt: now() });
    } else failures.delete(result.name);
    states = await statesByName().catch(() => states);
    options.observer?.synced(result);
    logger.debug({ source: result.name, status: result.status, added: result.added, updated: result.updated, removed: result.removed, error: result.error }, 'source synced');
  }

  function notifyRound(report: SyncReport): void {
    const failed = report.results.filter((r) => r.status === 'failed');
    const synced = report.results.filter((r) => r.status === 'synced');
    if (failed.length > 0 && failed.length === report.results.length && failed.every((r) => r.errorKind === 'network' || r.errorKind === 'timeout')) {
      // Offline: one line, whatever the number of sources.
      notify(`sources: no network (${shorten(failed[0].error ?? 'unreachable', 140)}); answering from the ${service.size.toLocaleString('en')} records already here, will retry later.`);
      return;
    }
    if (synced.length === 0 && failed.length === 0) return;
    const t = report.totals;
    const parts = [`sources: ${synced.length} of ${report.results.length} updated (${t.added.toLocaleString('en')} new, ${t.updated.toLocaleString('en')} updated, ${t.removed.toLocaleString('en')} removed); ${service.size.toLocaleString('en')} records served`];
    if (failed.length > 0) parts.push(`failed: ${failed.map((r) => `${r.name} (${shorten(r.error ?? '', 100)})`).join(', ')}; their stored records stay`);
    notify(`${parts.join('; ')}.`);
  }

  return {
    start() {
      if (stopped || round || timer) return;
      round = runRound().finally(() => (round = undefined));
    },
    async idle() {
      while (round) await round;
    },
    status(): DataStatus {
      const withData = specs.filter((s) => (states.get(s.name)?.lastChangedAt ?? undefined) !== undefined).length;
      const lastError = specs.map((s) => states.get(s.name)).find((st) => st?.lastError && st.lastChangedAt === undefined)?.lastError;
      return {
        records: service.size,
        configuredSources: specs.length,
        sourcesWithData: withData,
        autoSync: true,
        ...(syncing ? { syncing } : {}),
        ...(lastError ? { lastError } : {}),
      };
    },
    get lastReport() {
      return lastReport;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
      controller.abort();
      while (round) await round.catch(() => {});
      await importer.close();
    },
  };
}

function shorten(text: string, max: number): string {
  const t = text.replace(/\s+/g, ' ').trim();
  return t.length <= max ? t : `${t.slice(0, max - 1)}…`;
}

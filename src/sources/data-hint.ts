import type { Answer, IncidentList } from '../core/answer-model.js';
import type { IncidentService } from '../core/incident-service.js';
import type { SourceRepo } from '../store/repos/sources.js';

/** What the bot knows about its data: how much it serves, and how its sources stand. */
export interface DataStatus {
  /** Records served now. */
  records: number;
  /** Sources in the source list, and how many of them have a stored version. */
  configuredSources: number;
  sourcesWithData: number;
  /** The sync in progress, if any: the source in hand and how far the run is. */
  syncing?: { current?: string; done: number; total: number };
  /** Whether the bot syncs by itself (SOURCES_SYNC). */
  autoSync: boolean;
  /** The latest failure of a source that has no data yet. */
  lastError?: string;
}

/** Below this many records the bot knows too little for "nothing matches" to mean much: it says how to get data. */
export const ALMOST_EMPTY_RECORDS = 500;

/** The command that loads the datasets, as a user types it. */
export const SYNC_COMMAND = 'npm run cli -- sources sync';

/**
 * Returns the plain-text hint a not-found answer carries, or undefined when the data is there: while a sync is still
 * filling sources that have no data, how far it is; on an almost empty store, how to load the datasets.
 */
export function dataHint(status: DataStatus): string | undefined {
  const s = status.syncing;
  if (s && status.sourcesWithData < status.configuredSources) {
    return `Still loading the datasets: syncing ${s.current ?? 'sources'}… ${s.done} of ${s.total} sources done. Ask again in a minute.`;
  }
  if (status.records >= ALMOST_EMPTY_RECORDS) return undefined;
  const parts = [`I know only ${status.records.toLocaleString('en')} records so far.`];
  parts.push(
    `To load the public datasets (MITRE ATT&CK, CISA KEV, MISP galaxies), run \`${SYNC_COMMAND}\` where the bot runs${status.autoSync ? '' : ', or start it with SOURCES_SYNC=true'}.`,
  );
  if (status.lastError) parts.push(`The last sync failed: ${clip(status.lastError, 200)}`);
  return parts.join(' ');
}

/** Returns the data status as the store records it, for a process that does not sync itself (the CLI). */
export async function storedDataStatus(sources: SourceRepo, sourceNames: readonly string[], records: number, autoSync: boolean): Promise<DataStatus> {
  const states = new Map((await sources.states()).map((s) => [s.name, s]));
  const listed = sourceNames.map((n) => states.get(n));
  const lastError = listed.find((st) => st?.lastError && st.lastChangedAt === undefined)?.lastError;
  return {
    records,
    configuredSources: sourceNames.length,
    sourcesWithData: listed.filter((st) => st?.lastChangedAt !== undefined).length,
    autoSync,
    ...(lastError ? { lastError } : {}),
  };
}

/** How old the stored data status a running bot hints from may get before a read refreshes it in the background. */
export const STORED_STATUS_MAX_AGE_MS = 30_000;

/**
 * Returns a synchronous reader of the stored data status, for a bot that does not sync itself: answers need the hint
 * at once, so the status is read now, and again in the background when a read finds it older than `maxAgeMs` (a
 * `sources sync` run from the CLI shows up within that time).
 */
export async function storedDataStatusReader(sources: SourceRepo, sourceNames: readonly string[], autoSync: boolean, maxAgeMs = STORED_STATUS_MAX_AGE_MS, now: () => number = Date.now): Promise<(records: number) => DataStatus> {
  let status = await storedDataStatus(sources, sourceNames, 0, autoSync);
  let readAt = now();
  let reading = false;
  return (records) => {
    if (!reading && now() - readAt > maxAgeMs) {
      reading = true;
      storedDataStatus(sources, sourceNames, 0, autoSync)
        .then((fresh) => (status = fresh))
        .catch(() => {})
        .finally(() => ((readAt = now()), (reading = false)));
    }
    return { ...status, records };
  };
}

/** Returns the answer with the data hint added when nothing matched and the status calls for one. */
export function withHint(answer: Answer, status: DataStatus | undefined): Answer {
  if (answer.status !== 'not-found' || !status) return answer;
  const hint = dataHint(status);
  return hint ? { ...answer, hint } : answer;
}

/**
 * Returns the service with not-found answers and empty search lists carrying the data hint. The core keeps answering
 * from its records alone; this wrapper is where the bot's knowledge of its sources meets the answer.
 */
export function withDataHints(service: IncidentService, status: () => DataStatus): IncidentService {
  const listHint = (list: IncidentList): IncidentList => {
    if (list.items.length > 0) return list;
    const hint = dataHint(status());
    return hint ? { ...list, note: [list.note, hint].filter(Boolean).join(' ') } : list;
  };
  return {
    // Every argument is passed on: the view carries the caller's tenant, which decides what it may see.
    answer: (query, view) => withHint(service.answer(query, view), status()),
    search: (query, options) => service.search(query, options),
    searchList: (query, options) => listHint(service.searchList(query, options)),
    recent: (count, options) => service.recent(count, options),
    autocomplete: (prefix, limit, view) => service.autocomplete(prefix, limit, view),
    get: (id, view) => service.get(id, view),
    upsert: (incidents) => service.upsert(incidents),
    // Feed posts that joined a known story reach the index through here too (the feed watcher holds this service).
    ...(service.addPosts ? { addPosts: (posts: Parameters<NonNullable<IncidentService['addPosts']>>[0]) => service.addPosts!(posts) } : {}),
    remove: (ids) => service.remove(ids),
    get size() {
      return service.size;
    },
  };
}

function clip(text: string, max: number): string {
  const t = text.replace(/\s+/g, ' ').trim();
  return t.length <= max ? t : `${t.slice(0, max - 1)}…`;
}

import { createHash } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync, readSync } from 'node:fs';
import { rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { threadId } from 'node:worker_threads';
import { createIncidentService, createIncidentServiceOver } from './core/create-service.js';
import type { Graph } from './core/graph.js';
import { SnapshotError, SNAPSHOT_VERSION } from './core/index-snapshot.js';
import { IncidentIndex } from './core/incident-index.js';
import type { Incident } from './core/incident.js';
import type { IncidentService } from './core/incident-service.js';
import { BUNDLED_DATA_DIR, loadIncidentDir } from './core/load-data.js';
import { buildServed, SERVED_VERSION, servedFromStored, type ServedData } from './core/served.js';
import { knowledgeOf, loadServedBody, servedSnapshotSteps, type LoadedServed } from './core/served-snapshot.js';
import { readServedSnapshotFile, type ReadSnapshot } from './core/snapshot-file.js';
import { runSliced, type Steps } from './core/steps.js';
import { detectFormat, importFile, type ImportFormat } from './importers/index.js';
import type { Logger } from './logger.js';
import { recordReposOf } from './store/repos/index.js';
import { SourceStore } from './store/source-store.js';
import { postsStamp, readStoredGraph, saveRelations, storyPosts } from './store/relations-store.js';
import { rowToIncident, type StoredRow } from './store/repos/records.js';
import type { ImportResult, Store } from './store/store.js';

/**
 * Returns every record the store holds, whichever table it lives in: file imports and feed posts (`incidents`), then
 * synced sources' records. The served set merges records that share an id.
 */
export function storedRecords(store: Store | undefined): Incident[] {
  if (!store) return [];
  return [...store.allIncidents(), ...new SourceStore(store.db).allRecords()];
}

/** Rows read per step when the store's records are read in slices (a few milliseconds each). */
const READ_STEP_ROWS = 500;

/**
 * Returns what `storedRecords` returns, in the same order, reading `pageRows` rows per step (see `Steps`): at 100k
 * records reading them at once holds the event loop for over a second. Pages follow the keys, so rows written
 * meanwhile are read or not, never twice.
 */
export function* storedRecordsSteps(store: Store, pageRows = READ_STEP_ROWS): Steps<Incident[]> {
  const out: Incident[] = [];
  const incidents = store.db.prepare<[string, number], StoredRow>('SELECT id, data, body FROM incidents WHERE id > ? ORDER BY id LIMIT ?');
  for (let after = ''; ; yield) {
    const rows = incidents.all(after, pageRows);
    for (const row of rows) out.push(rowToIncident(row, `${store.path} incident ${row.id}`));
    if (rows.length < pageRows) break;
    after = rows[rows.length - 1].id;
  }
  const synced = store.db.prepare<[string, string, number], StoredRow & { source: string }>(
    'SELECT source, id, data, body FROM source_records WHERE (id, source) > (?, ?) ORDER BY id, source LIMIT ?',
  );
  for (let after = ['', '']; ; yield) {
    const rows = synced.all(after[0], after[1], pageRows);
    for (const row of rows) out.push(rowToIncident(row, `source ${row.source} record ${row.id}`));
    if (rows.length < pageRows) break;
    after = [rows[rows.length - 1].id, rows[rows.length - 1].source];
  }
  return out;
}

/**
 * Returns what the bot serves, built the same way for every entry point (start-up, ask, search, eval): the bundled
 * records, everything in the store, and `files` (records read for this run, e.g. `--data`), merged into one record
 * per real-world thing, with the knowledge graph over them (see `buildServed`).
 */
export function loadServed(store: Store | undefined, files: readonly Incident[] = []): ServedData {
  return buildServed({
    bundled: loadIncidentDir(BUNDLED_DATA_DIR),
    stored: storedRecords(store),
    files,
    posts: store ? storyPosts(store.db) : [],
  });
}

/** Returns the records the bot serves: bundled, then the store, merged (see `loadServed`). */
export function loadAllIncidents(store: Store | undefined): Incident[] {
  return loadServed(store).records;
}

/**
 * Returns the records of data files for this run (format detected from content), in order; a later file wins an id.
 * A MISP galaxy references file is read with the galaxy files given beside it (`--data raw/*.json` works).
 */
export function readDataFiles(paths: readonly string[]): Incident[] {
  const references = paths.filter(isGalaxyReferences);
  const others = paths.filter((p) => !references.includes(p));
  if (others.length === 0 && references.length > 0) return importFile('auto', references);
  return others.flatMap((p) => (references.length > 0 && isGalaxy(p) ? importFile('misp-galaxy', [p, ...references]) : importFile('auto', [p])));
}

// MISP galaxy files list their keys in order: "type" comes before the "values", in the first few hundred bytes.
function head(file: string): string {
  const fd = openSync(file, 'r');
  try {
    const buffer = Buffer.alloc(4096);
    return buffer.toString('utf8', 0, readSync(fd, buffer, 0, buffer.length, 0));
  } catch {
    return '';
  } finally {
    closeSync(fd);
  }
}

function isGalaxy(file: string): boolean {
  return existsSync(file) && /"values"\s*:|"type"\s*:\s*"(?:campaigns|threat-actor|ransomware)"/.test(head(file)) && !/"type"\s*:\s*"bundle"/.test(head(file));
}

function isGalaxyReferences(file: string): boolean {
  return existsSync(file) && /"type"\s*:\s*"references"/.test(head(file));
}

/** Where the served snapshot of a store lives (records, merged ids and index): beside the database file. */
export function snapshotPathFor(databasePath: string): string | undefined {
  return databasePath === ':memory:' ? undefined : `${path.resolve(databasePath)}.served.bin`;
}

/** Returns what the snapshot of these records is keyed by: anything that changes the served records changes it. */
function snapshotFingerprint(store: Store, bundled: readonly Incident[]): string {
  // Row counts, newest writes and total sizes change with any import, sync, edit or removal. Sizes in bytes: SQLite
  // reads them from each row's header, where counting characters decodes every row (twice the time at 100k records).
  const stats = store.db.prepare('SELECT count(*) AS n, max(updated_at) AS t, total(octet_length(data)) AS bytes FROM incidents').get();
  const synced = new SourceStore(store.db).stats();
  return createHash('sha256').update(JSON.stringify([SNAPSHOT_VERSION, SERVED_VERSION, bundled, stats, synced])).digest('hex');
}

/** The service `loadService` returns: answers, the index and graph, and when the relations are stored. */
export type LoadedService = IncidentService & { index: IncidentIndex; graph: Graph; canonical: Map<string, string>; graphStored: Promise<void> };

/**
 * Returns the service over bundled + stored records, merged (see `loadServed`). When the served snapshot beside the
 * database was written for exactly these records (and its content matches its checksum) and the relations are stored
 * for them, it is loaded: no record is read from the store or merged again, records are parsed on first use, and the
 * graph is read from the store (in slices on a large corpus). Otherwise everything is built, with one log line saying
 * why when a snapshot was there, and a fresh snapshot is written in the background. `graphStored` resolves when the
 * relations are stored (errors are logged, never thrown).
 */
export async function loadService(store: Store, logger: Logger): Promise<LoadedService> {
  const file = snapshotPathFor(store.path);
  // Read and checked off the main thread while the store is asked what it holds (a synchronous query).
  const reading = file ? settle(readServedSnapshotFile(file)) : undefined;
  const bundled = loadIncidentDir(BUNDLED_DATA_DIR);
  const fingerprint = snapshotFingerprint(store, bundled);
  // The relations also depend on the feed posts (reported-in). Stored for these very inputs, they give the merges and
  // the graph without deciding or extracting again; else both are built (the graph in the background on a large
  // corpus) and stored.
  const relationsFingerprint = `${fingerprint}:${postsStamp(store.db)}`;
  const stored = readStoredGraph(store.db, relationsFingerprint);
  const loaded = file && reading ? await snapshotIn(file, await reading, fingerprint, logger) : undefined;
  if (loaded && stored) {
    const knowledge = knowledgeOf(loaded, stored);
    // The posts that told a known story: lists of what is new show them (their relations are in the stored graph).
    knowledge.posts = storyPosts(store.db);
    // Its checksum matched, so this fails only on a bug: answers then go on from the name index alone.
    loaded.index.textReady.catch((error: unknown) => logger.warn({ err: (error as Error).message }, 'could not load the full-text index; answering from names only'));
    // Parsed ahead in slices once the bot is up, so the first list of every record ("recent") does not pay for it.
    setTimeout(() => void loaded.records.warm(), WARM_DELAY_MS).unref();
    logger.debug({ records: loaded.index.size }, 'records, merges and index loaded from the served snapshot');
    return Object.assign(createIncidentServiceOver(loaded.index, knowledge), { canonical: loaded.canonical, graphStored: graphRead(knowledge.graphReady, logger) });
  }
  const inputs = { bundled, stored: await runSliced(storedRecordsSteps(store)), posts: storyPosts(store.db) };
  const served = stored ? servedFromStored(inputs, stored) : buildServed(inputs, { background: true });
  const incidents = served.records;
  const graphStored = stored
    ? graphRead(served.graphReady, logger)
    : served.graphReady
        .then(async () => {
          logger.debug({ records: incidents.length, merges: served.merges.length, relations: served.graph.size, cpuMs: served.timings }, 'records merged, graph built');
          if (store.db.open) await saveRelations(store.db, served.graph, relationsFingerprint);
          logger.debug({ relations: served.graph.size }, 'relations stored');
        })
        .catch((error: unknown) => logger.warn({ err: (error as Error).message }, 'could not store the relations; answers use the graph in memory'));
  if (stored) logger.debug({ records: incidents.length, relations: served.graph.size, cpuMs: served.timings }, 'records merged, graph loaded from the store');
  // The service's own copy of the merged ids: a running sync keeps it current (see `mergedResolver`).
  const canonical = new Map(served.canonical);
  // Built a slice of records per turn of the event loop: at 100k records the index takes seconds.
  const index = IncidentIndex.build([]);
  await runSliced(upsertSteps(index, incidents));
  const service = createIncidentServiceOver(index, { graph: served.graph, extractor: served.extractor, canonical, posts: served.posts });
  if (file && !loaded) {
    // Written in slices too, after the bot is up: the next start loads it instead of building.
    writeSnapshotFile(file, fingerprint, incidents, served.canonical, service.index).catch((error: unknown) =>
      logger.warn({ file, err: (error as Error).message }, 'could not write the served snapshot'),
    );
  }
  return Object.assign(service, { canonical, graphStored });
}

/** Records indexed per step when the index is built in slices. */
const INDEX_STEP_RECORDS = 100;

function* upsertSteps(index: IncidentIndex, records: readonly Incident[]): Steps<void> {
  for (let i = 0; i < records.length; i += INDEX_STEP_RECORDS) {
    index.upsert(records.slice(i, i + INDEX_STEP_RECORDS));
    yield;
  }
}

/** A promise's outcome, so that one started early never goes unhandled while other work runs. */
type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown };

function settle<T>(promise: Promise<T>): Promise<Settled<T>> {
  return promise.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
}

// A bot stopped while the graph is still being read from the store just has it incomplete: logged, never thrown.
function graphRead(ready: Promise<void>, logger: Logger): Promise<void> {
  return ready.catch((error: unknown) => logger.debug({ err: (error as Error).message }, 'stopped reading the stored relations'));
}

/** Delay before the records of a served snapshot are parsed ahead: the console prompt and first answers come first. */
const WARM_DELAY_MS = 1_000;

/** Returns the served snapshot read from `file` when it was written for `key` and is intact; else undefined, logged once. */
async function snapshotIn(file: string, read: Settled<ReadSnapshot>, key: string, logger: Logger): Promise<LoadedServed | undefined> {
  if (!read.ok) {
    const error = read.error as NodeJS.ErrnoException;
    if (error instanceof SnapshotError) logger.warn({ file, err: error.message }, 'served snapshot unusable: rebuilding');
    else if (error.code !== 'ENOENT') logger.warn({ file, err: error.message }, 'served snapshot unreadable: rebuilding');
    return undefined;
  }
  if (read.value.key !== key) {
    logger.info({ file }, 'served snapshot is out of date: rebuilding');
    return undefined;
  }
  // Parsed while its checksum is checked; nothing of it is used before the check passed.
  const [loaded, verified] = await Promise.all([settle(loadServedBody(read.value.body, { deferText: true })), settle(read.value.verified)]);
  const failure = !verified.ok ? verified.error : !loaded.ok ? loaded.error : undefined;
  if (failure !== undefined || !loaded.ok) {
    // Its full text would load from the damaged body a moment later: whatever that does, nobody waits for it.
    if (loaded.ok) loaded.value.index.textReady.catch(() => undefined);
    logger.warn({ file, err: (failure as Error).message }, 'served snapshot unusable: rebuilding');
    return undefined;
  }
  return loaded.value;
}

/**
 * Builds what the store serves now (records merged, graph, index), stores the relations and writes the served
 * snapshot, so the next start loads instead of rebuilding; a no-op for an in-memory store. Blocking (about a second
 * per 5,000 records): the sync worker calls it after a sync changed records, off the bot's event loop.
 */
export async function writeIndexSnapshot(store: Store): Promise<void> {
  const file = snapshotPathFor(store.path);
  if (!file) return;
  const bundled = loadIncidentDir(BUNDLED_DATA_DIR);
  const fingerprint = snapshotFingerprint(store, bundled);
  const served = loadServed(store);
  await saveRelations(store.db, served.graph, `${fingerprint}:${postsStamp(store.db)}`);
  await writeSnapshotFile(file, fingerprint, served.records, served.canonical, createIncidentService(served.records).index);
}

async function writeSnapshotFile(file: string, key: string, records: readonly Incident[], canonical: ReadonlyMap<string, string>, index: IncidentIndex): Promise<void> {
  // Written to a temporary file and renamed, so a crash mid-write never leaves a torn snapshot; the name is unique
  // per writer, since the sync worker and a starting bot may both write one.
  const tmp = `${file}.${process.pid}.${threadId}.tmp`;
  const body = await runSliced(servedSnapshotSteps(key, records, canonical, index));
  try {
    await writeFile(tmp, body);
    await rename(tmp, file);
  } catch (error) {
    // A full disk or a vanished directory must not leave a 100 MB partial file behind at every start.
    await rm(tmp, { force: true }).catch(() => undefined);
    throw error;
  }
  // The index-only snapshot earlier versions wrote beside it is of no use any more.
  await rm(file.replace(/\.served\.bin$/, '.index.json'), { force: true });
}

/** Imports files into the store in one transaction (a failing file leaves the store as it was); resolves to the counts. */
export async function importIntoStore(store: Store, format: ImportFormat | 'auto', paths: readonly string[]): Promise<ImportResult> {
  const resolved = format === 'auto' ? detectFormat(paths[0], readFileSync(paths[0], 'utf8')) : format;
  const origin = `file:${paths.map((p) => path.basename(p)).join('+')}`;
  return recordReposOf(store).records.importWith(origin, resolved, () => importFile(resolved, paths));
}

/** Imports each INCIDENT_DATA path (format detected from content), logging and rethrowing a failure with its file. */
export async function importDataPaths(store: Store, paths: readonly string[], logger: Logger): Promise<void> {
  for (const p of paths) {
    const result = await importIntoStore(store, 'auto', [p]);
    logger.info({ file: p, ...result }, 'imported INCIDENT_DATA file');
  }
}

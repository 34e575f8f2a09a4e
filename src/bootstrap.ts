import { createHash } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync, readSync } from 'node:fs';
import { readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { threadId } from 'node:worker_threads';
import { createIncidentService, createIncidentServiceFromSnapshot } from './core/create-service.js';
import type { Graph } from './core/graph.js';
import { SNAPSHOT_VERSION } from './core/index-snapshot.js';
import type { IncidentIndex } from './core/incident-index.js';
import type { Incident } from './core/incident.js';
import type { IncidentService } from './core/incident-service.js';
import { BUNDLED_DATA_DIR, loadIncidentDir } from './core/load-data.js';
import { buildServed, SERVED_VERSION, servedFromStored, type ServedData } from './core/served.js';
import { detectFormat, importFile, type ImportFormat } from './importers/index.js';
import type { Logger } from './logger.js';
import { recordReposOf } from './store/repos/index.js';
import { SourceStore } from './store/source-store.js';
import { postsStamp, readStoredGraph, saveRelations, storyPosts } from './store/relations-store.js';
import type { ImportResult, Store } from './store/store.js';

/**
 * Returns every record the store holds, whichever table it lives in: file imports and feed posts (`incidents`), then
 * synced sources' records. The served set merges records that share an id.
 */
export function storedRecords(store: Store | undefined): Incident[] {
  if (!store) return [];
  return [...store.allIncidents(), ...new SourceStore(store.db).allRecords()];
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

/**
 * Returns the record the bot serves for each id, by the same layering as loadAllIncidents, or undefined for an id no
 * layer holds any more (a record a sync removed): what the live index should show after a source changed.
 */
export async function resolveServed(store: Store, bundled: ReadonlyMap<string, Incident>, ids: readonly string[]): Promise<Map<string, Incident | undefined>> {
  const { sources, records } = recordReposOf(store);
  const synced = await sources.recordsById(ids);
  const imported = await records.incidentsById(ids.filter((id) => !synced.has(id)));
  const out = new Map<string, Incident | undefined>();
  for (const id of ids) out.set(id, synced.get(id) ?? imported.get(id) ?? bundled.get(id));
  return out;
}

/** Where the index snapshot of a store lives: beside the database file. */
export function snapshotPathFor(databasePath: string): string | undefined {
  return databasePath === ':memory:' ? undefined : `${path.resolve(databasePath)}.index.json`;
}

/** Returns what the snapshot of these records is keyed by: anything that changes the served records changes it. */
function snapshotFingerprint(store: Store, bundled: readonly Incident[]): string {
  // Row counts, newest writes and total sizes change with any import, sync, edit or removal.
  const stats = store.db.prepare('SELECT count(*) AS n, max(updated_at) AS t, total(length(data)) AS bytes FROM incidents').get();
  const synced = new SourceStore(store.db).stats();
  return createHash('sha256').update(JSON.stringify([SNAPSHOT_VERSION, SERVED_VERSION, bundled, stats, synced])).digest('hex');
}

/**
 * Returns the service over bundled + stored records, merged (see `loadServed`), loading the index from the snapshot
 * beside the database when it was written for exactly these records and its content still matches its checksum
 * (building takes ~6 s at 100k records; loading ~0.5 s), else building it, with one log line saying why, and writing a
 * fresh snapshot in the background. The graph is built after this returns, in slices, then stored; `graphStored`
 * resolves when both are done (errors are logged, never thrown).
 */
export async function loadService(store: Store, logger: Logger): Promise<IncidentService & { index: IncidentIndex; graph: Graph; graphStored: Promise<void> }> {
  const bundled = loadIncidentDir(BUNDLED_DATA_DIR);
  const inputs = { bundled, stored: storedRecords(store), posts: storyPosts(store.db) };
  const fingerprint = snapshotFingerprint(store, bundled);
  // The relations also depend on the feed posts (reported-in). Stored for these very inputs, they give the merges and
  // the graph without deciding or extracting again; else both are built (the graph in the background on a large
  // corpus) and stored.
  const relationsFingerprint = `${fingerprint}:${postsStamp(store.db)}`;
  const stored = readStoredGraph(store.db, relationsFingerprint);
  const served = stored ? servedFromStored(inputs, stored) : buildServed(inputs, { background: true });
  const incidents = served.records;
  const graphStored = stored
    ? Promise.resolve()
    : served.graphReady
        .then(async () => {
          logger.debug({ records: incidents.length, merges: served.merges.length, relations: served.graph.size, cpuMs: served.timings }, 'records merged, graph built');
          if (store.db.open) await saveRelations(store.db, served.graph, relationsFingerprint);
        })
        .catch((error: unknown) => logger.warn({ err: (error as Error).message }, 'could not store the relations; answers use the graph in memory'));
  if (stored) logger.debug({ records: incidents.length, relations: served.graph.size, cpuMs: served.timings }, 'records merged, graph loaded from the store');
  const file = snapshotPathFor(store.path);
  if (file) {
    try {
      const text = await readFile(file, 'utf8');
      const newline = text.indexOf('\n');
      if (text.slice(0, newline) === fingerprint) return Object.assign(createIncidentServiceFromSnapshot(text.slice(newline + 1), incidents, served), { graphStored });
      logger.info({ file }, 'index snapshot is out of date: rebuilding');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') logger.warn({ file, err: (error as Error).message }, 'index snapshot unusable: rebuilding');
    }
  }
  const service = createIncidentService(incidents, served);
  if (file) {
    writeSnapshotFile(file, fingerprint, service.index).catch((error: unknown) =>
      logger.warn({ file, err: (error as Error).message }, 'could not write the index snapshot'),
    );
  }
  return Object.assign(service, { graphStored });
}

/**
 * Builds the index over everything the store serves now and writes its snapshot, so the next start loads instead of
 * rebuilding; a no-op for an in-memory store. Blocking (about a second per 5,000 records): the sync worker calls it
 * after a sync changed records, off the bot's event loop.
 */
export async function writeIndexSnapshot(store: Store): Promise<void> {
  const file = snapshotPathFor(store.path);
  if (!file) return;
  const bundled = loadIncidentDir(BUNDLED_DATA_DIR);
  const fingerprint = snapshotFingerprint(store, bundled);
  await writeSnapshotFile(file, fingerprint, createIncidentService(loadServed(store).records).index);
}

async function writeSnapshotFile(file: string, fingerprint: string, index: IncidentIndex): Promise<void> {
  // Written to a temporary file and renamed, so a crash mid-write never leaves a torn snapshot; the name is unique
  // per writer, since the sync worker and a starting bot may both write one.
  const tmp = `${file}.${process.pid}.${threadId}.tmp`;
  await writeFile(tmp, `${fingerprint}\n${index.toSnapshot()}`);
  await rename(tmp, file);
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

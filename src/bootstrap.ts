import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { threadId } from 'node:worker_threads';
import { createIncidentService, createIncidentServiceFromSnapshot } from './core/create-service.js';
import { SNAPSHOT_VERSION } from './core/index-snapshot.js';
import type { IncidentIndex } from './core/incident-index.js';
import type { Incident } from './core/incident.js';
import type { IncidentService } from './core/incident-service.js';
import { BUNDLED_DATA_DIR, loadIncidentDir } from './core/load-data.js';
import { detectFormat, importFile, type ImportFormat } from './importers/index.js';
import type { Logger } from './logger.js';
import { SourceStore } from './store/source-store.js';
import type { ImportResult, Store } from './store/store.js';

/**
 * Returns the records the bot serves: the bundled corpus, then file imports (the `incidents` table), then synced
 * sources' records; where several hold an id, the later layer wins (and between sources, the later name).
 */
export function loadAllIncidents(store: Store | undefined): Incident[] {
  return servedRecords(store, loadIncidentDir(BUNDLED_DATA_DIR));
}

function servedRecords(store: Store | undefined, bundled: readonly Incident[]): Incident[] {
  const byId = new Map<string, Incident>();
  for (const i of bundled) byId.set(i.id, i);
  for (const i of store?.allIncidents() ?? []) byId.set(i.id, i);
  if (store) for (const i of new SourceStore(store.db).allRecords()) byId.set(i.id, i);
  return [...byId.values()];
}

/**
 * Returns the record the bot serves for each id, by the same layering as loadAllIncidents, or undefined for an id no
 * layer holds any more (a record a sync removed): what the live index should show after a source changed.
 */
export function resolveServed(store: Store, bundled: ReadonlyMap<string, Incident>, ids: readonly string[]): Map<string, Incident | undefined> {
  const synced = new SourceStore(store.db).recordsById(ids);
  const out = new Map<string, Incident | undefined>();
  for (const id of ids) out.set(id, synced.get(id) ?? store.getIncident(id) ?? bundled.get(id));
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
  return createHash('sha256').update(JSON.stringify([SNAPSHOT_VERSION, bundled, stats, synced])).digest('hex');
}

/**
 * Returns the service over bundled + stored records, loading the index from the snapshot beside the database when it
 * was written for exactly these records and its content still matches its checksum (building takes ~6 s at 100k
 * records; loading ~0.5 s), else building it, with one log line saying why, and writing a fresh snapshot in the
 * background.
 */
export async function loadService(store: Store, logger: Logger): Promise<IncidentService & { index: IncidentIndex }> {
  const bundled = loadIncidentDir(BUNDLED_DATA_DIR);
  const incidents = servedRecords(store, bundled);
  const file = snapshotPathFor(store.path);
  const fingerprint = snapshotFingerprint(store, bundled);
  if (file) {
    try {
      const text = await readFile(file, 'utf8');
      const newline = text.indexOf('\n');
      if (text.slice(0, newline) === fingerprint) return createIncidentServiceFromSnapshot(text.slice(newline + 1), incidents);
      logger.info({ file }, 'index snapshot is out of date: rebuilding');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') logger.warn({ file, err: (error as Error).message }, 'index snapshot unusable: rebuilding');
    }
  }
  const service = createIncidentService(incidents);
  if (file) {
    writeSnapshotFile(file, fingerprint, service.index).catch((error: unknown) =>
      logger.warn({ file, err: (error as Error).message }, 'could not write the index snapshot'),
    );
  }
  return service;
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
  await writeSnapshotFile(file, fingerprint, createIncidentService(servedRecords(store, bundled)).index);
}

async function writeSnapshotFile(file: string, fingerprint: string, index: IncidentIndex): Promise<void> {
  // Written to a temporary file and renamed, so a crash mid-write never leaves a torn snapshot; the name is unique
  // per writer, since the sync worker and a starting bot may both write one.
  const tmp = `${file}.${process.pid}.${threadId}.tmp`;
  await writeFile(tmp, `${fingerprint}\n${index.toSnapshot()}`);
  await rename(tmp, file);
}

/** Imports files into the store in one transaction (a failing file leaves the store as it was); returns the counts. */
export function importIntoStore(store: Store, format: ImportFormat | 'auto', paths: readonly string[]): ImportResult {
  const resolved = format === 'auto' ? detectFormat(paths[0], readFileSync(paths[0], 'utf8')) : format;
  const origin = `file:${paths.map((p) => path.basename(p)).join('+')}`;
  return store.importWith(origin, resolved, () => importFile(resolved, paths));
}

/** Imports each INCIDENT_DATA path (format detected from content), logging and rethrowing a failure with its file. */
export function importDataPaths(store: Store, paths: readonly string[], logger: Logger): void {
  for (const p of paths) {
    const result = importIntoStore(store, 'auto', [p]);
    logger.info({ file: p, ...result }, 'imported INCIDENT_DATA file');
  }
}

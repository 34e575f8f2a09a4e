import path from 'node:path';
import { COMMANDS } from '../commands/index.js';
import { createIncidentService } from './core/create-service.js';
import type { Incident } from './core/incident.js';
import type { IncidentService } from './core/incident-service.js';
import { BUNDLED_DATA_DIR, loadIncidentDir } from './core/load-data.js';
import { detectFormat, importFile, type ImportFormat } from './importers/index.js';
import type { Logger } from './logger.js';
import type { ImportResult, Store } from './store/store.js';
import { readFileSync } from 'node:fs';

/** Returns the records the bot serves: the bundled corpus, then everything in the store (a stored id wins). */
export function loadAllIncidents(store: Store | undefined): Incident[] {
  const byId = new Map<string, Incident>();
  for (const i of loadIncidentDir(BUNDLED_DATA_DIR)) byId.set(i.id, i);
  if (store) for (const i of store.allIncidents()) byId.set(i.id, i);
  return [...byId.values()];
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

/** Returns the service over these records, and the commands context adapters hand to handlers. */
export function createRuntime(incidents: readonly Incident[]): { service: IncidentService; commands: typeof COMMANDS } {
  return { service: createIncidentService(incidents), commands: COMMANDS };
}

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createIncidentService } from './core/create-service.js';
import type { Graph } from './core/graph.js';
import type { Incident } from './core/incident.js';
import type { IncidentIndex } from './core/incident-index.js';
import type { IncidentService } from './core/incident-service.js';
import { buildServed, type ServedData } from './core/served.js';
import { detectFormat, importFile } from './importers/index.js';
import type { Logger } from './logger.js';
import { createImporter, type SourceImporter } from './sources/import-runner.js';
import type { Db } from './store/db.js';
import { openRecordRepos, type RecordRepos, type RecordReposOptions } from './store/repos/index.js';
import { openStorage, type FeedIncidents, type Storage } from './store/storage.js';

/**
 * What a replica opens on PostgreSQL (DATABASE_URL): no index snapshot (it lives beside a SQLite file), so the served
 * records are built from the database at each start, the graph in the background on a large corpus.
 */

/** A replica's data on PostgreSQL: the feed and record repositories, the served index, and how changed ids resolve. */
export interface PostgresData {
  storage: Storage;
  repos: RecordRepos;
  core: IncidentService & { index: IncidentIndex; graph: Graph; canonical: Map<string, string> };
  served: ServedData;
  /** The record served now for each id (synced source, then imported, then bundled), or undefined for one gone. */
  resolve(ids: readonly string[]): Promise<Map<string, Incident | undefined>>;
  /** Ids of records written since an epoch-ms time (imported or synced): the catch-up after missed notices. */
  changedSince(since: number): Promise<string[]>;
  /** Source imports, in a worker thread with a connection of its own to the same database. */
  importer: SourceImporter;
}

/** How openPostgresData connects. */
export interface PostgresDataOptions {
  databaseUrl: string;
  replicaId: string;
  /** The bundled records (data/incidents), the lowest layer of what is served. */
  bundled: ReadonlyMap<string, Incident>;
  /** INCIDENT_DATA files imported before the index is built (format detected from content), as on SQLite. */
  dataPaths?: readonly string[];
  /** Seals Slack installation tokens (SLACK_TOKEN_ENCRYPTION_KEY). */
  sealer?: RecordReposOptions['sealer'];
  logger: Logger;
}

/** Returns the feed pipeline's records port over the record repository on the same database. */
function incidentsPort(repos: RecordRepos): FeedIncidents {
  return { get: (id) => repos.records.getIncident(id), import: (incidents, info) => repos.records.importIncidents(incidents, info) };
}

/** Opens a replica's data on PostgreSQL, migrated, with the served index built over it. */
export async function openPostgresData(options: PostgresDataOptions): Promise<PostgresData> {
  const { databaseUrl, replicaId, bundled, logger } = options;
  let repos: RecordRepos | undefined;
  const reposOf = (db: Db) => (repos ??= openRecordRepos(db, { label: 'PostgreSQL', ...(options.sealer ? { sealer: options.sealer } : {}) }));
  const storage = await openStorage({ databasePath: '', databaseUrl, replicaId }, { incidents: (db) => incidentsPort(reposOf(db)) });
  try {
    const r = reposOf(storage.db);
    for (const file of options.dataPaths ?? []) {
      const format = detectFormat(file, readFileSync(file, 'utf8'));
      const result = await r.records.importWith(`file:${path.basename(file)}`, format, () => importFile(format, [file]));
      logger.info({ file, ...result }, 'imported INCIDENT_DATA file');
    }
    const started = performance.now();
    const [imported, synced, posts] = await Promise.all([r.records.allIncidents(), r.sources.allRecords(), r.relations.storyPosts()]);
    const served = buildServed({ bundled: [...bundled.values()], stored: [...imported, ...synced], posts }, { background: true });
    const core = Object.assign(createIncidentService(served.records, served), { canonical: new Map(served.canonical) });
    logger.debug({ records: served.records.length, ms: Math.round(performance.now() - started) }, 'records loaded from PostgreSQL');
    const resolve = async (ids: readonly string[]) => {
      const fromSources = await r.sources.recordsById(ids);
      const fromImports = await r.records.incidentsById(ids.filter((id) => !fromSources.has(id)));
      return new Map(ids.map((id) => [id, fromSources.get(id) ?? fromImports.get(id) ?? bundled.get(id)]));
    };
    const changedSince = async (since: number) => {
      const rows = await storage.db.query<{ id: string }>('SELECT id FROM incidents WHERE updated_at >= ? UNION SELECT id FROM source_records WHERE updated_at >= ?', [
        new Date(since).toISOString(),
        since,
      ]);
      return rows.map((row) => row.id);
    };
    const importer = createImporter({ kind: 'postgres', url: databaseUrl });
    return { storage, repos: r, core, served, resolve, changedSince, importer };
  } catch (error) {
    await storage.close();
    throw error;
  }
}

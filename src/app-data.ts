import { importDataPaths, loadService } from './bootstrap.js';
import type { Config } from './config.js';
import type { Graph } from './core/graph.js';
import type { Incident } from './core/incident.js';
import type { IncidentIndex } from './core/incident-index.js';
import type { IncidentService } from './core/incident-service.js';
import type { ReplicaGates } from './store/replica-gates.js';
import type { Logger } from './logger.js';
import type { Replication } from './replication.js';
import { createImporter, type SourceImporter } from './sources/import-runner.js';
import { recordReposOf, type RecordRepos } from './store/repos/index.js';
import { createTextSealer } from './store/sealed-text.js';
import { SqliteSlackInstallationRepo } from './store/slack-installations.js';
import { storageOverStore, type Storage } from './store/storage.js';
import { openStore } from './store/store.js';

/** What the app runs on, from either engine: repositories, the served index, and how changed ids resolve. */
export interface AppData {
  storage: Storage;
  repos: RecordRepos;
  core: IncidentService & { index: IncidentIndex; graph: Graph; canonical: Map<string, string> };
  /** PostgreSQL: what the layers hold now for each id (unmerged), or undefined for one no layer holds any more. */
  resolve?(ids: readonly string[]): Promise<Map<string, Incident | undefined>>;
  importer: SourceImporter;
  /** On PostgreSQL: the other replicas' changes come in, this one's go out; leases share the work. */
  replication?: Replication & { gates: ReplicaGates };
  /** Stops listening and closes the database (safe to call twice). */
  close(): Promise<void>;
}

const sealerOf = (config: Config) => (config.slack?.distribution ? createTextSealer(config.slack.distribution.encryptionKey) : undefined);

/** Opens the SQLite file at DATABASE_PATH: one process, the index loaded from its snapshot when the data is unchanged. */
export async function openSqliteData(config: Config, logger: Logger): Promise<AppData> {
  const store = openStore(config.databasePath);
  // The feed and tenant repositories share the store's connection (SQLite), so a poll's posts and records commit together.
  const storage = await storageOverStore(store);
  try {
    if (config.dataPaths.length) await importDataPaths(store, config.dataPaths, logger);
    const core = await loadService(store, logger);
    const repos = recordReposOf(store);
    const sealer = sealerOf(config);
    return {
      storage,
      // Slack tokens are sealed with the configured key (SLACK_TOKEN_ENCRYPTION_KEY).
      repos: sealer ? { ...repos, installations: new SqliteSlackInstallationRepo(store, { sealer }) } : repos,
      core,
      importer: createImporter(store),
      close: () => storage.close(),
    };
  } catch (error) {
    await storage.close();
    throw error;
  }
}

/**
 * Opens the PostgreSQL of DATABASE_URL as one replica among others: the served index built from the database, the
 * change notices joined, and the leases this replica takes its turns with.
 */
export async function openReplicaData(config: Config, logger: Logger, bundled: ReadonlyMap<string, Incident>): Promise<AppData> {
  const sealer = sealerOf(config);
  // PostgreSQL's driver and the replication parts load only here: a SQLite run (the console) never needs them.
  const { openPostgresData } = await import('./postgres-app.js');
  const { startReplication } = await import('./replication.js');
  const { createReplicaGates } = await import('./store/replica-gates.js');
  const pgData = await openPostgresData({
    databaseUrl: config.databaseUrl!,
    replicaId: config.replicaId,
    bundled,
    dataPaths: config.dataPaths,
    ...(sealer ? { sealer } : {}),
    logger,
  });
  try {
    const replication = await startReplication({
      db: pgData.storage.db,
      databaseUrl: config.databaseUrl,
      replicaId: config.replicaId,
      service: pgData.core,
      canonical: pgData.served.canonical,
      read: pgData.resolve,
      changedSince: pgData.changedSince,
      posts: pgData.repos.relations,
      tenants: pgData.storage.tenants,
      logger,
    });
    // A dead replica's poll is taken over within one poll interval (and never waits more than 30 s).
    const gates = createReplicaGates(replication.leases, { feedLeaseMs: Math.min(30_000, config.feeds.pollSeconds * 1000) });
    let closed = false;
    return {
      storage: pgData.storage,
      repos: pgData.repos,
      core: pgData.core,
      resolve: pgData.resolve,
      importer: pgData.importer,
      replication: Object.assign(replication, { gates }),
      async close() {
        if (closed) return;
        closed = true;
        await replication.close();
        await pgData.importer.close();
        await pgData.storage.close();
      },
    };
  } catch (error) {
    await pgData.storage.close();
    throw error;
  }
}

import type { Incident, IncidentInput } from '../core/incident.js';
import type { Db, DbKind } from './db.js';
import { createPgDb, redactDbUrl } from './pg-db.js';
import { applyPgMigrations } from './pg-migrations.js';
import { FeedsRepo } from './repos/feeds.js';
import { OutboxRepo } from './repos/outbox.js';
import { PostsRepo } from './repos/posts.js';
import { SubscriptionsRepo } from './repos/subscriptions.js';
import { TenantsRepo } from './repos/tenants.js';
import { openRecordRepos, recordReposOf, type RecordRepos, type RecordReposOptions } from './repos/index.js';
import { openStore, storeDb, type ImportInfo, type ImportResult, type Store } from './store.js';

/** What the feed pipeline reads and writes of the stored records: a record by id, and imports of changed ones. */
export interface FeedIncidents {
  /** One stored record, or undefined. */
  get(id: string): Promise<Incident | undefined>;
  /** Upserts records under an origin (see Store.importIncidents). */
  import(incidents: readonly IncidentInput[], info: ImportInfo): Promise<ImportResult>;
}

/** The feed-side repositories over one Db: feeds and their item keys, posts, subscriptions, outbox, tenancy. */
export interface FeedRepos {
  feeds: FeedsRepo;
  posts: PostsRepo;
  subscriptions: SubscriptionsRepo;
  outbox: OutboxRepo;
  tenants: TenantsRepo;
}

/** The open storage: its engine, its Db and the repositories over it (feed side and records side). */
export interface Storage extends FeedRepos, RecordRepos {
  readonly kind: DbKind;
  readonly db: Db;
  /** The records the feed pipeline reads and writes. */
  readonly incidents: FeedIncidents;
  /** The SQLite records store (incidents, sources, relations) on the same connection; absent on PostgreSQL. */
  readonly store?: Store;
  /** Closes the database (safe to call twice). */
  close(): Promise<void>;
}

/** Where storage lives: PostgreSQL when `databaseUrl` is set, else the SQLite file at `databasePath`. */
export interface StorageConfig {
  databasePath: string;
  databaseUrl?: string;
  /** Names this process's PostgreSQL connections (pg_stat_activity), so an operator can tell replicas apart. */
  replicaId?: string;
}

/** Returns the feed-side repositories over a Db, with tenancy's visibility snapshot loaded. */
export async function openFeedRepos(db: Db): Promise<FeedRepos> {
  const tenants = new TenantsRepo(db);
  await tenants.load();
  return {
    tenants,
    feeds: new FeedsRepo(db, tenants),
    posts: new PostsRepo(db, tenants),
    subscriptions: new SubscriptionsRepo(db),
    outbox: new OutboxRepo(db),
  };
}

/** Returns the records port of a SQLite store: its calls are synchronous, on the connection the repositories share. */
export function storeIncidents(store: Store): FeedIncidents {
  return {
    get: async (id) => store.getIncident(id),
    import: async (incidents, info) => store.importIncidents(incidents, info),
  };
}

/**
 * Returns storage over an open SQLite store, sharing its connection: the repositories' transactions and the store's
 * (records written by the feed pipeline) are one. The store is closed with the storage.
 */
export async function storageOverStore(store: Store): Promise<Storage> {
  // The one Db of this connection (storeDb), so the records side's transactions and the feed side's queue together.
  const db = storeDb(store);
  const repos = await openFeedRepos(db);
  return {
    kind: 'sqlite',
    db,
    ...repos,
    ...recordReposOf(store),
    incidents: storeIncidents(store),
    store,
    async close() {
      await db.close();
      store.close();
    },
  };
}

/** Options of openStorage. */
export interface OpenStorageOptions {
  /** The records port on PostgreSQL; by default the records repository of the same database. */
  incidents?: (db: Db) => FeedIncidents;
  /** Seals Slack installations' tokens on PostgreSQL (SLACK_TOKEN_ENCRYPTION_KEY). */
  sealer?: RecordReposOptions['sealer'];
}

/**
 * Opens storage: the SQLite file at DATABASE_PATH (the default: one process, embedded), or the PostgreSQL of
 * DATABASE_URL (several replicas), migrated to the current schema. Throws a StoreError or DbError naming the database
 * (a URL's password hidden) and what to do.
 */
export async function openStorage(config: StorageConfig, options: OpenStorageOptions = {}): Promise<Storage> {
  if (!config.databaseUrl) return storageOverStore(openStore(config.databasePath));
  const db = await createPgDb({ url: config.databaseUrl, ...(config.replicaId ? { applicationName: `incident-bot ${config.replicaId}` } : {}) });
  try {
    await applyPgMigrations(db);
    return await storageOverDb(db, redactDbUrl(config.databaseUrl), options);
  } catch (error) {
    await db.close();
    throw error;
  }
}

/** Returns storage over a migrated PostgreSQL Db (`label` names it in messages); closing it closes the Db. */
export async function storageOverDb(db: Db, label: string, options: OpenStorageOptions = {}): Promise<Storage> {
  const repos = await openFeedRepos(db);
  const records = openRecordRepos(db, { label, ...(options.sealer ? { sealer: options.sealer } : {}) });
  return {
    kind: db.kind,
    db,
    ...repos,
    ...records,
    incidents: options.incidents?.(db) ?? {
      get: (id) => records.records.getIncident(id),
      import: (incidents, info) => records.records.importIncidents(incidents, info),
    },
    close: () => db.close(),
  };
}

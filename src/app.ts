import { COMMANDS } from '../commands/index.js';
import { runConsole } from './adapters/console/console.js';
import type { Readable, Writable } from 'node:stream';
import { openReplicaData, openSqliteData } from './app-data.js';
import type { Config } from './config.js';
import { BUNDLED_DATA_DIR, loadIncidentDir } from './core/load-data.js';
import type { IncidentService } from './core/incident-service.js';
import type { AlertSender } from './feeds/types.js';
import type { FeedWatcher } from './feeds/watcher.js';
import type { Logger } from './logger.js';
import type { AppObservability, ObservedAdapter } from './observability/index.js';
import { storedDataStatusReader, withDataHints } from './sources/data-hint.js';
import { loadSourceList } from './sources/source-list.js';
import type { SourceSyncer } from './sources/syncer.js';

/** A running bot: its service and watcher, and how to stop everything in order. */
export interface RunningApp {
  service: IncidentService;
  watcher?: FeedWatcher;
  /** The background source syncer (absent with SOURCES_SYNC=false). */
  sources?: SourceSyncer;
  /** Health and metrics (HTTP_PORT; absent when it is not set). */
  observability?: AppObservability;
  /** Resolves when the console closes (console mode); never in chat mode. */
  done: Promise<void>;
  /** Stops health and metrics, the source syncer and the watcher, then the adapters, then closes the store (safe to call twice). */
  stop(): Promise<void>;
}

/** Where the console reads and writes (default: the process's stdin and stdout). */
export interface AppIo {
  input?: Readable;
  output?: Writable;
}

/**
 * Starts the bot from a configuration: store, index, feed watcher, then Discord and/or Slack with the watcher's
 * alerts wired both ways, or the console when no chat adapter is configured; then the background sync of the
 * datasets that are due, while the bot already answers from what it has.
 */
export async function startApp(config: Config, logger: Logger, io: AppIo = {}): Promise<RunningApp> {
  // A bad source list stops start-up here, naming the file and the entry.
  const specs = loadSourceList(config.sources.file);
  const bundled = new Map(loadIncidentDir(BUNDLED_DATA_DIR).map((i) => [i.id, i]));
  const started = performance.now();
  const data = config.databaseUrl ? await openReplicaData(config, logger, bundled) : await openSqliteData(config, logger);
  const { storage, core } = data;
  logger.info({ records: core.size, ms: Math.round(performance.now() - started), engine: storage.kind }, 'index ready');
  // Health and metrics (HTTP_PORT): created now so the parts below get their observer; it listens before the adapters.
  // What a run without them does not need is loaded only when configured (start-up time of the console).
  const observability = config.http
    ? (await import('./observability/index.js')).createAppObservability({ config: { ...config, http: config.http }, store: data.repos.records, sources: data.repos.sources, index: core, logger })
    : undefined;

  // Notices of the background sync: the log in chat mode; lines above the prompt in the console (held until it is up).
  const consoleMode = !config.discord && !config.slack;
  const held: string[] = [];
  let notify: (line: string) => void = consoleMode ? (line) => void held.push(line) : (line) => logger.info(line);
  // On PostgreSQL, what this replica writes is announced to the others, which update those records in their indexes.
  const replication = data.replication;
  const writer = replication?.service ?? core;
  const syncer = config.sources.sync
    ? (await import('./sources/syncer.js')).createSourceSyncer({
        sources: data.repos.sources,
        importer: data.importer,
        service: writer,
        specs,
        // SQLite: the sync worker works out the merged records; PostgreSQL: the replica's writer recomputes merged groups.
        ...(replication && data.resolve ? { resolve: data.resolve, gate: replication.gates.sources } : { canonical: core.canonical }),
        allowPrivate: config.sources.allowPrivateUrls,
        maxBytes: config.sources.maxBytes,
        timeoutMs: config.sources.timeoutMs,
        logger,
        notify: (line) => notify(line),
        observer: observability?.metrics,
      })
    : undefined;
  const names = specs.map((s) => s.name);
  const storedStatus = syncer ? undefined : await storedDataStatusReader(data.repos.sources, names, false);
  const hinted = withDataHints(core, () => syncer?.status() ?? storedStatus!(core.size));
  const service = observability ? observability.timed(hinted) : hinted;

  // One store of conversation contexts (follow-ups) for every adapter, in the database with their expiry: with several
  // replicas on one database, a follow-up may reach another replica than the question did.
  const conversations = data.repos.conversations;

  // One watcher per database: it polls feeds, feeds new posts into the index, and delivers alerts through the
  // adapters' senders. In the console it still polls (so answers stay fresh) but has no channel to alert.
  const watcher = config.feeds.enabled
    ? await (await import('./feeds/watcher.js')).createFeedWatcher({
        storage,
        replicaId: config.replicaId,
        service: replication ? writer : service,
        senders: [],
        config: config.feeds,
        logger,
        incidents: [...core.index.all()],
        observer: observability?.metrics,
        ...(replication ? { gates: replication.gates } : {}),
      })
    : undefined;
  if (watcher) observability?.watchFeeds(storage);
  const stops: (() => Promise<void>)[] = [];
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    // First, so that probes see the replica go (connection refused) while it finishes its work.
    await observability?.close();
    await syncer?.stop();
    await watcher?.stop();
    await Promise.allSettled(stops.map((s) => s()));
    await data.close();
  };

  try {
    await observability?.listen();
    if (!config.discord && !config.slack) {
      await watcher?.start();
      const notices = (print: (line: string) => void) => {
        notify = print;
        for (const line of held.splice(0)) print(line);
      };
      const done = runConsole({ service, commands: COMMANDS, alerts: watcher?.alerts, notices, conversations, ...io }).then(stop);
      syncer?.start();
      return { service, watcher, sources: syncer, observability, done, stop };
    }
    // Records made from a tenant's own feeds are answered in that tenant only, feeds watcher or not.
    const tenancy = storage.tenants;
    const shared = { service, commands: COMMANDS, logger, alerts: watcher?.alerts, visibilityFor: (tenant: string | undefined) => tenancy.visibility(tenant), conversations };
    // Each adapter is stoppable before it has started, and hands the watcher its sender once connected.
    const run = async (name: string, adapter: { start(): Promise<void>; stop(): Promise<void>; alertSender: AlertSender; shardStatus?: ObservedAdapter['shardStatus'] }) => {
      stops.push(() => adapter.stop());
      const observed = observability?.adapter(name, adapter);
      await adapter.start();
      observed?.started();
      watcher?.addSender(adapter.alertSender);
      logger.info(`${name} adapter started`);
    };
    if (config.discord) {
      const { createDiscordAdapter } = await import('./adapters/discord/adapter.js');
      // On PostgreSQL the replicas share the shards: each runs on the replica holding its lock, and a dead replica's
      // shards are taken over (their sessions resumed). On SQLite this process runs the shards it is given.
      const shardLocks = config.databaseUrl ? (await import('./store/shard-locks.js')).PgShardLocks : undefined;
      const shardClaims = shardLocks && ((count: number) => new shardLocks({ url: config.databaseUrl!, replicaId: config.replicaId, shardCount: count }));
      await run('discord', createDiscordAdapter({ ...config.discord, ...shared, ...(shardClaims ? { shardClaims } : {}) }));
    }
    if (config.slack) {
      const { createSlackAdapter } = await import('./adapters/slack/index.js');
      const { SqliteSlackInstallationRepo } = await import('./store/slack-installations.js');
      const { createTextSealer } = await import('./store/sealed-text.js');
      const { distribution, ...slack } = config.slack;
      // Distributed, each workspace's bot token lives in its installation in the store (sealed when a key is set).
      const oauth = distribution && {
        ...distribution,
        installations: data.repos.installations,
      };
      await run('slack', createSlackAdapter({ ...slack, ...(oauth ? { oauth } : {}), ...shared }));
    }
    await watcher?.start();
    if (watcher) logger.info('feed watcher started');
    syncer?.start();
  } catch (error) {
    await stop();
    throw error;
  }
  return { service, watcher, sources: syncer, observability, done: new Promise(() => {}), stop };
}

import type { Config } from '../config.js';
import type { IncidentService } from '../core/incident-service.js';
import type { Logger } from '../logger.js';
import type { FeedRepos } from '../store/storage.js';
import type { SourceRepo } from '../store/repos/sources.js';
import { withAnswerTiming } from './answer-timing.js';
import { createOpsServer, type OpsServer } from './http-server.js';
import { createMetrics, type BotMetrics } from './metrics.js';
import { Readiness, shardsCheck, startedCheck, storeCheck, type ShardReadiness } from './readiness.js';

export { createMetrics, MAX_FEED_SERIES, type BotMetrics, type MetricSources } from './metrics.js';
export { createOpsServer, type OpsServer } from './http-server.js';
export { Readiness, shardsCheck, startedCheck, storeCheck } from './readiness.js';
export { withAnswerTiming } from './answer-timing.js';

/** What the app's health and metrics need: the configuration (HTTP_PORT, REPLICA_ID, adapters), the store, the index. */
export interface AppObservabilityOptions {
  config: Pick<Config, 'replicaId' | 'discord' | 'slack'> & { http: NonNullable<Config['http']> };
  /** The records repository: readiness reads a setting through it (the store answers). */
  store: { getMeta(key: string): unknown };
  /** The synced sources, for their gauges. */
  sources: Pick<SourceRepo, 'states'>;
  /** The live index (its record count; loaded by the time this is created). */
  index: Pick<IncidentService, 'size'>;
  logger: Logger;
}

/** A chat adapter as readiness and metrics see it: Discord reports its shards, the others only start and stop. */
export interface ObservedAdapter {
  shardStatus?(): readonly (ShardReadiness & { pingMs?: number })[];
}

/** The app's health and metrics: the observer to pass where things happen, and the HTTP server. */
export interface AppObservability {
  /** The observer for the feed watcher and the source syncer (polls, deliveries, syncs). */
  readonly metrics: BotMetrics;
  readonly readiness: Readiness;
  /** The port listened on, once listening. */
  readonly port: number | undefined;
  /** Returns the service with its answers timed. */
  timed(service: IncidentService): IncidentService;
  /** Reads feed and outbox gauges from the feed repositories. */
  watchFeeds(repos: Pick<FeedRepos, 'feeds' | 'outbox'>): void;
  /** Adds an adapter to readiness (and its shards to metrics) before it starts; call `started()` once it has. */
  adapter(name: string, adapter: ObservedAdapter): { started(): void };
  /** Listens on HTTP_PORT / HTTP_HOST. */
  listen(): Promise<number>;
  /** Stops the server (safe to call twice, or before listen). */
  close(): Promise<void>;
}

/** Returns the app's metrics, readiness checks (store, index) and server; nothing listens until `listen()`. */
export function createAppObservability(options: AppObservabilityOptions): AppObservability {
  const { store, logger, config } = options;
  const replica = config.replicaId;
  const metrics = createMetrics({ replica, logger });
  const readiness = new Readiness();
  readiness.set('store', storeCheck(store));
  // The index is loaded before this is created (the HTTP server starts once answering can).
  readiness.set('index', () => ({ ok: true, detail: `loaded, ${options.index.size.toLocaleString('en')} records` }));
  // Every configured adapter is not ready until it has started, including one whose turn to start has not come.
  for (const name of ['discord', 'slack'] as const) {
    if (config[name]) readiness.set(name, () => ({ ok: false, detail: 'not started yet' }));
  }
  metrics.read({ indexRecords: () => options.index.size, sources: () => options.sources.states() });
  const server: OpsServer = createOpsServer({ readiness, metrics, replica, logger });

  return {
    metrics,
    readiness,
    get port() {
      return server.port;
    },
    timed: (service) => withAnswerTiming(service, metrics.answered),
    watchFeeds(repos) {
      metrics.read({ feeds: () => repos.feeds.list(), outbox: () => repos.outbox.backlog() });
    },
    adapter(name, adapter) {
      if (adapter.shardStatus) {
        const status = () => adapter.shardStatus!();
        readiness.set(name, shardsCheck(status));
        metrics.read({ shards: status });
        return { started: () => undefined };
      }
      const state = startedCheck('connecting');
      readiness.set(name, state.check);
      return { started: state.started };
    },
    async listen() {
      const { port: wanted, host } = config.http;
      const port = await server.listen(wanted, host);
      logger.info({ host: host ?? '*', port, replica }, 'health and metrics listening: /healthz, /readyz, /metrics');
      return port;
    },
    close: () => server.close(),
  };
}

import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Logger } from '../logger.js';

/** A value now, or once a query (a store that answers asynchronously) resolves. */
type Awaitable<T> = T | Promise<T>;

/**
 * Answer latency buckets in seconds: answers take milliseconds, and Discord's 3 s deadline is the edge that matters
 * (an answer over 1.5 s is deferred, one over 3 s is lost).
 */
export const ANSWER_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 1.5, 3];

/**
 * Most feeds labelled one by one. Every series costs Prometheus memory and each tenant may add its own feeds, so past
 * this many the remaining feeds' polls are counted under feed="other" (and their per-feed gauges are left out).
 */
export const MAX_FEED_SERIES = 500;
/** Most sources labelled one by one (the source list is operator-written and short; this only bounds a mistake). */
export const MAX_SOURCE_SERIES = 100;

/** A Discord shard's states, as the adapter reports them. */
export const SHARD_STATES = ['connecting', 'ready', 'reconnecting', 'down', 'elsewhere'] as const;

/** A feed as its gauges read it (the feed store's row has these fields). */
export interface FeedGaugeRow {
  id: number;
  lastSuccessAt: number | null;
  consecutiveFailures: number;
  failing: boolean;
}

/** The outbox's waiting rows of one platform. */
export interface OutboxBacklog {
  platform: string;
  depth: number;
  /** Epoch ms the oldest waiting row was queued. */
  oldestCreatedAt: number;
}

/** A Discord shard as its gauges read it (the Discord adapter's shardStatus() rows have these fields). */
export interface ShardGaugeRow {
  id: number;
  state: string;
  pingMs?: number;
}

/** A dataset source as its gauges read it (the source store's state rows have these fields). */
export interface SourceGaugeRow {
  name: string;
  lastSuccessAt?: number;
}

/** What the gauges read at scrape time; each part of the bot sets its own once it exists. */
export interface MetricSources {
  /** Records in the live index. */
  indexRecords?: () => number;
  /** Every feed that is not removed. */
  feeds?: () => Awaitable<readonly FeedGaugeRow[]>;
  /** Waiting outbox rows by platform. */
  outbox?: () => Awaitable<readonly OutboxBacklog[]>;
  /** The Discord shards this process runs. */
  shards?: () => readonly ShardGaugeRow[];
  /** The dataset sources' stored states. */
  sources?: () => Awaitable<readonly SourceGaugeRow[]>;
}

/** Options for createMetrics. */
export interface MetricsOptions {
  /** REPLICA_ID: every series carries it as `replica`. */
  replica: string;
  /** Node.js process metrics (CPU, memory, event loop lag, GC); default true. */
  defaultMetrics?: boolean;
  /** Where a failing gauge source is reported. */
  logger?: Pick<Logger, 'warn'>;
  /** Clock in epoch ms (ages), default Date.now. */
  now?: () => number;
}

/**
 * The bot's metrics in a registry of their own (not prom-client's global one, so several apps and tests in one
 * process never share series), and the observer methods the answering path, the feed poller, the outbox worker and
 * the source syncer call as things happen. The methods never throw.
 */
export interface BotMetrics {
  readonly registry: Registry;
  readonly replica: string;
  /** One answer given: its status and intent (bounded words; anything else is counted as "other") and its latency. */
  answered(status: string, intent: string | undefined, seconds: number): void;
  /** One feed poll ended (a skipped poll, of a removed feed, is not counted). */
  polled(outcome: { feedId: number; status: string }): void;
  /** One alert delivery attempt ended: sent, retry or failed. */
  delivered(platform: string, outcome: string): void;
  /** One dataset source's sync ended: synced, unchanged or failed. */
  synced(result: { name: string; status: string }): void;
  /** Adds (or replaces) what the gauges read at scrape time. */
  read(sources: MetricSources): void;
  /** The exposition text, with the content type to serve it as. */
  render(): Promise<{ contentType: string; body: string }>;
}

/** Keeps label values few: the first `max` distinct keys get their own value, later ones share "other". */
class LabelCap {
  private readonly seen = new Set<string>();
  constructor(private readonly max: number) {}
  /** The label value for a key: itself while there is room, else "other". */
  of(key: string): string {
    if (this.seen.has(key)) return key;
    if (this.seen.size >= this.max) return 'other';
    this.seen.add(key);
    return key;
  }
  /** Whether the key has (or can still get) a label of its own. */
  admits(key: string): boolean {
    return this.of(key) !== 'other';
  }
}

/** Returns a code word as a label value ("not-found", "lookup"), or "other" for anything unexpected. */
function word(value: string | undefined, fallback: string): string {
  if (value === undefined || value === '') return fallback;
  return /^[a-z][a-z_-]{0,23}$/.test(value) ? value : 'other';
}

/** Returns the bot's metrics, registered in a new registry labelled with the replica. */
export function createMetrics(options: MetricsOptions): BotMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ replica: options.replica });
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  const now = options.now ?? Date.now;
  const sources: MetricSources = {};
  const feedLabels = new LabelCap(MAX_FEED_SERIES);
  const sourceLabels = new LabelCap(MAX_SOURCE_SERIES);
  const warned = new Set<string>();
  const registers = [registry];
  /**
   * Gauges read from the store and the adapters are refreshed together before each exposition (not in prom-client's
   * per-metric collect, which runs the metrics concurrently: a group of gauges filled by one query would be read
   * half-filled), and one exposition at a time, so two scrapes never see each other's half-done refresh.
   */
  const refreshers: (() => Promise<void>)[] = [];
  let rendering: Promise<unknown> = Promise.resolve();

  /** Runs a gauge's read; on failure the gauge is left empty (absent, not stale) and the first failure logged. */
  async function reading<T>(name: string, gauges: Gauge[], read: (() => Awaitable<T>) | undefined, set: (value: T) => void): Promise<void> {
    for (const g of gauges) g.reset();
    if (!read) return;
    try {
      set(await read());
      warned.delete(name);
    } catch (err) {
      if (!warned.has(name)) options.logger?.warn({ err: (err as Error).message }, `metrics: cannot read ${name}`);
      warned.add(name);
    }
  }

  const answers = new Histogram({
    name: 'incident_bot_answer_duration_seconds',
    help: 'Answers to questions and list requests, by status and intent: latency in seconds (_count: how many).',
    labelNames: ['status', 'intent'],
    buckets: ANSWER_BUCKETS,
    registers,
  });
  const indexRecords = new Gauge({
    name: 'incident_bot_index_records',
    help: 'Records in the live search index.',
    registers,
  });
  refreshers.push(() => reading('the index', [indexRecords], sources.indexRecords, (n) => indexRecords.set(n)));

  const feedPolls = new Counter({
    name: 'incident_bot_feed_polls_total',
    help: 'Feed polls by feed id and outcome (ok, not-modified, unchanged, error); feed="other" past the series cap.',
    labelNames: ['feed', 'outcome'],
    registers,
  });
  const feedLastSuccess = new Gauge({
    name: 'incident_bot_feed_last_success_timestamp_seconds',
    help: 'When each feed was last polled successfully (Unix time, from the store: any replica\'s poll counts).',
    labelNames: ['feed'],
    registers,
  });
  const feedFailures = new Gauge({
    name: 'incident_bot_feed_consecutive_failures',
    help: 'Failed polls in a row of each feed (from the store); 10 or more marks a feed failing.',
    labelNames: ['feed'],
    registers,
  });
  const feedCount = new Gauge({
    name: 'incident_bot_feeds',
    help: 'Feeds watched, by state (ok, failing).',
    labelNames: ['state'],
    registers,
  });
  refreshers.push(() =>
    reading('feeds', [feedCount, feedLastSuccess, feedFailures], sources.feeds, (feeds) => {
      let failing = 0;
      for (const feed of feeds) {
        if (feed.failing) failing++;
        const label = String(feed.id);
        if (!feedLabels.admits(label)) continue;
        if (feed.lastSuccessAt !== null) feedLastSuccess.set({ feed: label }, feed.lastSuccessAt / 1000);
        feedFailures.set({ feed: label }, feed.consecutiveFailures);
      }
      feedCount.set({ state: 'ok' }, feeds.length - failing);
      feedCount.set({ state: 'failing' }, failing);
    }),
  );

  const outboxOldest = new Gauge({
    name: 'incident_bot_outbox_oldest_age_seconds',
    help: 'Age of the oldest alert waiting in the outbox, by platform (absent when none waits).',
    labelNames: ['platform'],
    registers,
  });
  const outboxDepth = new Gauge({
    name: 'incident_bot_outbox_depth',
    help: 'Alerts and notices waiting in the outbox (pending or being sent), by platform.',
    labelNames: ['platform'],
    registers,
  });
  refreshers.push(() =>
    reading('the outbox', [outboxDepth, outboxOldest], sources.outbox, (rows) => {
      // Both platforms always present, so "no backlog" reads 0 rather than no data.
      for (const platform of ['discord', 'slack']) outboxDepth.set({ platform }, 0);
      for (const row of rows) {
        const platform = word(row.platform, 'unknown');
        outboxDepth.set({ platform }, row.depth);
        outboxOldest.set({ platform }, Math.max(0, (now() - row.oldestCreatedAt) / 1000));
      }
    }),
  );
  const deliveries = new Counter({
    name: 'incident_bot_alert_deliveries_total',
    help: 'Alert delivery attempts by platform and outcome (sent; retry: failed, tried again later; failed: given up).',
    labelNames: ['platform', 'outcome'],
    registers,
  });

  const shardPing = new Gauge({
    name: 'incident_bot_discord_shard_ping_seconds',
    help: 'Last gateway heartbeat round trip of each Discord shard this replica runs.',
    labelNames: ['shard'],
    registers,
  });
  const shardStatus = new Gauge({
    name: 'incident_bot_discord_shard_status',
    help: 'Discord shards this replica runs or prefers: 1 for the state each is in (connecting, ready, reconnecting, down; elsewhere: run by another replica), else 0.',
    labelNames: ['shard', 'state'],
    registers,
  });
  refreshers.push(() =>
    reading('the Discord shards', [shardStatus, shardPing], sources.shards, (shards) => {
      for (const shard of shards) {
        const id = String(shard.id);
        for (const state of SHARD_STATES) shardStatus.set({ shard: id, state }, shard.state === state ? 1 : 0);
        if (shard.pingMs !== undefined) shardPing.set({ shard: id }, shard.pingMs / 1000);
      }
    }),
  );

  const sourceSyncs = new Counter({
    name: 'incident_bot_source_syncs_total',
    help: 'Dataset source syncs by source and outcome (synced: a new version imported; unchanged; failed).',
    labelNames: ['source', 'outcome'],
    registers,
  });
  const sourceLastSuccess = new Gauge({
    name: 'incident_bot_source_last_success_timestamp_seconds',
    help: 'When each dataset source last synced successfully (Unix time, from the store).',
    labelNames: ['source'],
    registers,
  });
  refreshers.push(() =>
    reading('the sources', [sourceLastSuccess], sources.sources, (states) => {
      for (const state of states) {
        if (state.lastSuccessAt === undefined || !sourceLabels.admits(state.name)) continue;
        sourceLastSuccess.set({ source: state.name }, state.lastSuccessAt / 1000);
      }
    }),
  );

  /** Observers are called from the bot's work: a metrics failure must never fail it. */
  const safely = (fn: () => void) => {
    try {
      fn();
    } catch (err) {
      if (!warned.has('observer')) options.logger?.warn({ err: (err as Error).message }, 'metrics: an observation failed');
      warned.add('observer');
    }
  };

  return {
    registry,
    replica: options.replica,
    answered: (status, intent, seconds) => safely(() => answers.observe({ status: word(status, 'unknown'), intent: word(intent, 'unknown') }, seconds)),
    polled: (outcome) =>
      safely(() => {
        if (outcome.status === 'skipped') return;
        feedPolls.inc({ feed: feedLabels.of(String(outcome.feedId)), outcome: word(outcome.status, 'unknown') });
      }),
    delivered: (platform, outcome) => safely(() => deliveries.inc({ platform: word(platform, 'unknown'), outcome: word(outcome, 'unknown') })),
    synced: (result) => safely(() => sourceSyncs.inc({ source: sourceLabels.of(result.name), outcome: word(result.status, 'unknown') })),
    read(more) {
      Object.assign(sources, more);
    },
    render() {
      const next = rendering.then(async () => {
        await Promise.all(refreshers.map((refresh) => refresh()));
        return { contentType: registry.contentType, body: await registry.metrics() };
      });
      rendering = next.catch(() => undefined);
      return next;
    },
  };
}

import type { Config } from '../config.js';
import { redactUrl } from '../core/redact.js';
import type { Incident } from '../core/incident.js';
import type { IncidentService } from '../core/incident-service.js';
import type { Logger } from '../logger.js';
import type { Storage } from '../store/storage.js';
import { createAlertsService, subscribeConfiguredChannels, type FeedUrlCheck } from './alerts-service.js';
import { DEFAULT_FEEDS_FILE, loadFeedList } from './feed-list.js';
import { fetchFeed } from './fetch.js';
import { createOutboxWorker, type DeliveryObserver, type OutboxWorker, type OutboxWorkerOptions } from './outbox-worker.js';
import { createFeedParser } from './parse-thread.js';
import { createPipeline, type PipelineDeps } from './pipeline.js';
import { createPoller, type FeedFetcher, type FeedParser, type PollObserver, type Poller, type PollOutcome } from './poller.js';
import type { AlertSender, AlertsService, FetchOptions } from './types.js';
import type { ReplicaGates } from '../store/replica-gates.js';

/** Options for createFeedWatcher. */
export interface FeedWatcherOptions {
  storage: Storage;
  /** This replica's name, recorded with the outbox rows it claims. */
  replicaId?: string;
  /** The live index new posts go into. */
  service: IncidentService;
  /** Delivery edges, one per connected platform (more can be added later with addSender). */
  senders: readonly AlertSender[];
  config: Config['feeds'];
  logger: Logger;
  /** Fetcher (default fetchFeed). */
  fetch?: FeedFetcher;
  /** Parser (default: parseFeedDocument, in a worker thread for big documents). */
  parse?: FeedParser;
  /** Clock (epoch milliseconds). */
  now?: () => number;
  /** Records known besides the store (the bundled corpus), so coverage of them attaches instead of duplicating. */
  incidents?: readonly Incident[];
  /** SSRF check for feeds added from chat or the CLI (default assertFeedUrlAllowed). */
  checkUrl?: FeedUrlCheck;
  /** Extra fetch options (timeout, User-Agent). */
  fetchOptions?: Partial<FetchOptions>;
  /** Worker tuning (tests: pacing, retry delays). */
  worker?: Partial<Omit<OutboxWorkerOptions, 'storage' | 'senders'>>;
  /** Random source for poll jitter. */
  random?: () => number;
  /** Told every poll's and every delivery attempt's outcome (metrics); optional. */
  observer?: PollObserver & DeliveryObserver;
  /** Several replicas on one database: who polls which feed and delivers to which channel (leases). */
  gates?: Pick<ReplicaGates, 'feeds' | 'channels'>;
}

/** The running feed watcher: poller, outbox worker and the alerts service the chat commands use. */
export interface FeedWatcher {
  /** Subscribes the configured channels, resolves interrupted sends, then polls and delivers until stop(). */
  start(): Promise<void>;
  /** Stops polling and delivery, waiting for work in flight. */
  stop(): Promise<void>;
  /** Polls one feed now. */
  pollOnce(feedId: number): Promise<PollOutcome>;
  /**
   * Adds a platform's sender. Adapters take `alerts` when they are created and the watcher takes their senders, so
   * start-up goes: create the watcher, create the adapters with `watcher.alerts`, add their `alertSender`s, start.
   */
  addSender(sender: AlertSender): void;
  alerts: AlertsService;
  worker: OutboxWorker;
  poller: Poller;
  storage: Storage;
  pipeline: PipelineDeps;
}

/**
 * Returns a feed watcher over the store (not started). The feed list (FEEDS_FILE, else the bundled data/feeds.json)
 * is added to the feeds table now, additively: feeds an admin removed stay removed. Throws when FEEDS_FILE is set and
 * cannot be read.
 */
export async function createFeedWatcher(options: FeedWatcherOptions): Promise<FeedWatcher> {
  const { storage, service, config, logger } = options;
  const now = options.now ?? Date.now;
  let worker: OutboxWorker | undefined;
  const kick = () => worker?.kick();

  const listFile = config.file ?? DEFAULT_FEEDS_FILE;
  try {
    // FEEDS_FILE is the truth for operator feeds at every start: listed ones become operator feeds, dropped ones stop.
    const { added, dropped, droppedUrls } = await storage.feeds.syncOperatorFeeds(loadFeedList(listFile), now());
    if (added) logger.info({ file: listFile, added }, 'operator feeds added from FEEDS_FILE');
    if (dropped) logger.info({ file: listFile, dropped, feeds: droppedUrls.map(redactUrl) }, 'feeds no longer in FEEDS_FILE are no longer operator feeds');
  } catch (err) {
    if (config.file) throw err;
    logger.warn({ file: listFile, err: (err as Error).message }, 'bundled feed list not loaded; add feeds from chat or the CLI');
  }

  const pipeline = await createPipeline({
    storage,
    service,
    now,
    backfill: config.backfill,
    bounds: { maxItemsPerPoll: config.maxItemsPerPoll, retentionDays: config.retentionDays, maxPostsPerFeed: config.maxPostsPerFeed },
    logger,
    incidents: options.incidents,
    onQueued: kick,
  });
  const parser = options.parse ? undefined : createFeedParser({ logger });
  worker = createOutboxWorker({
    storage,
    holder: options.replicaId,
    senders: options.senders,
    logger,
    now,
    observer: options.observer,
    ...(options.gates ? { channels: options.gates.channels } : {}),
    ...options.worker,
  });
  const poller = createPoller({
    storage,
    pipeline,
    fetchFeed: options.fetch ?? fetchFeed,
    parseFeed: options.parse ?? ((body, o) => parser!.parse(body, o)),
    pollSeconds: config.pollSeconds,
    allowPrivate: config.allowPrivateUrls,
    fetchOptions: options.fetchOptions,
    logger,
    now,
    random: options.random,
    onQueued: kick,
    observer: options.observer,
    ...(options.gates ? { gate: options.gates.feeds } : {}),
  });
  const alerts = createAlertsService({ storage, allowPrivate: config.allowPrivateUrls, limits: config.limits, checkUrl: options.checkUrl, now, logger });
  const w = worker;

  return {
    async start() {
      const subscribed = await subscribeConfiguredChannels(alerts, config);
      if (subscribed) logger.info({ channels: subscribed }, 'configured alert channels subscribed to everything');
      // Several replicas: another one may be sending right now; each round checks interrupted sends of the channels this
      // replica holds instead.
      if (!options.gates) await w.recover();
      await w.start();
      poller.start();
      logger.info({ feeds: (await storage.feeds.list()).length, pollSeconds: config.pollSeconds }, 'feed watcher started');
    },
    async stop() {
      await poller.stop();
      await w.stop();
      await parser?.close();
    },
    pollOnce: (feedId) => poller.pollOnce(feedId),
    addSender: (sender) => w.addSender(sender),
    alerts,
    worker: w,
    poller,
    storage,
    pipeline,
  };
}

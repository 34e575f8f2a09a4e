import { createHash } from 'node:crypto';
import { redactText, redactUrl } from '../core/redact.js';
import type { Logger } from '../logger.js';
import type { FeedPollUpdate, FeedRow } from '../store/repos/feeds.js';
import type { Storage } from '../store/storage.js';
import { feedLabel, ingestFeedAsync, type IngestResult, type PipelineDeps } from './pipeline.js';
import { pruneFeed } from './retention.js';
import { subscriptionFilters } from './subscriptions.js';
import type { FetchOptions, FetchResult, ParsedFeed } from './types.js';
import { createRunLoop } from './run-loop.js';
import type { FeedPollGate } from '../store/replica-gates.js';

/** Failures in a row after which a feed is marked failing and its channels get one notice: a feed down for hours, not a blip. */
export const FAILING_AFTER = 10;
/** Backoff base: 5 minutes, doubled per failure (5 min x 2^n), or the poll interval when that is shorter (tests, local feeds). */
export const BACKOFF_BASE_SECONDS = 300;
/** Backoff cap: one day. */
export const BACKOFF_MAX_SECONDS = 86_400;
/** Poll times vary by this share either way, so feeds added together do not stay in lockstep. */
export const JITTER = 0.1;
/** Longest Cache-Control max-age honoured: a server asking for more would silence a feed for days. */
export const MAX_AGE_CAP_SECONDS = 86_400;
/** Polls in flight at once, over all hosts (one per host at most). */
export const MAX_CONCURRENT_POLLS = 8;
/** Every feed (removed ones too) is pruned this often, so posts age out of feeds that publish nothing new. */
export const PRUNE_SWEEP_MS = 3_600_000;

/** Fetches one feed (F1's fetchFeed): throws on failure, with `retryAfterSeconds` when the server said so. */
export type FeedFetcher = (url: string, options: FetchOptions) => Promise<FetchResult>;
/** Parses a fetched body (parseFeedDocument, or a worker thread's parse); throws or rejects for a document that is not a feed. */
export type FeedParser = (body: Buffer, options: { url: string; contentType?: string }) => ParsedFeed | Promise<ParsedFeed>;

/** Options for createPoller. */
export interface PollerOptions {
  storage: Storage;
  pipeline: PipelineDeps;
  fetchFeed: FeedFetcher;
  parseFeed: FeedParser;
  /** Default interval (FEED_POLL_SECONDS); a feed's own intervalSeconds wins. */
  pollSeconds: number;
  /** ALLOW_PRIVATE_FEED_URLS, passed to every fetch (redirects are checked by the fetcher). */
  allowPrivate: boolean;
  /** Extra fetch options (timeout, body cap, User-Agent). */
  fetchOptions?: Partial<FetchOptions>;
  logger?: Logger;
  /** Clock (epoch milliseconds). */
  now?: () => number;
  /** Random source for jitter, in [0, 1). */
  random?: () => number;
  maxConcurrent?: number;
  /** Called when notices were queued (the worker wakes up). */
  onQueued?: (count: number) => void;
  /** Told the outcome of every poll (metrics); optional. */
  observer?: PollObserver;
  /** Several replicas on one database: a due feed is polled by the one replica holding its lease. */
  gate?: FeedPollGate;
}

/** What watches polls from outside (metrics): called once per poll, after its outcome is stored; must not throw. */
export interface PollObserver {
  polled(outcome: PollOutcome): void;
}

/** What one poll of a feed did. */
export interface PollOutcome {
  feedId: number;
  /** ok: parsed and ingested; not-modified: 304; unchanged: same bytes as last time (not parsed); error: fetch or parse failed. */
  status: 'ok' | 'not-modified' | 'unchanged' | 'error' | 'skipped';
  ingest?: IngestResult;
  error?: string;
  /** When the feed is polled next (epoch ms). */
  nextPollAt?: number;
}

/** The polling loop over every active feed. */
export interface Poller {
  /** Polls due feeds until stop(). */
  start(): void;
  /** Stops the loop and waits for polls in flight. */
  stop(): Promise<void>;
  /** Polls one feed now (waiting for its host to be free), whatever its schedule. */
  pollOnce(feedId: number): Promise<PollOutcome>;
  /** Starts polls for the feeds due now (one per host) and resolves when they finish. */
  tick(): Promise<PollOutcome[]>;
}

/** Returns the delay before a failing feed's next attempt: base x 2^(failures-1), capped at a day. */
export function backoffSeconds(failures: number, pollSeconds: number): number {
  const base = Math.min(BACKOFF_BASE_SECONDS, pollSeconds);
  return Math.min(BACKOFF_MAX_SECONDS, base * 2 ** Math.max(0, failures - 1));
}

function hostOf(url: string): string {
  try {
    return new URL(url).host.toLowerCase();
  } catch {
    return url;
  }
}

/** Returns a poller (not started). */
export function createPoller(options: PollerOptions): Poller {
  const storage = options.storage;
  const now = options.now ?? Date.now;
  const random = options.random ?? Math.random;
  const log = options.logger;
  const maxConcurrent = options.maxConcurrent ?? MAX_CONCURRENT_POLLS;
  /** Host -> the poll holding it; "at most one request at a time per host" (politeness to shared hosts like FeedBurner). */
  const hostGate = new Map<string, Promise<unknown>>();
  const polling = new Map<number, Promise<PollOutcome>>();

  const jitter = (seconds: number) => seconds * 1000 * (1 + (random() * 2 - 1) * JITTER);

  function successUpdate(feed: FeedRow, maxAgeSeconds: number | undefined): FeedPollUpdate {
    const interval = feed.intervalSeconds ?? options.pollSeconds;
    const minimum = Math.min(maxAgeSeconds ?? 0, MAX_AGE_CAP_SECONDS) * 1000;
    const t = now();
    return {
      nextPollAt: Math.round(t + Math.max(jitter(interval), minimum)),
      lastSuccessAt: t,
      consecutiveFailures: 0,
      failing: false,
      failingNotified: false,
      addPolls: 1,
    };
  }

  /** Queues one notice per channel that could get this feed's posts (channels of tenants that see the feed); returns how many. */
  async function queueNotices(feed: FeedRow, text: string): Promise<number> {
    const perChannel = new Map<string, { id: number; platform: 'discord' | 'slack'; channelId: string }>();
    for (const { sub } of await subscriptionFilters(storage, feed.id, log)) {
      const k = `${sub.platform}\u0000${sub.channelId}`;
      if (!perChannel.has(k)) perChannel.set(k, sub);
    }
    const t = now();
    let queued = 0;
    for (const sub of perChannel.values()) {
      const id = await storage.outbox.enqueue({ subscriptionId: sub.id, platform: sub.platform, channelId: sub.channelId, kind: 'notice', text, nextAttemptAt: t, createdAt: t });
      if (id !== undefined) queued++;
    }
    return queued;
  }

  async function recordFailure(feed: FeedRow, err: unknown): Promise<PollOutcome> {
    // Fetch errors quote the URL: stored, shown and logged without its credentials.
    const message = redactText((err as Error)?.message ?? String(err));
    const failures = feed.consecutiveFailures + 1;
    const retryAfter = Number((err as { retryAfterSeconds?: unknown })?.retryAfterSeconds);
    const delay = Math.max(jitter(backoffSeconds(failures, feed.intervalSeconds ?? options.pollSeconds)), Number.isFinite(retryAfter) ? Math.min(retryAfter, BACKOFF_MAX_SECONDS) * 1000 : 0);
    const t = now();
    const nextPollAt = Math.round(t + delay);
    let queued = 0;
    await storage.db.transaction(async () => {
      const update: FeedPollUpdate = { lastError: message, lastErrorAt: t, consecutiveFailures: failures, nextPollAt, addPolls: 1 };
      if (failures >= FAILING_AFTER && !feed.failing) {
        update.failing = true;
        update.failingNotified = true;
        queued = await queueNotices(
          feed,
          `Feed "${feedLabel(feed)}" (${redactUrl(feed.url)}) is failing: its last ${failures} polls failed (${message}). ` +
            'It is retried with growing delays, at least once a day, and alerts resume by themselves when it answers again.',
        );
      }
      await storage.feeds.update(feed.id, update);
    });
    const label = feedLabel(feed);
    log?.warn({ feed: redactUrl(feed.url), failures, retryInS: Math.round(delay / 1000), err: message }, `feed ${label}: poll failed`);
    if (failures >= FAILING_AFTER && !feed.failing) log?.error({ feed: redactUrl(feed.url), failures }, `feed ${label} marked failing; channels notified`);
    if (queued) options.onQueued?.(queued);
    return { feedId: feed.id, status: 'error', error: message, nextPollAt };
  }

  async function recordRecovery(feed: FeedRow): Promise<void> {
    if (!feed.failing) return;
    log?.info({ feed: redactUrl(feed.url) }, `feed ${feedLabel(feed)} answers again`);
    if (!feed.failingNotified) return;
    const queued = await storage.db.transaction(async () =>
      queueNotices(feed, `Feed "${feedLabel(feed)}" (${redactUrl(feed.url)}) answers again after ${feed.consecutiveFailures} failed polls; its alerts resume.`),
    );
    if (queued) options.onQueued?.(queued);
  }

  async function poll(feedId: number): Promise<PollOutcome> {
    const feed = await storage.feeds.get(feedId);
    if (!feed || feed.removed) return { feedId, status: 'skipped' };
    let result: FetchResult;
    try {
      result = await options.fetchFeed(feed.url, {
        ...options.fetchOptions,
        etag: feed.etag ?? undefined,
        lastModified: feed.lastModified ?? undefined,
        allowPrivate: options.allowPrivate,
      });
    } catch (err) {
      return recordFailure(feed, err);
    }
    // The feed may have been removed while the request ran.
    const current = await storage.feeds.get(feedId);
    if (!current || current.removed) return { feedId, status: 'skipped' };
    if (result.status === 'not-modified') {
      const update = {
        ...successUpdate(current, result.maxAgeSeconds),
        addNotModified: 1,
        etag: result.etag ?? undefined,
        lastModified: result.lastModified ?? undefined,
      };
      await storage.feeds.update(feedId, update);
      await recordRecovery(current);
      return { feedId, status: 'not-modified', nextPollAt: update.nextPollAt };
    }
    const hash = createHash('sha256').update(result.body).digest('hex');
    const validators = { etag: result.etag ?? null, lastModified: result.lastModified ?? null, bodyHash: hash };
    if (current.seeded && current.bodyHash === hash) {
      // Same bytes as the last parsed body: nothing can be new (servers without validators, or ignoring them).
      const update = { ...successUpdate(current, result.maxAgeSeconds), ...validators };
      await storage.feeds.update(feedId, update);
      await recordRecovery(current);
      return { feedId, status: 'unchanged', nextPollAt: update.nextPollAt };
    }
    let parsed: ParsedFeed;
    let ingest: IngestResult;
    const update = { ...successUpdate(current, result.maxAgeSeconds), ...validators };
    try {
      parsed = await options.parseFeed(result.body, { url: result.finalUrl, contentType: result.contentType });
      // In slices that yield to the event loop: a 30,000-item document never holds answers up for long.
      ingest = await ingestFeedAsync(current, parsed, options.pipeline, update);
    } catch (err) {
      return recordFailure(current, err);
    }
    await recordRecovery(current);
    if (ingest.fresh > 0) {
      log?.info(
        {
          feed: redactUrl(current.url),
          fresh: ingest.fresh,
          newIncidents: ingest.newIncidents.length,
          attached: ingest.attached.length,
          queued: ingest.queued,
          skipped: ingest.skipped,
          seeded: ingest.seeded,
        },
        `feed ${feedLabel(current, parsed.title)}: new items`,
      );
    }
    return { feedId, status: 'ok', ingest, nextPollAt: update.nextPollAt };
  }

  async function pollOnce(feedId: number): Promise<PollOutcome> {
    const existing = polling.get(feedId);
    if (existing) return existing;
    const feed = await storage.feeds.get(feedId);
    if (!feed) return { feedId, status: 'skipped' };
    return startPoll(feed);
  }

  /** Starts a poll of a feed (or returns the one running), registering it and its host at once, before any await. */
  /** Polls a due feed under its lease when replicas share the database; skipped when another polls it or just did. */
  function duePoll(feedId: number): Promise<PollOutcome> {
    const gate = options.gate;
    if (!gate) return poll(feedId);
    const stillDue = async () => {
      const current = await storage.feeds.get(feedId);
      return !!current && !current.removed && (current.nextPollAt ?? 0) <= now();
    };
    return gate.poll(feedId, stillDue, () => poll(feedId)).then((outcome) => outcome ?? { feedId, status: 'skipped' });
  }

  function startPoll(feed: FeedRow, due = false): Promise<PollOutcome> {
    const feedId = feed.id;
    const existing = polling.get(feedId);
    if (existing) return existing;
    const host = hostOf(feed.url);
    const previous = hostGate.get(host) ?? Promise.resolve();
    const go = () => (due ? duePoll(feedId) : poll(feedId));
    const run = previous.then(go, go);
    const guarded = run.catch((err: unknown): PollOutcome => {
      log?.error({ feed: redactUrl(feed.url), err: redactText((err as Error).message) }, 'feed poll crashed');
      return { feedId, status: 'error', error: (err as Error).message };
    }).then((outcome) => {
      options.observer?.polled(outcome);
      return outcome;
    });
    hostGate.set(host, guarded);
    polling.set(feedId, guarded);
    void guarded.finally(() => {
      polling.delete(feedId);
      if (hostGate.get(host) === guarded) hostGate.delete(host);
    });
    return guarded;
  }

  let lastSweep = -Infinity;
  let sweeping: Promise<void> | undefined;
  let stopping = false;
  /** Prunes every feed not being polled (retention and cap), one after another, each in slices. */
  async function sweep(): Promise<void> {
    try {
      for (const id of await storage.feeds.allIds()) {
        if (stopping) return;
        if (polling.has(id)) continue;
        await pruneFeed(id, options.pipeline);
      }
    } catch (err) {
      log?.error({ err: (err as Error).message }, 'feed pruning failed');
    } finally {
      sweeping = undefined;
    }
  }

  async function tick(): Promise<PollOutcome[]> {
    if (!sweeping && !stopping && now() - lastSweep >= PRUNE_SWEEP_MS) {
      lastSweep = now();
      sweeping = sweep();
    }
    const started: Promise<PollOutcome>[] = [];
    for (const feed of await storage.feeds.due(now())) {
      if (polling.size >= maxConcurrent) break;
      if (polling.has(feed.id) || hostGate.has(hostOf(feed.url))) continue;
      started.push(startPoll(feed, true));
    }
    return Promise.all(started);
  }

  async function sleepMs(): Promise<number> {
    const next = await storage.feeds.nextPollAt();
    if (next === undefined) return 1000;
    return Math.max(50, Math.min(1000, next - now()));
  }

  const loop = createRunLoop({
    // Not awaited: a slow feed must not hold the others; the host gate and `polling` prevent overlap.
    round: () => void tick(),
    sleepFor: sleepMs,
    afterErrorMs: 1000,
    onError: (err) => log?.error({ err: (err as Error).message }, 'feed poller round failed'),
  });

  return {
    start() {
      stopping = false;
      loop.start();
    },
    async stop() {
      stopping = true;
      await loop.stop();
      await Promise.allSettled([...polling.values(), sweeping]);
    },
    pollOnce,
    tick,
  };
}

/**
 * Feed ingestion figures: items per second from fetched bytes to stored, indexed and queued (the largest shared
 * feeds, and a generated 15,000-item single-line feed served by the local feed server), the time to re-poll the
 * 15,000-item feed when nothing is new (same bytes, changed bytes, 304), the event-loop delay while a 10 MB,
 * 30,000-item flood is ingested (target: p99 under 100 ms), and memory at 100k stored posts.
 * Printed, never asserted. Run alone with `node --expose-gc --import tsx bench/feeds.ts` (BENCH_FEEDS_POSTS=20000
 * for a shorter memory run, BENCH_FEEDS_ONLY=flood for the flood alone).
 */
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createIncidentService } from '../src/core/create-service.js';
import type { IncidentService } from '../src/core/incident-service.js';
import { BUNDLED_DATA_DIR, loadIncidentDir } from '../src/core/load-data.js';
import { fetchFeed } from '../src/feeds/fetch.js';
import { parseFeedDocument } from '../src/feeds/parse.js';
import { createFeedParser } from '../src/feeds/parse-thread.js';
import { createPipeline, ingestFeed, type FeedBounds, type PipelineDeps } from '../src/feeds/pipeline.js';
import { createPoller, type PollOutcome } from '../src/feeds/poller.js';
import { storageOverStore, type Storage } from '../src/store/storage.js';
import { openStore, type Store } from '../src/store/store.js';
import { bigRssFeed, startFeedServer, type FeedServer } from '../test/support/feed-server.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const shared = path.resolve(root, '../shared/feeds');
const gc = (globalThis as { gc?: () => void }).gc;

/** The largest real files in ../shared/feeds (by size), when present. */
const LARGEST_SHARED = [
  'rss-parser/input/giantbomb-podcast.rss',
  'feedjira/CRE.xml',
  'rss-parser/input/many-links.rss',
  'rss-parser/input/itunes-missing-image.rss',
  'rss-parser/input/guardian.rss',
  'rss-parser/input/feedburner.atom',
];

/** One ingestion measurement. */
export interface IngestFigure {
  name: string;
  bytes: number;
  items: number;
  queued: number;
  ms: number;
  itemsPerSecond: number;
}

/** What benchFeeds measured. */
export interface FeedBenchResult {
  ingest: IngestFigure[];
  /** Re-polls of the 15,000-item feed with nothing new (ms). */
  repoll: { sameBytesMs: number; changedBytesMs: number; notModifiedMs: number };
  memory: { posts: number; heapMb: number; rssMb: number; databaseMb: number; ingestItemsPerSecond: number };
  /** Event-loop delay (ms) while a 10 MB, 30,000-item document is polled, per way of ingesting it. */
  flood: FloodFigure[];
}

/** Event-loop delay during one poll of the flood document. */
export interface FloodFigure {
  name: string;
  ms: number;
  stored: number;
  p50: number;
  p99: number;
  max: number;
}

function heapMb(): number {
  gc?.();
  gc?.();
  return process.memoryUsage().heapUsed / 1e6;
}

interface Rig {
  dir: string;
  store: Store;
  feeds: Storage;
  service: IncidentService;
  pipeline: PipelineDeps;
  poll(feedId: number): Promise<PollOutcome>;
  close(): void;
}

/** Bounds high enough that a throughput run stores every item (the defaults keep 200 new items a poll, of the last year). */
const UNBOUNDED: Partial<FeedBounds> = { maxItemsPerPoll: 100_000, maxPostsPerFeed: 1_000_000, retentionDays: 36_500 };

/**
 * A store in a temp dir with the bundled corpus indexed, one subscription to everything, and a poller over HTTP;
 * `threaded` parses in the worker thread and ingests in slices, as the bot does, else everything runs inline.
 */
async function rig(backfill: number, bounds: Partial<FeedBounds> = UNBOUNDED, threaded = false): Promise<Rig> {
  const dir = mkdtempSync(path.join(tmpdir(), 'incident-bot-bench-feeds-'));
  const store = openStore(path.join(dir, 'bench.db'));
  const feeds = await storageOverStore(store);
  const service = createIncidentService(loadIncidentDir(BUNDLED_DATA_DIR));
  await feeds.subscriptions.subscribe({ platform: 'discord', channelId: '1100000000000000001', filter: '' }, Date.now());
  const pipeline = await createPipeline({ storage: feeds, service, backfill, bounds });
  const parser = threaded ? createFeedParser() : undefined;
  const poller = createPoller({
    storage: feeds,
    pipeline,
    fetchFeed: (url, o) => fetchFeed(url, { ...o, timeoutMs: 60_000 }),
    parseFeed: (b, o) => (parser ? parser.parse(b, o) : parseFeedDocument(b, o)),
    pollSeconds: 600,
    allowPrivate: true,
  });
  return {
    dir,
    store,
    feeds,
    service,
    pipeline,
    poll: (id) => poller.pollOnce(id),
    close() {
      void parser?.close();
      store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Returns the event-loop delay while `fn` runs (sampled every 10 ms by perf_hooks), with fn's duration. */
async function loopDelay<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number; p50: number; p99: number; max: number }> {
  const h = monitorEventLoopDelay({ resolution: 10 });
  h.enable();
  const t = performance.now();
  const value = await fn();
  const ms = performance.now() - t;
  h.disable();
  return { value, ms, p50: h.percentile(50) / 1e6, p99: h.percentile(99) / 1e6, max: h.max / 1e6 };
}

/**
 * The flood: a 10 MB document of 30,000 items with new ids at every poll, polled twice (the first poll seeds, the
 * second alerts), with the event-loop delay measured through each poll. As the bot runs it (worker-thread parse,
 * sliced ingest) with the default bounds and with every item kept, then as it ran before (one synchronous parse
 * and one transaction for the whole document) for comparison.
 */
async function benchFlood(server: FeedServer): Promise<FloodFigure[]> {
  const docs = [0, 1].map((k) => bigRssFeed(30_000, { start: k * 30_000, baseUrl: 'https://example.com/security/advisories/2025/posts/' }));
  console.log(`\nflood: ${(Buffer.byteLength(docs[0]!) / 1e6).toFixed(1)} MB, 30,000 new items a poll; event-loop delay (perf_hooks, 10 ms resolution) during each poll (target p99 < 100 ms)`);
  const out: FloodFigure[] = [];
  const ways: [string, Partial<FeedBounds>, boolean][] = [
    ['worker parse + slices, 200 a poll (defaults)', {}, true],
    ['worker parse + slices, all 30,000 kept', UNBOUNDED, true],
    ['inline parse + one transaction (before)', UNBOUNDED, false],
  ];
  for (const [name, bounds, threaded] of ways) {
    const r = await rig(0, bounds, threaded);
    try {
      const path = `/flood-${out.length}.xml`;
      const feed = (await r.feeds.feeds.add({ url: server.url(path) }, Date.now())).feed;
      for (const [i, doc] of docs.entries()) {
        server.route(path, { body: doc });
        let m;
        if (threaded) m = await loopDelay(() => r.poll(feed.id));
        else {
          // The old path, as one synchronous call: what the poller did before the worker and the slices.
          const body = Buffer.from(doc);
          m = await loopDelay(async () => {
            await new Promise((res) => setTimeout(res, 20));
            const parsed = parseFeedDocument(body, { url: server.url(path) });
            await ingestFeed((await r.feeds.feeds.get(feed.id))!, parsed, { ...r.pipeline, sliceMs: Number.POSITIVE_INFINITY });
            await new Promise((res) => setTimeout(res, 20));
            return { status: 'ok' } as PollOutcome;
          });
        }
        const f: FloodFigure = { name: `${name}, poll ${i + 1}`, ms: m.ms, stored: await r.feeds.posts.count(feed.id), p50: m.p50, p99: m.p99, max: m.max };
        out.push(f);
        console.log(
          `  ${f.name.padEnd(56)} ${f.ms.toFixed(0).padStart(6)} ms  posts ${String(f.stored).padStart(6)}  delay p50 ${f.p50.toFixed(1).padStart(6)}  p99 ${f.p99.toFixed(1).padStart(7)}  max ${f.max.toFixed(1).padStart(7)} ms`,
        );
      }
    } finally {
      r.close();
    }
  }
  return out;
}

async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const t = performance.now();
  const value = await fn();
  return { value, ms: performance.now() - t };
}

function figure(name: string, bytes: number, outcome: PollOutcome, ms: number): IngestFigure {
  if (outcome.status !== 'ok' || !outcome.ingest) throw new Error(`${name}: poll ${outcome.status} ${outcome.error ?? ''}`);
  const items = outcome.ingest.fresh;
  return { name, bytes, items, queued: outcome.ingest.queued, ms, itemsPerSecond: items / (ms / 1000) };
}

function print(f: IngestFigure): void {
  console.log(
    `  ${f.name.padEnd(34)} ${(f.bytes / 1e6).toFixed(2).padStart(6)} MB ${String(f.items).padStart(6)} items ${String(f.queued).padStart(6)} queued ` +
      `${f.ms.toFixed(0).padStart(6)} ms  ${f.itemsPerSecond.toFixed(0).padStart(6)} items/s`,
  );
}

/** Runs the feed benchmarks, prints the figures and returns them. */
export async function benchFeeds(): Promise<FeedBenchResult> {
  const server: FeedServer = await startFeedServer();
  const result: FeedBenchResult = { ingest: [], repoll: { sameBytesMs: 0, changedBytesMs: 0, notModifiedMs: 0 }, memory: { posts: 0, heapMb: 0, rssMb: 0, databaseMb: 0, ingestItemsPerSecond: 0 }, flood: [] };
  try {
    result.flood = await benchFlood(server);
    if (process.env.BENCH_FEEDS_ONLY === 'flood') return result;
    console.log('feed ingestion: fetch (local HTTP) + parse + store + index + queue, first poll with every item alerted');
    // Every item of a first poll is queued (backfill = all), so one poll covers stored, indexed and queued.
    const r1 = await rig(Number.MAX_SAFE_INTEGER);
    try {
      // Warm-up (JIT, SQLite page cache): figures are steady-state throughput, not first-call costs.
      server.route('/warm.xml', { body: bigRssFeed(500, { start: 1_000_000 }) });
      await r1.poll((await r1.feeds.feeds.add({ url: server.url('/warm.xml') }, Date.now())).feed.id);
      for (const rel of LARGEST_SHARED) {
        const file = path.join(shared, rel);
        if (!existsSync(file)) continue;
        server.route(`/shared/${rel}`, { file });
        const feed = (await r1.feeds.feeds.add({ url: server.url(`/shared/${rel}`) }, Date.now())).feed;
        const { value, ms } = await timed(() => r1.poll(feed.id));
        const f = figure(path.basename(rel), statSync(file).size, value, ms);
        result.ingest.push(f);
        print(f);
      }
      if (!existsSync(shared)) console.log(`  (${shared} not found: shared feeds skipped)`);

      const big = bigRssFeed(15_000);
      server.route('/big.xml', { body: big });
      const feed = (await r1.feeds.feeds.add({ url: server.url('/big.xml') }, Date.now())).feed;
      const first = await timed(() => r1.poll(feed.id));
      const f = figure('generated 15,000 items (1 line)', Buffer.byteLength(big), first.value, first.ms);
      result.ingest.push(f);
      print(f);

      // Nothing new: the same bytes (hash match, no parse), changed bytes with the same items (parse + key check), 304.
      const same = await timed(() => r1.poll(feed.id));
      server.route('/big.xml', { body: big.replace('<description>Generated</description>', '<description>Generated again</description>') });
      const changed = await timed(() => r1.poll(feed.id));
      server.route('/big.xml', { body: big, etag: '"big"' });
      await r1.poll(feed.id);
      const notModified = await timed(() => r1.poll(feed.id));
      if (changed.value.ingest?.fresh !== 0) throw new Error('re-poll found new items');
      result.repoll = { sameBytesMs: same.ms, changedBytesMs: changed.ms, notModifiedMs: notModified.ms };
      console.log(
        `  re-poll of the 15,000-item feed, nothing new: same bytes ${same.ms.toFixed(0)} ms (${same.value.status}), ` +
          `changed bytes ${changed.ms.toFixed(0)} ms (parsed, 0 new), 304 ${notModified.ms.toFixed(0)} ms  (target <= 1000 ms)`,
      );
    } finally {
      r1.close();
    }

    // Memory: 100k posts stored and indexed (seeding polls: stored and indexed, not queued).
    const target = Number(process.env.BENCH_FEEDS_POSTS ?? 100_000);
    const r2 = await rig(0);
    try {
      const base = heapMb();
      const feed = (await r2.feeds.feeds.add({ url: server.url('/grow.xml') }, Date.now())).feed;
      let ms = 0;
      for (let start = 0; (await r2.feeds.posts.count()) < target; start += 15_000) {
        const n = Math.min(15_000, target - (await r2.feeds.posts.count()));
        server.route('/grow.xml', { body: bigRssFeed(n, { start }) });
        const t = await timed(() => r2.poll(feed.id));
        ms += t.ms;
        if (t.value.status !== 'ok') throw new Error(`grow poll: ${t.value.status} ${t.value.error ?? ''}`);
      }
      const posts = await r2.feeds.posts.count();
      const heap = heapMb();
      const db = path.join(r2.dir, 'bench.db');
      const dbMb = (statSync(db).size + (existsSync(`${db}-wal`) ? statSync(`${db}-wal`).size : 0)) / 1e6;
      result.memory = { posts, heapMb: heap, rssMb: process.memoryUsage().rss / 1e6, databaseMb: dbMb, ingestItemsPerSecond: posts / (ms / 1000) };
      console.log(
        `  ${posts} stored posts: heap ${heap.toFixed(0)} MB (${(heap - base).toFixed(0)} MB over the empty watcher with the corpus), ` +
          `rss ${result.memory.rssMb.toFixed(0)} MB, database ${dbMb.toFixed(0)} MB, index ${r2.service.size} records; ` +
          `seeded at ${result.memory.ingestItemsPerSecond.toFixed(0)} items/s${gc ? '' : ' (run with --expose-gc for exact heap)'}`,
      );
    } finally {
      r2.close();
    }
  } finally {
    await server.close();
  }
  return result;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  benchFeeds().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}

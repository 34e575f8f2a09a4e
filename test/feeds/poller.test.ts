import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { createIncidentService } from '../../src/core/create-service.js';
import type { IncidentService } from '../../src/core/incident-service.js';
import { fetchFeed, FeedFetchError } from '../../src/feeds/fetch.js';
import { parseFeedDocument } from '../../src/feeds/parse.js';
import { createPipeline } from '../../src/feeds/pipeline.js';
import { backoffSeconds, createPoller, FAILING_AFTER, type FeedFetcher, type PollerOptions } from '../../src/feeds/poller.js';
import type { FetchResult } from '../../src/feeds/types.js';
import { storageOverStore, type Storage } from '../../src/store/storage.js';
import { openStore, type Store } from '../../src/store/store.js';
import { rssFeed, startFeedServer, type FeedServer, type TestFeedItem } from '../support/feed-server.js';

const T0 = Date.UTC(2025, 6, 10, 12);
let dir: string;
let n = 0;
let store: Store;
let feeds: Storage;
let service: IncidentService;
let clock = T0;
let logLines: string[];

const logger = () => pino({ level: 'debug' }, { write: (s: string) => void logLines.push(s) });

async function poller(over: Partial<PollerOptions> & Pick<PollerOptions, 'fetchFeed'>) {
  const pipeline = await createPipeline({ storage: feeds, service, now: () => clock });
  return createPoller({
    storage: feeds,
    pipeline,
    parseFeed: (body, o) => parseFeedDocument(body, o),
    pollSeconds: 600,
    allowPrivate: true,
    logger: logger(),
    now: () => clock,
    random: () => 0.5, // no jitter unless a test asks
    ...over,
  });
}

const ok = (body: string, extra: Partial<Extract<FetchResult, { status: 'ok' }>> = {}): FetchResult => ({
  status: 'ok',
  httpStatus: 200,
  body: Buffer.from(body),
  contentType: 'application/rss+xml',
  finalUrl: 'https://news.example/feed',
  ...extra,
});

const items = (from: number, to: number): TestFeedItem[] => {
  const out: TestFeedItem[] = [];
  for (let i = to; i >= from; i--) out.push({ guid: `https://news.example/p/${i}`, link: `https://news.example/p/${i}`, title: `Headline ${i}: Zorblax update`, pubDate: new Date(T0 - (100 - i) * 60_000) });
  return out;
};

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'incident-bot-poller-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));
beforeEach(async () => {
  clock = T0;
  logLines = [];
  store = openStore(join(dir, `poll-${++n}.db`));
  feeds = await storageOverStore(store);
  service = createIncidentService([]);
});
afterEach(() => store.close());

describe('poller schedule and failures (scripted fetch)', () => {
  it('backs off 5 min x 2^n capped at a day, scaled down to the poll interval when that is shorter', async () => {
    assert.deepEqual([1, 2, 3].map((f) => backoffSeconds(f, 600)), [300, 600, 1200]);
    assert.equal(backoffSeconds(30, 600), 86_400);
    assert.deepEqual([1, 2, 3].map((f) => backoffSeconds(f, 2)), [2, 4, 8]);
  });

  it('marks a feed failing after 10 failures with ONE notice per subscribed channel, then recovers with one more', async () => {
    const feed = (await feeds.feeds.add({ url: 'https://news.example/feed', name: 'News' }, clock)).feed;
    await feeds.subscriptions.subscribe({ platform: 'discord', channelId: '1', filter: '' }, clock);
    await feeds.subscriptions.subscribe({ platform: 'discord', channelId: '1', filter: 'lockbit' }, clock); // same channel: still one notice
    await feeds.subscriptions.subscribe({ platform: 'slack', channelId: 'C1', filter: 'feed:news' }, clock);
    await feeds.subscriptions.subscribe({ platform: 'slack', channelId: 'C2', filter: 'feed:other' }, clock); // not this feed's channel
    let failing = true;
    const fetcher: FeedFetcher = async () => {
      if (failing) throw new FeedFetchError('HTTP 500 Internal Server Error', 'http', { httpStatus: 500 });
      return ok(rssFeed(items(1, 2)));
    };
    const p = await poller({ fetchFeed: fetcher });
    const delays: number[] = [];
    for (let i = 1; i <= 14; i++) {
      const r = await p.pollOnce(feed.id);
      assert.equal(r.status, 'error');
      delays.push((r.nextPollAt! - clock) / 1000);
      clock = r.nextPollAt!;
      const notices = (await feeds.outbox.byStatus('pending')).filter((x) => x.kind === 'notice');
      assert.equal(notices.length, i < FAILING_AFTER ? 0 : 2, `after ${i} failures`);
    }
    assert.deepEqual(delays.slice(0, 4), [300, 600, 1200, 2400]);
    assert.equal(delays.at(-1), 86_400);
    const st = await feeds.feeds.status((await feeds.feeds.get(feed.id))!);
    assert.equal(st.failing, true);
    assert.equal(st.consecutiveFailures, 14);
    assert.match(st.lastError!, /HTTP 500/);
    assert.ok(logLines.some((l) => /poll failed/.test(l) && /HTTP 500/.test(l)), 'failures are logged');
    const notice = (await feeds.outbox.byStatus('pending')).find((x) => x.kind === 'notice')!;
    assert.match(notice.text!, /News.*failing/);
    assert.deepEqual(new Set((await feeds.outbox.byStatus('pending')).map((x) => x.channelId)), new Set(['1', 'C1']));

    failing = false;
    const r = await p.pollOnce(feed.id);
    assert.equal(r.status, 'ok');
    const after = (await feeds.feeds.get(feed.id))!;
    assert.equal(after.failing, false);
    assert.equal(after.consecutiveFailures, 0);
    assert.equal((r.nextPollAt! - clock) / 1000, 600, 'back to the normal interval');
    const notices = (await feeds.outbox.byStatus('pending')).filter((x) => x.kind === 'notice');
    assert.equal(notices.length, 4, 'one recovery notice per channel');
    assert.match(notices.at(-1)!.text!, /answers again/);
  });

  it('waits at least Retry-After on a 429 and at least Cache-Control max-age after a success', async () => {
    const feed = (await feeds.feeds.add({ url: 'https://news.example/feed' }, clock)).feed;
    const p = await poller({
      fetchFeed: async () => {
        throw new FeedFetchError('HTTP 429 Too Many Requests', 'http', { httpStatus: 429, retryAfterSeconds: 7200 });
      },
    });
    const r = await p.pollOnce(feed.id);
    assert.equal(r.nextPollAt, clock + 7_200_000);
    const q = await poller({ fetchFeed: async () => ok(rssFeed(items(1, 1)), { maxAgeSeconds: 3600 }) });
    const r2 = await q.pollOnce(feed.id);
    assert.equal(r2.nextPollAt, clock + 3_600_000);
  });

  it('uses the per-feed interval, with jitter of at most 10% either way', async () => {
    const feed = (await feeds.feeds.add({ url: 'https://news.example/feed', intervalSeconds: 100 }, clock)).feed;
    const seen: number[] = [];
    for (const r of [0, 0.25, 0.999]) {
      const p = await poller({ fetchFeed: async () => ok(rssFeed(items(1, 1))), random: () => r });
      seen.push(((await p.pollOnce(feed.id)).nextPollAt! - clock) / 1000);
    }
    assert.deepEqual(seen.map((s) => Math.round(s)), [90, 95, 110]);
  });

  it('logs a document that is not a feed and goes on with the other feeds', async () => {
    const bad = (await feeds.feeds.add({ url: 'https://bad.example/feed' }, clock)).feed;
    const good = (await feeds.feeds.add({ url: 'https://good.example/feed' }, clock)).feed;
    const p = await poller({
      fetchFeed: async (url) => (url.includes('bad') ? ok('<!doctype html><html><body>Welcome</body></html>', { contentType: 'text/html', finalUrl: url }) : ok(rssFeed(items(1, 3)), { finalUrl: url })),
    });
    const outcomes = await p.tick();
    assert.deepEqual(outcomes.map((o) => o.status).sort(), ['error', 'ok']);
    assert.equal((await feeds.feeds.get(good.id))!.itemsSeen, 3);
    assert.match((await feeds.feeds.get(bad.id))!.lastError!, /html|not a feed/i);
    assert.ok(logLines.some((l) => l.includes('bad.example') && /poll failed/.test(l)));
  });
});

describe('poller over HTTP (local feed server, real fetch and parser)', () => {
  let server: FeedServer;
  beforeEach(async () => {
    server = await startFeedServer();
  });
  afterEach(async () => server.close());

  const realFetch: FeedFetcher = (url, o) => fetchFeed(url, { ...o, timeoutMs: 3000 });

  it('sends the saved ETag and Last-Modified, counts 304s, and skips parsing an unchanged body', async () => {
    server.route('/feed.xml', { body: rssFeed(items(1, 3)), etag: '"v1"', lastModified: 'Thu, 10 Jul 2025 10:00:00 GMT' });
    const feed = (await feeds.feeds.add({ url: server.url('/feed.xml') }, clock)).feed;
    let parses = 0;
    const p = await poller({ fetchFeed: realFetch, parseFeed: (b, o) => (parses++, parseFeedDocument(b, o)) });
    assert.equal((await p.pollOnce(feed.id)).status, 'ok');
    const row = (await feeds.feeds.get(feed.id))!;
    assert.equal(row.etag, '"v1"');
    assert.equal(row.lastModified, 'Thu, 10 Jul 2025 10:00:00 GMT');
    assert.equal((await p.pollOnce(feed.id)).status, 'not-modified');
    const req = server.requests('/feed.xml').at(-1)!;
    assert.equal(req.headers['if-none-match'], '"v1"');
    assert.equal(req.headers['if-modified-since'], 'Thu, 10 Jul 2025 10:00:00 GMT');
    assert.equal(req.status, 304);
    // A server without validators sending the same bytes: fetched, not parsed.
    server.route('/feed.xml', { body: rssFeed(items(1, 3)) });
    assert.equal((await p.pollOnce(feed.id)).status, 'unchanged');
    assert.equal(parses, 1);
    const st = await feeds.feeds.status((await feeds.feeds.get(feed.id))!);
    assert.equal(st.polls, 3);
    assert.equal(st.notModifiedRate, 1 / 3);
    assert.equal((await feeds.feeds.get(feed.id))!.etag, null, 'validators the server stopped sending are dropped');
  });

  it('alerts the new items of the next poll and answers about them at once', async () => {
    server.route('/feed.xml', { body: rssFeed(items(1, 3), { title: 'Zorblax News' }) });
    const feed = (await feeds.feeds.add({ url: server.url('/feed.xml') }, clock)).feed;
    await feeds.subscriptions.subscribe({ platform: 'discord', channelId: '1', filter: '' }, clock);
    const p = await poller({ fetchFeed: realFetch });
    await p.pollOnce(feed.id);
    assert.equal((await feeds.outbox.byStatus('pending')).length, 0);
    server.route('/feed.xml', { body: rssFeed([{ guid: 'https://news.example/p/quill', link: 'https://news.example/p/quill', title: 'Quillfeather ransomware hits Dunmore hospital', pubDate: new Date(T0) }, ...items(1, 3)], { title: 'Zorblax News' }) });
    const r = await p.pollOnce(feed.id);
    assert.equal(r.ingest?.fresh, 1);
    assert.equal((await feeds.outbox.byStatus('pending')).length, 1);
    const answer = service.answer('Quillfeather ransomware Dunmore');
    assert.equal(answer.status, 'found');
    assert.equal(answer.incident?.title, 'Quillfeather ransomware hits Dunmore hospital');
    assert.equal((await feeds.feeds.get(feed.id))!.name, 'Zorblax News', 'an unnamed feed takes its document title');
  });

  it('sends at most one request at a time to one host', async () => {
    let open = 0;
    let maxOpen = 0;
    const slow = (body: string) => async (_req: unknown, res: import('node:http').ServerResponse) => {
      open++;
      maxOpen = Math.max(maxOpen, open);
      await new Promise((r) => setTimeout(r, 60));
      open--;
      res.writeHead(200, { 'content-type': 'application/rss+xml' }).end(body);
    };
    const ids: number[] = [];
    for (let i = 0; i < 3; i++) {
      server.route(`/f${i}.xml`, slow(rssFeed(items(i * 10, i * 10 + 1))));
      ids.push((await feeds.feeds.add({ url: server.url(`/f${i}.xml`) }, clock)).feed.id);
    }
    const p = await poller({ fetchFeed: realFetch });
    await Promise.all(ids.map((id) => p.pollOnce(id)));
    assert.equal(maxOpen, 1);
    assert.equal(server.requests().length, 3);
    // tick() skips a host that is busy instead of queueing behind it
    const first = await p.tick();
    assert.equal(first.length, 0, 'nothing is due right after a poll');
  });

  it('refuses a redirect to 127.0.0.1 without the opt-in', async () => {
    server.route('/moved.xml', { redirectTo: 'http://127.0.0.1:9/secret' });
    const feed = (await feeds.feeds.add({ url: server.url('/moved.xml') }, clock)).feed;
    const p = await poller({ fetchFeed: (url, o) => fetchFeed(url, { ...o, allowPrivate: false }) });
    const r = await p.pollOnce(feed.id);
    assert.equal(r.status, 'error');
    assert.match(r.error!, /127\.0\.0\.1|private|loopback|not allowed/i);
  });
});

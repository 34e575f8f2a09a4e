import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createIncidentService } from '../../src/core/create-service.js';
import type { IncidentService } from '../../src/core/incident-service.js';
import { createPipeline, ingestFeed, postIdFor, type PipelineDeps } from '../../src/feeds/pipeline.js';
import { pruneFeed } from '../../src/feeds/retention.js';
import type { FeedItem, ParsedFeed } from '../../src/feeds/types.js';
import type { FeedRow } from '../../src/store/repos/feeds.js';
import { storageOverStore, type Storage } from '../../src/store/storage.js';
import { openStore, type Store } from '../../src/store/store.js';
import { buildIncident, day } from '../fixtures/core/build-incident.js';

const DAY = 86_400_000;
const T0 = Math.floor(Date.now() / DAY) * DAY + 12 * 3_600_000;
let store: Store;
let feeds: Storage;
let service: IncidentService;
let clock = T0;

function item(i: number | string, ageDays: number, over: Partial<FeedItem> = {}): FeedItem {
  return {
    key: `urn:r:${i}`,
    link: `https://r.example/${i}`,
    title: `Retained story ${i} about Zorblax ${i}`,
    summary: `Summary ${i}.`,
    published: new Date(clock - ageDays * DAY).toISOString(),
    authors: [],
    categories: [],
    ...over,
  };
}
const doc = (items: FeedItem[]): ParsedFeed => ({ format: 'rss', title: 'Retention', items });
const pipeline = (over: Partial<Parameters<typeof createPipeline>[0]> = {}): Promise<PipelineDeps> => createPipeline({ storage: feeds, service, now: () => clock, ...over });
const ingest = async (feed: FeedRow, parsed: ParsedFeed, deps: PipelineDeps) => ingestFeed((await feeds.feeds.get(feed.id))!, parsed, deps);

beforeEach(async () => {
  clock = T0;
  store = openStore(':memory:');
  feeds = await storageOverStore(store);
  service = createIncidentService([]);
});
afterEach(() => store.close());

describe('feed retention (FEED_RETENTION_DAYS) and the post cap (FEED_MAX_POSTS_PER_FEED)', () => {
  it('prunes posts past the retention with the incidents only they told, from the store and the live index', async () => {
    const deps = await pipeline({ bounds: { retentionDays: 30 } });
    const feed = (await feeds.feeds.add({ url: 'https://r.example/feed' }, clock)).feed;
    await ingest(feed, doc([item(1, 1), item(2, 20)]), deps);
    assert.equal(await feeds.posts.count(feed.id), 2);
    clock += 15 * DAY;
    const r = await ingest(feed, doc([item(3, 0), item(1, 16), item(2, 35)]), deps);
    assert.equal(r.pruned.posts, 1, 'the 35-day-old post went');
    assert.equal(await feeds.posts.get(postIdFor(feed.url, 'urn:r:2')), undefined);
    assert.equal(store.getIncident(postIdFor(feed.url, 'urn:r:2')), undefined, 'with its incident');
    assert.equal(service.get(postIdFor(feed.url, 'urn:r:2')), undefined, 'also in the live index');
    assert.ok(await feeds.feeds.hasItem(feed.id, 'urn:r:2'), 'its key stays while the feed lists it');
    assert.equal(await feeds.posts.count(feed.id), 2);
  });

  it('never makes an old item look new again: a pruned, re-listed or first-seen item dated before the window is not alerted', async () => {
    const deps = await pipeline({ bounds: { retentionDays: 30 } });
    const feed = (await feeds.feeds.add({ url: 'https://r.example/feed' }, clock)).feed;
    await feeds.subscriptions.subscribe({ platform: 'discord', channelId: '1', filter: '' }, clock);
    await ingest(feed, doc([item(1, 25)]), deps);
    clock += 10 * DAY;
    // The feed stops listing item 1; its post ages out and its key is forgotten.
    await ingest(feed, doc([item(2, 0)]), deps);
    assert.equal(await feeds.posts.get(postIdFor(feed.url, 'urn:r:1')), undefined, 'pruned');
    const before = (await feeds.outbox.byStatus('pending')).length;
    // Whether or not its key is still known, it comes back dated 35 days ago: not stored, never alerted.
    store.db.prepare('DELETE FROM feed_items WHERE feed_id = ? AND item_key = ?').run(feed.id, 'urn:r:1');
    const r = await ingest(feed, doc([item(1, 35), item(9, 400, { key: 'urn:r:ancient' }), item(2, 0)]), deps);
    assert.equal(r.skippedBy.old, 2);
    assert.equal(r.queued, 0);
    assert.equal((await feeds.outbox.byStatus('pending')).length, before);
    assert.equal(await feeds.posts.get(postIdFor(feed.url, 'urn:r:1')), undefined);
  });

  it('keeps the newest FEED_MAX_POSTS_PER_FEED posts, never one an alert still waits for', async () => {
    const deps = await pipeline({ bounds: { maxPostsPerFeed: 100 } });
    const feed = (await feeds.feeds.add({ url: 'https://r.example/feed' }, clock)).feed;
    await feeds.subscriptions.subscribe({ platform: 'discord', channelId: '1', filter: '' }, clock);
    await ingest(feed, doc(Array.from({ length: 80 }, (_, i) => item(i, 10 + i / 100))), deps);
    // 50 newer posts, each alerted (pending): the oldest seeded ones make room, the pending ones stay.
    clock += DAY;
    await ingest(feed, doc(Array.from({ length: 50 }, (_, i) => item(100 + i, i / 100))), deps);
    assert.equal(await feeds.posts.count(feed.id), 100);
    assert.equal(await feeds.posts.get(postIdFor(feed.url, 'urn:r:79')), undefined, 'the oldest went');
    assert.ok(await feeds.posts.get(postIdFor(feed.url, 'urn:r:49')), 'the newest seeded ones stayed');
    // 120 more: now the pending alerts hold 170 posts over the cap of 100, and none of them goes.
    clock += DAY;
    await ingest(feed, doc(Array.from({ length: 120 }, (_, i) => item(200 + i, i / 100))), deps);
    assert.equal(await feeds.posts.count(feed.id), 170, 'posts with pending alerts are never pruned');
    assert.equal((await feeds.outbox.byStatus('pending')).length, 170);
    // Delivered alerts let their posts age out; posts folded into a digest still pending stay until it is sent.
    const pending = await feeds.outbox.byStatus('pending');
    const storyOf = new Map<number, number>();
    for (const r of pending) storyOf.set(r.id, Number((await feeds.posts.get(r.postId!))!.title.match(/story (\d+)/)![1]));
    const second = pending.filter((r) => storyOf.get(r.id)! < 200);
    const oldestThird = pending.filter((r) => storyOf.get(r.id)! >= 300);
    assert.equal(second.length, 50);
    assert.equal(oldestThird.length, 20);
    for (const row of second) {
      const claimToken = await feeds.outbox.claim(row.id, null);
      await feeds.outbox.markSent({ ...row, claimToken: claimToken! }, `m${row.id}`, clock);
    }
    const digest = (await feeds.outbox.foldIntoDigest(oldestThird, clock))!;
    let r = await pruneFeed(feed.id, deps);
    assert.equal(r.posts, 50, 'the delivered posts beyond the cap went; those in a pending digest stayed');
    assert.equal(await feeds.posts.count(feed.id), 120);
    assert.equal((await feeds.outbox.foldedInto(digest)).length, 20, 'the pending digest still carries all its posts');
    assert.equal((await feeds.outbox.byStatus('sent')).length, 0, 'the pruned posts’ delivered rows went with them');
    const row = (await feeds.outbox.get(digest))!;
    const claimToken = await feeds.outbox.claim(row.id, null);
    await feeds.outbox.markSent({ ...row, claimToken: claimToken! }, 'digest-message', clock);
    r = await pruneFeed(feed.id, deps);
    assert.equal(r.posts, 20);
    assert.equal(await feeds.posts.count(feed.id), 100);
  });

  it('removes a pruned post’s story from the story index, and keeps records a feed did not create', async () => {
    const curated = buildIncident({ id: 'seed:zorblax-1', title: 'Zorblax breach at Dunmore', date: day(new Date(clock - DAY).toISOString().slice(0, 10)), sources: [{ url: 'https://curated.example/z', publisher: 'C' }] });
    service = createIncidentService([curated]);
    const deps = await pipeline({ bounds: { retentionDays: 30 }, incidents: [curated] });
    const a = (await feeds.feeds.add({ url: 'https://a.example/feed' }, clock)).feed;
    const b = (await feeds.feeds.add({ url: 'https://b.example/feed' }, clock)).feed;
    await ingest(a, doc([]), deps);
    await ingest(b, doc([]), deps);
    await ingest(a, doc([item('a1', 0, { title: 'Glimmerfen ransomware hits Ostrava water utility' }), item('a2', 0, { link: 'https://curated.example/z', title: 'Dunmore breach details' })]), deps);
    assert.equal((await feeds.posts.get(postIdFor(a.url, 'urn:r:a2')))!.incidentId, curated.id);
    clock += 40 * DAY;
    await pruneFeed(a.id, deps);
    assert.equal(await feeds.posts.count(a.id), 0);
    assert.ok(service.get(curated.id), 'the curated record stays');
    // Another outlet telling the pruned story does not attach to a record that is gone.
    const r = await ingest(b, doc([item('b1', 0, { title: 'Ostrava water utility hit by Glimmerfen ransomware' })]), deps);
    assert.equal(r.newIncidents.length, 1);
    assert.equal(r.attached.length, 0);
  });

  it('ages out posts of feeds that publish nothing new, and of removed feeds (the periodic sweep)', async () => {
    const deps = await pipeline({ bounds: { retentionDays: 30 } });
    const feed = (await feeds.feeds.add({ url: 'https://r.example/feed' }, clock)).feed;
    await ingest(feed, doc([item(1, 1), item(2, 2)]), deps);
    await feeds.feeds.remove(feed.id);
    clock += 60 * DAY;
    assert.ok((await feeds.feeds.allIds()).includes(feed.id), '(await feeds.feeds.allIds()).includes(feed.id)');
    const r = await pruneFeed(feed.id, deps);
    assert.equal(r.posts, 2);
    assert.equal(service.size, 0);
  });
});

import { after, before, beforeEach, afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createIncidentService } from '../../src/core/create-service.js';
import type { IncidentService } from '../../src/core/incident-service.js';
import { FilterError, matchesFilter, parseFilter } from '../../src/feeds/match.js';
import { createPipeline, ingestFeed, postIdFor, storyWords, urlKey, type PipelineDeps } from '../../src/feeds/pipeline.js';
import type { FeedItem, ParsedFeed } from '../../src/feeds/types.js';
import type { FeedRow } from '../../src/store/repos/feeds.js';
import { storageOverStore, type Storage } from '../../src/store/storage.js';
import { openStore, type Store } from '../../src/store/store.js';
import { buildIncident, day } from '../fixtures/core/build-incident.js';

const T0 = Date.UTC(2025, 6, 10, 12);
let dir: string;
let n = 0;
let store: Store;
let feeds: Storage;
let service: IncidentService;
let clock = T0;

/** A feed item as F1's parser would hand it over. */
function item(i: number | string, over: Partial<FeedItem> = {}): FeedItem {
  return {
    key: `https://news.example/p/${i}`,
    guid: `https://news.example/p/${i}`,
    link: `https://news.example/p/${i}`,
    title: `Story number ${i} about Zorblax widgets`,
    summary: `Summary ${i}.`,
    published: new Date(T0 - Number(String(i).replace(/\D/g, '') || 0) * 60_000).toISOString(),
    authors: [],
    categories: [],
    ...over,
  };
}

const doc = (items: FeedItem[], title = 'News Example'): ParsedFeed => ({ format: 'rss', title, items });

function pipeline(over: Partial<Parameters<typeof createPipeline>[0]> = {}): Promise<PipelineDeps> {
  return createPipeline({ storage: feeds, service, now: () => clock, ...over });
}

async function addFeed(url: string, name?: string): Promise<FeedRow> {
  return (await feeds.feeds.add({ url, name }, clock)).feed;
}

/** Ingests with a fresh read of the feed row, as the poller does. */
async function ingest(feed: FeedRow, parsed: ParsedFeed, deps: PipelineDeps) {
  return ingestFeed((await feeds.feeds.get(feed.id))!, parsed, deps);
}

const pending = async () => await feeds.outbox.byStatus('pending');

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'incident-bot-pipeline-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));
beforeEach(async () => {
  clock = T0;
  store = openStore(join(dir, `p-${++n}.db`));
  feeds = await storageOverStore(store);
  service = createIncidentService([]);
});
afterEach(() => store.close());

describe('ingestFeed: what is new', () => {
  it('seeds on the first poll (stored and indexed, nothing alerted), then alerts exactly the new items once per subscription', async () => {
    const deps = await pipeline();
    const feed = await addFeed('https://news.example/feed', 'News Example');
    const d1 = await feeds.subscriptions.subscribe({ platform: 'discord', channelId: '100', filter: '' }, clock);
    const d2 = await feeds.subscriptions.subscribe({ platform: 'discord', channelId: '200', filter: '' }, clock);
    const s1 = await feeds.subscriptions.subscribe({ platform: 'slack', channelId: 'C100', filter: '' }, clock);

    const first = await ingest(feed, doc([item(1), item(2), item(3)]), deps);
    assert.equal(first.seeded, true);
    assert.equal(first.fresh, 3);
    assert.equal(first.queued, 0);
    assert.equal((await pending()).length, 0);
    assert.equal(await feeds.posts.count(), 3);
    assert.ok(store.getIncident(postIdFor(feed.url, item(1).key)), 'seeded posts are stored');
    assert.equal(service.size, 3, 'and indexed');

    const second = await ingest(feed, doc([item(5), item(4), item(1), item(2), item(3)]), deps);
    assert.equal(second.seeded, false);
    assert.equal(second.fresh, 2);
    assert.equal(second.queued, 6);
    const rows = await pending();
    for (const sub of [d1, d2, s1]) {
      assert.deepEqual(
        rows.filter((r) => r.subscriptionId === sub.id).map((r) => r.postId).sort(),
        [postIdFor(feed.url, item(4).key), postIdFor(feed.url, item(5).key)].sort(),
      );
    }
    assert.equal((await ingest(feed, doc([item(5), item(4), item(1)]), deps)).fresh, 0, 'a third poll finds nothing new');
    assert.equal((await pending()).length, 6);
    assert.equal((await feeds.feeds.get(feed.id))!.itemsSeen, 5);
  });

  it('counts an item repeated inside one document once', async () => {
    const deps = await pipeline();
    const feed = await addFeed('https://news.example/feed');
    await feeds.subscriptions.subscribe({ platform: 'discord', channelId: '100', filter: '' }, clock);
    await ingest(feed, doc([item(1)]), deps);
    const r = await ingest(feed, doc([item(2), item(2, { title: 'Story number 2, repeated' }), item(2), item(1)]), deps);
    assert.equal(r.items, 2);
    assert.equal(r.fresh, 1);
    assert.equal((await pending()).length, 1);
  });

  it('never re-alerts an item whose content or date changed', async () => {
    const deps = await pipeline();
    const feed = await addFeed('https://news.example/feed');
    await feeds.subscriptions.subscribe({ platform: 'discord', channelId: '100', filter: '' }, clock);
    await ingest(feed, doc([item(1)]), deps);
    await ingest(feed, doc([item(2), item(1)]), deps);
    assert.equal((await pending()).length, 1);
    const edited = item(2, { title: 'Story number 2 (updated: now with more Zorblax)', summary: 'Rewritten.', published: new Date(T0 + 3_600_000).toISOString() });
    const r = await ingest(feed, doc([edited, item(1)]), deps);
    assert.equal(r.fresh, 0);
    assert.equal((await pending()).length, 1);
  });

  it('alerts the newest FEED_BACKFILL items of a first poll', async () => {
    const deps = await pipeline({ backfill: 2 });
    const feed = await addFeed('https://news.example/feed');
    await feeds.subscriptions.subscribe({ platform: 'discord', channelId: '100', filter: '' }, clock);
    // document order is not date order here: the newest are 3 and 1 (smaller number = newer)
    const r = await ingest(feed, doc([item(7), item(3), item(9), item(1)]), deps);
    assert.equal(r.queued, 2);
    assert.deepEqual((await pending()).map((x) => x.postId).sort(), [postIdFor(feed.url, item(1).key), postIdFor(feed.url, item(3).key)].sort());
  });

  it('puts a new post into the live index at once: /incident answers about it right after the poll', async () => {
    const deps = await pipeline();
    const feed = await addFeed('https://news.example/feed', 'News Example');
    await ingest(feed, doc([item(1)]), deps);
    await ingest(feed, doc([item(2, { title: 'Quillfeather ransomware hits Dunmore hospital network', summary: 'The Quillfeather gang encrypted systems at Dunmore.' }), item(1)]), deps);
    const answer = service.answer('Quillfeather ransomware Dunmore');
    assert.equal(answer.status, 'found');
    assert.equal(answer.incident?.id, postIdFor(feed.url, item(2).key));
    const stored = store.getIncident(answer.incident!.id)!;
    assert.equal(stored.kind, 'incident');
    assert.deepEqual(stored.date, day(new Date(T0 - 2 * 60_000).toISOString().slice(0, 10)));
    assert.equal(stored.sources[0]!.publisher, 'News Example');
    assert.equal(stored.sources[0]!.url, 'https://news.example/p/2');
    assert.ok(stored.tags.includes('feed:news-example'));
  });

  it('skips an item no valid record can be built from, logging it, and goes on with the others', async () => {
    const deps = await pipeline();
    const feed = await addFeed('https://news.example/feed');
    await feeds.subscriptions.subscribe({ platform: 'discord', channelId: '100', filter: '' }, clock);
    await ingest(feed, doc([item(1)]), deps);
    const r = await ingest(feed, doc([item(2, { title: '   ', summary: '' }), item(3), item(1)]), deps);
    assert.equal(r.skipped, 1);
    assert.equal(r.queued, 1);
    assert.equal((await ingest(feed, doc([item(2, { title: '   ', summary: '' })]), deps)).fresh, 0, 'the skipped key is remembered');
  });
});

describe('ingestFeed: more new items than FEED_MAX_ITEMS_PER_POLL', () => {
  /** A feed seeded with items 20-22 (20 to 22 minutes before T0), subscribed by one channel; polls store 5 at most. */
  async function busyFeed(url = 'https://busy.example/feed'): Promise<{ feed: FeedRow; deps: PipelineDeps }> {
    const deps = await pipeline({ bounds: { maxItemsPerPoll: 5 } });
    const feed = await addFeed(url);
    await feeds.subscriptions.subscribe({ platform: 'discord', channelId: '100', filter: '' }, clock);
    await ingest(feed, doc([20, 21, 22].map((i) => item(i))), deps);
    return { feed, deps };
  }
  const alerted = async () => (await pending()).map((r) => r.postId);
  const keyCount = (feedId: number) => (store.db.prepare('SELECT count(*) AS n FROM feed_items WHERE feed_id = ?').get(feedId) as { n: number }).n;

  it('a backlog (every new item published since the newest post: polls fell behind) is stored over the next polls, oldest first, each once', async () => {
    const { feed, deps } = await busyFeed();
    // Twelve items published since the newest post (0 to 11 minutes before T0), more than one poll stores.
    const busy = doc([...Array.from({ length: 12 }, (_, i) => item(i)), ...[20, 21, 22].map((i) => item(i))]);
    const order = (ids: number[]) => ids.map((i) => postIdFor(feed.url, item(i).key));
    const first = await ingestFeed((await feeds.feeds.get(feed.id))!, busy, deps, { etag: '"v1"', bodyHash: 'h1' });
    assert.deepEqual([first.newIncidents.length, first.deferred, first.skipped], [5, 7, 0]);
    assert.deepEqual(await alerted(), order([11, 10, 9, 8, 7]), 'the oldest first');
    assert.equal(keyCount(feed.id), 8, 'the items left for later are not recorded as seen');
    const row = (await feeds.feeds.get(feed.id))!;
    assert.deepEqual([row.etag, row.bodyHash], [null, null], 'the next poll reads the document again');
    const second = await ingest(feed, busy, deps);
    assert.deepEqual([second.fresh, second.newIncidents.length, second.deferred], [7, 5, 2]);
    const third = await ingest(feed, busy, deps);
    assert.deepEqual([third.fresh, third.newIncidents.length, third.deferred, third.skipped], [2, 2, 0, 0]);
    // The last two fit in one poll, which stores its items newest first, as every poll under the cap does.
    assert.deepEqual(await alerted(), order([11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 0, 1]), 'every item alerted once, the backlog in the order published');
    assert.equal((await ingest(feed, busy, deps)).fresh, 0);
  });

  it('a flood stays bounded: new items older than the newest post (a re-keyed archive), or more than 10 polls\' worth, keep the newest and skip the rest for good', async () => {
    for (const [label, extra] of [
      ['re-keyed old items', Array.from({ length: 8 }, (_, i) => item(`old-${30 + i}`, { published: new Date(T0 - (30 + i) * 60_000).toISOString() }))],
      ['more than 10 polls\' worth', Array.from({ length: 50 }, (_, i) => item(`many-${i}`, { published: new Date(T0 - 30_000).toISOString() }))],
    ] as const) {
      const { feed, deps } = await busyFeed(`https://busy.example/${extra.length}.xml`);
      const flood = doc([...Array.from({ length: 4 }, (_, i) => item(i)), ...extra, ...[20, 21, 22].map((i) => item(i))]);
      const r = await ingest(feed, flood, deps);
      const stored = [...r.newIncidents, ...r.attached.map((a) => a.postId)];
      assert.deepEqual([stored.length, r.deferred, r.skippedBy.limit], [5, 0, 4 + extra.length - 5], label);
      assert.ok(stored.includes(postIdFor(feed.url, item(0).key)), `${label}: the newest kept`);
      assert.equal((await ingest(feed, flood, deps)).fresh, 0, `${label}: the rest skipped for good`);
      await feeds.subscriptions.unsubscribe('discord', '100');
    }
  });
});

describe('ingestFeed: known incidents', () => {
  it('attaches a post with the same link as a known source to that incident, and does not alert the same article again', async () => {
    const known = buildIncident({ id: 'seed:zorblax-leak', title: 'Zorblax data leak', date: day('2025-07-08'), sources: [{ url: 'https://news.example/p/42/', publisher: 'Other' }] });
    service = createIncidentService([known]);
    const deps = await pipeline({ incidents: [known] });
    const feed = await addFeed('https://news.example/feed');
    await feeds.subscriptions.subscribe({ platform: 'discord', channelId: '100', filter: '' }, clock);
    await ingest(feed, doc([item(1)]), deps);
    const r = await ingest(feed, doc([item(42, { link: 'https://news.example/p/42?utm_source=rss#top' }), item(1)]), deps);
    assert.deepEqual(r.attached.map((a) => a.incidentId), ['seed:zorblax-leak']);
    assert.deepEqual(r.newIncidents, []);
    assert.equal(r.queued, 0);
    const updated = service.get('seed:zorblax-leak')!;
    assert.equal(updated.sources.length, 1, 'the same article is not a second source');
    assert.deepEqual(updated.tags, known.tags, 'a post never adds its tags to a record it does not own');
    assert.equal((await feeds.posts.get(postIdFor(feed.url, item(42).key)))!.incidentId, 'seed:zorblax-leak');
  });

  it('treats a link shared by items of one feed as no identity, but the same link in another feed as the same article', async () => {
    const deps = await pipeline();
    const a = await addFeed('https://a.example/feed', 'Podcast');
    const b = await addFeed('https://b.example/feed', 'Mirror');
    await feeds.subscriptions.subscribe({ platform: 'discord', channelId: '100', filter: '' }, clock);
    await ingest(a, doc([]), deps);
    await ingest(b, doc([]), deps);
    const show = 'https://a.example/show';
    const r1 = await ingest(a, doc([item('e1', { link: show, title: 'Episode 1: Alpha' }), item('e2', { link: show, title: 'Episode 2: Beta' })]), deps);
    assert.equal(r1.newIncidents.length, 2);
    assert.equal(r1.queued, 2);
    const r2 = await ingest(a, doc([item('e3', { link: 'https://a.example/', title: 'Home page link' })]), deps);
    assert.equal(r2.queued, 1);
    const r3 = await ingest(b, doc([item('m1', { link: 'https://a.example/posts/e9', title: 'Mirror copy' })]), deps);
    assert.equal(r3.newIncidents.length, 1);
    const r4 = await ingest(a, doc([item('e9', { link: 'https://a.example/posts/e9?utm_source=x', title: 'Original' })]), deps);
    assert.deepEqual(r4.attached.map((x) => x.incidentId), r3.newIncidents);
    assert.equal(r4.queued, 0, 'the same article from a second feed is not alerted twice');
  });

  it('attaches another outlet’s telling of the same story as a second source and alerts it (threaded by the worker)', async () => {
    const deps = await pipeline();
    const a = await addFeed('https://a.example/feed', 'Outlet A');
    const b = await addFeed('https://b.example/feed', 'Outlet B');
    await feeds.subscriptions.subscribe({ platform: 'discord', channelId: '100', filter: '' }, clock);
    await ingest(a, doc([]), deps);
    await ingest(b, doc([]), deps);
    await ingest(a, doc([item('a1', { link: 'https://a.example/lockbit-hits-acme', title: 'LockBit ransomware gang hits Acme Corp, leaks 2TB of data' })]), deps);
    const r = await ingest(b, doc([item('b1', { link: 'https://b.example/story/9', title: 'Acme Corp hit by LockBit ransomware gang, 2TB of data leaked', published: new Date(T0 + 86_400_000).toISOString() })]), deps);
    const incidentId = postIdFor(a.url, item('a1').key);
    assert.deepEqual(r.attached, [{ postId: postIdFor(b.url, item('b1').key), incidentId }]);
    const inc = store.getIncident(incidentId)!;
    assert.deepEqual(inc.sources.map((s) => s.publisher), ['Outlet A', 'Outlet B']);
    assert.equal(service.get(incidentId)!.sources.length, 2);
    const rows = await pending();
    assert.equal(rows.length, 2);
    assert.ok(rows.every((x) => x.incidentId === incidentId), 'both alerts point at one incident');
  });

  it('keeps different stories apart: shared name but little overlap, or days apart', async () => {
    const deps = await pipeline();
    const a = await addFeed('https://a.example/feed');
    const b = await addFeed('https://b.example/feed');
    await ingest(a, doc([]), deps);
    await ingest(b, doc([]), deps);
    await ingest(a, doc([item('x1', { title: 'Microsoft fixes Exchange zero-day exploited in attacks' }), item('k1', { title: 'CISA adds 3 known exploited vulnerabilities to catalog' })]), deps);
    const r1 = await ingest(b, doc([item('x2', { title: 'Microsoft quarterly earnings beat expectations' })]), deps);
    assert.equal(r1.newIncidents.length, 1);
    clock = T0 + 10 * 86_400_000;
    const r2 = await ingest(b, doc([item('x3', { title: 'Microsoft fixes Exchange zero-day exploited in attacks', published: new Date(T0 + 10 * 86_400_000).toISOString() })]), deps);
    assert.equal(r2.newIncidents.length, 1, 'ten days later it is another story');
    clock = T0;
    const r3 = await ingest(b, doc([item('k2', { title: 'CISA adds 2 known exploited vulnerabilities to catalog' })]), deps);
    assert.equal(r3.newIncidents.length, 1, 'other numbers, other story');
    const r4 = await ingest(b, doc([item('x4', { title: 'Microsoft fixes Exchange zero-day exploited in attacks' })]), deps);
    assert.equal(r4.attached.length, 1, 'the same headline from another outlet the same day is the same story');
    // within one feed, look-alike headlines are a series, not one story
    const r5 = await ingest(a, doc([item('k3', { title: 'CISA adds 3 known exploited vulnerabilities to catalog' })]), deps);
    assert.equal(r5.newIncidents.length, 1);
    assert.ok(storyWords('Microsoft fixes Exchange zero-day').has('exchange'));
    assert.equal(urlKey('https://WWW.Example.com/a/?utm_medium=x#frag'), 'example.com/a');
  });
});

describe('subscription filters', () => {
  it('queues only for matching filters, one alert per channel, with the role of a matching subscription', async () => {
    const deps = await pipeline();
    const cisa = await addFeed('https://www.cisa.gov/cybersecurity-advisories/all.xml', 'CISA Advisories');
    const news = await addFeed('https://news.example/feed', 'News Example');
    const all = await feeds.subscriptions.subscribe({ platform: 'discord', channelId: '1', filter: '' }, clock);
    const roleSub = await feeds.subscriptions.subscribe({ platform: 'discord', channelId: '1', filter: 'lockbit', roleId: '555' }, clock);
    const tagSub = await feeds.subscriptions.subscribe({ platform: 'discord', channelId: '2', filter: 'tag:advisory' }, clock);
    const feedSub = await feeds.subscriptions.subscribe({ platform: 'slack', channelId: 'C3', filter: 'feed:cisa-advisories' }, clock);
    // Feed names match exactly (case, spacing and punctuation aside), never in part.
    const partSub = await feeds.subscriptions.subscribe({ platform: 'slack', channelId: 'C5', filter: 'feed:cisa' }, clock);
    const phrase = await feeds.subscriptions.subscribe({ platform: 'slack', channelId: 'C4', filter: '"remote code execution" -phishing' }, clock);
    await ingest(cisa, doc([]), deps);
    await ingest(news, doc([]), deps);
    await ingest(cisa, doc([item('c1', { link: 'https://www.cisa.gov/a/1', title: 'Ivanti EPMM remote code execution flaw', categories: ['Advisory'] })]), deps);
    await ingest(news, doc([item('n1', { title: 'LockBit affiliates arrested in Europe' })]), deps);
    await ingest(news, doc([item('n2', { title: 'Phishing kit delivers remote code execution exploit' })]), deps);
    const bySub = async (id: number) => {
      const titles: string[] = [];
      for (const r of (await pending()).filter((x) => x.subscriptionId === id)) titles.push((await feeds.posts.get(r.postId!))!.title);
      return titles;
    };
    assert.deepEqual(await bySub(tagSub.id), ['Ivanti EPMM remote code execution flaw']);
    assert.deepEqual(await bySub(feedSub.id), ['Ivanti EPMM remote code execution flaw']);
    assert.deepEqual(await bySub(partSub.id), []);
    assert.deepEqual(await bySub(phrase.id), ['Ivanti EPMM remote code execution flaw']);
    assert.deepEqual(await bySub(roleSub.id), ['LockBit affiliates arrested in Europe']);
    assert.equal((await pending()).find((r) => r.subscriptionId === roleSub.id)!.roleId, '555');
    assert.equal((await bySub(all.id)).length, 2, 'channel 1 gets each post once');
  });

  it('parses the search syntax and refuses what it cannot use', async () => {
    const f = parseFilter('tag:ransomware feed:"The Hacker News" attacks on hospitals');
    assert.deepEqual(f.tags, ['ransomware']);
    assert.deepEqual(f.feeds, ['The Hacker News']);
    assert.deepEqual(f.keywords, [['attack'], ['hospital']]);
    const target = { title: 'Ransomware attack on two hospitals', summary: '', tags: ['feed:the-hacker-news', 'type:ransomware'], feedName: 'The Hacker News', feedUrl: 'https://feeds.feedburner.com/TheHackersNews' };
    assert.equal(matchesFilter(f, target), true);
    assert.equal(matchesFilter(parseFilter('feed:thehackernews'), target), true);
    assert.equal(matchesFilter(parseFilter('feed:feedburner'), target), false, 'not a part of the host');
    assert.equal(matchesFilter(parseFilter('feed:hacker'), target), false, 'not a part of the name');
    assert.equal(matchesFilter(parseFilter('hospital -ransomware'), target), false);
    assert.equal(matchesFilter(parseFilter(''), target), true);
    assert.throws(() => parseFilter('since:2024'), FilterError);
    assert.throws(() => parseFilter('tag:'), FilterError);
    assert.throws(() => parseFilter('colour:red'), /Unknown filter/);
  });
});

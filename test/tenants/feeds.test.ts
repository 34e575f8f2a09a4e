import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import feedsCommand from '../../commands/feeds.js';
import { COMMANDS } from '../../commands/index.js';
import { createIncidentService } from '../../src/core/create-service.js';
import type { IncidentService } from '../../src/core/incident-service.js';
import { redactText, redactUrl } from '../../src/core/redact.js';
import { createAlertsService } from '../../src/feeds/alerts-service.js';
import { FeedFetchError } from '../../src/feeds/fetch.js';
import { FilterError, MAX_FILTER_TERMS, matchStats } from '../../src/feeds/match.js';
import { parseFeedDocument } from '../../src/feeds/parse.js';
import { subscriptionFilters } from '../../src/feeds/subscriptions.js';
import { createPipeline, ingestFeed, type PipelineDeps } from '../../src/feeds/pipeline.js';
import { createPoller, FAILING_AFTER } from '../../src/feeds/poller.js';
import type { Actor, FeedItem, ParsedFeed } from '../../src/feeds/types.js';
import { createLogger } from '../../src/logger.js';
import type { FeedRow } from '../../src/store/repos/feeds.js';
import { storageOverStore, type Storage } from '../../src/store/storage.js';
import { applyMigrations, MIGRATIONS } from '../../src/store/migrations.js';
import { openStore, type Store } from '../../src/store/store.js';

const T0 = Date.UTC(2025, 6, 10, 12);
const A: Actor = { tenant: 'discord:1100000000000000002', platform: 'discord', userId: '1100000000000000004' };
let dir: string;
let n = 0;
let store: Store;
let feeds: Storage;
let service: IncidentService;
let clock = T0;

function item(key: string, over: Partial<FeedItem> = {}): FeedItem {
  return { key, guid: key, link: key, title: `Story ${key}`, summary: `Summary of ${key}.`, published: new Date(clock - 60_000).toISOString(), authors: [], categories: [], ...over };
}
const doc = (items: FeedItem[], title = 'Outlet'): ParsedFeed => ({ format: 'rss', title, items });
const pipeline = (): Promise<PipelineDeps> => createPipeline({ storage: feeds, service, now: () => clock });
const ingest = async (feed: FeedRow, parsed: ParsedFeed, deps: PipelineDeps) => ingestFeed((await feeds.feeds.get(feed.id))!, parsed, deps);
const queuedTitles = async (channelId: string) => {
  const titles: string[] = [];
  for (const r of (await feeds.outbox.byStatus('pending')).filter((x) => x.channelId === channelId && x.postId)) titles.push((await feeds.posts.get(r.postId!))!.title);
  return titles;
};

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'incident-bot-tenant-feeds-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));
beforeEach(async () => {
  clock = T0;
  store = openStore(join(dir, `t-${++n}.db`));
  feeds = await storageOverStore(store);
  service = createIncidentService([]);
});
afterEach(() => store.close());

describe('feed: filters name a feed exactly', () => {
  it('feed:cisa matches the feed named "CISA" (and its id), never "Mercisaurus"', async () => {
    const deps = await pipeline();
    const cisa = (await feeds.feeds.add({ url: 'https://cisa.example/feed', name: 'CISA' }, clock)).feed;
    const merc = (await feeds.feeds.add({ url: 'https://merc.example/feed', name: 'Mercisaurus' }, clock)).feed;
    await feeds.subscriptions.subscribe({ platform: 'discord', channelId: '1', filter: 'feed:cisa' }, clock);
    await feeds.subscriptions.subscribe({ platform: 'discord', channelId: '2', filter: `feed:${merc.id}` }, clock);
    await feeds.subscriptions.subscribe({ platform: 'discord', channelId: '3', filter: 'feed:CISA' }, clock);
    await ingest(cisa, doc([]), deps);
    await ingest(merc, doc([]), deps);
    await ingest(cisa, doc([item('https://cisa.example/a/1', { title: 'CISA adds two known exploited vulnerabilities' })]), deps);
    await ingest(merc, doc([item('https://merc.example/1', { title: 'Mercisaurus fossil dig reopens to visitors' })]), deps);
    assert.deepEqual(await queuedTitles('1'), ['CISA adds two known exploited vulnerabilities']);
    assert.deepEqual(await queuedTitles('2'), ['Mercisaurus fossil dig reopens to visitors']);
    assert.deepEqual(await queuedTitles('3'), ['CISA adds two known exploited vulnerabilities']);
  });

  it('a tenant\'s own name for a feed works in its filters, and not in another tenant\'s', async () => {
    const deps = await pipeline();
    const alerts = createAlertsService({ storage: feeds, allowPrivate: true, now: () => clock });
    const B: Actor = { tenant: 'discord:1200000000000000002', platform: 'discord', userId: '1200000000000000004' };
    const { feed } = await alerts.addFeed(A, { url: 'https://shared.example/feed', name: 'Our Watch' });
    await alerts.addFeed(B, { url: 'https://shared.example/feed', name: 'Their Watch' });
    await alerts.subscribe(A, { platform: 'discord', channelId: 'A1', filter: 'feed:our-watch' });
    await alerts.subscribe(A, { platform: 'discord', channelId: 'A2', filter: 'feed:"Their Watch"' });
    await alerts.subscribe(B, { platform: 'discord', channelId: 'B1', filter: 'feed:theirwatch' });
    const row = (await feeds.feeds.get(feed.id))!;
    await ingest(row, doc([]), deps);
    await ingest(row, doc([item('https://shared.example/1', { title: 'Shared story' })]), deps);
    assert.deepEqual(await queuedTitles('A1'), ['Shared story']);
    assert.deepEqual(await queuedTitles('A2'), [], 'B\'s name for the feed does not steer A\'s filters');
    assert.deepEqual(await queuedTitles('B1'), ['Shared story']);
  });
});

describe('filter cost is bounded', () => {
  it('refuses a filter of 37 phrases (a clear FilterError with an example); the service stores nothing', async () => {
    const alerts = createAlertsService({ storage: feeds, allowPrivate: true, now: () => clock });
    const phrases = Array.from({ length: 37 }, (_, i) => `"p${i} q"`).join(' ');
    await assert.rejects(alerts.subscribe(A, { platform: 'discord', channelId: '1', filter: phrases }), (e: unknown) => e instanceof FilterError && /37 terms.*at most 10.*e\.g\./.test(e.message));
    assert.deepEqual(await feeds.subscriptions.list('discord', '1'), []);
  });

  it('matching a post costs at most one lookup per term, filters are compiled once, and the post\'s length does not matter', async () => {
    const deps = await pipeline();
    const feed = (await feeds.feeds.add({ url: 'https://big.example/feed', name: 'Big' }, clock)).feed;
    // The most a channel can ask for today: 25 subscriptions of MAX_FILTER_TERMS terms (phrases and words).
    const phrase = (i: number, j: number) => (j % 2 ? `"alpha${i} beta${j} gamma"` : `word${i}x${j}`);
    for (let i = 0; i < 25; i++) await feeds.subscriptions.subscribe({ platform: 'discord', channelId: 'C', filter: Array.from({ length: MAX_FILTER_TERMS }, (_, j) => phrase(i, j)).join(' ') }, clock);
    // ...and 25 saved before the limits existed, of 37 phrases each: matched as saved, still one lookup per term.
    const legacy = Array.from({ length: 37 }, (_, j) => `"a${j} b"`).join(' ');
    assert.ok(legacy.length <= 300, 'old filters were held to 300 characters too');
    for (let i = 0; i < 25; i++) {
      store.db.prepare("INSERT INTO subscriptions (tenant, platform, channel_id, filter, created_at) VALUES ('operator', 'discord', ?, ?, ?)").run(`OLD${i}`, legacy, clock);
    }
    assert.equal((await subscriptionFilters(feeds, feed.id)).length, 50, 'every subscription compiles, the old ones included');
    await ingest(feed, doc([]), deps);
    const summary = Array.from({ length: 50_000 }, (_, k) => `word${k % 997} alpha${k % 25} beta${k % 10}`).join(' ');
    matchStats.compiles = 0;
    matchStats.termChecks = 0;
    await ingest(feed, doc([item('https://big.example/1', { title: 'A very long post', summary })]), deps);
    assert.ok(matchStats.termChecks <= 25 * MAX_FILTER_TERMS + 25 * 37, `term lookups per post: ${matchStats.termChecks}`);
    assert.equal(matchStats.compiles, 0, 'the seeding poll compiled the filters; this poll reused them');
    await ingest(feed, doc([item('https://big.example/2', { title: 'Another post', summary: 'short' }), item('https://big.example/1', { title: 'A very long post', summary })]), deps);
    assert.equal(matchStats.compiles, 0, 'not compiled per poll');
  });
});

describe('story matching never crosses tenants', () => {
  it('a private feed\'s post joins no record everyone sees, and a public post never joins a private record', async () => {
    const deps = await pipeline();
    const alerts = createAlertsService({ storage: feeds, allowPrivate: true, now: () => clock });
    const pub = (await feeds.feeds.add({ url: 'https://public.example/feed', name: 'Public outlet' }, clock)).feed;
    const priv = (await feeds.feeds.get((await alerts.addFeed(A, { url: 'https://private.example/feed', name: 'Private outlet' })).feed.id))!;
    await ingest(pub, doc([]), deps);
    await ingest(priv, doc([]), deps);
    const title = 'LockBit affiliate arrested in Poland over Zorblax hospital attacks';
    // The private post comes first, then the same story (and the same link) from the public feed...
    await ingest(priv, doc([item('https://news.example/lockbit-arrest', { title })]), deps);
    await ingest(pub, doc([item('https://news.example/lockbit-arrest', { title: `${title}, police say` })]), deps);
    // ...then the same story again from the private feed.
    await ingest(priv, doc([item('https://private.example/follow-up', { title: `Zorblax hospital attacks: LockBit affiliate arrested in Poland` })]), deps);
    const posts = store.db.prepare<[], { id: string; feed_id: number; incident_id: string }>('SELECT id, feed_id, incident_id FROM posts ORDER BY created_at, id').all();
    assert.equal(posts.length, 3);
    for (const p of posts) assert.equal(p.incident_id, p.id, `post ${p.id} of feed ${p.feed_id} made its own record`);
    const publicRecord = posts.find((p) => p.feed_id === pub.id)!.incident_id;
    assert.equal(store.getIncident(publicRecord)!.sources.length, 1, 'the public record carries no private source');
    const seeB = (await feeds.tenants.visibility('discord:1200000000000000002'))!;
    const seeA = (await feeds.tenants.visibility(A.tenant))!;
    const seeDm = (await feeds.tenants.visibility(undefined))!;
    for (const p of posts) {
      const isPrivate = p.feed_id === priv.id;
      assert.equal(seeB(p.incident_id), !isPrivate);
      assert.equal(seeDm(p.incident_id), !isPrivate);
      assert.equal(seeA(p.incident_id), true);
    }
    assert.equal(await feeds.tenants.visibility('operator'), undefined, 'the operator sees everything');
    // The answering service honours the predicate: B finds the public record only.
    const answer = service.answer('LockBit affiliate arrested Poland Zorblax', { visible: seeB });
    assert.equal(answer.incident?.id, publicRecord);
    assert.ok(!answer.candidates.some((c) => posts.some((p) => p.feed_id === priv.id && p.incident_id === c.id)));
    assert.ok(service.search('zorblax hospital', { visible: seeB }).every((h) => h.id === publicRecord));
    assert.ok(service.recent(10, { visible: seeB }).items.every((i) => i.id === publicRecord));
    assert.ok(service.autocomplete('Zorblax', 25, { visible: seeB }).every((c) => c.value === publicRecord));
    assert.equal(service.recent(10, { visible: seeA }).items.length, 3);
  });
});

describe('feed-failing notices and credentials', () => {
  it('notices go only to channels that can see the feed, and no notice, error or log line carries its credentials', async () => {
    const lines: string[] = [];
    const logger = createLogger('debug', { write: (l: string) => void lines.push(l) });
    const alerts = createAlertsService({ storage: feeds, allowPrivate: true, now: () => clock, logger });
    const url = 'https://carol:pa55w0rd@private.example/feed.xml?api_key=K3YK3Y&page=1';
    const { feed } = await alerts.addFeed(A, { url, name: 'Locked' });
    await alerts.subscribe(A, { platform: 'discord', channelId: 'A-all', filter: '' });
    await alerts.subscribe({ tenant: 'discord:1200000000000000002', platform: 'discord', userId: 'u' }, { platform: 'discord', channelId: 'B-all', filter: '' });
    await feeds.subscriptions.subscribe({ platform: 'slack', channelId: 'COPERATOR', filter: '' }, clock);
    const p = createPoller({
      storage: feeds,
      pipeline: await createPipeline({ storage: feeds, service, now: () => clock }),
      fetchFeed: async (u) => {
        throw new FeedFetchError(`${u}: HTTP 401 Unauthorized`, 'http', { httpStatus: 401 });
      },
      parseFeed: (body, o) => parseFeedDocument(body, o),
      pollSeconds: 600,
      allowPrivate: true,
      logger,
      now: () => clock,
      random: () => 0.5,
    });
    for (let i = 0; i < FAILING_AFTER; i++) clock = (await p.pollOnce(feed.id)).nextPollAt!;
    const notices = (await feeds.outbox.byStatus('pending')).filter((r) => r.kind === 'notice');
    assert.deepEqual(notices.map((r) => r.channelId), ['A-all'], 'only the channel of the tenant that owns the feed');
    assert.match(notices[0]!.text!, /private\.example\/feed\.xml.*is failing/);
    const status = await feedsCommand.handle({ subcommand: 'status', options: {} }, {
      incidents: service,
      commands: COMMANDS,
      alerts,
      channel: { platform: 'discord', channelId: 'A-all', tenant: A.tenant, userId: A.userId, canManageFeeds: false, canManageChannel: false },
    });
    const statusText = status.type === 'message' ? status.lines.join('\n') : '';
    assert.match(statusText, /FAILING after 10 failures: https:\/\/\*\*\*@private\.example\/feed\.xml\?api_key=\*\*\*&page=1: HTTP 401/);
    for (const text of [notices[0]!.text!, (await feeds.feeds.get(feed.id))!.lastError!, statusText, lines.join('')]) {
      assert.ok(!/pa55w0rd|K3YK3Y|carol/.test(text), text.slice(0, 300));
    }
    assert.ok(lines.some((l) => /poll failed/.test(l)), 'failures were logged');
  });

  it('redacts user info and secret query values, and leaves other URLs alone', async () => {
    assert.equal(redactUrl('https://user:pass@example.com/feed'), 'https://***@example.com/feed');
    assert.equal(redactUrl('https://example.com/rss?apikey=1&API_KEY=2&api-key=3&x=4'), 'https://example.com/rss?apikey=***&API_KEY=***&api-key=***&x=4');
    for (const key of ['token', 'key', 'sig', 'signature', 'secret', 'password', 'access_token', 'X-Amz-Signature', 'client_secret', 'feed_token']) {
      assert.equal(redactUrl(`https://e.com/f?${key}=abc&page=2`), `https://e.com/f?${key}=***&page=2`, key);
    }
    assert.equal(redactUrl('https://example.com/feed?page=2&sort=new'), 'https://example.com/feed?page=2&sort=new');
    assert.equal(redactUrl('not a url'), 'not a url');
    assert.equal(redactText('fetch of https://a:b@x.example/f?token=t failed (see https://x.example/help).'), 'fetch of https://***@x.example/f?token=*** failed (see https://x.example/help).');
  });

  it('the logger redacts URLs in any logged string or plain object', async () => {
    const lines: string[] = [];
    const logger = createLogger('info', { write: (l: string) => void lines.push(l) });
    logger.info({ feed: 'https://u:pw@h.example/f?token=zzz', nested: { url: 'https://h.example/?sig=qqq' } }, 'added https://u:pw@h.example/f');
    logger.warn('plain https://h.example/?secret=sss');
    const all = lines.join('');
    assert.ok(!/pw@|zzz|qqq|sss/.test(all), all);
    assert.match(all, /https:\/\/\*\*\*@h\.example\/f\?token=\*\*\*/);
  });
});

describe('migrating a database from before tenants', () => {
  it('feed-list feeds become FEEDS_FILE feeds, chat-added ones operator feeds, removed ones nobody\'s; subscriptions get their workspace as tenant', async () => {
    const path = join(dir, `v2-${++n}.db`);
    const raw = new Database(path);
    applyMigrations(raw, MIGRATIONS.filter((m) => m.version <= 2));
    const insertFeed = raw.prepare('INSERT INTO feeds (url, name, added_by, removed, created_at) VALUES (?, ?, ?, ?, ?)');
    insertFeed.run('https://list.example/feed', 'Listed', 'feed list', 0, T0);
    insertFeed.run('https://chat.example/feed', 'Chat added', 'admin', 0, T0);
    insertFeed.run('https://gone.example/feed', 'Removed', 'admin', 1, T0);
    const insertSub = raw.prepare('INSERT INTO subscriptions (platform, channel_id, workspace_id, filter, created_at) VALUES (?, ?, ?, ?, ?)');
    insertSub.run('discord', '111', '1100000000000000002', '', T0);
    insertSub.run('slack', 'C1', 'T0001', 'tag:x', T0);
    insertSub.run('discord', '222', null, '', T0);
    raw.close();
    const migrated = openStore(path);
    try {
      const fs = await storageOverStore(migrated);
      assert.deepEqual(
        (await fs.tenants.allOwners()).map((o) => `${o.feedId} ${o.tenant} ${o.source} ${o.addedBy}`),
        ['1 operator file FEEDS_FILE', '2 operator cli before tenants (admin)'],
      );
      assert.deepEqual((await fs.subscriptions.all()).map((s) => s.tenant), ['discord:1100000000000000002', 'slack:T0001', 'operator']);
      assert.deepEqual((await fs.feeds.visibleTo('discord:9')).map((f) => f.url), ['https://list.example/feed', 'https://chat.example/feed']);
      assert.equal((await fs.feeds.get(3))!.removed, true);
    } finally {
      migrated.close();
    }
  });
});

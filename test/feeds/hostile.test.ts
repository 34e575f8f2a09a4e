import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { COMMANDS, routeText } from '../../commands/index.js';
import feedsCommand from '../../commands/feeds.js';
import { createIncidentService } from '../../src/core/create-service.js';
import type { Incident } from '../../src/core/incident.js';
import type { IncidentService } from '../../src/core/incident-service.js';
import { createAlertsService } from '../../src/feeds/alerts-service.js';
import { runFeedsCli } from '../../src/feeds/cli.js';
import { fetchFeed } from '../../src/feeds/fetch.js';
import { createFeedParser, type FeedParserThread } from '../../src/feeds/parse-thread.js';
import { createPipeline, ingestFeedAsync, postIdFor, type PipelineDeps } from '../../src/feeds/pipeline.js';
import { createPoller } from '../../src/feeds/poller.js';
import type { FeedItem, ParsedFeed } from '../../src/feeds/types.js';
import type { FeedRow } from '../../src/store/repos/feeds.js';
import { storageOverStore, type Storage } from '../../src/store/storage.js';
import { openStore, type Store } from '../../src/store/store.js';
import { buildIncident, day } from '../fixtures/core/build-incident.js';
import { rssFeed, startFeedServer, type FeedServer } from '../support/feed-server.js';

const DAY = 86_400_000;
/** Today at noon: the real clock's day, so dates built from it are inside the retention window. */
const T0 = Math.floor(Date.now() / DAY) * DAY + 12 * 3_600_000;
let dir: string;
let n = 0;
let store: Store;
let feeds: Storage;
let service: IncidentService;
let clock = T0;
let logLines: string[];
let server: FeedServer;

const logger = () => pino({ level: 'debug' }, { write: (s: string) => void logLines.push(s) });

function item(i: number | string, over: Partial<FeedItem> = {}): FeedItem {
  return {
    key: `https://news.example/p/${i}`,
    link: `https://news.example/p/${i}`,
    title: `Story number ${i} about Zorblax widgets`,
    summary: `Summary ${i}.`,
    published: new Date(T0 - 3_600_000).toISOString(),
    authors: [],
    categories: [],
    ...over,
  };
}
const doc = (items: FeedItem[], title = 'News Example'): ParsedFeed => ({ format: 'rss', title, items });

function pipeline(over: Partial<Parameters<typeof createPipeline>[0]> = {}): Promise<PipelineDeps> {
  return createPipeline({ storage: feeds, service, now: () => clock, logger: logger(), ...over });
}
const ingest = async (feed: FeedRow, parsed: ParsedFeed, deps: PipelineDeps) => ingestFeedAsync((await feeds.feeds.get(feed.id))!, parsed, deps);

/** Watches the event loop while `fn` runs; resolves with fn's value and the longest stall seen (ms). */
async function longestStall<T>(fn: () => Promise<T>): Promise<{ value: T; stallMs: number }> {
  let last = performance.now();
  let worst = 0;
  const timer = setInterval(() => {
    const t = performance.now();
    worst = Math.max(worst, t - last);
    last = t;
  }, 5);
  try {
    const value = await fn();
    return { value, stallMs: worst };
  } finally {
    clearInterval(timer);
  }
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'incident-bot-hostile-'));
  server = await startFeedServer();
});
after(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(async () => {
  clock = T0;
  logLines = [];
  store = openStore(join(dir, `h-${++n}.db`));
  feeds = await storageOverStore(store);
  service = createIncidentService([]);
});
afterEach(() => store.close());

describe('hostile feed content: through fetch, the parse worker and the poller', { timeout: 60_000 }, () => {
  let parser: FeedParserThread;
  before(async () => {
    parser = createFeedParser();
  });
  after(() => parser.close());

  const poller = (deps: PipelineDeps) =>
    createPoller({ storage: feeds, pipeline: deps, fetchFeed, parseFeed: (b, o) => parser.parse(b, o), pollSeconds: 600, allowPrivate: true, logger: logger(), now: () => clock });

  it('the title bomb: a 1,000,000-word title is stored clipped, the other items arrive, nothing stalls', async () => {
    const words = Array.from({ length: 1_000_000 }, (_, i) => `word${i % 977}`).join(' ');
    const pub = new Date(T0 - 3_600_000);
    server.route('/bomb.xml', {
      body: rssFeed([
        { guid: 'urn:bomb:1', link: 'https://bomb.example/1', title: 'An ordinary headline about Quarrelsome ransomware', pubDate: pub },
        { guid: 'urn:bomb:2', link: 'https://bomb.example/2', title: words, description: 'The bomb.', pubDate: pub },
        { guid: 'urn:bomb:3', link: 'https://bomb.example/3', title: 'Another ordinary headline about a Flibbertigibbet breach', pubDate: pub },
      ]),
    });
    const deps = await pipeline();
    const feed = (await feeds.feeds.add({ url: server.url('/bomb.xml'), name: 'Bomb' }, clock)).feed;
    const { value: outcome, stallMs } = await longestStall(() => poller(deps).pollOnce(feed.id));
    assert.equal(outcome.status, 'ok', outcome.error);
    assert.equal(await feeds.posts.count(feed.id), 3, 'every item arrives');
    const bomb = (await feeds.posts.get(postIdFor(feed.url, 'urn:bomb:2')))!;
    assert.ok(bomb.title.length <= 300, `the title is clipped to 300 characters (got ${bomb.title.length})`);
    assert.match(bomb.title, /^word0 word1 word2/);
    assert.ok(store.getIncident(bomb.incidentId)!.title.length <= 300, 'and so is the record');
    assert.equal(service.answer('Flibbertigibbet breach').status, 'found', 'the others are answerable');
    // Generous: the bot's own target is far lower (the bench measures it); this catches a parse or ingest that blocks.
    assert.ok(stallMs < 1000, `the event loop stalled ${stallMs.toFixed(0)} ms`);
  });

  it('deep HTML: an item nested 50,000 elements deep is skipped with a logged reason, the others are stored', async () => {
    const deep = '<div>'.repeat(50_000) + 'too deep' + '</div>'.repeat(50_000);
    const pub = new Date(T0 - 3_600_000);
    server.route('/deep.xml', {
      body: rssFeed([
        { guid: 'urn:deep:1', link: 'https://deep.example/1', title: 'First fine item', description: '<p>Fine.</p>', pubDate: pub },
        { guid: 'urn:deep:2', link: 'https://deep.example/2', title: 'The nested one', description: deep, pubDate: pub },
        { guid: 'urn:deep:3', link: 'https://deep.example/3', title: 'Third fine item', description: '<p>Also fine.</p>', pubDate: pub },
      ]),
    });
    const deps = await pipeline();
    const feed = (await feeds.feeds.add({ url: server.url('/deep.xml'), name: 'Deep' }, clock)).feed;
    const p = poller(deps);
    const outcome = await p.pollOnce(feed.id);
    assert.equal(outcome.status, 'ok', outcome.error);
    assert.deepEqual(
      [(await feeds.posts.get(postIdFor(feed.url, 'urn:deep:1')))?.title, (await feeds.posts.get(postIdFor(feed.url, 'urn:deep:3')))?.title],
      ['First fine item', 'Third fine item'],
    );
    assert.equal(await feeds.posts.get(postIdFor(feed.url, 'urn:deep:2')), undefined, 'the nested item is not stored');
    assert.equal(outcome.ingest!.skippedBy.unreadable, 1);
    const line = logLines.find((l) => /unreadable/.test(l));
    assert.ok(line, 'the skip is logged');
    assert.match(line!, /urn:deep:2/);
    assert.match(line!, /nested too deeply/);
    // Logged once: its key is remembered, so the next poll of a changed document does not report it again.
    logLines = [];
    server.route('/deep.xml', { body: rssFeed([{ guid: 'urn:deep:2', title: 'The nested one', description: deep }, { guid: 'urn:deep:1', title: 'First fine item' }]) });
    clock += 60_000;
    assert.equal((await p.pollOnce(feed.id)).status, 'ok');
    assert.equal(logLines.filter((l) => /unreadable/.test(l)).length, 0);
  });
});

describe('hostile feed content: the pipeline', () => {
  it('the flood: 30,000 new ids every poll store and alert at most FEED_MAX_ITEMS_PER_POLL, feeds status shows the skip, posts stay within the cap', async () => {
    const deps = await pipeline({ bounds: { maxItemsPerPoll: 200, maxPostsPerFeed: 500 } });
    const feed = (await feeds.feeds.add({ url: 'https://flood.example/feed', name: 'Flood' }, clock)).feed;
    await feeds.subscriptions.subscribe({ platform: 'discord', channelId: '100', filter: '' }, clock);
    const flood = (poll: number): ParsedFeed =>
      doc(
        Array.from({ length: 30_000 }, (_, i) => ({
          key: `urn:flood:${poll}:${i}`,
          link: `https://flood.example/${poll}/${i}`,
          title: `Flood item ${poll}-${i} Zorblax`,
          summary: 'Noise.',
          published: new Date(clock - i * 1000).toISOString(),
          authors: [],
          categories: [],
        })),
        'Flood',
      );
    for (let poll = 1; poll <= 3; poll++) {
      clock += 600_000;
      const before = (await feeds.outbox.byStatus('pending')).length;
      const r = await ingest(feed, flood(poll), deps);
      assert.equal(r.fresh, 30_000, `poll ${poll}`);
      assert.equal(r.newIncidents.length, 200, `poll ${poll}: at most 200 stored`);
      assert.equal(r.skippedBy.limit, 29_800);
      assert.equal((await feeds.outbox.byStatus('pending')).length - before, poll === 1 ? 0 : 200, `poll ${poll}: at most 200 alerted`);
      assert.ok(r.newIncidents.includes(postIdFor(feed.url, `urn:flood:${poll}:0`)), 'the newest are the ones kept');
      assert.ok(await feeds.posts.count(feed.id) <= 500, `poll ${poll}: ${await feeds.posts.count(feed.id)} posts stored, over the cap`);
    }
    assert.equal(await feeds.posts.count(feed.id), 500, 'the cap: the oldest posts without a pending alert were pruned');
    assert.equal(service.size, 500, 'pruned posts left the live index too');
    const keys = (store.db.prepare('SELECT count(*) AS n FROM feed_items WHERE feed_id = ?').get(feed.id) as { n: number }).n;
    assert.ok(keys <= 30_000 + 10_000 + 600, `the item keys stay bounded (${keys})`);

    const alerts = createAlertsService({ storage: feeds, allowPrivate: true, now: () => clock });
    const reply = await feedsCommand.handle({ subcommand: 'status', options: {} }, { incidents: service, commands: COMMANDS, alerts });
    assert.equal(reply.type, 'message');
    const text = reply.type === 'message' ? reply.lines.join('\n') : '';
    assert.match(text, /skipped.*29800 new items in the last poll \(29800 over the limit of 200 per poll\), 89400 in all/);
    let cli = '';
    // The CLI runs the same command as chat, as the operator.
    assert.equal(await runFeedsCli(['status'], { alerts, write: (t) => void (cli += t) }), 0);
    assert.match(cli, /skipped.*29800 new items in the last poll \(29800 over the limit of 200 per poll\), 89400 in all/);
  });

  it('poisoning through a matching link: a curated or imported record keeps its title, summary, tags and entities', async () => {
    const curated = buildIncident({
      id: 'seed:harbour-ransomware',
      title: 'Quokkaware ransomware at the Dunmore harbour',
      summary: 'Quokkaware encrypted the harbour operator’s systems.',
      date: day(new Date(T0 - DAY).toISOString().slice(0, 10)),
      tags: ['type:incident', 'ransomware'],
      entities: { actors: ['Quokka Group'], victims: ['Dunmore Harbour'], software: ['Quokkaware'], cves: ['CVE-2024-1111'], countries: ['IE'] },
      sources: [{ url: 'https://curated.example/harbour', publisher: 'Curated' }],
    });
    const imported = buildIncident({
      id: 'kev:CVE-2024-2222',
      kind: 'vulnerability',
      title: 'Zorblax Gateway path traversal',
      summary: 'A path traversal in Zorblax Gateway.',
      tags: ['type:vulnerability'],
      entities: { actors: [], victims: [], software: ['Zorblax Gateway'], cves: ['CVE-2024-2222'], countries: [] },
      sources: [{ url: 'https://imported.example/kev/2222', publisher: 'CISA' }],
    });
    store.importIncidents([imported], { origin: 'file:kev.json', format: 'kev' });
    service = createIncidentService([curated, imported]);
    const deps = await pipeline({ incidents: [curated] });
    const feed = (await feeds.feeds.add({ url: 'https://evil.example/feed', name: 'Evil' }, clock)).feed;
    await ingest(feed, doc([]), deps);
    const poison = (i: number, link: string, title: string): FeedItem =>
      item(`evil-${i}`, { link, title, summary: `${title}. Mentions CVE-2099-9999 and lots of nonsense.`, categories: ['Injected', 'Spam tag'] });
    const r = await ingest(
      feed,
      doc([
        poison(1, 'https://curated.example/harbour?utm_source=evil', 'Totally different title with CVE-2099-9999'),
        poison(2, 'https://imported.example/kev/2222', 'Rewritten name for the gateway CVE-2099-9998'),
        // The same story told again (no shared link), with a link the schema refuses: at most a source is added, and
        // the record's own links survive.
        poison(3, 'https://exa mple.com/bad link', 'Quokkaware ransomware hits the Dunmore harbour'),
      ]),
      deps,
    );
    assert.deepEqual(r.attached.map((a) => a.incidentId).sort(), ['kev:CVE-2024-2222', 'seed:harbour-ransomware', 'seed:harbour-ransomware']);
    for (const [before, label] of [[curated, 'curated'], [imported, 'imported']] as [Incident, string][]) {
      for (const after of [service.get(before.id)!, store.getIncident(before.id)].filter((x): x is Incident => x !== undefined)) {
        assert.equal(after.title, before.title, `${label} title`);
        assert.equal(after.summary, before.summary, `${label} summary`);
        assert.deepEqual(after.tags, before.tags, `${label} tags`);
        assert.deepEqual(after.entities, before.entities, `${label} entities`);
        assert.deepEqual(after.sources.map((s) => s.url), before.sources.map((s) => s.url), `${label} sources and their links`);
      }
    }
    assert.equal(store.getIncident(imported.id) && (store.db.prepare('SELECT origin FROM incidents WHERE id = ?').get(imported.id) as { origin: string }).origin, 'file:kev.json');
    assert.equal((await feeds.posts.get(postIdFor(feed.url, item('evil-1').key)))!.incidentId, curated.id, 'the post still tells that story');
  });

  it('another outlet’s telling of a story adds its link as a source, and nothing else', async () => {
    const deps = await pipeline();
    const a = (await feeds.feeds.add({ url: 'https://a.example/feed', name: 'Outlet A' }, clock)).feed;
    const b = (await feeds.feeds.add({ url: 'https://b.example/feed', name: 'Outlet B' }, clock)).feed;
    await ingest(a, doc([]), deps);
    await ingest(b, doc([]), deps);
    await ingest(a, doc([item('a1', { link: 'https://a.example/lockbit-hits-acme', title: 'LockBit ransomware gang hits Acme Corp, leaks 2TB of data', categories: ['Ransomware'] })]), deps);
    const id = postIdFor(a.url, item('a1').key);
    const first = store.getIncident(id)!;
    await ingest(b, doc([item('b1', { link: 'https://b.example/story/9', title: 'Acme Corp hit by LockBit ransomware gang, 2TB of data leaked CVE-2024-3333', categories: ['Injected'] })]), deps);
    const after = store.getIncident(id)!;
    assert.deepEqual(after.sources.map((s) => s.url), ['https://a.example/lockbit-hits-acme', 'https://b.example/story/9']);
    assert.deepEqual(after.tags, first.tags);
    assert.deepEqual(after.entities, first.entities);
    assert.equal(after.title, first.title);
  });

  it('far-future dates are clamped to the fetch time: such a post does not top /incidents recent, nor empty the story index', async () => {
    const deps = await pipeline({ bounds: { maxItemsPerPoll: 5000 } });
    const feed = (await feeds.feeds.add({ url: 'https://future.example/feed', name: 'Future' }, clock)).feed;
    const other = (await feeds.feeds.add({ url: 'https://other.example/feed', name: 'Other' }, clock)).feed;
    await ingest(feed, doc([]), deps);
    await ingest(other, doc([]), deps);
    const r = await ingest(
      feed,
      doc([
        item('f1', { title: 'Pinned forever: a post from 2099', published: '2099-12-31T00:00:00.000Z', updated: '2099-12-31T00:00:00.000Z' }),
        item('f2', { title: 'Vexmoor botnet takedown by Europol and partners', published: new Date(T0 - 2 * 3_600_000).toISOString() }),
      ]),
      deps,
    );
    assert.equal(r.clamped, 1);
    const pinned = (await feeds.posts.get(postIdFor(feed.url, item('f1').key)))!;
    assert.equal(pinned.published, new Date(T0).toISOString(), 'the date is the fetch time');
    assert.equal(store.getIncident(pinned.incidentId)!.date?.value, new Date(T0).toISOString().slice(0, 10));

    // Two days later another post arrives: it, not the 2099 one, tops /incidents recent.
    clock = T0 + 2 * DAY;
    await ingest(feed, doc([item('f3', { title: 'Newer: Glimmerfen data leak confirmed', published: new Date(clock - 3_600_000).toISOString() })]), deps);
    const { command, input } = routeText('incidents recent 3');
    const reply = await command.handle(input, { incidents: service, commands: COMMANDS });
    assert.ok(reply.type === 'list', 'a list');
    assert.equal(reply.type === 'list' && reply.list.items[0]?.title, 'Newer: Glimmerfen data leak confirmed');

    // Thousands of posts later (the story index prunes by its newest date), other coverage of the Vexmoor story still
    // finds it: a 2099 date did not make every real story look years old.
    clock = T0;
    await ingest(feed, doc(Array.from({ length: 2100 }, (_, i) => item(`filler-${i}`, { title: `Filler ${i} Quillon${i} item` }))), deps);
    const told = await ingest(other, doc([item('o1', { link: 'https://other.example/vexmoor', title: 'Europol and partners take down the Vexmoor botnet' })]), deps);
    assert.deepEqual(told.attached.map((x) => x.incidentId), [postIdFor(feed.url, item('f2').key)]);
  });
});


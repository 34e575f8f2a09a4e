import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createServedService } from '../src/core/create-service.js';
import { parseIncident, type Incident } from '../src/core/incident.js';
import type { StoryPost } from '../src/core/relations.js';
import { buildServed } from '../src/core/served.js';
import { createPipeline, ingestFeed, postIdFor, type PipelineDeps } from '../src/feeds/pipeline.js';
import { pruneFeed } from '../src/feeds/retention.js';
import type { FeedItem } from '../src/feeds/types.js';
import { startReplication, type Replication } from '../src/replication.js';
import type { Db } from '../src/store/db.js';
import { applyPgMigrations } from '../src/store/pg-migrations.js';
import type { FeedRow } from '../src/store/repos/feeds.js';
import { dbCases, TEST_DATABASE_URL } from './support/databases.js';
import { postsReplica } from './support/posts-replica.js';

// Made-up records: a group, and a campaign attributed to it whose report a feed later links to.
const RECORDS: Incident[] = [
  parseIncident({ id: 'test:G9', kind: 'group', title: 'Zorblax Spider', aliases: ['Widget Bear'], summary: 'Zorblax Spider is a financially motivated group.', sources: [{ url: 'https://intel.example/zorblax' }] }),
  parseIncident({
    id: 'test:C9', kind: 'incident', title: 'Operation Dim Lantern', date: { value: '2024-03', precision: 'month' },
    summary: 'Operation Dim Lantern was an intrusion set against freight firms.', tags: ['attributed-to:Zorblax Spider'], sources: [{ url: 'https://intel.example/dim-lantern' }],
  }),
];
const T0 = Date.now();
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const TENANT = 'discord:1100000000000000002';
const OTHER = 'discord:1200000000000000002';
const WHATS_NEW = "what's new with Zorblax Spider";

/** Polls `check` until it holds (fails after 5 s; how fast it holds is measured by the fleet bench, not here). */
async function eventually(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function item(link: string, title: string, hoursAgo: number): FeedItem {
  return { key: link, guid: link, link, title, summary: `${title}.`, published: new Date(T0 - hoursAgo * HOUR).toISOString(), authors: [], categories: [] };
}

const postgres = dbCases('replication posts').find((c) => c.name === 'postgres')!;

describe('feed posts across two replicas on one PostgreSQL', { skip: postgres.skip }, () => {
  let db: Db;
  const replicas: Replication[] = [];

  /** A replica as the app makes one: its own storage (tenants snapshot included), served index and change notices. */
  async function replica(id: string) {
    const { storage, core, replication } = await postsReplica(db, TEST_DATABASE_URL, id, RECORDS);
    replicas.push(replication);
    /** The ids listed for "what's new with Zorblax Spider", as a tenant sees them. */
    const listed = (tenant: string) => core.answer(WHATS_NEW, { visible: storage.tenants.visibility(tenant) }).items?.map((i) => i.id) ?? [];
    return { storage, core, replication, listed };
  }

  before(async () => {
    db = await postgres.open();
    await applyPgMigrations(db);
  });
  after(async () => {
    for (const r of replicas) await r.close();
    await postgres.cleanup();
  });

  it('a post that joined a known story on one replica is listed on the other, for every tenant but in no private feed, and leaves it when pruned', async () => {
    const a = await replica('a');
    const b = await replica('b');
    const deps: PipelineDeps = await createPipeline({ storage: a.storage, service: a.replication.service, now: () => T0, incidents: RECORDS });
    const ingest = async (feed: FeedRow, items: FeedItem[], on = deps) => ingestFeed((await a.storage.feeds.get(feed.id))!, { format: 'rss', title: 'Outlet', items }, on);
    const outlet = (await a.storage.feeds.add({ url: 'https://outlet.example/feed', name: 'Outlet' }, T0)).feed;
    const mine = (await a.storage.feeds.add({ url: 'https://private.example/feed' }, T0, 'u1', { tenant: TENANT, source: 'chat' })).feed;
    for (const f of [outlet, mine]) await ingest(f, []);

    await ingest(outlet, [item('https://intel.example/dim-lantern', 'Fresh details on the Dim Lantern intrusions', 3)]);
    const lantern = postIdFor(outlet.url, 'https://intel.example/dim-lantern');
    assert.equal((await a.storage.posts.get(lantern))?.incidentId, 'test:C9', 'the post joined the campaign: no record of its own');
    assert.equal(a.listed(OTHER)[0], lantern, 'the ingesting replica lists it at once');
    await eventually(() => b.listed(OTHER)[0] === lantern, "replica b to list the post in what's new");
    assert.equal(b.listed(TENANT)[0], lantern, 'for every tenant');

    // A private feed's post makes a record of its own, private to the feed's owners, on every replica.
    await ingest(mine, [item('https://private.example/z', 'Zorblax Spider hits a private Acme subsidiary', 1)]);
    const privatePost = postIdFor(mine.url, 'https://private.example/z');
    await eventually(() => b.core.get(privatePost) !== undefined, 'replica b to hold the private record');
    await a.replication.settled();
    await b.replication.settled();
    for (const r of [a, b]) {
      assert.ok(!r.listed(OTHER).includes(privatePost), "another tenant never sees a private feed's post");
      assert.equal(r.listed(TENANT)[0], privatePost, "the feed's owner sees it, newest first");
    }

    // Retention on the ingesting replica: far past the retention, every post of the outlet goes.
    const pruned = await pruneFeed(outlet.id, { ...deps, now: () => T0 + 400 * DAY });
    assert.equal(pruned.posts, 1);
    assert.ok(!a.listed(OTHER).includes(lantern));
    await eventually(() => !b.listed(OTHER).includes(lantern), 'replica b to drop the pruned post');
    assert.ok(b.core.get('test:C9'), 'the story it reported stays');
  });

  it('after notices may have been missed, a replica catches up the story posts stored meanwhile', async () => {
    const a = await replica('gap-a');
    const b = await replica('gap-b');
    const { feed } = await a.storage.feeds.add({ url: 'https://quiet.example/feed' }, T0);
    // Stored without a notice, as while b's listening connection was down.
    const post = { id: 'post:quiet-1', feedId: feed.id, incidentId: 'test:C9', url: 'https://quiet.example/1', urlKey: 'quiet.example/1', title: 'Dim Lantern, quietly', published: new Date(T0).toISOString(), summary: 'x', createdAt: Date.now() };
    await a.storage.posts.insertMany([post], true);
    assert.ok(!b.listed(OTHER).includes(post.id));
    // A change too large to name goes out as a gap: every listener catches up from the store.
    await a.replication.bus.publish('posts', ['x'.repeat(8_000)]);
    await eventually(() => b.listed(OTHER).includes(post.id), 'replica b to catch the post up');
  });
});

describe('feed posts with one process on SQLite', () => {
  it('are added once, by the writer, and never read back from the store', async () => {
    const sqlite = dbCases('replication posts sqlite').find((c) => c.name === 'sqlite')!;
    const db = await sqlite.open();
    try {
      const served = buildServed({ bundled: RECORDS });
      const core = createServedService(served);
      const added: string[] = [];
      const counted = { ...core, addPosts: (posts: readonly StoryPost[]) => (added.push(...posts.map((p) => p.postId)), core.addPosts!(posts)) };
      let reads = 0;
      const posts = { storyPostsById: async () => (reads++, []), storyPostsSince: async () => (reads++, []) };
      const r = await startReplication({ db, replicaId: 'solo', service: counted, canonical: served.canonical, read: () => new Map(), posts });
      const post: StoryPost = { postId: 'feed-post:1', incidentId: 'test:C9', title: 'Dim Lantern, a year on', url: 'https://news.example/1', published: new Date(T0).toISOString(), createdAt: T0, summary: 'More.' };
      r.service.addPosts!([post]);
      await new Promise((resolve) => setImmediate(resolve));
      await r.settled();
      assert.deepEqual(added, ['feed-post:1'], 'added once');
      assert.equal(reads, 0, 'its own notice is not read back');
      assert.equal(core.answer(WHATS_NEW).items?.[0]?.id, 'feed-post:1');
      await r.close();
    } finally {
      await sqlite.cleanup();
    }
  });
});

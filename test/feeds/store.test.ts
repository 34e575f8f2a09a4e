import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { applyMigrations, MIGRATIONS } from '../../src/store/migrations.js';
import { newIdempotencyKey } from '../../src/store/repos/outbox.js';
import { storageOverStore, type Storage } from '../../src/store/storage.js';
import { openStore, type Store } from '../../src/store/store.js';

let dir: string;
let n = 0;
const fresh = () => join(dir, `feeds-${++n}.db`);
const T0 = Date.UTC(2025, 6, 1, 12);

async function withFeedStore<T>(fn: (fs: Storage, store: Store) => Promise<T>, path = fresh()): Promise<T> {
  const store = openStore(path);
  try {
    return await fn(await storageOverStore(store), store);
  } finally {
    store.close();
  }
}

async function addPost(fs: Storage, feedId: number, id: string, incidentId = id): Promise<void> {
  await fs.posts.insert({ id, feedId, incidentId, url: `https://example.com/${id}`, urlKey: `example.com/${id}`, title: id, published: '2025-07-01T00:00:00.000Z', summary: 's', createdAt: T0 });
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'incident-bot-feedstore-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('migration 2', () => {
  it('leaves migration 1 as released and appends step 2', async () => {
    assert.equal(MIGRATIONS[0]!.version, 1);
    assert.equal(MIGRATIONS[1]!.version, 2);
    assert.match(MIGRATIONS[0]!.sql, /CREATE TABLE incidents/);
    assert.doesNotMatch(MIGRATIONS[0]!.sql, /feeds/);
  });

  it('upgrades a version-1 file without touching its incidents', async () => {
    const path = fresh();
    const raw = new Database(path);
    applyMigrations(raw, MIGRATIONS.slice(0, 1));
    raw.prepare("INSERT INTO incidents (id, kind, origin, data, updated_at) VALUES ('t:a', 'incident', 'seed', ?, 'x')").run(
      JSON.stringify({ id: 't:a', kind: 'incident', title: 'A', summary: 'a', date: null, aliases: [], sources: [], tags: [], entities: { actors: [], victims: [], software: [], cves: [], countries: [] }, related: [] }),
    );
    raw.close();
    await withFeedStore(async (fs, store) => {
      assert.equal(store.getIncident('t:a')?.title, 'A');
      const tables = store.db.prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'table'").all().map((r) => r.name);
      for (const t of ['feeds', 'feed_items', 'posts', 'subscriptions', 'outbox', 'alert_threads']) assert.ok(tables.includes(t), t);
      assert.deepEqual(await fs.feeds.list(), []);
    }, path);
  });
});

describe('FeedStore feeds', () => {
  it('adds, lists, removes as a tombstone (items kept), syncs FEEDS_FILE as the truth, and revives on an add', async () => {
    await withFeedStore(async (fs) => {
      const { feed, added } = await fs.feeds.add({ url: 'https://a.example/feed', name: 'A' }, T0, 'admin');
      assert.equal(added, true);
      assert.equal((await fs.feeds.add({ url: 'https://a.example/feed' }, T0)).added, false);
      assert.deepEqual(await fs.feeds.syncOperatorFeeds([{ url: 'https://a.example/feed' }, { url: 'https://b.example/rss', intervalSeconds: 60 }], T0), { added: 2, dropped: 0, droppedUrls: [] });
      assert.deepEqual((await fs.feeds.list()).map((f) => f.url), ['https://a.example/feed', 'https://b.example/rss']);
      assert.equal((await fs.feeds.list())[1]!.intervalSeconds, 60);
      assert.deepEqual((await fs.tenants.ownersOf(feed.id)).map((o) => `${o.tenant}/${o.source}`), ['operator/file'], 'a CLI feed the file lists becomes a FEEDS_FILE feed');

      await fs.feeds.update(feed.id, { seeded: true, etag: '"v1"', addPolls: 2, addNotModified: 1 });
      assert.equal(await fs.feeds.remove(feed.id), true);
      assert.equal(await fs.feeds.remove(feed.id), false);
      assert.deepEqual((await fs.feeds.list()).map((f) => f.url), ['https://b.example/rss']);
      assert.equal((await fs.feeds.syncOperatorFeeds([{ url: 'https://b.example/rss' }], T0)).added, 0, 'a feed the file does not list stays removed');
      assert.deepEqual((await fs.feeds.list()).map((f) => f.url), ['https://b.example/rss']);

      const revived = await fs.feeds.add({ url: 'https://a.example/feed' }, T0, 'admin');
      assert.equal(revived.added, true);
      assert.equal(revived.feed.id, feed.id, 'same row: its item keys stay known');
      assert.equal(revived.feed.seeded, false, 'starts over as a seeding poll');
      assert.equal(revived.feed.etag, null);
      assert.equal(revived.feed.name, 'A');
    });
  });

  it('reports status with the 304 rate and ISO times', async () => {
    await withFeedStore(async (fs) => {
      const { feed } = await fs.feeds.add({ url: 'https://a.example/feed' }, T0);
      await fs.feeds.update(feed.id, { addPolls: 4, addNotModified: 3, lastSuccessAt: T0, nextPollAt: T0 + 600_000, addItemsSeen: 12, lastError: 'HTTP 500', lastErrorAt: T0 - 1000 });
      const st = await fs.feeds.status((await fs.feeds.get(feed.id))!);
      assert.equal(st.notModifiedRate, 0.75);
      assert.equal(st.itemsSeen, 12);
      assert.equal(st.lastSuccessAt, new Date(T0).toISOString());
      assert.equal(st.nextPollAt, new Date(T0 + 600_000).toISOString());
      assert.equal(st.lastError, 'HTTP 500');
    });
  });

  it('lists due feeds: never polled first, then by next poll time', async () => {
    await withFeedStore(async (fs) => {
      const a = (await fs.feeds.add({ url: 'https://a.example/1' }, T0)).feed;
      const b = (await fs.feeds.add({ url: 'https://a.example/2' }, T0)).feed;
      const c = (await fs.feeds.add({ url: 'https://a.example/3' }, T0)).feed;
      await fs.feeds.update(a.id, { nextPollAt: T0 - 10 });
      await fs.feeds.update(b.id, { nextPollAt: T0 + 10 });
      assert.deepEqual((await fs.feeds.due(T0)).map((f) => f.id), [c.id, a.id]);
      assert.equal(await fs.feeds.nextPollAt(), 0);
    });
  });
});

describe('FeedStore subscriptions and outbox', () => {
  it('keeps one subscription per channel and filter, updating its role', async () => {
    await withFeedStore(async (fs) => {
      const s1 = await fs.subscriptions.subscribe({ platform: 'discord', channelId: '1', filter: 'tag:ransomware' }, T0);
      const s2 = await fs.subscriptions.subscribe({ platform: 'discord', channelId: '1', filter: 'tag:ransomware', roleId: '99' }, T0);
      assert.equal(s1.id, s2.id);
      assert.equal(s2.roleId, '99');
      await fs.subscriptions.subscribe({ platform: 'discord', channelId: '1', filter: '' }, T0);
      await fs.subscriptions.subscribe({ platform: 'slack', channelId: 'C1', filter: '' }, T0);
      assert.equal((await fs.subscriptions.list('discord', '1')).length, 2);
      assert.equal(await fs.subscriptions.unsubscribe('discord', '1', s1.id), 1);
      assert.equal(await fs.subscriptions.unsubscribe('discord', '1', s1.id), 0);
      assert.equal(await fs.subscriptions.unsubscribe('discord', '1'), 1);
      assert.deepEqual((await fs.subscriptions.all()).map((s) => s.platform), ['slack']);
    });
  });

  it('queues one row per (subscription, post) and per (channel, post); keys fit a Discord nonce', async () => {
    await withFeedStore(async (fs) => {
      const feed = (await fs.feeds.add({ url: 'https://a.example/feed' }, T0)).feed;
      await addPost(fs, feed.id, 'post:1');
      const a = await fs.subscriptions.subscribe({ platform: 'discord', channelId: '1', filter: '' }, T0);
      const b = await fs.subscriptions.subscribe({ platform: 'discord', channelId: '1', filter: 'x' }, T0);
      const base = { platform: 'discord' as const, channelId: '1', postId: 'post:1', incidentId: 'post:1', kind: 'alert' as const, nextAttemptAt: T0, createdAt: T0 };
      assert.ok(await fs.outbox.enqueue({ ...base, subscriptionId: a.id }));
      assert.equal(await fs.outbox.enqueue({ ...base, subscriptionId: a.id }), undefined);
      assert.equal(await fs.outbox.enqueue({ ...base, subscriptionId: b.id }), undefined, 'same channel, same post');
      const [row] = await fs.outbox.due(T0);
      assert.ok(row!.idempotencyKey.length <= 25);
      assert.notEqual(newIdempotencyKey(), newIdempotencyKey());
      // notices have no post: several may wait for one channel
      assert.ok(await fs.outbox.enqueue({ ...base, postId: undefined, incidentId: undefined, kind: 'notice', text: 'n1', subscriptionId: a.id }));
      assert.ok(await fs.outbox.enqueue({ ...base, postId: undefined, incidentId: undefined, kind: 'notice', text: 'n2', subscriptionId: a.id }));
    });
  });

  it('moves a row pending -> sending -> sent once, recording the first alert of an incident in the channel', async () => {
    await withFeedStore(async (fs) => {
      const feed = (await fs.feeds.add({ url: 'https://a.example/feed' }, T0)).feed;
      await addPost(fs, feed.id, 'post:1', 'inc:1');
      await addPost(fs, feed.id, 'post:2', 'inc:1');
      const sub = await fs.subscriptions.subscribe({ platform: 'discord', channelId: '1', filter: '' }, T0);
      const id = (await fs.outbox.enqueue({ subscriptionId: sub.id, platform: 'discord', channelId: '1', postId: 'post:1', incidentId: 'inc:1', kind: 'alert', nextAttemptAt: T0, createdAt: T0 }))!;
      const claimToken = await fs.outbox.claim(id, null);
      assert.equal(typeof claimToken, 'string');
      assert.equal(await fs.outbox.claim(id, null), undefined, 'a second worker cannot take it');
      const row = { ...(await fs.outbox.get(id))!, claimToken: claimToken! };
      assert.deepEqual((await fs.outbox.byStatus('sending')).map((r) => r.id), [id]);
      assert.equal(await fs.outbox.markSent(row, 'm-1', T0), true);
      assert.equal(await fs.outbox.markSent(row, 'm-2', T0), false);
      assert.equal((await fs.outbox.get(id))!.messageId, 'm-1');
      assert.equal(await fs.outbox.threadOf('discord', '1', 'inc:1'), 'm-1');
      const id2 = (await fs.outbox.enqueue({ subscriptionId: sub.id, platform: 'discord', channelId: '1', postId: 'post:2', incidentId: 'inc:1', kind: 'alert', nextAttemptAt: T0, createdAt: T0 }))!;
      await fs.outbox.claim(id2, 'm-1');
      await fs.outbox.markSent((await fs.outbox.get(id2))!, 'm-3', T0);
      assert.equal(await fs.outbox.threadOf('discord', '1', 'inc:1'), 'm-1', 'the thread stays on the first alert');
      assert.equal(await fs.outbox.recentAlertCount('discord', '1', T0 - 1), 2);
    });
  });

  it('folds rows into one pending digest per channel and deletes pending rows with their subscription', async () => {
    await withFeedStore(async (fs) => {
      const feed = (await fs.feeds.add({ url: 'https://a.example/feed' }, T0)).feed;
      const sub = await fs.subscriptions.subscribe({ platform: 'slack', channelId: 'C1', filter: '', roleId: undefined }, T0);
      const ids: number[] = [];
      for (let i = 0; i < 4; i++) {
        await addPost(fs, feed.id, `post:${i}`);
        ids.push((await fs.outbox.enqueue({ subscriptionId: sub.id, platform: 'slack', channelId: 'C1', postId: `post:${i}`, incidentId: `post:${i}`, kind: 'alert', nextAttemptAt: T0, createdAt: T0 }))!);
      }
      const rows = [];
      for (const id of ids) rows.push((await fs.outbox.get(id))!);
      const d1 = (await fs.outbox.foldIntoDigest(rows.slice(0, 2), T0))!;
      const d2 = (await fs.outbox.foldIntoDigest(rows.slice(2), T0))!;
      assert.equal(d1, d2, 'one pending digest collects all folded rows');
      assert.deepEqual((await fs.outbox.foldedInto(d1)).map((r) => r.postId), ['post:0', 'post:1', 'post:2', 'post:3']);
      await fs.outbox.claim(d1, null);
      await fs.outbox.markSent((await fs.outbox.get(d1))!, 'digest-1', T0);
      assert.ok((await fs.outbox.foldedInto(d1)).every((r) => r.sentAt === T0));
      assert.equal(await fs.subscriptions.unsubscribe('slack', 'C1'), 1);
      assert.equal((await fs.outbox.counts()).length, 0);
    });
  });

  it('shares transactions with the core store: a throw rolls back both', async () => {
    await withFeedStore(async (fs, store) => {
      const feed = (await fs.feeds.add({ url: 'https://a.example/feed' }, T0)).feed;
      await assert.rejects(
        fs.db.transaction(async () => {
          await addPost(fs, feed.id, 'post:x');
          store.importIncidents([{ id: 'post:x', kind: 'incident', title: 'X', summary: 'x' }], { origin: 'feed:1', format: 'feed' });
          throw new Error('boom');
        }),
      );
      assert.equal(await fs.posts.get('post:x'), undefined);
      assert.equal(store.getIncident('post:x'), undefined);
    });
  });
});

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { applyMigrations, MIGRATIONS } from '../../src/store/migrations.js';
import { storageOverStore } from '../../src/store/storage.js';
import { openStore, type Store } from '../../src/store/store.js';

let dir: string;
let n = 0;
const fresh = () => join(dir, `feeds-${++n}.db`);
const T0 = Date.UTC(2025, 6, 1, 12);

function withFeedStore<T>(fn: (fs: FeedStore, store: Store) => T, path = fresh()): T {
  const store = openStore(path);
  try {
    return fn(await storageOverStore(store), store);
  } finally {
    store.close();
  }
}

function addPost(fs: FeedStore, feedId: number, id: string, incidentId = id): void {
  fs.insertPost({ id, feedId, incidentId, url: `https://example.com/${id}`, urlKey: `example.com/${id}`, title: id, published: '2025-07-01T00:00:00.000Z', summary: 's', createdAt: T0 });
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'incident-bot-feedstore-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('migration 2', () => {
  it('leaves migration 1 as released and appends step 2', () => {
    assert.equal(MIGRATIONS[0]!.version, 1);
    assert.equal(MIGRATIONS[1]!.version, 2);
    assert.match(MIGRATIONS[0]!.sql, /CREATE TABLE incidents/);
    assert.doesNotMatch(MIGRATIONS[0]!.sql, /feeds/);
  });

  it('upgrades a version-1 file without touching its incidents', () => {
    const path = fresh();
    const raw = new Database(path);
    applyMigrations(raw, MIGRATIONS.slice(0, 1));
    raw.prepare("INSERT INTO incidents (id, kind, origin, data, updated_at) VALUES ('t:a', 'incident', 'seed', ?, 'x')").run(
      JSON.stringify({ id: 't:a', kind: 'incident', title: 'A', summary: 'a', date: null, aliases: [], sources: [], tags: [], entities: { actors: [], victims: [], software: [], cves: [], countries: [] }, related: [] }),
    );
    raw.close();
    withFeedStore((fs, store) => {
      assert.equal(store.getIncident('t:a')?.title, 'A');
      const tables = store.db.prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'table'").all().map((r) => r.name);
      for (const t of ['feeds', 'feed_items', 'posts', 'subscriptions', 'outbox', 'alert_threads']) assert.ok(tables.includes(t), t);
      assert.deepEqual(fs.listFeeds(), []);
    }, path);
  });
});

describe('FeedStore feeds', () => {
  it('adds, lists, removes as a tombstone (items kept), syncs FEEDS_FILE as the truth, and revives on an add', () => {
    withFeedStore((fs) => {
      const { feed, added } = fs.addFeed({ url: 'https://a.example/feed', name: 'A' }, T0, 'admin');
      assert.equal(added, true);
      assert.equal(fs.addFeed({ url: 'https://a.example/feed' }, T0).added, false);
      assert.deepEqual(fs.syncOperatorFeeds([{ url: 'https://a.example/feed' }, { url: 'https://b.example/rss', intervalSeconds: 60 }], T0), { added: 2, dropped: 0, droppedUrls: [] });
      assert.deepEqual(fs.listFeeds().map((f) => f.url), ['https://a.example/feed', 'https://b.example/rss']);
      assert.equal(fs.listFeeds()[1]!.intervalSeconds, 60);
      assert.deepEqual(fs.tenancy.ownersOf(feed.id).map((o) => `${o.tenant}/${o.source}`), ['operator/file'], 'a CLI feed the file lists becomes a FEEDS_FILE feed');

      fs.updateFeed(feed.id, { seeded: true, etag: '"v1"', addPolls: 2, addNotModified: 1 });
      assert.equal(fs.removeFeed(feed.id), true);
      assert.equal(fs.removeFeed(feed.id), false);
      assert.deepEqual(fs.listFeeds().map((f) => f.url), ['https://b.example/rss']);
      assert.equal(fs.syncOperatorFeeds([{ url: 'https://b.example/rss' }], T0).added, 0, 'a feed the file does not list stays removed');
      assert.deepEqual(fs.listFeeds().map((f) => f.url), ['https://b.example/rss']);

      const revived = fs.addFeed({ url: 'https://a.example/feed' }, T0, 'admin');
      assert.equal(revived.added, true);
      assert.equal(revived.feed.id, feed.id, 'same row: its item keys stay known');
      assert.equal(revived.feed.seeded, false, 'starts over as a seeding poll');
      assert.equal(revived.feed.etag, null);
      assert.equal(revived.feed.name, 'A');
    });
  });

  it('reports status with the 304 rate and ISO times', () => {
    withFeedStore((fs) => {
      const { feed } = fs.addFeed({ url: 'https://a.example/feed' }, T0);
      fs.updateFeed(feed.id, { addPolls: 4, addNotModified: 3, lastSuccessAt: T0, nextPollAt: T0 + 600_000, addItemsSeen: 12, lastError: 'HTTP 500', lastErrorAt: T0 - 1000 });
      const st = fs.feedStatus(fs.getFeed(feed.id)!);
      assert.equal(st.notModifiedRate, 0.75);
      assert.equal(st.itemsSeen, 12);
      assert.equal(st.lastSuccessAt, new Date(T0).toISOString());
      assert.equal(st.nextPollAt, new Date(T0 + 600_000).toISOString());
      assert.equal(st.lastError, 'HTTP 500');
    });
  });

  it('lists due feeds: never polled first, then by next poll time', () => {
    withFeedStore((fs) => {
      const a = fs.addFeed({ url: 'https://a.example/1' }, T0).feed;
      const b = fs.addFeed({ url: 'https://a.example/2' }, T0).feed;
      const c = fs.addFeed({ url: 'https://a.example/3' }, T0).feed;
      fs.updateFeed(a.id, { nextPollAt: T0 - 10 });
      fs.updateFeed(b.id, { nextPollAt: T0 + 10 });
      assert.deepEqual(fs.dueFeeds(T0).map((f) => f.id), [c.id, a.id]);
      assert.equal(fs.nextPollAt(), 0);
    });
  });
});

describe('FeedStore subscriptions and outbox', () => {
  it('keeps one subscription per channel and filter, updating its role', () => {
    withFeedStore((fs) => {
      const s1 = fs.subscribe({ platform: 'discord', channelId: '1', filter: 'tag:ransomware' }, T0);
      const s2 = fs.subscribe({ platform: 'discord', channelId: '1', filter: 'tag:ransomware', roleId: '99' }, T0);
      assert.equal(s1.id, s2.id);
      assert.equal(s2.roleId, '99');
      fs.subscribe({ platform: 'discord', channelId: '1', filter: '' }, T0);
      fs.subscribe({ platform: 'slack', channelId: 'C1', filter: '' }, T0);
      assert.equal(fs.listSubscriptions('discord', '1').length, 2);
      assert.equal(fs.unsubscribe('discord', '1', s1.id), 1);
      assert.equal(fs.unsubscribe('discord', '1', s1.id), 0);
      assert.equal(fs.unsubscribe('discord', '1'), 1);
      assert.deepEqual(fs.allSubscriptions().map((s) => s.platform), ['slack']);
    });
  });

  it('queues one row per (subscription, post) and per (channel, post); keys fit a Discord nonce', () => {
    withFeedStore((fs) => {
      const feed = fs.addFeed({ url: 'https://a.example/feed' }, T0).feed;
      addPost(fs, feed.id, 'post:1');
      const a = fs.subscribe({ platform: 'discord', channelId: '1', filter: '' }, T0);
      const b = fs.subscribe({ platform: 'discord', channelId: '1', filter: 'x' }, T0);
      const base = { platform: 'discord' as const, channelId: '1', postId: 'post:1', incidentId: 'post:1', kind: 'alert' as const, nextAttemptAt: T0, createdAt: T0 };
      assert.ok(fs.enqueue({ ...base, subscriptionId: a.id }));
      assert.equal(fs.enqueue({ ...base, subscriptionId: a.id }), undefined);
      assert.equal(fs.enqueue({ ...base, subscriptionId: b.id }), undefined, 'same channel, same post');
      const [row] = fs.dueOutbox(T0);
      assert.ok(row!.idempotencyKey.length <= 25);
      assert.notEqual(newIdempotencyKey(), newIdempotencyKey());
      // notices have no post: several may wait for one channel
      assert.ok(fs.enqueue({ ...base, postId: undefined, incidentId: undefined, kind: 'notice', text: 'n1', subscriptionId: a.id }));
      assert.ok(fs.enqueue({ ...base, postId: undefined, incidentId: undefined, kind: 'notice', text: 'n2', subscriptionId: a.id }));
    });
  });

  it('moves a row pending -> sending -> sent once, recording the first alert of an incident in the channel', () => {
    withFeedStore((fs) => {
      const feed = fs.addFeed({ url: 'https://a.example/feed' }, T0).feed;
      addPost(fs, feed.id, 'post:1', 'inc:1');
      addPost(fs, feed.id, 'post:2', 'inc:1');
      const sub = fs.subscribe({ platform: 'discord', channelId: '1', filter: '' }, T0);
      const id = fs.enqueue({ subscriptionId: sub.id, platform: 'discord', channelId: '1', postId: 'post:1', incidentId: 'inc:1', kind: 'alert', nextAttemptAt: T0, createdAt: T0 })!;
      const row = fs.getOutbox(id)!;
      assert.equal(fs.markSending(id, null), true);
      assert.equal(fs.markSending(id, null), false, 'a second worker cannot take it');
      assert.deepEqual(fs.outboxByStatus('sending').map((r) => r.id), [id]);
      assert.equal(fs.markSent(row, 'm-1', T0), true);
      assert.equal(fs.markSent(row, 'm-2', T0), false);
      assert.equal(fs.getOutbox(id)!.messageId, 'm-1');
      assert.equal(fs.threadOf('discord', '1', 'inc:1'), 'm-1');
      const id2 = fs.enqueue({ subscriptionId: sub.id, platform: 'discord', channelId: '1', postId: 'post:2', incidentId: 'inc:1', kind: 'alert', nextAttemptAt: T0, createdAt: T0 })!;
      fs.markSending(id2, 'm-1');
      fs.markSent(fs.getOutbox(id2)!, 'm-3', T0);
      assert.equal(fs.threadOf('discord', '1', 'inc:1'), 'm-1', 'the thread stays on the first alert');
      assert.equal(fs.recentAlertCount('discord', '1', T0 - 1), 2);
    });
  });

  it('folds rows into one pending digest per channel and deletes pending rows with their subscription', () => {
    withFeedStore((fs) => {
      const feed = fs.addFeed({ url: 'https://a.example/feed' }, T0).feed;
      const sub = fs.subscribe({ platform: 'slack', channelId: 'C1', filter: '', roleId: undefined }, T0);
      const ids: number[] = [];
      for (let i = 0; i < 4; i++) {
        addPost(fs, feed.id, `post:${i}`);
        ids.push(fs.enqueue({ subscriptionId: sub.id, platform: 'slack', channelId: 'C1', postId: `post:${i}`, incidentId: `post:${i}`, kind: 'alert', nextAttemptAt: T0, createdAt: T0 })!);
      }
      const rows = ids.map((id) => fs.getOutbox(id)!);
      const d1 = fs.foldIntoDigest(rows.slice(0, 2), T0)!;
      const d2 = fs.foldIntoDigest(rows.slice(2), T0)!;
      assert.equal(d1, d2, 'one pending digest collects all folded rows');
      assert.deepEqual(fs.foldedInto(d1).map((r) => r.postId), ['post:0', 'post:1', 'post:2', 'post:3']);
      fs.markSending(d1, null);
      fs.markSent(fs.getOutbox(d1)!, 'digest-1', T0);
      assert.ok(fs.foldedInto(d1).every((r) => r.sentAt === T0));
      assert.equal(fs.unsubscribe('slack', 'C1'), 1);
      assert.equal(fs.outboxCounts().length, 0);
    });
  });

  it('shares transactions with the core store: a throw rolls back both', () => {
    withFeedStore((fs, store) => {
      const feed = fs.addFeed({ url: 'https://a.example/feed' }, T0).feed;
      assert.throws(() =>
        fs.transaction(() => {
          addPost(fs, feed.id, 'post:x');
          store.importIncidents([{ id: 'post:x', kind: 'incident', title: 'X', summary: 'x' }], { origin: 'feed:1', format: 'feed' });
          throw new Error('boom');
        }),
      );
      assert.equal(fs.getPost('post:x'), undefined);
      assert.equal(store.getIncident('post:x'), undefined);
    });
  });
});

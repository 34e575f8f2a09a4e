import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { RefusedError } from '../../src/core/feed-model.js';
import { applyPgMigrations } from '../../src/store/pg-migrations.js';
import { openFeedRepos, storageOverStore, type FeedRepos } from '../../src/store/storage.js';
import type { Db } from '../../src/store/db.js';
import { openStore } from '../../src/store/store.js';
import { dbCases } from '../support/databases.js';

const T0 = Date.UTC(2026, 0, 10);
const A = 'discord:111111111111111111';
const B = 'slack:T0B';

/** Feed repositories on a fresh database of this engine, with the records table the pipeline's questions read. */
async function openRepos(engine: ReturnType<typeof dbCases>[number], dirs: string[]): Promise<FeedRepos & { db: Db; close(): Promise<void> }> {
  if (engine.name === 'sqlite') {
    // The SQLite schema is the store's migrations, applied when the file is opened.
    const dir = mkdtempSync(path.join(tmpdir(), 'contract-feeds-'));
    dirs.push(dir);
    const storage = await storageOverStore(openStore(path.join(dir, 'bot.db')));
    return storage;
  }
  const db = await engine.open();
  await applyPgMigrations(db);
  // Records live in the records schema step; this stands in for it (same columns the feed questions read).
  await db.run('CREATE TABLE IF NOT EXISTS incidents (id TEXT PRIMARY KEY, kind TEXT NOT NULL, origin TEXT NOT NULL, data TEXT NOT NULL, body TEXT, updated_at TEXT NOT NULL)');
  return { ...(await openFeedRepos(db)), db, close: async () => {} };
}

for (const engine of dbCases('contract feeds')) {
  describe(`feed repositories on ${engine.name}`, { skip: engine.skip }, () => {
    let r: Awaited<ReturnType<typeof openRepos>>;
    const dirs: string[] = [];
    before(async () => {
      r = await openRepos(engine, dirs);
    });
    after(async () => {
      await r.close();
      await engine.cleanup();
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    });

    it('adds, revives, releases and removes feeds with their owners', async () => {
      const { feed, added, owned } = await r.feeds.add({ url: 'https://a.example/feed.xml', name: 'A feed', intervalSeconds: 600 }, T0, 'cli');
      assert.ok(added && owned);
      assert.equal(feed.name, 'A feed');
      assert.equal(feed.intervalSeconds, 600);
      assert.equal(feed.seeded, false);
      assert.equal((await r.feeds.add({ url: 'https://a.example/feed.xml' }, T0)).added, false, 'one row per URL');
      const tenantFeed = (await r.feeds.add({ url: 'https://t.example/rss', name: 'Mine' }, T0, 'u1', { tenant: A, source: 'chat', name: 'Mine' })).feed;
      assert.equal(tenantFeed.name, null, "a tenant's name goes on its ownership only");
      assert.deepEqual((await r.feeds.visibleTo(B)).map((f) => f.id), [feed.id]);
      assert.deepEqual((await r.feeds.visibleTo(A)).map((f) => f.id), [feed.id, tenantFeed.id]);
      assert.equal((await r.feeds.status(tenantFeed, A)).name, 'Mine');
      assert.deepEqual((await r.feeds.status(tenantFeed)).tenants, [A]);
      assert.equal(await r.tenants.chatFeedCount(A), 1);
      assert.deepEqual(await r.feeds.release(tenantFeed.id, A), { released: true, stillWatched: false });
      assert.equal((await r.feeds.get(tenantFeed.id))!.removed, true);
      const revived = await r.feeds.add({ url: 'https://t.example/rss' }, T0 + 1, 'u2', { tenant: B, source: 'chat' });
      assert.ok(revived.added, 'a feed no one owned comes back');
      assert.equal(await r.feeds.remove(tenantFeed.id), true);
      assert.equal(await r.tenants.ownerCount(tenantFeed.id), 0);
    });

    it('syncs FEEDS_FILE ownership and schedules polls', async () => {
      const res = await r.feeds.syncOperatorFeeds([{ url: 'https://file.example/a.xml', name: 'File A' }, { url: 'https://file.example/b.xml' }], T0);
      assert.equal(res.added, 2);
      const again = await r.feeds.syncOperatorFeeds([{ url: 'https://file.example/a.xml', name: 'File A' }], T0);
      assert.deepEqual(again, { added: 0, dropped: 1, droppedUrls: ['https://file.example/b.xml'] });
      const a = (await r.feeds.getByUrl('https://file.example/a.xml'))!;
      await r.feeds.update(a.id, { nextPollAt: T0 + 60_000, addPolls: 2, failing: true, etag: '"e"', lastSkipReason: null });
      const updated = (await r.feeds.get(a.id))!;
      assert.equal(updated.polls, 2);
      assert.equal(updated.failing, true);
      assert.equal(updated.etag, '"e"');
      assert.ok(!(await r.feeds.due(T0)).some((f) => f.id === a.id), 'not due before its time');
      assert.ok((await r.feeds.due(T0 + 60_000)).some((f) => f.id === a.id));
      assert.equal(await r.feeds.nextPollAt(), 0, 'a feed never scheduled is due at once');
    });

    it('records item keys, stores posts and finds same-link records elsewhere', async () => {
      const one = (await r.feeds.add({ url: 'https://p1.example/feed' }, T0)).feed;
      const two = (await r.feeds.add({ url: 'https://p2.example/feed' }, T0)).feed;
      await r.feeds.insertItem(one.id, 'k1', null, T0);
      await r.feeds.insertItem(one.id, 'k1', null, T0);
      assert.equal(await r.feeds.hasItem(one.id, 'k1'), true);
      assert.deepEqual([...(await r.feeds.knownKeys(one.id, ['k1', 'k2']))], ['k1']);
      const post = { id: 'post:1', feedId: one.id, incidentId: 'post:1', url: 'https://news.example/a', urlKey: 'news.example/a', title: 'T', published: '2026-01-09T00:00:00.000Z', summary: 'S', createdAt: T0 };
      await r.posts.insert(post);
      await r.feeds.insertItem(one.id, 'k2', 'post:1', T0);
      assert.deepEqual(await r.posts.get('post:1'), post);
      assert.equal(await r.posts.incidentByUrlKeyElsewhere('news.example/a', two.id), 'post:1');
      assert.equal(await r.posts.incidentByUrlKeyElsewhere('news.example/a', one.id), undefined, 'not within its own feed');
      assert.equal(await r.posts.count(one.id), 1);
      assert.deepEqual((await r.posts.publishedSince('2026-01-01')).map((p) => p.id), ['post:1']);
      await r.posts.insert({ ...post, id: 'post:undated', url: null, urlKey: null, published: null });
      assert.equal(await r.posts.newestPublished(one.id), '2026-01-09T00:00:00.000Z', 'the newest dated post');
      assert.equal(await r.posts.newestPublished(two.id), undefined);
    });

    it('makes records of a tenant-only feed private to its owners', async () => {
      const mine = (await r.feeds.add({ url: 'https://private.example/feed' }, T0, 'u', { tenant: A, source: 'chat' })).feed;
      await r.posts.insert({ id: 'post:p', feedId: mine.id, incidentId: 'post:p', url: null, urlKey: null, title: 'P', published: null, summary: 'P', createdAt: T0 });
      assert.equal(await r.tenants.privateFeedOf('post:p'), mine.id);
      assert.equal(r.tenants.visibility(A)!('post:p'), true);
      assert.equal(r.tenants.visibility(B)!('post:p'), false);
      assert.equal(r.tenants.visibility('operator'), undefined);
      assert.equal(await r.feeds.mayAttach(mine.id, 'post:1'), false, 'a private post joins nothing');
    });

    it('writes posts, item keys and private marks in batches, and answers link and privacy look-ups for many at once', async () => {
      const pub = (await r.feeds.add({ url: 'https://batch-pub.example/feed' }, T0)).feed;
      const other = (await r.feeds.add({ url: 'https://batch-other.example/feed' }, T0)).feed;
      const priv = (await r.feeds.add({ url: 'https://batch-priv.example/feed' }, T0, 'u', { tenant: A, source: 'chat' })).feed;
      const post = (id: string, feedId: number, urlKey: string | null) => ({ id, feedId, incidentId: id, url: urlKey && `https://${urlKey}`, urlKey, title: id, published: null, summary: id, createdAt: T0 });
      await r.posts.insertMany([post('post:b1', pub.id, 'batch.example/1'), post('post:b2', pub.id, 'batch.example/2')], true);
      await r.posts.insertMany([post('post:b3', priv.id, 'batch.example/3')], false);
      await r.feeds.insertItems(pub.id, [{ key: 'b1', postId: 'post:b1' }, { key: 'b2', postId: 'post:b2' }, { key: 'b9', postId: null }], T0);
      await r.feeds.insertItems(pub.id, [{ key: 'b1', postId: null }], T0);
      assert.deepEqual([...(await r.feeds.knownKeys(pub.id, ['b1', 'b2', 'b9', 'b8']))].sort(), ['b1', 'b2', 'b9']);
      const links = await r.posts.incidentsByUrlKeysElsewhere(['batch.example/1', 'batch.example/2', 'batch.example/3', 'batch.example/4'], other.id, true);
      assert.deepEqual([...links].sort(), [['batch.example/1', 'post:b1'], ['batch.example/2', 'post:b2']], 'private records and unknown links are not found');
      assert.equal((await r.posts.incidentsByUrlKeysElsewhere(['batch.example/1'], pub.id, true)).size, 0, 'not within its own feed');
      assert.equal((await r.posts.incidentsByUrlKeysElsewhere(['batch.example/1'], other.id, false)).size, 0, 'a feed no operator owns joins nothing');
      assert.deepEqual([...(await r.tenants.privateFeedsOf(['post:b1', 'post:b3']))], [['post:b3', priv.id]]);
      assert.equal(r.tenants.visibility(B)!('post:b3'), false, 'the visibility snapshot knows the batch');
      assert.deepEqual([...(await r.posts.incidentOrigins(['post:b1']))], [], 'no record stored for it');
    });

    it('subscribes channels, refuses another tenant the same filter, and removes only the tenant’s own', async () => {
      const s = await r.subscriptions.subscribe({ platform: 'slack', channelId: 'C1', workspaceId: 'T0B', filter: 'lockbit' }, T0);
      assert.equal(s.tenant, B);
      assert.equal((await r.subscriptions.subscribe({ platform: 'slack', channelId: 'C1', workspaceId: 'T0B', filter: 'lockbit', roleId: 'R' }, T0)).id, s.id);
      await assert.rejects(r.subscriptions.subscribe({ tenant: A, platform: 'slack', channelId: 'C1', filter: 'lockbit' }, T0), RefusedError);
      assert.equal((await r.subscriptions.get(s.id))!.roleId, 'R');
      assert.deepEqual((await r.subscriptions.remove('slack', 'C1', undefined, A)).length, 0);
      assert.equal(await r.subscriptions.unsubscribe('slack', 'C1', s.id), 1);
      assert.deepEqual(await r.subscriptions.list('slack', 'C1'), []);
    });

    it('queues once per channel and post, claims once, marks sent with the thread, folds into a digest', async () => {
      const feed = (await r.feeds.add({ url: 'https://o.example/feed' }, T0)).feed;
      const sub = await r.subscriptions.subscribe({ platform: 'discord', channelId: '42', filter: '' }, T0);
      assert.equal((await r.subscriptions.seeing(feed.id)).some((x) => x.id === sub.id), true);
      const posts = ['post:o1', 'post:o2', 'post:o3'];
      for (const id of posts) await r.posts.insert({ id, feedId: feed.id, incidentId: id, url: null, urlKey: null, title: id, published: null, summary: id, createdAt: T0 });
      const base = { subscriptionId: sub.id, platform: 'discord' as const, channelId: '42', kind: 'alert' as const, nextAttemptAt: T0, createdAt: T0 };
      const id1 = await r.outbox.enqueue({ ...base, postId: 'post:o1', incidentId: 'post:o1' });
      assert.equal(typeof id1, 'number');
      assert.equal(await r.outbox.enqueue({ ...base, postId: 'post:o1', incidentId: 'post:o1' }), undefined, 'one row per (channel, post)');
      assert.equal(await r.outbox.enqueueMany([{ ...base, postId: 'post:o1', incidentId: 'post:o1' }]), 0, 'one row per (channel, post), in a batch too');
      const row = (await r.outbox.due(T0)).find((x) => x.id === id1)!;
      const claimToken = await r.outbox.claim(row.id, null, { holder: 'replica-a', ms: 60_000, now: T0 });
      assert.equal(typeof claimToken, 'string');
      assert.equal(await r.outbox.claim(row.id, null, { holder: 'replica-b', ms: 60_000, now: T0 }), undefined, 'claimed once');
      assert.equal(await r.outbox.recentAlertCount('discord', '42', T0), 1);
      assert.equal(await r.outbox.markSent(row, 'm1', T0 + 5), false, 'not without the claim');
      assert.equal(await r.outbox.markSent({ ...row, claimToken: claimToken! }, 'm1', T0 + 5), true);
      assert.equal(await r.outbox.threadOf('discord', '42', 'post:o1'), 'm1');
      assert.equal(await r.outbox.enqueueMany(posts.slice(1).map((p) => ({ ...base, postId: p, incidentId: p }))), 2);
      const rest = (await r.outbox.due(T0)).filter((x) => x.postId !== 'post:o1');
      const digest = (await r.outbox.foldIntoDigest(rest, T0 + 10))!;
      assert.deepEqual((await r.outbox.foldedInto(digest)).map((x) => x.postId), ['post:o2', 'post:o3']);
      assert.deepEqual((await r.posts.prunable(feed.id, '2030-01-01', 0, 10)).map((p) => p.id), ['post:o1'], 'posts an alert waits for stay');
      const backlog = await r.outbox.backlog();
      assert.deepEqual(backlog.map((b) => [b.platform, b.depth]), [['discord', 1]]);
      await r.outbox.markRetry(digest, T0 + 1_000, 'boom');
      assert.equal(await r.outbox.nextDue(), T0 + 1_000);
      await r.outbox.markFailed(digest, 'gone');
      assert.ok((await r.outbox.counts()).some((c) => c.status === 'failed' && c.kind === 'digest' && c.n === 1));
    });

    it('a claimed row is interrupted only once its lease ran out (PostgreSQL; on SQLite, one process, always), and is put back only then', async () => {
      const { feed } = await r.feeds.add({ url: 'https://contract.example/lease.xml' }, T0);
      const sub = await r.subscriptions.subscribe({ platform: 'slack', channelId: 'CLEASE', filter: '' }, T0);
      await r.posts.insert({ id: 'post:lease', feedId: feed.id, incidentId: 'post:lease', url: null, urlKey: null, title: 't', published: null, summary: 's', createdAt: T0 });
      const id = (await r.outbox.enqueue({ subscriptionId: sub.id, platform: 'slack', channelId: 'CLEASE', postId: 'post:lease', incidentId: 'post:lease', kind: 'alert', nextAttemptAt: T0, createdAt: T0 }))!;
      assert.equal(typeof (await r.outbox.claim(id, null, { holder: 'replica-a', ms: 30_000, now: T0 })), 'string');
      const interrupted = async (at: number) => (await r.outbox.interrupted(at)).some((x) => x.id === id);
      const pg = engine.name === 'postgres';
      assert.equal(await interrupted(T0 + 29_999), !pg, 'a running lease: not interrupted');
      assert.deepEqual(await r.outbox.renewLeases([id], { holder: 'replica-b', ms: 30_000, now: T0 + 20_000 }), pg ? [] : undefined, 'only its holder renews it');
      assert.deepEqual(await r.outbox.renewLeases([id], { holder: 'replica-a', ms: 30_000, now: T0 + 20_000 }), pg ? [id] : undefined);
      assert.equal(await interrupted(T0 + 40_000), !pg, 'renewed: still running');
      if (pg) assert.equal(await r.outbox.requeue(id, T0 + 40_000), false, 'not put back while its lease runs');
      assert.equal(await interrupted(T0 + 50_000), true, 'the lease ran out');
      assert.equal(await r.outbox.requeue(id, T0 + 50_000), true);
      const row = (await r.outbox.get(id))!;
      assert.equal(row.status, 'pending');
      assert.equal(await r.outbox.markSent(row, 'm-late', T0 + 51_000), true, 'the first send went through after all: marked sent, not sent again');
      assert.equal((await r.outbox.get(id))!.status, 'sent');
    });

    it('a late send marks sent only its own claim: not the row another replica put back and claimed again', async () => {
      const { feed } = await r.feeds.add({ url: 'https://contract.example/reclaim.xml' }, T0);
      const sub = await r.subscriptions.subscribe({ platform: 'slack', channelId: 'CRECLAIM', filter: '' }, T0);
      await r.posts.insert({ id: 'post:reclaim', feedId: feed.id, incidentId: 'post:reclaim', url: null, urlKey: null, title: 't', published: null, summary: 's', createdAt: T0 });
      const id = (await r.outbox.enqueue({ subscriptionId: sub.id, platform: 'slack', channelId: 'CRECLAIM', postId: 'post:reclaim', incidentId: 'post:reclaim', kind: 'alert', nextAttemptAt: T0, createdAt: T0 }))!;
      const first = await r.outbox.claim(id, null, { holder: 'replica-a', ms: 30_000, now: T0 });
      const asA = { ...(await r.outbox.get(id))!, claimToken: first! };
      // Replica A stalls past its lease; B finds the send not on the platform, puts the row back and claims it.
      assert.equal(await r.outbox.requeue(id, T0 + 31_000), true);
      const second = await r.outbox.claim(id, null, { holder: 'replica-b', ms: 30_000, now: T0 + 31_000 });
      assert.ok(second && second !== first, 'a fresh claim token');
      assert.equal(await r.outbox.markSent(asA, 'm-late', T0 + 32_000), false, "A's late send does not mark B's claim sent");
      await r.outbox.markRetry(id, T0 + 40_000, 'late failure', first!);
      assert.equal((await r.outbox.get(id))!.status, 'sending', "nor does A's late failure put B's claim back");
      assert.equal(await r.outbox.markSent({ ...asA, claimToken: second! }, 'm-b', T0 + 33_000), true);
      assert.equal((await r.outbox.get(id))!.messageId, 'm-b');
    });

    it('a late send of a row since folded into a pending digest takes it out of the digest; once the digest is claimed, it stays', async () => {
      const { feed } = await r.feeds.add({ url: 'https://contract.example/fold.xml' }, T0);
      const sub = await r.subscriptions.subscribe({ platform: 'slack', channelId: 'CFOLD', filter: '' }, T0);
      const ids: number[] = [];
      for (const p of ['post:f1', 'post:f2', 'post:f3']) {
        await r.posts.insert({ id: p, feedId: feed.id, incidentId: p, url: null, urlKey: null, title: p, published: null, summary: 's', createdAt: T0 });
        ids.push((await r.outbox.enqueue({ subscriptionId: sub.id, platform: 'slack', channelId: 'CFOLD', postId: p, incidentId: p, kind: 'alert', nextAttemptAt: T0, createdAt: T0 }))!);
      }
      const lease = { holder: 'replica-a', ms: 30_000, now: T0 };
      const late = [];
      for (const id of ids.slice(0, 2)) {
        const claimToken = await r.outbox.claim(id, null, lease);
        late.push({ ...(await r.outbox.get(id))!, claimToken: claimToken! });
        assert.equal(await r.outbox.requeue(id, T0 + 31_000), true);
      }
      const digest = (await r.outbox.foldIntoDigest((await r.outbox.due(T0 + 31_000)).filter((x) => x.channelId === 'CFOLD'), T0 + 31_000))!;
      assert.equal(await r.outbox.markSent(late[0]!, 'm-late', T0 + 32_000), true, 'the digest is still pending: the row leaves it');
      assert.equal((await r.outbox.get(ids[0]!))!.status, 'sent');
      assert.deepEqual((await r.outbox.foldedInto(digest)).map((x) => x.id), ids.slice(1));
      assert.equal(typeof (await r.outbox.claim(digest, null, { holder: 'replica-b', ms: 30_000, now: T0 + 33_000 })), 'string');
      assert.equal(await r.outbox.markSent(late[1]!, 'm-late-2', T0 + 34_000), false, 'the digest is being sent: too late to take the row out');
      assert.deepEqual((await r.outbox.foldedInto(digest)).map((x) => x.id), ids.slice(1));
    });

    it('prunes a post with its delivered rows, keeping its key, and forgets old keys', async () => {
      const feed = (await r.feeds.add({ url: 'https://o.example/feed' }, T0)).feed;
      assert.deepEqual(await r.posts.prune('post:o1'), { pruned: true }, 'no record of its own in the store to remove');
      assert.equal(await r.posts.get('post:o1'), undefined);
      assert.equal(await r.feeds.keyPruneCutoff(feed.id, T0, 10), T0);
      await r.feeds.insertItem(feed.id, 'old', null, T0 - 1);
      assert.deepEqual(await r.feeds.unlinkedKeysBefore(feed.id, T0, 10), ['old']);
      assert.equal(await r.feeds.deleteItemKey(feed.id, 'old'), true);
    });

    it('keeps the audit log per tenant, newest first', async () => {
      await r.tenants.audit({ tenant: A, platform: 'discord', userId: 'u', action: 'subscribe', channelId: '1', detail: 'lockbit' }, T0);
      await r.tenants.audit({ tenant: B, platform: 'slack', userId: 'v', action: 'feed-add', feedId: 3 }, T0 + 1);
      const all = await r.tenants.auditLog();
      assert.deepEqual(all.map((e) => e.tenant), [B, A]);
      assert.deepEqual((await r.tenants.auditLog({ tenant: A }))[0], { id: all[1]!.id, at: new Date(T0).toISOString(), tenant: A, platform: 'discord', userId: 'u', action: 'subscribe', channelId: '1', detail: 'lockbit' });
    });

    it('rolls back a failed transaction on both engines', async () => {
      await assert.rejects(
        r.db.transaction(async () => {
          await r.feeds.add({ url: 'https://rollback.example/feed' }, T0);
          throw new Error('boom');
        }),
        /boom/,
      );
      assert.equal(await r.feeds.getByUrl('https://rollback.example/feed'), undefined);
    });
  });
}

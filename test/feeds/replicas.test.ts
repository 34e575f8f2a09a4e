import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { AlertSender, OutgoingMessage } from '../../src/feeds/types.js';
import { createOutboxWorker, type OutboxWorker } from '../../src/feeds/outbox-worker.js';
import type { PipelineDeps } from '../../src/feeds/pipeline.js';
import { createPoller } from '../../src/feeds/poller.js';
import type { Db } from '../../src/store/db.js';
import { LeaseRepo } from '../../src/store/leases.js';
import { applyPgMigrations } from '../../src/store/pg-migrations.js';
import { createReplicaGates } from '../../src/store/replica-gates.js';
import { openFeedRepos, type Storage } from '../../src/store/storage.js';
import { dbCases } from '../support/databases.js';

const T0 = Date.UTC(2026, 0, 10);

/**
 * One channel list as the platform keeps it, shared by every replica's sender: a send always posts (as Slack does:
 * no deduplication), and findSent answers by idempotency key, so a duplicate would show.
 */
class Platform {
  readonly posted: { channelId: string; key: string; replica: string }[] = [];
  sender(replica: string, hooks: { beforePost?: () => Promise<void>; afterPost?: () => Promise<void> } = {}): AlertSender {
    return {
      platform: 'slack',
      send: async (channelId: string, _message: OutgoingMessage, key: string) => {
        await hooks.beforePost?.();
        this.posted.push({ channelId, key, replica });
        await hooks.afterPost?.();
        return { messageId: `m${this.posted.length}` };
      },
      findSent: async (channelId: string, key: string) => {
        const i = this.posted.findIndex((p) => p.channelId === channelId && p.key === key);
        return i < 0 ? undefined : { messageId: `m${i + 1}` };
      },
    };
  }
  /** Posts per (channel, key): every value must be 1. */
  counts(): Map<string, number> {
    const out = new Map<string, number>();
    for (const p of this.posted) out.set(`${p.channelId} ${p.key}`, (out.get(`${p.channelId} ${p.key}`) ?? 0) + 1);
    return out;
  }
}

const never = () => new Promise<void>(() => {});
const postgres = dbCases('feeds replicas').find((c) => c.name === 'postgres')!;

describe('outbox delivery by two replicas on one PostgreSQL', { skip: postgres.skip }, () => {
  let db: Db;
  let storage: Storage;
  let clock = T0;
  const workers: OutboxWorker[] = [];
  const dead = new Set<OutboxWorker>();

  /** A replica's outbox worker: its holder name, its channel leases (30 s on the test clock), its sender. */
  const replica = (holder: string, sender: AlertSender) => {
    const gates = createReplicaGates(new LeaseRepo(db, holder, { now: () => clock }), { channelLeaseMs: 30_000 });
    const worker = createOutboxWorker({ storage, holder, senders: [sender], channels: gates.channels, now: () => clock, slackMinIntervalMs: 0, foldThreshold: 1_000, maxConcurrent: 4 });
    workers.push(worker);
    return worker;
  };

  /** Queues an alert for each of `posts` posts in each of `channels` channels; returns the rows expected. */
  async function queue(posts: number, channels: string[], tag: string): Promise<number> {
    const { feed } = await storage.feeds.add({ url: `https://news.example/${tag}.xml` }, clock);
    const subs = [];
    for (const channelId of channels) subs.push(await storage.subscriptions.subscribe({ platform: 'slack', channelId, filter: '', workspaceId: 'T1' }, clock));
    for (let i = 0; i < posts; i++) {
      const id = `${tag}-${i}`;
      await storage.posts.insert({ id, feedId: feed.id, incidentId: id, url: `https://news.example/${tag}/${i}`, urlKey: null, title: `Post ${i}`, published: null, summary: 'x', createdAt: clock });
      for (const sub of subs) {
        await storage.outbox.enqueue({ subscriptionId: sub.id, platform: 'slack', channelId: sub.channelId, postId: id, incidentId: id, kind: 'alert', nextAttemptAt: clock, createdAt: clock });
      }
    }
    return posts * channels.length;
  }

  before(async () => {
    db = await postgres.open();
    await applyPgMigrations(db);
    storage = { kind: 'postgres', db, ...(await openFeedRepos(db)), incidents: { get: async () => undefined, import: async () => ({ added: 0, updated: 0 }) }, close: async () => {} } as unknown as Storage;
  });
  beforeEach(() => {
    clock += 3_600_000;
  });
  after(async () => {
    // The killed replicas' sends never end (as in a dead process): only the others are stopped.
    for (const w of workers) if (!dead.has(w)) await w.stop();
    await postgres.cleanup();
  });

  it('delivers each (channel, post) once when both replicas run rounds at the same time', async () => {
    const platform = new Platform();
    const a = replica('a', platform.sender('a'));
    const b = replica('b', platform.sender('b'));
    const expected = await queue(12, ['C1', 'C2', 'C3', 'C4'], 'both');
    for (let i = 0; i < 30 && platform.posted.length < expected; i++) await Promise.all([a.runOnce(), b.runOnce()]);
    assert.equal(platform.posted.length, expected);
    assert.ok([...platform.counts().values()].every((n) => n === 1), 'no (channel, post) twice');
    for (const channel of ['C1', 'C2', 'C3', 'C4']) {
      assert.equal(new Set(platform.posted.filter((p) => p.channelId === channel).map((p) => p.replica)).size, 1, `${channel} delivered by one replica`);
    }
    assert.equal((await storage.outbox.byStatus('pending')).length, 0);
  });

  it('a replica killed after the platform took a message: another finds it by its key and does not post it again', async () => {
    const platform = new Platform();
    const dying = replica('dying', platform.sender('dying', { afterPost: never }));
    dead.add(dying);
    const expected = await queue(1, ['K1'], 'posted');
    void dying.runOnce();
    for (let i = 0; i < 100 && platform.posted.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.equal((await storage.outbox.byStatus('sending')).length, 1, 'left sending, as after kill -9');
    const survivor = replica('survivor', platform.sender('survivor'));
    await survivor.runOnce();
    assert.equal((await storage.outbox.byStatus('sending')).length, 1, 'not before the dead replica\'s channel lease ran out');
    clock += 30_000;
    await survivor.runOnce();
    assert.equal(platform.posted.length, expected, 'posted once, by the replica that died');
    assert.equal((await storage.outbox.byStatus('sent')).filter((r) => r.channelId === 'K1').length, 1, 'marked sent by the survivor');
  });

  it('a send slower than the leases stays its replica\'s: another neither takes it for interrupted nor sends it again', async (t) => {
    t.mock.timers.enable({ apis: ['setInterval'] });
    const platform = new Platform();
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let reached!: () => void;
    const inCall = new Promise<void>((resolve) => (reached = resolve));
    // The platform holds the request (as a slow API or a stalled process does) until the test lets it through.
    const slow = replica('slow', platform.sender('slow', { beforePost: () => (reached(), held) }));
    const expected = await queue(1, ['L1'], 'slow');
    const round = slow.runOnce();
    await inCall;
    const other = replica('other', platform.sender('other'));
    const leaseOf = async () => db.one<{ holder: string; until: string }>("SELECT lease_holder AS holder, lease_until AS until FROM outbox WHERE channel_id = 'L1'");
    // Two minutes on the test clock, far past the 30 s of the row's and the channel's leases, in steps of one renewal.
    for (let step = 0; step < 12; step++) {
      clock += 10_000;
      t.mock.timers.tick(10_000);
      for (let i = 0; i < 200 && Number((await leaseOf())?.until) < clock + 30_000; i++) await new Promise((resolve) => setTimeout(resolve, 10));
      await other.runOnce();
      assert.deepEqual(platform.posted, [], `step ${step}: nothing posted while the first send is held`);
      assert.equal((await leaseOf())?.holder, 'slow');
    }
    assert.equal(await other.recover(), 0, 'a row whose sender renews its lease is not taken for interrupted');
    release();
    assert.equal(await round, 1);
    assert.deepEqual(platform.posted.map((p) => p.replica), ['slow'], 'posted once, by the replica that claimed it');
    await other.runOnce();
    assert.equal(platform.posted.length, expected);
    assert.equal((await storage.outbox.byStatus('sent')).filter((r) => r.channelId === 'L1').length, 1);
  });

  it('a replica stalled past its row lease between claim and send: another sends the row, and the stalled one does not', async (t) => {
    t.mock.timers.enable({ apis: ['setInterval'] });
    const platform = new Platform();
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let reached!: () => void;
    const stalled = new Promise<void>((resolve) => (reached = resolve));
    // The stall falls after the claim and before the platform call (a paused process, a database that hangs).
    const subscriptions = Object.assign(Object.create(storage.subscriptions) as Storage['subscriptions'], {
      get: async (id: number) => {
        reached();
        await held;
        return storage.subscriptions.get(id);
      },
    });
    const gates = createReplicaGates(new LeaseRepo(db, 'stalling', { now: () => clock }), { channelLeaseMs: 30_000 });
    const stalling = createOutboxWorker({ storage: { ...storage, subscriptions } as Storage, holder: 'stalling', senders: [platform.sender('stalling')], channels: gates.channels, now: () => clock, slackMinIntervalMs: 0 });
    workers.push(stalling);
    await queue(1, ['S1'], 'stalled');
    const round = stalling.runOnce();
    await stalled;
    clock += 31_000; // no renewal went through: the row's and the channel's leases ran out
    const other = replica('other-s', platform.sender('other-s'));
    await other.runOnce();
    await other.runOnce();
    assert.deepEqual(platform.posted.filter((p) => p.channelId === 'S1').map((p) => p.replica), ['other-s'], 'the other replica sent it');
    release();
    assert.equal(await round, 0);
    assert.deepEqual(platform.posted.filter((p) => p.channelId === 'S1').map((p) => p.replica), ['other-s'], 'the stalled replica did not post it again');
    const rows = (await storage.outbox.byStatus('sent')).filter((r) => r.channelId === 'S1');
    assert.equal(rows.length, 1);
  });

  it('a replica killed before the platform took a message: another sends it, once', async () => {
    const platform = new Platform();
    let reached!: () => void;
    const sending = new Promise<void>((resolve) => (reached = resolve));
    const dying = replica('dying-early', platform.sender('dying-early', { beforePost: () => (reached(), never()) }));
    dead.add(dying);
    await queue(1, ['K2'], 'unposted');
    void dying.runOnce();
    await sending;
    clock += 30_000;
    const survivor = replica('survivor-2', platform.sender('survivor-2'));
    await survivor.runOnce();
    await survivor.runOnce();
    assert.deepEqual(platform.posted.filter((p) => p.channelId === 'K2').map((p) => p.replica), ['survivor-2']);
  });
});

describe('feed polling by two replicas on one PostgreSQL', { skip: postgres.skip }, () => {
  let db: Db;
  let storage: Storage;
  let clock = T0;
  const fetched: string[] = [];
  let hang = false;
  /** A fetch answering 304 (nothing new: the pipeline is not involved), or never once `hang` is set (a replica dies mid-poll). */
  const fetchFeed = async (url: string) => {
    fetched.push(url);
    if (hang) await never();
    return { status: 'not-modified' as const, httpStatus: 304 as const, finalUrl: url };
  };
  const poller = (holder: string) =>
    createPoller({
      storage,
      pipeline: {} as PipelineDeps,
      fetchFeed,
      parseFeed: () => {
        throw new Error('not parsed: every poll answers 304');
      },
      pollSeconds: 60,
      allowPrivate: true,
      now: () => clock,
      random: () => 0.5,
      gate: createReplicaGates(new LeaseRepo(db, holder, { now: () => clock }), { feedLeaseMs: 30_000 }).feeds,
    });

  before(async () => {
    db = await postgres.open();
    await applyPgMigrations(db);
    storage = { kind: 'postgres', db, ...(await openFeedRepos(db)) } as unknown as Storage;
    for (const host of ['a', 'b', 'c']) await storage.feeds.add({ url: `https://${host}.example/feed.xml` }, clock);
  });
  after(() => postgres.cleanup());

  it('each due feed is polled by one replica, and not again until it is due', async () => {
    const a = poller('a');
    const b = poller('b');
    await Promise.all([a.tick(), b.tick(), a.tick(), b.tick()]);
    assert.deepEqual([...fetched].sort(), ['https://a.example/feed.xml', 'https://b.example/feed.xml', 'https://c.example/feed.xml']);
    await Promise.all([a.tick(), b.tick()]);
    assert.equal(fetched.length, 3, 'not due again yet');
    clock += 60_000;
    await Promise.all([a.tick(), b.tick()]);
    assert.equal(fetched.length, 6, 'one poll each per interval');
  });

  it('a replica that dies mid-poll: another polls the feed once its lease runs out, within one poll interval', async () => {
    clock += 60_000;
    fetched.length = 0;
    hang = true;
    const dying = poller('dying');
    void dying.tick();
    for (let i = 0; i < 100 && fetched.length < 3; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.equal(fetched.length, 3, 'the dying replica took all three');
    hang = false;
    const survivor = poller('survivor');
    await survivor.tick();
    assert.equal(fetched.length, 3, 'its leases still run');
    clock += 30_000;
    await survivor.tick();
    assert.equal(fetched.length, 6, 'taken over 30 s later, inside the 60 s interval');
  });
});

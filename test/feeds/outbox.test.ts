import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createOutboxWorker, type OutboxWorkerOptions } from '../../src/feeds/outbox-worker.js';
import { AlertSendError, type AlertSender, type Subscription } from '../../src/feeds/types.js';
import { storageOverStore, type Storage } from '../../src/store/storage.js';
import { openStore, type Store } from '../../src/store/store.js';
import { rateLimited, RecordingSender } from '../support/recording-sender.js';

const T0 = Date.UTC(2025, 6, 10, 12);
let dir: string;
let n = 0;
let store: Store;
let feeds: Storage;
let clock = T0;
let feedId: number;
let postCounter = 0;

/** Stores a post and queues its alert for the subscription; returns the outbox row id. */
async function queueAlert(sub: Subscription, incidentId?: string, title?: string): Promise<number> {
  const id = `post:${(++postCounter).toString(16).padStart(16, '0')}`;
  await feeds.posts.insert({ id, feedId, incidentId: incidentId ?? id, url: `https://news.example/${postCounter}`, urlKey: null, title: title ?? `Post ${postCounter}`, published: '2025-07-10T10:00:00.000Z', summary: `Summary ${postCounter}`, createdAt: clock });
  return (await feeds.outbox.enqueue({ subscriptionId: sub.id, platform: sub.platform, channelId: sub.channelId, postId: id, incidentId: incidentId ?? id, kind: 'alert', roleId: sub.roleId, nextAttemptAt: clock, createdAt: clock }))!;
}

function worker(sender: RecordingSender | RecordingSender[], over: Partial<OutboxWorkerOptions> = {}) {
  return createOutboxWorker({ storage: feeds, senders: Array.isArray(sender) ? sender : [sender], now: () => clock, ...over });
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'incident-bot-outbox-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));
beforeEach(async () => {
  clock = T0;
  store = openStore(join(dir, `o-${++n}.db`));
  feeds = await storageOverStore(store);
  feedId = (await feeds.feeds.add({ url: 'https://news.example/feed', name: 'News Example' }, clock)).feed.id;
});
afterEach(() => store.close());

describe('outbox worker delivery', () => {
  it('sends each row once, marks it sent with the platform message id, and renders the post', async () => {
    const sender = new RecordingSender('discord');
    const sub = await feeds.subscriptions.subscribe({ platform: 'discord', channelId: '1', filter: '', roleId: '42' }, clock);
    const id = await queueAlert(sub, undefined, 'Zorblax breach');
    const w = worker(sender);
    assert.equal(await w.runOnce(), 1);
    assert.equal(await w.runOnce(), 0);
    assert.equal(sender.sent.length, 1);
    const [m] = sender.alerts();
    assert.equal(m!.message.post.title, 'Zorblax breach');
    assert.equal(m!.message.post.source, 'News Example');
    assert.equal(m!.message.roleId, '42');
    assert.equal(m!.message.threadOf, undefined);
    const row = (await feeds.outbox.get(id))!;
    assert.equal(row.status, 'sent');
    assert.equal(row.messageId, m!.messageId);
    assert.equal(m!.key, row.idempotencyKey);
  });

  it('threads later coverage of an incident under the first alert in that channel only', async () => {
    const sender = new RecordingSender('discord');
    const a = await feeds.subscriptions.subscribe({ platform: 'discord', channelId: 'A', filter: '' }, clock);
    const b = await feeds.subscriptions.subscribe({ platform: 'discord', channelId: 'B', filter: '' }, clock);
    await queueAlert(a, 'inc:1');
    const w = worker(sender);
    await w.drain();
    await queueAlert(a, 'inc:1');
    await queueAlert(b, 'inc:1');
    await w.drain();
    const [first, second] = sender.alerts('A');
    assert.equal(second!.message.threadOf, first!.messageId);
    assert.equal(sender.alerts('B')[0]!.message.threadOf, undefined, 'the first alert in B starts its own thread');
  });

  it('waits at least the 429 Retry-After before the next attempt, counting the attempt', async () => {
    const sender = new RecordingSender('discord');
    sender.failNext(rateLimited(90_000));
    const sub = await feeds.subscriptions.subscribe({ platform: 'discord', channelId: '1', filter: '' }, clock);
    const id = await queueAlert(sub);
    const w = worker(sender);
    assert.equal(await w.runOnce(), 0);
    assert.equal((await feeds.outbox.get(id))!.attempts, 1);
    assert.equal((await feeds.outbox.get(id))!.nextAttemptAt, T0 + 90_000);
    clock = T0 + 89_000;
    assert.equal(await w.runOnce(), 0);
    assert.equal(sender.attempts.length, 1, 'no attempt before Retry-After');
    clock = T0 + 90_000;
    assert.equal(await w.runOnce(), 1);
    assert.equal((await feeds.outbox.get(id))!.status, 'sent');
  });

  it('backs off on 5xx and gives up on a permanent error', async () => {
    const sender = new RecordingSender('discord');
    sender.failNext(new AlertSendError('HTTP 502', true), new AlertSendError('HTTP 503', true), new AlertSendError('Unknown Channel', false));
    const sub = await feeds.subscriptions.subscribe({ platform: 'discord', channelId: '1', filter: '' }, clock);
    const id = await queueAlert(sub);
    const w = worker(sender, { retryBaseMs: 1000 });
    await w.runOnce();
    assert.equal((await feeds.outbox.get(id))!.nextAttemptAt, T0 + 1000);
    clock += 1000;
    await w.runOnce();
    assert.equal((await feeds.outbox.get(id))!.nextAttemptAt, clock + 2000, 'doubles');
    clock += 2000;
    await w.runOnce();
    const row = (await feeds.outbox.get(id))!;
    assert.equal(row.status, 'failed');
    assert.equal(row.error, 'Unknown Channel');
    clock += 60_000;
    assert.equal(await w.runOnce(), 0);
    assert.equal(sender.sent.length, 0);
  });

  it('paces Slack at one message per second per channel; Discord is not paced', async () => {
    const slack = new RecordingSender('slack');
    const discord = new RecordingSender('discord');
    const s = await feeds.subscriptions.subscribe({ platform: 'slack', channelId: 'C1', filter: '' }, clock);
    const d = await feeds.subscriptions.subscribe({ platform: 'discord', channelId: '1', filter: '' }, clock);
    for (let i = 0; i < 3; i++) {
      await queueAlert(s);
      await queueAlert(d);
    }
    const w = worker([slack, discord]);
    await w.runOnce();
    await w.runOnce();
    await w.runOnce();
    assert.equal(slack.sent.length, 1);
    assert.equal(discord.sent.length, 3);
    clock += 999;
    await w.runOnce();
    assert.equal(slack.sent.length, 1);
    clock += 1;
    await w.runOnce();
    assert.equal(slack.sent.length, 2);
  });

  it('folds more than 10 alerts for one channel within 10 minutes into one digest', async () => {
    const sender = new RecordingSender('discord');
    const sub = await feeds.subscriptions.subscribe({ platform: 'discord', channelId: '1', filter: '' }, clock);
    const other = await feeds.subscriptions.subscribe({ platform: 'discord', channelId: '2', filter: '' }, clock);
    for (let i = 0; i < 25; i++) await queueAlert(sub);
    for (let i = 0; i < 3; i++) await queueAlert(other);
    const w = worker(sender);
    await w.drain();
    const inOne = sender.sent.filter((m) => m.channelId === '1');
    assert.equal(inOne.filter((m) => m.message.kind === 'alert').length, 10);
    const digests = inOne.filter((m) => m.message.kind === 'digest');
    assert.equal(digests.length, 1);
    assert.equal(digests[0]!.message.kind === 'digest' && digests[0]!.message.posts.length, 15);
    assert.equal(sender.sent.filter((m) => m.channelId === '2').length, 3, 'another channel is not folded');
    assert.equal((await feeds.outbox.byStatus('folded')).length, 15);
    // Five minutes later the window is still full: new alerts fold again, into a new digest.
    clock += 5 * 60_000;
    for (let i = 0; i < 2; i++) await queueAlert(sub);
    await w.drain();
    assert.equal(sender.sent.filter((m) => m.channelId === '1' && m.message.kind === 'digest').length, 2);
    // After the window, alerts go out one by one again.
    clock += 11 * 60_000;
    await queueAlert(sub);
    await w.drain();
    assert.equal(sender.sent.at(-1)!.message.kind, 'alert');
  });
});

describe('outbox worker after a crash', () => {
  it('marks a send that reached the platform as sent, without sending again', async () => {
    const sender = new RecordingSender('discord');
    const sub = await feeds.subscriptions.subscribe({ platform: 'discord', channelId: '1', filter: '' }, clock);
    const id = await queueAlert(sub, 'inc:9');
    const row = (await feeds.outbox.get(id))!;
    await feeds.outbox.claim(id, null); // the crashed process got this far...
    const messageId = sender.acceptSilently('1', { kind: 'notice', text: 'stand-in' }, row.idempotencyKey); // ...and the platform took it
    const w = worker(sender);
    assert.equal(await w.recover(), 1);
    assert.equal((await feeds.outbox.get(id))!.status, 'sent');
    assert.equal((await feeds.outbox.get(id))!.messageId, messageId);
    assert.equal(await feeds.outbox.threadOf('discord', '1', 'inc:9'), messageId);
    await w.drain();
    assert.equal(sender.attempts.length, 0);
  });

  it('sends again with the same key when the interrupted send never arrived', async () => {
    const sender = new RecordingSender('discord');
    const sub = await feeds.subscriptions.subscribe({ platform: 'discord', channelId: '1', filter: '' }, clock);
    const id = await queueAlert(sub);
    const key = (await feeds.outbox.get(id))!.idempotencyKey;
    await feeds.outbox.claim(id, null);
    const w = worker(sender);
    await w.drain();
    assert.deepEqual(sender.sent.map((m) => m.key), [key]);
    assert.equal((await feeds.outbox.get(id))!.status, 'sent');
    assert.equal((await feeds.outbox.get(id))!.attempts, 0, 'a crash is not a failed attempt');
  });

  it('an interrupted send the platform cannot find is looked for from its claim, a few spaced times, then sent again with a warning', async () => {
    const sender = new RecordingSender('slack');
    const looks: { at: number; since: number | undefined }[] = [];
    // As Slack's findSent past its page limit in a busy channel: every check ends "cannot tell".
    (sender as { findSent: AlertSender['findSent'] }).findSent = async (_channel, _key, _target, near) => {
      looks.push({ at: clock, since: near?.since });
      throw new AlertSendError('more than 5000 messages in channel C1 since the alert was claimed: cannot tell whether it was posted', true);
    };
    const warnings: string[] = [];
    const logger = { info() {}, warn: (_o: unknown, msg: string) => warnings.push(msg), error() {} } as unknown as OutboxWorkerOptions['logger'];
    const sub = await feeds.subscriptions.subscribe({ platform: 'slack', channelId: 'C1', filter: '' }, clock);
    const id = await queueAlert(sub);
    clock += 6 * 3_600_000; // queued hours before its claim (a long outage, a backlog)
    const claimedAt = clock;
    await feeds.outbox.claim(id, null, undefined, claimedAt);
    clock += 5_000;
    const w = worker(sender, { logger, retryBaseMs: 1_000, maxRecoveryChecks: 3 });
    assert.equal(await w.recover(), 0);
    assert.deepEqual(looks.map((l) => l.since), [claimedAt], 'looked for from the claim, not from the queueing');
    assert.equal(await w.recover(), 0);
    assert.equal(looks.length, 1, 'the next check waits (each may cost 25 rate-limited history calls)');
    for (let i = 0; i < 10 && (await feeds.outbox.get(id))!.status === 'sending'; i++) {
      clock += 60_000;
      await w.recover();
    }
    assert.equal(looks.length, 3, 'checked a bounded number of times');
    assert.equal((await feeds.outbox.get(id))!.status, 'pending', 'then sent again rather than left sending');
    assert.ok(warnings.some((m) => /duplicate is possible/.test(m)), 'saying a duplicate is possible');
    await w.drain();
    assert.equal(sender.sent.length, 1);
    assert.equal((await feeds.outbox.get(id))!.status, 'sent');
  });

  it('renews leases one at a time: a renewal still out (a hung database) is skipped, not queued behind', async (t) => {
    t.mock.timers.enable({ apis: ['setInterval'] });
    const sender = new RecordingSender('slack');
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let sending = false;
    sender.send = async function (this: RecordingSender, ...args: Parameters<RecordingSender['send']>) {
      sending = true;
      await held;
      return RecordingSender.prototype.send.apply(this, args);
    };
    let claims = 0;
    let unhang!: () => void;
    const hung = new Promise<void>((resolve) => (unhang = resolve));
    const channels = {
      claim: async (keys: readonly string[]) => {
        claims++;
        if (claims > 1) await hung; // every renewal hangs until the database comes back
        return new Set(keys);
      },
    };
    const sub = await feeds.subscriptions.subscribe({ platform: 'slack', channelId: 'C1', filter: '' }, clock);
    await queueAlert(sub);
    const w = worker(sender, { channels, leaseMs: 30_000 });
    const round = w.runOnce();
    for (let i = 0; i < 200 && !sending; i++) await new Promise((r) => setImmediate(r));
    assert.equal(sending, true);
    for (let i = 0; i < 6; i++) t.mock.timers.tick(10_000);
    assert.equal(claims, 2, 'one renewal under way');
    unhang();
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    assert.equal(claims, 2, 'the ticks while it hung were skipped, not run in a burst afterwards');
    release();
    assert.equal(await round, 1);
  });

  it('delivers notices', async () => {
    const sender = new RecordingSender('slack');
    const sub = await feeds.subscriptions.subscribe({ platform: 'slack', channelId: 'C1', filter: '' }, clock);
    await feeds.outbox.enqueue({ subscriptionId: sub.id, platform: 'slack', channelId: 'C1', kind: 'notice', text: 'Feed X is failing', nextAttemptAt: clock, createdAt: clock });
    await worker(sender).drain();
    assert.deepEqual(sender.sent.map((m) => m.message), [{ kind: 'notice', text: 'Feed X is failing' }]);
  });
});

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { CLI_ACTOR, createAlertsService } from '../../src/feeds/alerts-service.js';
import { RefusedError, type Actor, type AlertsService } from '../../src/feeds/types.js';
import { storageOverStore, type Storage } from '../../src/store/storage.js';
import { openStore, type Store } from '../../src/store/store.js';

const A: Actor = { tenant: 'slack:TA', platform: 'slack', userId: 'UADMINA' };
const B: Actor = { tenant: 'slack:TB', platform: 'slack', userId: 'UADMINB' };
const LEAVE: Actor = { tenant: 'slack:TA', platform: 'slack', userId: 'app_uninstalled' };
const T0 = Date.UTC(2026, 1, 2, 10);

let dir: string;
let store: Store;
let feeds: Storage;
let alerts: AlertsService;
let n = 0;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'incident-bot-remove-tenant-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));
beforeEach(async () => {
  store = openStore(join(dir, `r-${++n}.db`));
  feeds = await storageOverStore(store);
  alerts = createAlertsService({ storage: feeds, allowPrivate: true, checkUrl: () => undefined, now: () => T0 });
});
afterEach(() => store.close());

describe('AlertsService.removeTenant', () => {
  it('removes the tenant\'s subscriptions (and their pending alerts) and feed ownerships, audits each, and leaves other tenants alone', async () => {
    await alerts.addFeed(CLI_ACTOR, { url: 'https://operator.example/feed.xml' });
    const own = await alerts.addFeed(A, { url: 'https://a-only.example/feed.xml', name: 'A only' });
    const shared = await alerts.addFeed(A, { url: 'https://shared.example/feed.xml' });
    await alerts.addFeed(B, { url: 'https://shared.example/feed.xml' });
    const a1 = await alerts.subscribe(A, { platform: 'slack', channelId: 'CA1', workspaceId: 'TA', filter: '' });
    await alerts.subscribe(A, { platform: 'slack', channelId: 'CA2', workspaceId: 'TA', filter: 'tag:ransomware' });
    const b1 = await alerts.subscribe(B, { platform: 'slack', channelId: 'CB1', workspaceId: 'TB', filter: '' });
    await feeds.posts.insert({ id: 'p1', feedId: own.feed.id, incidentId: 'feed-p1', url: null, urlKey: null, title: 'Post', published: null, summary: 'S', createdAt: T0 });
    const pendingA = await feeds.outbox.enqueue({ subscriptionId: a1.id, platform: 'slack', channelId: 'CA1', postId: 'p1', kind: 'alert', nextAttemptAt: T0, createdAt: T0 });
    const pendingB = await feeds.outbox.enqueue({ subscriptionId: b1.id, platform: 'slack', channelId: 'CB1', postId: 'p1', kind: 'alert', nextAttemptAt: T0, createdAt: T0 });

    assert.deepEqual(await alerts.removeTenant(LEAVE), { subscriptions: 2, feeds: 2 });

    assert.deepEqual(await alerts.listSubscriptions('slack:TA', 'slack', 'CA1'), []);
    assert.deepEqual(await alerts.listSubscriptions('slack:TA', 'slack', 'CA2'), []);
    assert.equal(await feeds.outbox.get(pendingA!), undefined, 'A\'s pending alert is gone');
    assert.equal((await feeds.outbox.get(pendingB!))?.status, 'pending', 'B\'s pending alert stays');
    assert.deepEqual((await alerts.listSubscriptions('slack:TB', 'slack', 'CB1')).map((s) => s.id), [b1.id]);
    assert.deepEqual((await alerts.listFeeds('slack:TA')).map((f) => f.url), ['https://operator.example/feed.xml']);
    assert.equal((await feeds.feeds.get(own.feed.id))?.removed, true, 'a feed no one else owns stops being polled');
    assert.equal((await feeds.feeds.get(shared.feed.id))?.removed, false, 'a feed B also owns is still polled');
    assert.ok((await alerts.listFeeds('slack:TB')).some((f) => f.id === shared.feed.id), 'B keeps its feed');

    const log = await alerts.audit({ tenant: 'slack:TA' });
    assert.deepEqual(
      log.filter((e) => e.userId === 'app_uninstalled').map((e) => e.action).sort(),
      ['feed-remove', 'feed-remove', 'unsubscribe', 'unsubscribe'],
    );
    assert.ok(log.some((e) => e.userId === 'UADMINA' && e.action === 'feed-add'), 'the earlier history is kept');
    assert.deepEqual(await alerts.removeTenant(LEAVE), { subscriptions: 0, feeds: 0 }, 'a second call finds nothing');
  });

  it('refuses to remove the operator', async () => {
    await assert.rejects(alerts.removeTenant(CLI_ACTOR), RefusedError);
  });
});

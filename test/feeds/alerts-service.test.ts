import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAlertsService, subscribeConfiguredChannels } from '../../src/feeds/alerts-service.js';
import { runFeedsCli } from '../../src/feeds/cli.js';
import { FilterError } from '../../src/feeds/match.js';
import type { AlertsService } from '../../src/feeds/types.js';
import { FeedStore } from '../../src/store/feed-store.js';
import { openStore, type Store } from '../../src/store/store.js';

const T0 = Date.UTC(2025, 6, 10, 12);
let dir: string;
let n = 0;
let store: Store;
let feeds: FeedStore;

const service = (allowPrivate = false): AlertsService => createAlertsService({ feeds, allowPrivate, now: () => T0 });

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'incident-bot-alerts-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));
beforeEach(() => {
  store = openStore(join(dir, `a-${++n}.db`));
  feeds = new FeedStore(store);
});
afterEach(() => store.close());

describe('AlertsService subscriptions', () => {
  it('subscribes with a normalised filter, lists per channel and unsubscribes by id or all', () => {
    const alerts = service();
    const a = alerts.subscribe({ platform: 'discord', channelId: '111', workspaceId: 'g1', filter: '  tag:ransomware   lockbit ', roleId: '9', createdBy: 'u1' });
    assert.equal(a.filter, 'tag:ransomware lockbit');
    assert.equal(alerts.subscribe({ platform: 'discord', channelId: '111', filter: 'tag:ransomware lockbit', roleId: '9' }).id, a.id, 'same filter twice is one subscription');
    const b = alerts.subscribe({ platform: 'discord', channelId: '111', filter: '' });
    alerts.subscribe({ platform: 'slack', channelId: 'C111', filter: '' });
    assert.deepEqual(alerts.listSubscriptions('discord', '111').map((s) => s.id), [a.id, b.id]);
    assert.equal(alerts.listSubscriptions('discord', '111')[0]!.workspaceId, 'g1');
    assert.equal(alerts.unsubscribe('discord', '111', b.id), 1);
    assert.equal(alerts.unsubscribe('discord', '999', a.id), 0, 'an id of another channel is not removed');
    assert.equal(alerts.unsubscribe('discord', '111'), 1);
    assert.equal(alerts.listSubscriptions('slack', 'C111').length, 1);
  });

  it('refuses a filter it cannot use, saying how to write it', () => {
    assert.throws(() => service().subscribe({ platform: 'discord', channelId: '1', filter: 'since:2024' }), FilterError);
    assert.throws(() => service().subscribe({ platform: 'discord', channelId: '', filter: '' }), /channel/);
  });

  it('subscribes the configured channels to everything, once, keeping an admin’s role', () => {
    const alerts = service();
    alerts.subscribe({ platform: 'discord', channelId: '123456789012345678', filter: '', roleId: '77' });
    const channels = { discordAlertChannels: ['123456789012345678', '223456789012345678'], slackAlertChannels: ['C0123ABCD'] };
    assert.equal(subscribeConfiguredChannels(alerts, channels), 2);
    assert.equal(subscribeConfiguredChannels(alerts, channels), 0);
    assert.equal(alerts.listSubscriptions('discord', '123456789012345678')[0]!.roleId, '77');
    assert.equal(alerts.listSubscriptions('slack', 'C0123ABCD')[0]!.filter, '');
  });
});

describe('AlertsService feeds', () => {
  it('refuses non-http(s) and private addresses unless allowed', async () => {
    await assert.rejects(service().addFeed({ url: 'not a url' }), /not a URL/);
    await assert.rejects(service().addFeed({ url: 'ftp://example.com/feed' }), /http/);
    await assert.rejects(service().addFeed({ url: 'http://127.0.0.1:8080/feed.xml' }));
    await assert.rejects(service().addFeed({ url: 'http://169.254.169.254/latest/meta-data' }));
    await assert.rejects(service(true).addFeed({ url: 'http://127.0.0.1:8080/feed.xml', intervalSeconds: 0 }), /interval/);
    const st = await service(true).addFeed({ url: 'http://127.0.0.1:8080/feed.xml', name: ' Local  feed ', intervalSeconds: 5 });
    assert.equal(st.name, 'Local feed');
    assert.equal(st.itemsSeen, 0);
    assert.deepEqual(service().listFeeds().map((f) => f.url), ['http://127.0.0.1:8080/feed.xml']);
  });

  it('removes by id or URL; a removed feed is not brought back by the feed list', async () => {
    const alerts = service(true);
    const a = await alerts.addFeed({ url: 'http://127.0.0.1:8080/a.xml' });
    await alerts.addFeed({ url: 'http://127.0.0.1:8080/b.xml' });
    assert.equal(alerts.removeFeed(String(a.id)), true);
    assert.equal(alerts.removeFeed('http://127.0.0.1:8080/b.xml'), true);
    assert.equal(alerts.removeFeed('http://127.0.0.1:8080/b.xml'), false);
    assert.equal(alerts.removeFeed('42'), false);
    feeds.seedFeeds([{ url: 'http://127.0.0.1:8080/a.xml' }, { url: 'http://127.0.0.1:8080/c.xml' }], T0);
    assert.deepEqual(alerts.listFeeds().map((f) => f.url), ['http://127.0.0.1:8080/c.xml']);
  });
});

describe('feeds CLI', () => {
  const run = async (args: string[], alerts = service(true)) => {
    let out = '';
    let err = '';
    const code = await runFeedsCli(args, { alerts, write: (t) => void (out += t), error: (t) => void (err += t), now: () => T0 + 60_000 });
    return { code, out, err };
  };

  it('adds, lists, shows status, and removes', async () => {
    let r = await run(['add', 'http://127.0.0.1:8080/feed.xml', 'Local', 'feed', '--interval', '30']);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /Added: #1 Local feed <http:\/\/127\.0\.0\.1:8080\/feed\.xml>/);
    assert.match((await run(['add', 'http://127.0.0.1:8080/feed.xml'])).out, /Already watched/);
    const id = feeds.listFeeds()[0]!.id;
    feeds.updateFeed(id, { lastSuccessAt: T0, nextPollAt: T0 + 600_000, addPolls: 4, addNotModified: 1, addItemsSeen: 17, lastError: 'HTTP 503', lastErrorAt: T0 - 3_600_000 });
    r = await run(['status']);
    assert.match(r.out, /last success: 2025-07-10T12:00:00Z \(60 s ago\)/);
    assert.match(r.out, /last error: +2025-07-10T11:00:00Z \(61 min ago\): HTTP 503/);
    assert.match(r.out, /next poll: +2025-07-10T12:10:00Z \(in 9 min\)/);
    assert.match(r.out, /items seen: +17/);
    assert.match(r.out, /304 rate: +25% of 4 polls/);
    assert.match((await run(['list'])).out, /#1 Local feed/);
    assert.equal((await run(['remove', String(id)])).code, 0);
    assert.match((await run(['list'])).out, /No feeds/);
    assert.equal((await run(['remove', String(id)])).code, 1);
  });

  it('imports an OPML file, reporting refused entries', async () => {
    const opml = join(dir, 'list.opml');
    writeFileSync(
      opml,
      `<?xml version="1.0"?><opml version="2.0"><head><title>t</title></head><body>
        <outline text="News"><outline type="rss" text="A" xmlUrl="https://a.example/feed"/></outline>
        <outline type="rss" text="B" xmlUrl="https://b.example/rss"/>
        <outline type="rss" text="Local" xmlUrl="http://10.0.0.5/feed"/>
      </body></opml>`,
    );
    const alerts = createAlertsService({ feeds, allowPrivate: false, checkUrl: async (u) => { if (u.includes('10.0.0.5')) throw new Error('private address 10.0.0.5'); } });
    const r = await run(['import-opml', opml], alerts);
    assert.equal(r.code, 0);
    assert.match(r.out, /3 feeds, 2 added, 0 already watched, 1 refused/);
    assert.match(r.out, /10\.0\.0\.5.*private/);
    assert.deepEqual(feeds.listFeeds().map((f) => f.name), ['A', 'B']);
  });

  it('prints usage for a wrong command', async () => {
    const r = await run(['frobnicate']);
    assert.equal(r.code, 2);
    assert.match(r.err, /Unknown feeds command/);
    assert.match(r.err, /feeds add <url>/);
  });
});

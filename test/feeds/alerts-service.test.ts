import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI_ACTOR, createAlertsService, subscribeConfiguredChannels } from '../../src/feeds/alerts-service.js';
import { runAuditCli, runFeedsCli } from '../../src/feeds/cli.js';
import { FilterError } from '../../src/feeds/match.js';
import { RefusedError, type Actor, type AlertsService } from '../../src/feeds/types.js';
import { storageOverStore, type Storage } from '../../src/store/storage.js';
import { openStore, type Store } from '../../src/store/store.js';

const T0 = Date.UTC(2025, 6, 10, 12);
let dir: string;
let n = 0;
let store: Store;
let feeds: Storage;
let clock = T0;

const A: Actor = { tenant: 'discord:1100000000000000002', platform: 'discord', userId: '1100000000000000004' };
const B: Actor = { tenant: 'discord:1200000000000000002', platform: 'discord', userId: '1200000000000000004' };
const SLACK: Actor = { tenant: 'slack:T0001', platform: 'slack', userId: 'UADMIN' };

const service = (allowPrivate = false, limits = {}): AlertsService => createAlertsService({ storage: feeds, allowPrivate, limits, now: () => clock });

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'incident-bot-alerts-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));
beforeEach(async () => {
  store = openStore(join(dir, `a-${++n}.db`));
  feeds = await storageOverStore(store);
  clock = T0;
});
afterEach(() => store.close());

describe('AlertsService subscriptions', () => {
  it('subscribes with a normalised filter for the actor\'s tenant, lists per channel and unsubscribes by id or all', async () => {
    const alerts = service();
    const a = await alerts.subscribe(A, { platform: 'discord', channelId: '111', workspaceId: 'g1', filter: '  tag:ransomware   lockbit ', roleId: '9' });
    assert.equal(a.filter, 'tag:ransomware lockbit');
    assert.equal(a.tenant, A.tenant);
    assert.equal(a.createdBy, A.userId);
    assert.equal((await alerts.subscribe(A, { platform: 'discord', channelId: '111', filter: 'TAG:ransomware lockbit', roleId: '9' })).id, a.id, 'same filter twice is one subscription');
    const b = await alerts.subscribe(A, { platform: 'discord', channelId: '111', filter: '' });
    await alerts.subscribe(SLACK, { platform: 'slack', channelId: 'C111', filter: '' });
    assert.deepEqual((await alerts.listSubscriptions(A.tenant, 'discord', '111')).map((s) => s.id), [a.id, b.id]);
    assert.equal((await alerts.listSubscriptions(A.tenant, 'discord', '111'))[0]!.workspaceId, 'g1');
    assert.equal(await alerts.unsubscribe(A, 'discord', '111', b.id), 1);
    assert.equal(await alerts.unsubscribe(A, 'discord', '999', a.id), 0, 'an id of another channel is not removed');
    assert.equal(await alerts.unsubscribe(A, 'discord', '111'), 1);
    assert.equal((await alerts.listSubscriptions(SLACK.tenant, 'slack', 'C111')).length, 1);
  });

  it('a tenant never sees or removes another tenant\'s subscriptions in a shared channel', async () => {
    const alerts = service();
    const mine = await alerts.subscribe(A, { platform: 'slack', channelId: 'CSHARED', filter: 'lockbit' });
    assert.deepEqual(await alerts.listSubscriptions(B.tenant, 'slack', 'CSHARED'), []);
    assert.equal(await alerts.unsubscribe(B, 'slack', 'CSHARED', mine.id), 0);
    assert.equal(await alerts.unsubscribe(B, 'slack', 'CSHARED'), 0);
    await assert.rejects(alerts.subscribe(B, { platform: 'slack', channelId: 'CSHARED', filter: 'lockbit' }), RefusedError);
    assert.equal((await alerts.listSubscriptions(A.tenant, 'slack', 'CSHARED')).length, 1);
  });

  it('refuses a filter it cannot use, saying how to write it', async () => {
    await assert.rejects(service().subscribe(A, { platform: 'discord', channelId: '1', filter: 'since:2024' }), FilterError);
    await assert.rejects(service().subscribe(A, { platform: 'discord', channelId: '', filter: '' }), /channel/);
  });

  it('refuses more than SUBSCRIPTIONS_PER_CHANNEL subscriptions in one channel (the operator has no limit)', async () => {
    const alerts = service(false, { subscriptionsPerChannel: 3 });
    for (let i = 0; i < 3; i++) await alerts.subscribe(A, { platform: 'discord', channelId: '7', filter: `w${i}` });
    await assert.rejects(alerts.subscribe(A, { platform: 'discord', channelId: '7', filter: 'w3' }), /3 subscriptions, the most allowed \(3\)/);
    await alerts.subscribe(B, { platform: 'discord', channelId: '8', filter: 'w3' });
    await alerts.subscribe(CLI_ACTOR, { platform: 'discord', channelId: '7', filter: 'w4' });
  });

  it('subscribes the configured channels to everything as the operator, once, keeping a channel\'s own role', async () => {
    const alerts = service();
    await alerts.subscribe(A, { platform: 'discord', channelId: '123456789012345678', filter: '', roleId: '77' });
    const channels = { discordAlertChannels: ['123456789012345678', '223456789012345678'], slackAlertChannels: ['C0123ABCD'] };
    assert.equal(await subscribeConfiguredChannels(alerts, channels), 2);
    assert.equal(await subscribeConfiguredChannels(alerts, channels), 0);
    assert.equal((await alerts.listSubscriptions(A.tenant, 'discord', '123456789012345678'))[0]!.roleId, '77');
    const slack = (await alerts.listSubscriptions('operator', 'slack', 'C0123ABCD'))[0]!;
    assert.equal(slack.filter, '');
    assert.equal(slack.tenant, 'operator');
    assert.ok((await alerts.audit({ tenant: 'operator' })).some((e) => e.userId === 'SLACK_ALERT_CHANNEL_IDS' && e.action === 'subscribe'));
  });
});

describe('AlertsService feeds', () => {
  it('refuses non-http(s) and private addresses unless allowed', async () => {
    await assert.rejects(service().addFeed(A, { url: 'not a url' }), /not a URL/);
    await assert.rejects(service().addFeed(A, { url: 'ftp://example.com/feed' }), /http/);
    await assert.rejects(service().addFeed(A, { url: 'http://127.0.0.1:8080/feed.xml' }));
    await assert.rejects(service().addFeed(A, { url: 'http://169.254.169.254/latest/meta-data' }));
    await assert.rejects(service(true).addFeed(CLI_ACTOR, { url: 'http://127.0.0.1:8080/feed.xml', intervalSeconds: 0 }), /interval/);
    const { feed } = await service(true).addFeed(CLI_ACTOR, { url: 'http://127.0.0.1:8080/feed.xml', name: ' Local  feed ', intervalSeconds: 5 });
    assert.equal(feed.name, 'Local feed');
    assert.equal(feed.itemsSeen, 0);
    assert.equal(feed.scope, 'operator');
    assert.deepEqual((await service().listFeeds(A.tenant)).map((f) => f.url), ['http://127.0.0.1:8080/feed.xml']);
  });

  it('a tenant\'s feed is seen by that tenant and the operator only; the same URL from two tenants is one feed', async () => {
    const alerts = service(true);
    await alerts.addFeed(CLI_ACTOR, { url: 'http://127.0.0.1:8080/op.xml', name: 'Operator' });
    const a = (await alerts.addFeed(A, { url: 'http://127.0.0.1:8080/shared.xml', name: 'Mine' })).feed;
    assert.equal(a.scope, 'tenant');
    assert.equal(a.addedBy, A.userId);
    assert.deepEqual((await alerts.listFeeds(A.tenant)).map((f) => f.name), ['Operator', 'Mine']);
    assert.deepEqual((await alerts.listFeeds(B.tenant)).map((f) => f.name), ['Operator']);
    assert.deepEqual((await alerts.listFeeds(undefined)).map((f) => f.name), ['Operator'], 'a DM sees operator feeds only');
    const b = (await alerts.addFeed(B, { url: 'http://127.0.0.1:8080/shared.xml', name: 'Theirs' })).feed;
    assert.equal(b.id, a.id, 'one feed row per URL');
    assert.equal((await alerts.listFeeds(B.tenant))[1]!.name, 'Theirs', 'each tenant keeps its own name');
    assert.equal((await alerts.listFeeds(A.tenant))[1]!.name, 'Mine');
    assert.deepEqual((await alerts.listFeeds('operator')).find((f) => f.id === a.id)?.tenants, [A.tenant, B.tenant]);
    // A removing its feed ends only its ownership: B still has it, and it is still polled.
    assert.equal((await alerts.removeFeed(A, String(a.id))).status, 'removed');
    assert.equal((await alerts.listFeeds(A.tenant)).length, 1);
    assert.equal((await alerts.listFeeds(B.tenant)).length, 2);
    assert.equal((await feeds.feeds.get(a.id))!.removed, false);
    // B cannot remove what it does not see; then B removes its own and the feed stops.
    assert.equal((await alerts.removeFeed(B, '999')).status, 'not-found');
    assert.equal((await alerts.removeFeed(B, 'http://127.0.0.1:8080/shared.xml')).status, 'removed');
    assert.equal((await feeds.feeds.get(a.id))!.removed, true);
  });

  it('refuses a tenant removing, re-adding or renaming an operator feed, naming FEEDS_FILE', async () => {
    const alerts = service(true);
    await feeds.feeds.syncOperatorFeeds([{ url: 'http://127.0.0.1:8080/cisa.xml', name: 'CISA' }], T0);
    const [cisa] = await alerts.listFeeds(B.tenant);
    const removed = await alerts.removeFeed(B, String(cisa!.id));
    assert.equal(removed.status, 'operator-feed');
    await assert.rejects(alerts.addFeed(B, { url: 'http://127.0.0.1:8080/cisa.xml', name: 'Renamed' }), /operator feed.*FEEDS_FILE/);
    assert.equal((await alerts.listFeeds(A.tenant))[0]!.name, 'CISA');
    // The operator cannot remove it from the CLI either: the file is the truth.
    assert.equal((await alerts.removeFeed(CLI_ACTOR, String(cisa!.id))).status, 'operator-feed');
  });

  it('a tenant renames its own feed by adding it again with another name', async () => {
    const alerts = service(true);
    await alerts.addFeed(A, { url: 'http://127.0.0.1:8080/a.xml', name: 'Old' });
    assert.equal((await alerts.addFeed(A, { url: 'http://127.0.0.1:8080/a.xml' })).outcome, 'unchanged');
    const renamed = await alerts.addFeed(A, { url: 'http://127.0.0.1:8080/a.xml', name: 'New' });
    assert.equal(renamed.outcome, 'renamed');
    assert.equal((await alerts.listFeeds(A.tenant))[0]!.name, 'New');
    assert.deepEqual((await alerts.audit({ tenant: A.tenant })).map((e) => e.action), ['feed-rename', 'feed-add']);
  });

  it('refuses more than FEEDS_PER_TENANT feeds per tenant, counting only that tenant\'s', async () => {
    const alerts = service(true, { feedsPerTenant: 2 });
    await alerts.addFeed(A, { url: 'http://127.0.0.1:8080/1.xml' });
    await alerts.addFeed(A, { url: 'http://127.0.0.1:8080/2.xml' });
    await assert.rejects(alerts.addFeed(A, { url: 'http://127.0.0.1:8080/3.xml' }), /watches 2 feeds of its own, the most allowed/);
    await alerts.addFeed(B, { url: 'http://127.0.0.1:8080/3.xml' });
    await alerts.addFeed(CLI_ACTOR, { url: 'http://127.0.0.1:8080/4.xml' });
    await alerts.removeFeed(A, 'http://127.0.0.1:8080/1.xml');
    await alerts.addFeed(A, { url: 'http://127.0.0.1:8080/3.xml' });
  });

  it('counts at most MANAGE_COMMANDS_PER_MINUTE management commands per tenant and user in a sliding minute', async () => {
    const alerts = service(false, { manageCommandsPerMinute: 3 });
    for (let i = 0; i < 3; i++) assert.equal(alerts.takeManagementSlot(A), 0);
    const wait = alerts.takeManagementSlot(A);
    assert.ok(wait > 0 && wait <= 60, String(wait));
    assert.equal(alerts.takeManagementSlot({ ...A, userId: 'someone else' }), 0, 'another user of the tenant is not held back');
    assert.equal(alerts.takeManagementSlot({ ...B, userId: A.userId }), 0, 'the same user id in another tenant is another key');
    assert.equal(alerts.takeManagementSlot(CLI_ACTOR), 0);
    clock += 61_000;
    assert.equal(alerts.takeManagementSlot(A), 0, 'a minute later it is allowed again');
  });

  it('shows URLs and errors with credentials redacted, and stores the URL as given', async () => {
    const alerts = service(true);
    const url = 'http://alice:s3cret@127.0.0.1:8080/feed.xml?apikey=K3Y&page=2';
    const { feed } = await alerts.addFeed(A, { url });
    assert.equal((await feeds.feeds.get(feed.id))!.url, url);
    assert.equal(feed.url, 'http://***@127.0.0.1:8080/feed.xml?apikey=***&page=2');
    await feeds.feeds.update(feed.id, { lastError: `${url}: HTTP 500`, lastErrorAt: T0 });
    const [status] = await alerts.listFeeds(A.tenant);
    assert.doesNotMatch(JSON.stringify(status), /s3cret|K3Y|alice/);
    assert.doesNotMatch(JSON.stringify(await alerts.audit()), /s3cret|K3Y/);
  });

  it('records every add, remove, subscribe and unsubscribe with tenant, platform user id and time', async () => {
    const alerts = service(true);
    await alerts.addFeed(A, { url: 'http://127.0.0.1:8080/a.xml', name: 'A feed' });
    clock += 1000;
    const sub = await alerts.subscribe(A, { platform: 'discord', channelId: '5', filter: 'lockbit' });
    clock += 1000;
    await alerts.unsubscribe(A, 'discord', '5', sub.id);
    clock += 1000;
    await alerts.removeFeed(A, 'http://127.0.0.1:8080/a.xml');
    await alerts.addFeed(B, { url: 'http://127.0.0.1:8080/b.xml' });
    const log = await alerts.audit({ tenant: A.tenant });
    assert.deepEqual(log.map((e) => e.action), ['feed-remove', 'unsubscribe', 'subscribe', 'feed-add']);
    for (const e of log) {
      assert.equal(e.tenant, A.tenant);
      assert.equal(e.userId, A.userId);
      assert.equal(e.platform, 'discord');
    }
    assert.equal(log.at(-1)!.at, new Date(T0).toISOString());
    assert.equal(log[2]!.channelId, '5');
    assert.match(log[2]!.detail!, /filter: lockbit/);
    assert.equal((await alerts.audit()).length, 5);
  });
});

describe('FEEDS_FILE as the truth for operator feeds', () => {
  it('listed feeds become operator feeds; dropped ones stop being operator feeds at the next sync', async () => {
    const alerts = service(true);
    await alerts.addFeed(A, { url: 'http://127.0.0.1:8080/mine.xml' });
    await feeds.feeds.syncOperatorFeeds([{ url: 'http://127.0.0.1:8080/r1.xml' }, { url: 'http://127.0.0.1:8080/mine.xml', name: 'Listed' }], T0);
    assert.deepEqual((await alerts.listFeeds(B.tenant)).map((f) => f.url), ['http://127.0.0.1:8080/mine.xml', 'http://127.0.0.1:8080/r1.xml']);
    const r = await feeds.feeds.syncOperatorFeeds([{ url: 'http://127.0.0.1:8080/r2.xml' }], T0);
    assert.equal(r.dropped, 2);
    assert.deepEqual((await alerts.listFeeds(B.tenant)).map((f) => f.url), ['http://127.0.0.1:8080/r2.xml']);
    assert.deepEqual((await alerts.listFeeds(A.tenant)).map((f) => f.url), ['http://127.0.0.1:8080/mine.xml', 'http://127.0.0.1:8080/r2.xml'], 'A still owns its feed');
    assert.equal((await feeds.feeds.getByUrl('http://127.0.0.1:8080/r1.xml'))!.removed, true, 'no one owns r1: no longer polled');
  });

  it('an operator feed the CLI added survives a sync; removing it keeps it for tenants that added it themselves', async () => {
    const alerts = service(true);
    const { feed } = await alerts.addFeed(CLI_ACTOR, { url: 'http://127.0.0.1:8080/cli.xml' });
    await alerts.addFeed(A, { url: 'http://127.0.0.1:8080/cli.xml' }).catch(() => undefined);
    await feeds.feeds.syncOperatorFeeds([], T0);
    assert.equal((await alerts.listFeeds(B.tenant)).length, 1);
    const removed = await alerts.removeFeed(CLI_ACTOR, String(feed.id));
    assert.equal(removed.status, 'removed');
    assert.equal((await alerts.listFeeds(B.tenant)).length, 0);
  });
});

describe('feeds CLI (the /feeds command, as the operator)', () => {
  const run = async (args: string[], alerts = service(true)) => {
    let out = '';
    let err = '';
    const code = await runFeedsCli(args, { alerts, write: (t) => void (out += t), error: (t) => void (err += t) });
    return { code, out, err };
  };

  it('adds, lists, shows status, and removes, with the chat command\'s wording', async () => {
    let r = await run(['add', 'http://127.0.0.1:8080/feed.xml', 'Local', 'feed', '--interval', '30']);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /Watching feed #1\n#1 Local feed — http:\/\/127\.0\.0\.1:8080\/feed\.xml · operator/);
    assert.match(r.out, /npm run cli -- feeds remove 1/);
    assert.equal((await feeds.feeds.get(1))!.intervalSeconds, 30);
    r = await run(['add', 'http://127.0.0.1:8080/feed.xml']);
    assert.equal(r.code, 1);
    assert.match(r.err, /already watched/);
    const id = (await feeds.feeds.list())[0]!.id;
    await feeds.feeds.update(id, { lastSuccessAt: T0, nextPollAt: T0 + 600_000, addPolls: 4, addNotModified: 1, addItemsSeen: 17, lastError: 'HTTP 503', lastErrorAt: T0 - 3_600_000 });
    r = await run(['status']);
    assert.match(r.out, /Feed status: 1 feed, all healthy/);
    assert.match(r.out, /last success 2025-07-10 12:00 UTC · next poll 2025-07-10 12:10 UTC · 17 items seen · 4 polls, 25% not modified/);
    assert.match(r.out, /last error: HTTP 503 \(2025-07-10 11:00 UTC\)/);
    assert.match((await run(['list'])).out, /#1 Local feed/);
    assert.equal((await run(['remove', String(id)])).code, 0);
    assert.match((await run(['list'])).out, /No feeds/);
    assert.equal((await run(['remove', String(id)])).code, 1);
  });

  it('lists every tenant\'s feeds with their tenants, redacted', async () => {
    const alerts = service(true);
    await alerts.addFeed(A, { url: 'http://127.0.0.1:8080/t.xml?token=T0K3N', name: 'Tenant feed' });
    const r = await run(['list'], alerts);
    assert.match(r.out, /#1 Tenant feed — http:\/\/127\.0\.0\.1:8080\/t\.xml\?token=\*\*\* · discord:1100000000000000002: added by 1100000000000000004 on 2025-07-10/);
    assert.doesNotMatch(r.out, /T0K3N/);
  });

  it('imports an OPML file through the same service path, reporting refused entries', async () => {
    const opml = join(dir, 'list.opml');
    writeFileSync(
      opml,
      `<?xml version="1.0"?><opml version="2.0"><head><title>t</title></head><body>
        <outline text="News"><outline type="rss" text="A" xmlUrl="https://a.example/feed"/></outline>
        <outline type="rss" text="B" xmlUrl="https://b.example/rss"/>
        <outline type="rss" text="Local" xmlUrl="http://10.0.0.5/feed"/>
      </body></opml>`,
    );
    const alerts = createAlertsService({ storage: feeds, allowPrivate: false, checkUrl: async (u) => { if (u.includes('10.0.0.5')) throw new Error('private address 10.0.0.5'); } });
    const r = await run(['import-opml', opml], alerts);
    assert.equal(r.code, 0);
    assert.match(r.out, /3 feeds, 2 added, 0 already watched, 1 refused/);
    assert.match(r.out, /10\.0\.0\.5.*private/);
    assert.deepEqual((await feeds.feeds.list()).map((f) => f.name), ['A', 'B']);
    assert.deepEqual((await alerts.audit()).map((e) => `${e.tenant} ${e.userId} ${e.action}`), ['operator cli feed-add', 'operator cli feed-add']);
  });

  it('prints usage for a wrong command', async () => {
    const r = await run(['frobnicate']);
    assert.equal(r.code, 2);
    assert.match(r.err, /Unknown feeds command/);
    assert.match(r.err, /feeds add <url>/);
  });

  it('audit prints the log, newest first, for one tenant or all, and checks its arguments', async () => {
    const alerts = service(true);
    await alerts.addFeed(A, { url: 'http://127.0.0.1:8080/a.xml' });
    await alerts.subscribe(B, { platform: 'discord', channelId: '9', filter: 'tag:cve' });
    let out = '';
    let err = '';
    const deps = { alerts, write: (t: string) => void (out += t), error: (t: string) => void (err += t) };
    assert.equal(await runAuditCli(['--tenant', B.tenant], deps), 0);
    assert.match(out, /^2025-07-10T12:00:00Z {2}discord:1200000000000000002 {2}discord user 1200000000000000004 {2}subscribe {2}subscription #1 in channel 9 filter: tag:cve\n$/);
    out = '';
    assert.equal(await runAuditCli([], deps), 0);
    assert.equal(out.trim().split('\n').length, 2);
    assert.equal(await runAuditCli(['--tenant', 'nonsense'], deps), 2);
    assert.match(err, /--tenant must be operator, discord:<server id> or slack:<team id>/);
  });
});

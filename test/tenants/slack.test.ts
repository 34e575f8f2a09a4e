import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createAlertsService } from '../../src/feeds/alerts-service.js';
import type { AlertsService } from '../../src/feeds/types.js';
import { storageOverStore } from '../../src/store/storage.js';
import { openStore, type Store } from '../../src/store/store.js';
import { messageTexts } from '../support/fake-slack-blocks.js';
import { startTestSlackBot, type TestSlackBot } from '../support/fake-slack-bot.js';
import { slashCommandPayload, unique } from '../support/fake-slack-payloads.js';

/**
 * Who may manage on Slack, through the real Bolt app against the fake Slack and the real alerts service over a real
 * store: a channel's creator manages that channel's subscriptions and nothing else; workspace admins and owners, and
 * the users in SLACK_ADMIN_USER_IDS, manage the workspace's feeds.
 */
describe('tenants on Slack: who may manage feeds and subscriptions', { timeout: 30_000 }, () => {
  let dir: string;
  let store: Store;
  let alerts: AlertsService;
  let bot: TestSlackBot;

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'incident-bot-slack-tenants-'));
    store = openStore(path.join(dir, 'bot.db'));
    alerts = createAlertsService({ storage: await storageOverStore(store), allowPrivate: false, checkUrl: () => undefined });
    bot = await startTestSlackBot('socket', { alerts, adminUserIds: ['UOPS'] });
    bot.fake.users.set('UADMIN', { is_admin: true });
  });
  after(async () => {
    await bot?.close();
    store?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function command(text: string, user: string, channel: string, team = 'T0001') {
    const url = bot.fake.responseUrl();
    await bot.driver.command(slashCommandPayload({ text, response_url: url, channel_id: channel, user_id: user, team_id: team }));
    const response = await bot.fake.waitForResponse((r) => url.endsWith(`/${r.id}`));
    return messageTexts(response.body).join('\n');
  }

  it('a channel creator who is not an admin cannot add or remove feeds, but manages that channel\'s subscriptions', async () => {
    const mine = unique('C');
    bot.fake.channelCreators.set(mine, 'UMAKER');
    assert.match(await command('feeds add https://creator.example/feed.xml Mine', 'UMAKER', mine), /Only workspace admins and owners .*SLACK_ADMIN_USER_IDS.* can add or remove feeds/);
    assert.deepEqual(await alerts.listFeeds('slack:T0001'), []);

    assert.match(await command('feeds add https://admin.example/feed.xml Admin feed', 'UADMIN', mine), /Watching feed #1/);
    assert.match(await command('feeds remove 1', 'UMAKER', mine), /Only workspace admins and owners/);
    assert.equal((await alerts.listFeeds('slack:T0001')).length, 1, 'the creator removed nothing');

    assert.match(await command('alerts subscribe tag:ransomware', 'UMAKER', mine), /Subscribed this channel/);
    assert.equal((await alerts.listSubscriptions('slack:T0001', 'slack', mine)).length, 1);
    const elsewhere = unique('C');
    assert.match(await command('alerts subscribe tag:ransomware', 'UMAKER', elsewhere), /Only workspace admins and owners, and the channel's creator/);
    assert.equal((await alerts.listSubscriptions('slack:T0001', 'slack', elsewhere)).length, 0);
  });

  it('a user in SLACK_ADMIN_USER_IDS adds and removes the workspace\'s feeds and manages any channel\'s alerts', async () => {
    const channel = unique('C');
    assert.match(await command('feeds add https://ops.example/feed.xml Ops feed', 'UOPS', channel), /Watching feed #2/);
    assert.match(await command('feeds list', 'UMEMBER', channel), /#2 Ops feed — https:\/\/ops\.example\/feed\.xml · added by UOPS/);
    assert.match(await command('alerts subscribe feed:"Ops feed"', 'UOPS', channel), /Subscribed this channel/);
    assert.match(await command('feeds remove 2', 'UOPS', channel), /No longer watching #2 Ops feed/);
    assert.deepEqual((await alerts.listFeeds('slack:T0001')).map((f) => f.id), [1]);
    assert.deepEqual(
      (await alerts.audit({ tenant: 'slack:T0001' })).map((e) => `${e.userId} ${e.action}`),
      ['UOPS feed-remove', 'UOPS subscribe', 'UOPS feed-add', 'UMAKER subscribe', 'UADMIN feed-add'],
    );
  });

  it('another workspace sees none of these feeds, and cannot remove them', async () => {
    const channel = unique('C');
    bot.fake.users.set('UOTHERADMIN', { is_admin: true });
    assert.match(await command('feeds list', 'UOTHERADMIN', channel, 'T0002'), /No feeds watched/);
    assert.match(await command('feeds remove 1', 'UOTHERADMIN', channel, 'T0002'), /No feed #1 here/);
    assert.equal((await alerts.listFeeds('slack:T0001')).length, 1);
  });
});

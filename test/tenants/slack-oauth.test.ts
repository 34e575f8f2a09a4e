import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { stringify } from 'node:querystring';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import { SLACK_BOT_SCOPES } from '../../src/adapters/slack/manifest.js';
import { startApp, type RunningApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { FakeSlack, postSigned, postSignedCommand } from '../support/fake-slack.js';
import { messageTexts } from '../support/fake-slack-blocks.js';
import { FAKE_SLACK_APP, installThroughPages, type InstalledWorkspace } from '../support/fake-slack-oauth.js';
import { appMentionBody, appUninstalledBody, slashCommandPayload, tokensRevokedBody, unique } from '../support/fake-slack-payloads.js';
import { rssFeed, startFeedServer, type FeedServer } from '../support/feed-server.js';

const SIGNING_SECRET = 'oauth-test-signing-secret-0123456789';
const STATE_SECRET = 'oauth-test-state-secret-abcdef0123456789';

/** Polls `check` until it returns a value, or fails after `timeoutMs`. */
async function eventually<T>(check: () => T | undefined | Promise<T | undefined>, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));

const item = (feed: string, n: number, title: string) => ({
  guid: `https://news.example.com/${feed}/${n}`,
  link: `https://news.example.com/${feed}/${n}`,
  title,
  description: `${title}. More to follow.`,
  pubDate: new Date(Date.now() - (10 - n) * 60_000),
});

/**
 * Slack installed in two workspaces through the real install flow, with npm start's wiring (startApp), the real Bolt
 * app in HTTP mode, signed requests as Slack signs them, the fake Slack (its oauth.v2.access, and each Web API call
 * answered as the workspace of its token) and a local feed server: each workspace's commands, feeds and alerts stay
 * its own, and uninstalling one leaves the other working.
 */
describe('Slack distributed to two workspaces (OAuth install, per-workspace tokens, uninstall)', { timeout: 60_000 }, () => {
  let dir: string;
  let dbPath: string;
  let fake: FakeSlack;
  let feeds: FeedServer;
  let app: RunningApp;
  let origin: string;
  const logLines: string[] = [];
  let A: InstalledWorkspace;
  let B: InstalledWorkspace;
  const CA = unique('CA');
  const CB = unique('CB');

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'incident-bot-slack-oauth-'));
    dbPath = path.join(dir, 'bot.db');
    fake = await FakeSlack.start();
    feeds = await startFeedServer();
    feeds.route('/operator.xml', { headers: { 'content-type': 'application/rss+xml' }, body: rssFeed([item('op', 1, 'Old operator news')]) });
    feeds.route('/a.xml', { headers: { 'content-type': 'application/rss+xml' }, body: rssFeed([item('a', 1, 'Old news only A follows')]) });
    const feedsFile = path.join(dir, 'feeds.json');
    writeFileSync(feedsFile, JSON.stringify([{ url: feeds.url('/operator.xml'), name: 'Operator News' }]));
    const config = loadConfig({
      DATABASE_PATH: dbPath,
      SLACK_CLIENT_ID: FAKE_SLACK_APP.clientId,
      SLACK_CLIENT_SECRET: FAKE_SLACK_APP.clientSecret,
      SLACK_STATE_SECRET: STATE_SECRET,
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_HOST: '127.0.0.1',
      SLACK_API_URL: fake.apiUrl,
      FEEDS_FILE: feedsFile,
      FEED_POLL_SECONDS: '1',
      ALLOW_PRIVATE_FEED_URLS: 'true',
      SOURCES_SYNC: 'false',
    });
    config.slack!.port = 0;
    // Debug level: Bolt's and the Web API client's own lines are logged too, and none may carry a secret.
    const sink = new Writable({
      write(chunk, _encoding, done) {
        logLines.push(...String(chunk).split('\n').filter(Boolean));
        done();
      },
    });
    app = await startApp(config, pino({ level: 'debug' }, sink));
    const listening = await eventually(() => logLines.map((l) => /listening on [^:]+:(\d+)\/slack\/events/.exec(l)?.[1]).find(Boolean), 'the listening line');
    origin = `http://127.0.0.1:${listening}`;
    fake.users.set('UADMINA', { is_admin: true });
    fake.users.set('UADMINB', { is_admin: true });
    fake.channelTeams.set(CA, 'TA');
    fake.channelTeams.set(CB, 'TB');
  });

  after(async () => {
    await app?.stop();
    await fake?.close();
    await feeds?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Sends `/incident <text>` from a workspace, signed as Slack signs it; resolves with the reply's text (response_url). */
  async function command(team: string, user: string, channel: string, text: string): Promise<string> {
    const url = fake.responseUrl();
    const { status } = await postSignedCommand(fake, `${origin}/slack/events`, SIGNING_SECRET, stringify(slashCommandPayload({ text, response_url: url, team_id: team, channel_id: channel, user_id: user })), {
      contentType: 'application/x-www-form-urlencoded',
    });
    assert.equal(status, 200, `ack of /incident ${text}`);
    const response = await fake.waitForResponse((r) => url.endsWith(`/${r.id}`), 8000);
    return messageTexts(response.body).join('\n');
  }

  async function event(body: Record<string, unknown>): Promise<void> {
    const { status } = await postSigned(`${origin}/slack/events`, SIGNING_SECRET, JSON.stringify(body), { contentType: 'application/json' });
    assert.equal(status, 200, 'event acked');
  }

  const installedTeams = () => {
    const db = new Database(dbPath, { readonly: true });
    try {
      return (db.prepare('SELECT team_id FROM slack_installations ORDER BY team_id').all() as { team_id: string }[]).map((r) => r.team_id);
    } finally {
      db.close();
    }
  };

  it('installs two workspaces through /slack/install and /slack/oauth_redirect, asking for the manifest\'s scopes', async () => {
    A = await installThroughPages(origin, fake.workspaces, 'TA', 'Alpha');
    B = await installThroughPages(origin, fake.workspaces, 'TB', 'Bravo');
    for (const w of [A, B]) {
      assert.equal(w.status, 200, `the redirect page for ${w.teamId}: ${w.page.slice(0, 200)}`);
      assert.match(w.page, /Thank you!/);
      assert.match(w.token, new RegExp(`^xoxb-${w.teamId}-`), `a token was issued for ${w.teamId}`);
      assert.deepEqual([...w.request.scopes].sort(), [...SLACK_BOT_SCOPES].sort());
    }
    assert.equal(fake.callsOf('oauth.v2.access').length, 2, 'one code exchange per workspace');
    assert.deepEqual(installedTeams(), ['TA', 'TB']);
  });

  it('a redirect whose state does not match the browser\'s cookie installs nothing', async () => {
    const landing = await fetch(`${origin}/slack/install`);
    const href = (await landing.text()).match(/href="([^"]*\/oauth\/v2\/authorize[^"]*)"/)![1]!.replace(/&amp;/g, '&');
    const request = fake.workspaces.approve(href, 'TEVIL');
    const exchanges = fake.callsOf('oauth.v2.access').length;
    const forged = await fetch(`${origin}/slack/oauth_redirect?code=${request.code}&state=${request.state}`);
    assert.equal(forged.status, 400, 'no state cookie: refused');
    assert.equal(fake.callsOf('oauth.v2.access').length, exchanges, 'the code was never exchanged');
    assert.deepEqual(installedTeams(), ['TA', 'TB']);
  });

  it('A\'s `/incident feeds add` is checked with A\'s token and is not in B\'s `feeds list`', async () => {
    const added = await command('TA', 'UADMINA', CA, `feeds add ${feeds.url('/a.xml')} Alpha Wire`);
    assert.match(added, /Watching feed #\d+/);
    const check = fake.callsOf('users.info').find((c) => c.params.user === 'UADMINA');
    assert.equal(check?.token, A.token, 'the admin check used A\'s token');
    assert.equal(check?.teamId, 'TA');

    const listA = await command('TA', 'UMEMBERA', CA, 'feeds list');
    assert.match(listA, /Alpha Wire/);
    const listB = await command('TB', 'UMEMBERB', CB, 'feeds list');
    assert.doesNotMatch(listB, /Alpha Wire|a\.xml/, 'B does not see A\'s feed');
    assert.match(listB, /Operator News/, 'B sees the operator feeds');
  });

  it('B\'s commands are answered with B\'s token: its admin check and its @mention answer', async () => {
    assert.match(await command('TB', 'UADMINB', CB, 'alerts subscribe'), /Subscribed this channel/);
    const check = fake.callsOf('users.info').find((c) => c.params.user === 'UADMINB');
    assert.equal(check?.token, B.token);
    assert.match(await command('TA', 'UADMINA', CA, 'alerts subscribe'), /Subscribed this channel/);

    await event(appMentionBody({ text: '<@UTBBOT> what happened with Sky ECC?', channel: CB, team: 'TB', botUserId: 'UTBBOT', user: 'UMEMBERB' }));
    const answer = await fake.waitForCall('chat.postMessage', (c) => c.params.channel === CB && typeof c.params.thread_ts === 'string', 8000);
    assert.equal(answer.token, B.token, 'the mention was answered with B\'s token');
    assert.equal(answer.teamId, 'TB');
    assert.match(JSON.stringify(answer.params.blocks), /Sky ECC/);
  });

  it('an alert for A\'s subscription is posted with A\'s token to A\'s channel only; an operator post reaches each with its own token', async () => {
    // A's feed must have seeded (its first poll alerts nothing) before it publishes something new.
    await eventually(async () => ((await app.watcher!.alerts.listFeeds('slack:TA')).find((f) => /a\.xml/.test(f.url))?.polls ? true : undefined), 'the first poll of A\'s feed');
    feeds.route('/a.xml', {
      headers: { 'content-type': 'application/rss+xml' },
      body: rssFeed([item('a', 2, 'Zorblax wiper hits a brewery'), item('a', 1, 'Old news only A follows')]),
    });
    feeds.route('/operator.xml', {
      headers: { 'content-type': 'application/rss+xml' },
      body: rssFeed([item('op', 2, 'Mornington botnet returns'), item('op', 1, 'Old operator news')]),
    });
    const alert = await fake.waitForCall('chat.postMessage', (c) => c.params.channel === CA && /Zorblax/.test(String(c.params.text)), 15_000);
    assert.equal(alert.token, A.token, 'posted with A\'s token');
    assert.equal(alert.teamId, 'TA');
    const toA = await fake.waitForCall('chat.postMessage', (c) => c.params.channel === CA && /Mornington/.test(String(c.params.text)), 15_000);
    const toB = await fake.waitForCall('chat.postMessage', (c) => c.params.channel === CB && /Mornington/.test(String(c.params.text)), 15_000);
    assert.equal(toA.token, A.token, 'the operator post went to A\'s channel with A\'s token');
    assert.equal(toB.token, B.token, 'and to B\'s channel with B\'s token');
    await settle(2500); // a poll and an outbox round more: nothing may follow in B
    const elsewhere = fake.callsOf('chat.postMessage').filter((c) => /Zorblax/.test(String(c.params.text)));
    assert.deepEqual(elsewhere.map((c) => c.params.channel), [CA], 'only A\'s channel heard of A\'s feed');
    assert.ok(fake.callsOf('chat.postMessage').every((c) => c.teamId !== 'T0001'), 'no call went out without a workspace\'s own token');
  });

  it('uninstalling A removes its token, subscriptions and feed; A is no longer answered and B keeps working', async () => {
    fake.workspaces.revokeTeam('TA');
    await event(tokensRevokedBody('TA', { bot: ['UTABOT'] }));
    await event(appUninstalledBody('TA'));
    await eventually(() => (installedTeams().includes('TA') ? undefined : true), 'A\'s installation to go');
    assert.deepEqual(installedTeams(), ['TB']);
    const alerts = app.watcher!.alerts;
    assert.deepEqual(await alerts.listSubscriptions('slack:TA', 'slack', CA), [], 'A\'s subscription is gone');
    assert.ok(!(await alerts.listFeeds('operator')).some((f) => /a\.xml/.test(f.url)), 'A\'s own feed is no longer watched');
    assert.ok(
      (await alerts.audit({ tenant: 'slack:TA' })).some((e) => e.action === 'unsubscribe' && /tokens_revoked|app_uninstalled/.test(e.userId)),
      'the removal is in A\'s audit log, beside its history',
    );

    // A's commands reach no listener any more: Bolt finds no installation for the workspace.
    const url = fake.responseUrl();
    const sent = await postSignedCommand(fake, `${origin}/slack/events`, SIGNING_SECRET, stringify(slashCommandPayload({ text: 'feeds list', response_url: url, team_id: 'TA', channel_id: CA, user_id: 'UMEMBERA' })), {
      contentType: 'application/x-www-form-urlencoded',
    });
    assert.equal(sent.status, 200);
    await settle(300);
    assert.ok(!fake.responses.some((r) => url.endsWith(`/${r.id}`)), 'no answer in the uninstalled workspace');

    assert.match(await command('TB', 'UMEMBERB', CB, 'feeds list'), /Operator News/, 'B is still answered');
    feeds.route('/operator.xml', {
      headers: { 'content-type': 'application/rss+xml' },
      body: rssFeed([item('op', 3, 'Quibblefish ransomware claims a port'), item('op', 2, 'Mornington botnet returns'), item('op', 1, 'Old operator news')]),
    });
    const alert = await fake.waitForCall('chat.postMessage', (c) => /Quibblefish/.test(String(c.params.text)), 15_000);
    assert.equal(alert.params.channel, CB);
    assert.equal(alert.token, B.token);
    await settle(1500);
    assert.ok(!fake.callsOf('chat.postMessage').some((c) => c.params.channel === CA && /Quibblefish/.test(String(c.params.text))), 'nothing for A\'s channel');
    assert.ok(!fake.calls.some((c) => c.teamId === 'TA' && c.token === A.token && /Quibblefish/.test(JSON.stringify(c.params))), 'A\'s revoked token was not used');
  });

  it('never logs a token or a secret, even at debug level', async () => {
    assert.ok(logLines.length > 50, `debug lines were logged (${logLines.length})`);
    assert.ok(logLines.some((l) => /oauth\.v2\.access/.test(l)), 'the code exchange was logged at debug level');
    for (const secret of [FAKE_SLACK_APP.clientSecret, STATE_SECRET, SIGNING_SECRET, A.token, B.token]) {
      const leak = logLines.find((l) => l.includes(secret));
      assert.equal(leak, undefined, `a secret was logged: ${leak?.slice(0, 200)}`);
    }
    assert.ok(!logLines.some((l) => /xoxb-/.test(l)), 'no bot token of any kind in the log');
  });
});

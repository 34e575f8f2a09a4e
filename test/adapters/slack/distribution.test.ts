import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { COMMANDS } from '../../../commands/index.js';
import { createSlackAdapter, SlackConfigError, type SlackAdapter } from '../../../src/adapters/slack/app.js';
import { authorizationUrlFor } from '../../../src/adapters/slack/distribution.js';
import { createSlackHttpServer, MAX_PAGES_IN_FLIGHT } from '../../../src/adapters/slack/http-server.js';
import { buildSlackManifest } from '../../../src/adapters/slack/manifest.js';
import { AlertSendError } from '../../../src/feeds/types.js';
import { SqliteSlackInstallationRepo } from '../../../src/store/slack-installations.js';
import { openStore, type Store } from '../../../src/store/store.js';
import { createFakeAlertsService, type FakeAlertsService } from '../../support/fake-alerts-service.js';
import { FakeSlack } from '../../support/fake-slack.js';
import { recordingLogger, settle, type LogLine } from '../../support/fake-slack-bot.js';
import { FAKE_SLACK_APP, installThroughPages } from '../../support/fake-slack-oauth.js';
import { appMentionBody, slashCommandPayload, socketDriver, tokensRevokedBody, unique } from '../../support/fake-slack-payloads.js';
import { createFakeSlackService } from '../../support/fake-slack-service.js';

const STATE_SECRET = 'distribution-test-state-secret-0123456789';
const SIGNING_SECRET = 'distribution-test-signing-secret-0123456789';

/** A distributed adapter over a real store and the fake Slack, in either mode, listening on 127.0.0.1 and a free port. */
async function startDistributed(mode: 'socket' | 'http', dir: string) {
  const fake = await FakeSlack.start();
  const store = openStore(path.join(dir, `${mode}-${unique('db')}.db`));
  const repo = new SqliteSlackInstallationRepo(store);
  const alerts = createFakeAlertsService();
  const { lines, logger } = recordingLogger();
  const adapter = createSlackAdapter({
    oauth: { clientId: FAKE_SLACK_APP.clientId, clientSecret: FAKE_SLACK_APP.clientSecret, stateSecret: STATE_SECRET, installations: repo },
    ...(mode === 'socket' ? { appToken: 'xapp-test-app-token' } : { signingSecret: SIGNING_SECRET }),
    port: 0,
    host: '127.0.0.1',
    service: createFakeSlackService(),
    commands: COMMANDS,
    alerts,
    logger,
    clientOptions: { slackApiUrl: fake.apiUrl, retryConfig: { retries: 0 } },
  });
  await adapter.start();
  if (mode === 'socket') await fake.waitForSocket();
  const origin = `http://127.0.0.1:${adapter.port}`;
  return {
    fake,
    store,
    repo,
    alerts,
    adapter,
    origin,
    logs: lines,
    async close() {
      await adapter.stop();
      await fake.close();
      store.close();
    },
  };
}

let dir: string;
before(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'incident-bot-slack-distribution-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('Slack distribution in Socket Mode: install pages on their own port, events over the socket', { timeout: 30_000 }, () => {
  let bot: Awaited<ReturnType<typeof startDistributed>>;
  let tokenA: string;

  before(async () => {
    bot = await startDistributed('socket', dir);
  });
  after(async () => {
    await bot?.close();
  });

  it('serves the install pages (and nothing else) on the port, and installs a workspace', async () => {
    assert.equal(bot.adapter.mode, 'socket');
    assert.equal(bot.adapter.tokens, 'oauth');
    assert.equal((await fetch(`${bot.origin}/slack/events`, { method: 'POST', body: 'x' })).status, 404, 'no events endpoint in Socket Mode');
    const installed = await installThroughPages(bot.origin, bot.fake.workspaces, 'TA', 'Alpha');
    assert.equal(installed.status, 200, installed.page.slice(0, 200));
    tokenA = installed.token;
    assert.deepEqual((await bot.repo.list()).map((i) => [i.teamId, i.teamName, i.botUserId]), [['TA', 'Alpha', 'UTABOT']]);
  });

  it('answers a mention from the installed workspace with its token, and nothing for a workspace that never installed', async () => {
    const channel = unique('C');
    await bot.fake.sendEnvelope('events_api', appMentionBody({ text: '<@UTABOT> what happened with Sky ECC?', channel, team: 'TA', botUserId: 'UTABOT' }));
    const answer = await bot.fake.waitForCall('chat.postMessage', (c) => c.params.channel === channel);
    assert.equal(answer.token, tokenA);
    assert.doesNotMatch(JSON.stringify(answer.params.blocks), /UTABOT/, 'the bot\'s own mention (its id in that workspace) was stripped');

    const url = bot.fake.responseUrl();
    await socketDriver(bot.fake).command(slashCommandPayload({ text: 'skyecc', response_url: url, team_id: 'TNOPE' }));
    await settle(200);
    assert.ok(!bot.fake.responses.some((r) => url.endsWith(`/${r.id}`)), 'a workspace without an installation gets no answer');
    assert.ok(bot.logs.some((l: LogLine) => /not installed in workspace TNOPE/.test(l.text)), 'and the log says why');
  });

  it('an operator alert (no workspace) goes out with the token of the only installed workspace', async () => {
    const channel = unique('C');
    await bot.adapter.alertSender.send(channel, { kind: 'notice', text: 'Feed X is failing' }, unique('k'), { tenant: 'operator' });
    const call = await bot.fake.waitForCall('chat.postMessage', (c) => c.params.channel === channel);
    assert.equal(call.token, tokenA);
  });

  it('tokens_revoked for user tokens only keeps the installation; for the bot it removes the workspace', async () => {
    await bot.fake.sendEnvelope('events_api', tokensRevokedBody('TA', { oauth: ['UTAADMIN'] }));
    await settle(100);
    assert.equal(await bot.repo.count(), 1, 'still installed');
    await bot.fake.sendEnvelope('events_api', tokensRevokedBody('TA', { bot: ['UTABOT'] }));
    await settle(100);
    assert.equal(await bot.repo.count(), 0, 'the installation (its tokens) is gone');
    const removal = bot.alerts.calls.find((c) => c.method === 'removeTenant');
    assert.deepEqual(removal?.args, [{ tenant: 'slack:TA', platform: 'slack', userId: 'tokens_revoked' }]);
    await assert.rejects(
      bot.adapter.alertSender.send(unique('C'), { kind: 'notice', text: 'x' }, unique('k'), { tenant: 'slack:TA', workspaceId: 'TA' }),
      (e: unknown) => e instanceof AlertSendError && !e.retryable && /no longer installed in Slack workspace TA/.test(e.message),
    );
  });
});

describe('Slack distribution in HTTP mode: the install pages beside the endpoint, and alerts per workspace', { timeout: 30_000 }, () => {
  let bot: Awaited<ReturnType<typeof startDistributed>>;
  let tokenA: string;
  let tokenB: string;

  before(async () => {
    bot = await startDistributed('http', dir);
    tokenA = (await installThroughPages(bot.origin, bot.fake.workspaces, 'TA')).token;
    tokenB = (await installThroughPages(bot.origin, bot.fake.workspaces, 'TB')).token;
  });
  after(async () => {
    await bot?.close();
  });

  it('the install page links to the consent screen beside the API, with the client id and a state also set in a cookie', async () => {
    const landing = await fetch(`${bot.origin}/slack/install`);
    const html = await landing.text();
    const href = html.match(/href="([^"]*\/oauth\/v2\/authorize[^"]*)"/)![1]!.replace(/&amp;/g, '&');
    const url = new URL(href);
    assert.equal(url.origin + url.pathname, authorizationUrlFor(bot.fake.apiUrl));
    assert.equal(url.searchParams.get('client_id'), FAKE_SLACK_APP.clientId);
    assert.match(landing.headers.getSetCookie().join(';'), new RegExp(`slack-app-oauth-state=${url.searchParams.get('state')}`));
    assert.equal(authorizationUrlFor('https://slack.com/api/'), 'https://slack.com/oauth/v2/authorize');
    assert.equal(authorizationUrlFor('https://slack-gov.com/api'), 'https://slack-gov.com/oauth/v2/authorize');
  });

  it('refuses a POST to the install page, a GET with a body, and an unknown path', async () => {
    assert.equal((await fetch(`${bot.origin}/slack/install`, { method: 'POST', body: 'a=1' })).status, 405);
    const withBody = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(`${bot.origin}/slack/oauth_redirect?code=x&state=y`, { method: 'GET', headers: { 'content-length': '5' } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end('hello');
    });
    assert.equal(withBody, 413);
    assert.equal((await fetch(`${bot.origin}/slack/elsewhere`)).status, 404);
    assert.equal(bot.fake.callsOf('oauth.v2.access').length, 2, 'no code exchange came of them');
  });

  it('refuses an org-wide install: nothing stored, and the org token revoked', async () => {
    const org = await installThroughPages(bot.origin, bot.fake.workspaces, 'TORG', undefined, { orgWide: 'E0001' });
    assert.equal(org.status, 400);
    assert.match(org.page, /org-wide installation is not supported/);
    assert.deepEqual((await bot.repo.list()).map((i) => i.teamId), ['TA', 'TB']);
    assert.ok(bot.fake.callsOf('auth.revoke').some((c) => c.token === org.token), 'the org token was revoked');
  });

  it('posts each alert, and looks for an interrupted one, with the token of its subscription\'s workspace', async () => {
    const channelA = unique('C');
    const channelB = unique('C');
    bot.fake.channelTeams.set(channelA, 'TA');
    bot.fake.channelTeams.set(channelB, 'TB');
    const sender = bot.adapter.alertSender;
    assert.equal(sender.client, undefined, 'no single client when distributed');
    await sender.send(channelA, { kind: 'notice', text: 'for A' }, unique('k'), { tenant: 'slack:TA', workspaceId: 'TA' });
    await sender.send(channelB, { kind: 'notice', text: 'for B' }, unique('k'), { tenant: 'slack:TB' });
    assert.equal(bot.fake.callsOf('chat.postMessage').find((c) => c.params.channel === channelA)?.token, tokenA);
    assert.equal(bot.fake.callsOf('chat.postMessage').find((c) => c.params.channel === channelB)?.token, tokenB);

    assert.equal(await sender.findSent(channelB, 'no-such-key', { tenant: 'slack:TB' }), undefined);
    assert.equal(bot.fake.callsOf('conversations.history').find((c) => c.params.channel === channelB)?.token, tokenB);

    // With another workspace's token, Slack answers channel_not_found: the target decides, not the channel.
    await assert.rejects(sender.send(channelB, { kind: 'notice', text: 'x' }, unique('k'), { tenant: 'slack:TA' }), /channel_not_found/);
  });

  it('an operator alert with several workspaces installed is held with a reason, not guessed', async () => {
    await assert.rejects(
      bot.adapter.alertSender.send(unique('C'), { kind: 'notice', text: 'x' }, unique('k'), { tenant: 'operator' }),
      (e: unknown) => e instanceof AlertSendError && e.retryable && /SLACK_ALERT_CHANNEL_IDS names no workspace, and 2 workspaces are installed/.test(e.message),
    );
  });

  it('a re-install replaces the workspace\'s token, and alerts use the new one', async () => {
    const again = await installThroughPages(bot.origin, bot.fake.workspaces, 'TA');
    assert.notEqual(again.token, tokenA);
    const channel = unique('C');
    await bot.adapter.alertSender.send(channel, { kind: 'notice', text: 'after re-install' }, unique('k'), { tenant: 'slack:TA' });
    assert.equal(bot.fake.callsOf('chat.postMessage').find((c) => c.params.channel === channel)?.token, again.token);
  });
});

describe('createSlackAdapter with distribution', () => {
  it('refuses a bot token together with OAuth credentials, and neither', async () => {
    const store = openStore(':memory:');
    const base = { service: createFakeSlackService(), commands: COMMANDS, signingSecret: SIGNING_SECRET };
    const oauth = { clientId: FAKE_SLACK_APP.clientId, clientSecret: FAKE_SLACK_APP.clientSecret, stateSecret: STATE_SECRET, installations: new SqliteSlackInstallationRepo(store) };
    assert.throws(() => createSlackAdapter({ ...base, botToken: 'xoxb-1', oauth }), (e: unknown) => e instanceof SlackConfigError && /not both/.test(e.message));
    assert.throws(() => createSlackAdapter(base), (e: unknown) => e instanceof SlackConfigError && /SLACK_BOT_TOKEN is required.*SLACK_CLIENT_ID/.test(e.message));
    store.close();
  });
});

describe('install pages under load', { timeout: 10_000 }, () => {
  it(`answers at most ${MAX_PAGES_IN_FLIGHT} pages at once; the next gets 503`, async () => {
    const held: ServerResponse[] = [];
    const { logger } = recordingLogger();
    const http = createSlackHttpServer({ listener: () => undefined, pages: { '/slack/install': (_req, res) => void held.push(res) }, logger });
    const port = await http.listen(0, '127.0.0.1');
    const get = () =>
      new Promise<number>((resolve, reject) => {
        const req = httpRequest({ host: '127.0.0.1', port, path: '/slack/install', agent: false }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        req.end();
      });
    const first = Array.from({ length: MAX_PAGES_IN_FLIGHT }, get);
    while (held.length < MAX_PAGES_IN_FLIGHT) await settle(10);
    assert.equal(await get(), 503);
    for (const res of held) res.writeHead(200).end('ok');
    assert.deepEqual(new Set(await Promise.all(first)), new Set([200]));
    // Once they are answered, pages are served again.
    const later = get();
    while (held.length < MAX_PAGES_IN_FLIGHT + 1) await settle(10);
    held.at(-1)!.writeHead(200).end('ok');
    assert.equal(await later, 200);
    await http.close();
  });
});

describe('the distribution manifest', () => {
  it('lists the redirect URL and subscribes to the events that say a workspace left', () => {
    const redirectUrl = 'https://bot.example.com/slack/oauth_redirect';
    const manifest = buildSlackManifest(COMMANDS, { redirectUrl, requestUrl: 'https://bot.example.com/slack/events' }) as Record<string, any>;
    assert.deepEqual(manifest.oauth_config.redirect_urls, [redirectUrl]);
    assert.deepEqual(manifest.settings.event_subscriptions.bot_events, ['app_mention', 'app_uninstalled', 'tokens_revoked']);
    const single = buildSlackManifest(COMMANDS) as Record<string, any>;
    assert.equal(single.oauth_config.redirect_urls, undefined);
  });
});

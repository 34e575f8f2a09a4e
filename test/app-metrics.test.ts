import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { stringify } from 'node:querystring';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { startApp, type RunningApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { FakeDiscord } from './support/fake-discord.js';
import { FakeSlack, postSigned, postSignedCommand } from './support/fake-slack.js';
import { slashCommandPayload } from './support/fake-slack-payloads.js';
import { startDatasetServer, type DatasetServer } from './support/dataset-server.js';
import { rssFeed, startFeedServer, type FeedServer } from './support/feed-server.js';
import { kevCatalog } from './sources/fixtures.js';

/** GET (or another method) on 127.0.0.1; resolves with the status and body. */
function call(port: number, path: string, method = 'GET'): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

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

/** The value of the first sample named `name` whose labels include `labels`, or undefined. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const line = text.split('\n').find((l) => (l.startsWith(`${name}{`) || l.startsWith(`${name} `)) && Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`)));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

/** The sum of every sample named `name` whose labels include `labels`. */
function total(text: string, name: string, labels: Record<string, string> = {}): number {
  return text
    .split('\n')
    .filter((l) => (l.startsWith(`${name}{`) || l.startsWith(`${name} `)) && Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`)))
    .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
}

const item = (n: number, title: string) => ({
  guid: `https://news.example.com/${n}`,
  link: `https://news.example.com/${n}`,
  title,
  description: `${title}. More to follow.`,
  pubDate: new Date(Date.UTC(2026, 10, 20 + n)),
});

describe('startApp with HTTP_PORT: health, readiness and metrics of a Discord bot watching a feed', { timeout: 60_000 }, () => {
  let dir: string;
  let fake: FakeDiscord;
  let feeds: FeedServer;
  let app: RunningApp;
  let port: number;
  /** The feed's URL carries credentials (user info and a token), which must never reach the metrics. */
  let feedUrl: string;

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'incident-bot-metrics-'));
    fake = await FakeDiscord.start();
    feeds = await startFeedServer();
    feeds.route('/private/feed.xml', { headers: { 'content-type': 'application/rss+xml' }, body: rssFeed([item(1, 'Old news about a router flaw')]) });
    feedUrl = feeds.url('/private/feed.xml?token=T0KEN-9f8e').replace('http://', 'http://alice:s3cret-pw@');
    const feedsFile = path.join(dir, 'feeds.json');
    writeFileSync(feedsFile, JSON.stringify([{ url: feedUrl, name: 'Private News' }]));
    const config = loadConfig({
      DATABASE_PATH: path.join(dir, 'bot.db'),
      DISCORD_TOKEN: 'fake-token',
      DISCORD_APPLICATION_ID: fake.applicationId,
      DISCORD_API_URL: fake.apiUrl,
      FEEDS_FILE: feedsFile,
      FEED_POLL_SECONDS: '1',
      ALLOW_PRIVATE_FEED_URLS: 'true',
      DISCORD_ALERT_CHANNEL_IDS: fake.channelId,
      // No Slack adapter runs here: this channel's alerts wait in the outbox, which is what the depth gauge shows.
      SLACK_ALERT_CHANNEL_IDS: 'C0WAITING1',
      SOURCES_SYNC: 'false',
      HTTP_PORT: '9090',
      HTTP_HOST: '127.0.0.1',
      REPLICA_ID: 'metrics-test-1',
    });
    assert.deepEqual(config.http, { port: 9090, host: '127.0.0.1' });
    config.http = { port: 0, host: '127.0.0.1' };
    app = await startApp(config, pino({ level: 'silent' }));
    port = app.observability!.port!;
  });

  after(async () => {
    await app?.stop();
    await fake?.close();
    await feeds?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('is live and ready once started: store, index and the Discord shard', async () => {
    assert.equal((await call(port, '/healthz')).status, 200);
    const ready = await call(port, '/readyz');
    assert.equal(ready.status, 200, ready.body);
    assert.match(ready.body, /^ready \(replica metrics-test-1\)/);
    assert.match(ready.body, /ok {3}store: reachable\n/);
    assert.match(ready.body, /ok {3}index: loaded, [\d,]+ records\n/);
    assert.match(ready.body, /ok {3}discord: shard 0 ready\n/);
  });

  it('times the answers to /incident questions asked through the real client, by status', async () => {
    const questions = ['skyecc', 'qxwzv vbnmq', 'Sky ECC'];
    for (const query of questions) await fake.waitForCallback(fake.sendSlashCommand('incident', { query }));
    const { status, body } = await call(port, '/metrics');
    assert.equal(status, 200);
    assert.equal(total(body, 'incident_bot_answer_duration_seconds_count'), questions.length, 'one observation per question');
    assert.equal(total(body, 'incident_bot_answer_duration_seconds_count', { status: 'found' }), 2);
    assert.equal(total(body, 'incident_bot_answer_duration_seconds_count', { status: 'not-found' }), 1);
    assert.ok(total(body, 'incident_bot_answer_duration_seconds_sum') > 0, 'latency recorded');
    assert.match(body, /incident_bot_answer_duration_seconds_bucket\{le="0\.1",replica="metrics-test-1",status="found",intent="[a-z-]+"\} \d/);
    assert.ok(sample(body, 'incident_bot_index_records')! > 0, 'index records exported');
    assert.equal(sample(body, 'incident_bot_discord_shard_status', { shard: '0', state: 'ready' }), 1);
  });

  it('counts feed polls and deliveries by feed id and platform, shows the outbox backlog, and never the feed URL', async () => {
    const feedId = String((await app.watcher!.storage.feeds.list())[0]!.id);
    await eventually(async () => (sample((await call(port, '/metrics')).body, 'incident_bot_feed_polls_total', { feed: feedId, outcome: 'ok' }) ?? 0) >= 1 || undefined, 'a counted poll');
    feeds.route('/private/feed.xml', {
      headers: { 'content-type': 'application/rss+xml' },
      body: rssFeed([item(2, 'Quokkaware ransomware hits a harbour operator'), item(1, 'Old news about a router flaw')]),
    });
    await eventually(() => fake.requests.find((r) => r.method === 'POST' && r.path === `/api/v10/channels/${fake.channelId}/messages`), 'the Discord alert');
    const body = await eventually(async () => {
      const text = (await call(port, '/metrics')).body;
      return sample(text, 'incident_bot_alert_deliveries_total', { platform: 'discord', outcome: 'sent' }) === 1 ? text : undefined;
    }, 'the delivery counted');
    assert.ok(total(body, 'incident_bot_feed_polls_total', { feed: feedId }) >= 2, 'both polls counted');
    assert.ok(sample(body, 'incident_bot_feed_last_success_timestamp_seconds', { feed: feedId })! > Date.now() / 1000 - 60, 'a recent last success');
    assert.equal(sample(body, 'incident_bot_feed_consecutive_failures', { feed: feedId }), 0);
    assert.equal(sample(body, 'incident_bot_outbox_depth', { platform: 'slack' }), 1, 'the Slack alert waits');
    assert.equal(sample(body, 'incident_bot_outbox_depth', { platform: 'discord' }), 0, 'the Discord one went out');
    assert.ok(sample(body, 'incident_bot_outbox_oldest_age_seconds', { platform: 'slack' })! >= 0, 'its age is shown');
    for (const secret of ['s3cret-pw', 'T0KEN-9f8e', 'alice', 'private/feed.xml', feeds.origin.replace('http://', ''), 'Private News']) {
      assert.ok(!body.includes(secret), `the metrics do not quote "${secret}"`);
    }
    assert.ok(body.split('\n').filter((l) => l && !l.startsWith('#')).every((l) => l.includes('replica="metrics-test-1"')), 'every series names the replica');
  });

  it('turns not ready when the Discord shard goes down for good', async () => {
    fake.closeShard(0, 4004);
    const down = await eventually(async () => {
      const got = await call(port, '/readyz');
      return got.status === 503 ? got : undefined;
    }, '/readyz 503');
    assert.match(down.body, /FAIL discord: shard 0 down/);
    assert.match(down.body, /ok {3}store: reachable/);
    const metrics = (await call(port, '/metrics')).body;
    assert.equal(sample(metrics, 'incident_bot_discord_shard_status', { shard: '0', state: 'down' }), 1);
  });

  it('stops the endpoint first on shutdown', async () => {
    await app.stop();
    await assert.rejects(call(port, '/healthz'), /ECONNREFUSED/);
  });
});

describe('startApp in Slack HTTP mode with HTTP_PORT: two ports, each serving only its own paths', { timeout: 30_000 }, () => {
  const secret = 'metrics-test-signing-secret';
  let dir: string;
  let fake: FakeSlack;
  let app: RunningApp;
  let opsPort: number;
  let slackPort: number;

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'incident-bot-slack-ports-'));
    fake = await FakeSlack.start();
    const config = loadConfig({
      DATABASE_PATH: path.join(dir, 'bot.db'),
      SLACK_BOT_TOKEN: 'xoxb-metrics-test',
      SLACK_SIGNING_SECRET: secret,
      SLACK_API_URL: fake.apiUrl,
      SLACK_HOST: '127.0.0.1',
      FEEDS_ENABLED: 'false',
      SOURCES_SYNC: 'false',
      HTTP_PORT: '9091',
      REPLICA_ID: 'slack-ports-1',
    });
    config.slack!.port = 0;
    config.http = { port: 0, host: '127.0.0.1' };
    const lines: string[] = [];
    app = await startApp(config, pino({ level: 'info' }, { write: (line: string) => void lines.push(line) }));
    opsPort = app.observability!.port!;
    const listening = lines.map((l) => /Slack: HTTP mode, listening on [^ ]*:(\d+)\/slack\/events/.exec(l)).find(Boolean);
    assert.ok(listening, `the Slack endpoint logged its port: ${lines.join('')}`);
    slackPort = Number(listening[1]);
  });

  after(async () => {
    await app?.stop();
    await fake?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('answers a slash command on the Slack port and counts it on the metrics port', async () => {
    assert.notEqual(opsPort, slackPort);
    const payload = slashCommandPayload({ text: 'skyecc', response_url: fake.responseUrl() });
    const { status } = await postSignedCommand(fake, `http://127.0.0.1:${slackPort}/slack/events`, secret, stringify(payload), { contentType: 'application/x-www-form-urlencoded' });
    assert.equal(status, 200);
    await fake.waitForResponse();
    const metrics = (await call(opsPort, '/metrics')).body;
    assert.equal(total(metrics, 'incident_bot_answer_duration_seconds_count', { status: 'found' }), 1);
    const ready = await call(opsPort, '/readyz');
    assert.equal(ready.status, 200, ready.body);
    assert.match(ready.body, /ok {3}slack: started/);
  });

  it('keeps each port to its own paths: no Slack events on the metrics port, no metrics on the Slack port', async () => {
    assert.equal((await call(opsPort, '/slack/events', 'POST')).status, 404);
    assert.equal((await call(slackPort, '/metrics')).status, 404);
    assert.equal((await call(slackPort, '/healthz')).status, 404);
  });
});

describe('startApp in the console with HTTP_PORT: source syncs and console answers', { timeout: 30_000 }, () => {
  let dir: string;
  let datasets: DatasetServer;
  let app: RunningApp;
  let port: number;
  const input = new PassThrough();
  const output = new PassThrough();
  let printed = '';

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'incident-bot-console-metrics-'));
    datasets = await startDatasetServer();
    datasets.put('kev.json', kevCatalog([{ cve: 'CVE-2099-0001', name: 'Quokka Pouch Gateway remote takeover' }]));
    // A port nothing listens on: that source fails.
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
    const deadPort = (probe.address() as AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const sourcesFile = path.join(dir, 'sources.json');
    writeFileSync(
      sourcesFile,
      JSON.stringify([
        { name: 'kev', format: 'kev', url: datasets.url('kev.json') },
        { name: 'gone', format: 'kev', url: `http://127.0.0.1:${deadPort}/kev.json` },
      ]),
    );
    const config = loadConfig({
      DATABASE_PATH: path.join(dir, 'bot.db'),
      SOURCES_FILE: sourcesFile,
      ALLOW_PRIVATE_FEED_URLS: 'true',
      FEEDS_ENABLED: 'false',
      HTTP_PORT: '9092',
      REPLICA_ID: 'console-1',
    });
    config.http = { port: 0, host: '127.0.0.1' };
    output.on('data', (chunk: Buffer) => (printed += chunk.toString('utf8')));
    app = await startApp(config, pino({ level: 'silent' }), { input, output });
    port = app.observability!.port!;
  });

  after(async () => {
    input.end();
    await app?.stop();
    await datasets?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('counts each source\'s sync by outcome and shows the last success from the store', async () => {
    await app.sources!.idle();
    const body = (await call(port, '/metrics')).body;
    assert.equal(sample(body, 'incident_bot_source_syncs_total', { source: 'kev', outcome: 'synced' }), 1);
    assert.equal(sample(body, 'incident_bot_source_syncs_total', { source: 'gone', outcome: 'failed' }), 1);
    assert.ok(sample(body, 'incident_bot_source_last_success_timestamp_seconds', { source: 'kev' })! > Date.now() / 1000 - 60);
    assert.equal(sample(body, 'incident_bot_source_last_success_timestamp_seconds', { source: 'gone' }), undefined, 'never synced');
    assert.equal(sample(body, 'incident_bot_outbox_depth', { platform: 'slack' }), undefined, 'no feed watcher: no outbox gauges');
  });

  it('times the console\'s answers, and is ready with no chat adapter: store and index only', async () => {
    for (const line of ['/incident skyecc', 'recent 3']) input.write(`${line}\n`);
    const body = await eventually(async () => {
      const text = (await call(port, '/metrics')).body;
      return total(text, 'incident_bot_answer_duration_seconds_count') >= 2 ? text : undefined;
    }, 'two answers counted');
    assert.equal(total(body, 'incident_bot_answer_duration_seconds_count', { status: 'found' }), 1);
    assert.equal(total(body, 'incident_bot_answer_duration_seconds_count', { status: 'list', intent: 'latest' }), 1);
    assert.match(printed, /Sky ECC/);
    const ready = await call(port, '/readyz');
    assert.equal(ready.status, 200, ready.body);
    assert.deepEqual(ready.body.split('\n').slice(1, -1).map((l) => l.split(':')[0]), ['ok   store', 'ok   index']);
  });
});

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { startApp, type RunningApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { FakeDiscord } from './support/fake-discord.js';
import { rssFeed, startFeedServer, type FeedServer } from './support/feed-server.js';

/** Polls `check` until it returns a value, or fails after `timeoutMs`. */
async function eventually<T>(check: () => T | undefined, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const item = (n: number, title: string) => ({
  guid: `https://news.example.com/${n}`,
  link: `https://news.example.com/${n}`,
  title,
  description: `${title}. More to follow.`,
  pubDate: new Date(Date.UTC(2026, 10, 20 + n)),
});

describe('startApp (Discord and the feed watcher wired as npm start wires them)', () => {
  let dir: string;
  let fake: FakeDiscord;
  let feeds: FeedServer;
  let app: RunningApp;

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'incident-bot-app-'));
    fake = await FakeDiscord.start();
    feeds = await startFeedServer();
    feeds.route('/feed.xml', { headers: { 'content-type': 'application/rss+xml' }, body: rssFeed([item(1, 'Old news about a router flaw')]) });
    const feedsFile = path.join(dir, 'feeds.json');
    writeFileSync(feedsFile, JSON.stringify([{ url: feeds.url('/feed.xml'), name: 'Test News' }]));
    const config = loadConfig({
      DATABASE_PATH: path.join(dir, 'bot.db'),
      DISCORD_TOKEN: 'fake-token',
      DISCORD_APPLICATION_ID: fake.applicationId,
      DISCORD_API_URL: fake.apiUrl,
      FEEDS_FILE: feedsFile,
      FEED_POLL_SECONDS: '1',
      ALLOW_PRIVATE_FEED_URLS: 'true',
      DISCORD_ALERT_CHANNEL_IDS: fake.channelId,
      // The default sources are on the internet; syncing is tested against a local server in test/sources/.
      SOURCES_SYNC: 'false',
    });
    app = await startApp(config, pino({ level: 'silent' }));
  });

  after(async () => {
    await app?.stop();
    await fake?.close();
    await feeds?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers /incident skyecc through the real client', async () => {
    const callback = await fake.waitForCallback(fake.sendSlashCommand('incident', { query: 'skyecc' }));
    const embed = callback.body?.data?.embeds?.[0];
    assert.match(String(embed?.title), /Sky ECC/);
  });

  it('seeds on the first poll, then alerts the configured channel once about a new post, which /incident then answers', async () => {
    await eventually(() => (feeds.requests('/feed.xml').length > 0 ? true : undefined), 'the first poll');
    feeds.route('/feed.xml', {
      headers: { 'content-type': 'application/rss+xml' },
      body: rssFeed([item(2, 'Quokkaware ransomware hits a harbour operator'), item(1, 'Old news about a router flaw')]),
    });
    const alert = await eventually(
      () => fake.requests.find((r) => r.method === 'POST' && r.path === `/api/v10/channels/${fake.channelId}/messages`),
      'the alert',
      15_000,
    );
    const text = JSON.stringify(alert.body);
    assert.match(text, /Quokkaware/);
    assert.doesNotMatch(text, /Old news/, 'the seeded item is not alerted');
    assert.deepEqual(alert.body.allowed_mentions?.parse, []);
    const callback = await fake.waitForCallback(fake.sendSlashCommand('incident', { query: 'quokkaware' }));
    assert.match(String(callback.body?.data?.embeds?.[0]?.title), /Quokkaware/);
    const alerts = fake.requests.filter((r) => r.method === 'POST' && r.path === `/api/v10/channels/${fake.channelId}/messages`);
    assert.equal(alerts.length, 1, 'one alert, not one per poll');
  });
});

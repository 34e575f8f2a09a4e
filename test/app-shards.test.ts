import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { startApp, type RunningApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { FakeDiscord, guildIdOnShard, type SentInteraction } from './support/fake-discord.js';
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

/** Discord's rule, written out as the oracle: a guild's shard is (guild_id >> 22) % count. */
const shardOf = (guildId: string) => Number((BigInt(guildId) >> 22n) % 4n);

const item = (n: number, title: string) => ({
  guid: `https://news.example.com/${n}`,
  link: `https://news.example.com/${n}`,
  title,
  description: `${title}. More to follow.`,
  pubDate: new Date(Date.UTC(2026, 10, 20 + n)),
});

/**
 * Two `npm start` processes as the README's sharding section sets them up: DISCORD_SHARDS=4 with shards 0,1 on one
 * and 2,3 on the other, one SQLite file. Only replica a runs the feed watcher (and so the outbox): two watchers on
 * one SQLite file each take the other's in-flight sends for interrupted ones and send them again, which only
 * Discord's nonce hides. Exactly-once delivery across replicas needs the shared outbox with leases (PostgreSQL).
 */
describe('two startApp replicas, shards 0,1 and 2,3 of 4, one database', { timeout: 60_000 }, () => {
  const guilds = Array.from({ length: 8 }, (_, i) => guildIdOnShard(i % 4, 4, Math.floor(i / 4) + 1));
  // The fake gives each extra guild one channel with the guild's id; alerts go to a server on replica b's shard 3.
  const alertGuild = guilds.find((g) => shardOf(g) === 3)!;
  let dir: string;
  let fake: FakeDiscord;
  let feeds: FeedServer;
  const apps: RunningApp[] = [];

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'incident-bot-shards-'));
    fake = await FakeDiscord.start({ shards: 4, maxConcurrency: 16, guildIds: guilds });
    feeds = await startFeedServer();
    feeds.route('/feed.xml', { headers: { 'content-type': 'application/rss+xml' }, body: rssFeed([item(1, 'Old news about a router flaw')]) });
    const feedsFile = path.join(dir, 'feeds.json');
    writeFileSync(feedsFile, JSON.stringify([{ url: feeds.url('/feed.xml'), name: 'Test News' }]));
    const common = {
      DATABASE_PATH: path.join(dir, 'bot.db'),
      DISCORD_APPLICATION_ID: fake.applicationId,
      DISCORD_API_URL: fake.apiUrl,
      DISCORD_SHARDS: '4',
      FEEDS_FILE: feedsFile,
      FEED_POLL_SECONDS: '1',
      ALLOW_PRIVATE_FEED_URLS: 'true',
      SOURCES_SYNC: 'false',
    };
    // Each replica has its own token, so the fake can tell whose session and whose REST call it saw.
    const a = loadConfig({ ...common, DISCORD_TOKEN: 'token-a', DISCORD_SHARD_IDS: '0,1', DISCORD_ALERT_CHANNEL_IDS: alertGuild });
    const b = loadConfig({ ...common, DISCORD_TOKEN: 'token-b', DISCORD_SHARD_IDS: '2,3', FEEDS_ENABLED: 'false' });
    apps.push(await startApp(a, pino({ level: 'silent' })));
    apps.push(await startApp(b, pino({ level: 'silent' })));
  });

  after(async () => {
    for (const app of apps) await app.stop();
    await fake?.close();
    await feeds?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('answers every interaction once, dispatched only to the replica owning its shard', async () => {
    const sent: (SentInteraction & { guildId: string })[] = [];
    for (const guildId of guilds) {
      sent.push({ ...fake.sendSlashCommand('incident', { query: 'skyecc' }, undefined, { guildId, channelId: guildId }), guildId });
      sent.push({ ...fake.sendAutocomplete('incident', 'query', 'sky', {}, { guildId, channelId: guildId }), guildId });
    }
    const callbacks = await Promise.all(sent.map((s) => fake.waitForCallback(s)));
    for (const callback of callbacks) assert.match(JSON.stringify(callback.body), /Sky ECC/, 'answered with Sky ECC');
    // A barrier per shard: frames on one socket are handled in order, so a second copy would have been answered.
    await Promise.all([0, 1, 2, 3].map((s) => fake.waitForCallback(fake.sendAutocomplete('incident', 'query', 'x', {}, { guildId: guildIdOnShard(s, 4, 1) }))));
    for (const s of sent) {
      const shard = shardOf(s.guildId);
      const owner = shard < 2 ? 'token-a' : 'token-b';
      const went = fake.dispatches.filter((d) => d.t === 'INTERACTION_CREATE' && d.id === s.id);
      assert.deepEqual(went.map((d) => `${d.shard}:${d.token}`), [`${shard}:${owner}`], `a shard-${shard} interaction went to ${owner} only`);
      const answers = fake.requests.filter((r) => r.method === 'POST' && r.path.startsWith(`/api/v10/interactions/${s.id}/`) && r.path.endsWith('/callback'));
      assert.equal(answers.length, 1, `a shard-${shard} interaction answered once`);
    }
  });

  it('sends each new post\'s alert once, from the replica that owns the outbox, to a channel on the other\'s shard', async () => {
    const channel = `/api/v10/channels/${alertGuild}/messages`;
    await eventually(() => (feeds.requests('/feed.xml').length > 0 ? true : undefined), 'the first poll');
    const titles = ['Quokkaware ransomware hits a harbour operator', 'Wombat loader spreads through fake updates', 'Numbat botnet taken down'];
    feeds.route('/feed.xml', {
      headers: { 'content-type': 'application/rss+xml' },
      body: rssFeed([...titles.map((t, i) => item(i + 2, t)).reverse(), item(1, 'Old news about a router flaw')]),
    });
    const alerts = () => fake.requests.filter((r) => r.method === 'POST' && r.path === channel);
    await eventually(() => (alerts().length >= titles.length ? true : undefined), 'three alerts', 20_000);
    // Two more polls and outbox rounds, in which a second sender would have shown itself.
    const polls = feeds.requests('/feed.xml').length;
    await eventually(() => (feeds.requests('/feed.xml').length >= polls + 2 ? true : undefined), 'two more polls');
    const sent = alerts();
    assert.equal(sent.length, titles.length, `one POST per new post (got ${sent.length})`);
    for (const title of titles) assert.equal(sent.filter((r) => JSON.stringify(r.body).includes(title)).length, 1, `"${title}" alerted once`);
    assert.deepEqual([...new Set(sent.map((r) => r.headers.authorization))], ['Bot token-a'], 'every alert sent by the outbox owner');
    assert.equal(fake.channelMessages.get(alertGuild)?.length, titles.length);
  });
});

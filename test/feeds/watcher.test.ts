import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { createDiscordAlertSender } from '../../src/adapters/discord/alert-sender.js';
import { createSlackAlertSender } from '../../src/adapters/slack/alert-sender.js';
import type { Config } from '../../src/config.js';
import { createIncidentService } from '../../src/core/create-service.js';
import { createFeedWatcher, type FeedWatcher } from '../../src/feeds/watcher.js';
import { openStore } from '../../src/store/store.js';
import { storageOverStore } from '../../src/store/storage.js';
import { FakeDiscord } from '../support/fake-discord.js';
import { FakeSlack } from '../support/fake-slack.js';
import { atomFeed, rssFeed, startFeedServer, type FeedServer, type TestFeedItem } from '../support/feed-server.js';
import { RecordingSender } from '../support/recording-sender.js';

const DISCORD_ALL = '1100000000000000101';
const DISCORD_LOCKBIT = '1100000000000000102';
const SLACK_ALL = 'C0WATCHALL';

let dir: string;
let server: FeedServer;
const silent = pino({ level: 'silent' });

function feedsConfig(file: string, over: Partial<Config['feeds']> = {}): Config['feeds'] {
  return { enabled: true, file, pollSeconds: 1, backfill: 0, allowPrivateUrls: true, discordAlertChannels: [DISCORD_ALL], slackAlertChannels: [SLACK_ALL], ...over };
}

async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 8000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Items are dated a month ago: inside the feeds' retention window whenever the test runs. */
const DAY0 = (Math.floor(Date.now() / 86_400_000) - 30) * 86_400_000;
const isoDay = (offset: number) => new Date(DAY0 + offset * 86_400_000).toISOString();

const news = (i: number, title = `Zorblax weekly note ${i}`): TestFeedItem => ({
  guid: `https://a.example/posts/${i}`,
  link: `https://a.example/posts/${i}`,
  title,
  description: `<p>Item <b>${i}</b> of the feed.</p>`,
  pubDate: new Date(DAY0 + i * 3_600_000),
});

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'incident-bot-watcher-'));
  server = await startFeedServer();
});
after(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('feed watcher end to end (local feed server, fake Discord, fake Slack)', { timeout: 30_000 }, () => {
  it('seeds silently, then alerts exactly the new posts once per subscription on both platforms, answerable at once', async () => {
    const discord = await FakeDiscord.start();
    const slack = await FakeSlack.start();
    const store = openStore(join(dir, 'e2e.db'));
    const service = createIncidentService([]);
    let watcher: FeedWatcher | undefined;
    try {
      server.route('/a.xml', { body: rssFeed([news(3), news(2), news(1)], { title: 'Outlet A' }), etag: '"a1"' });
      server.route('/b.atom', { body: atomFeed([{ guid: 'urn:b:1', link: 'https://b.example/1', title: 'Outlet B first post', pubDate: isoDay(0) }], { title: 'Outlet B' }) });
      const list = join(dir, 'feeds.json');
      writeFileSync(list, JSON.stringify([{ url: server.url('/a.xml'), name: 'Outlet A' }, server.url('/b.atom')]));
      watcher = await createFeedWatcher({
        storage: await storageOverStore(store),
        service,
        senders: [createDiscordAlertSender({ token: 'fake-token', apiUrl: discord.apiUrl })],
        config: feedsConfig(list),
        logger: silent,
        worker: { slackMinIntervalMs: 100 },
      });
      // The Slack adapter is created after the watcher (it takes watcher.alerts); its sender joins afterwards.
      watcher.addSender(createSlackAlertSender({ botToken: 'xoxb-test', clientOptions: { slackApiUrl: slack.apiUrl } }));
      await watcher.alerts.subscribe({ tenant: 'operator', platform: 'cli', userId: 'test' }, { platform: 'discord', channelId: DISCORD_LOCKBIT, filter: 'lockbit', roleId: '1100000000000000999' });
      await watcher.start();
      await waitFor('both feeds seeded', async () => (await watcher!.alerts.listFeeds()).every((f) => f.polls >= 1));
      assert.equal(service.size, 4, 'seeded posts are indexed');

      // Next version: two new posts in A (one repeated inside the document, an old one edited), one in B.
      server.route('/a.xml', {
        body: rssFeed([news(5, 'LockBit gang claims attack on Zorblax Corp'), news(4), news(4), news(3), news(2, 'Zorblax weekly note 2 (corrected)'), news(1)], { title: 'Outlet A' }),
        etag: '"a2"',
      });
      server.route('/b.atom', {
        body: atomFeed([{ guid: 'urn:b:2', link: 'https://b.example/2', title: 'Outlet B second post', pubDate: isoDay(1) }, { guid: 'urn:b:1', link: 'https://b.example/1', title: 'Outlet B first post', pubDate: isoDay(0) }], { title: 'Outlet B' }),
      });
      const discordCount = (c: string) => discord.channelMessages.get(c)?.length ?? 0;
      const slackCount = () => slack.channelMessages.get(SLACK_ALL)?.length ?? 0;
      await waitFor('alerts delivered', () => discordCount(DISCORD_ALL) >= 3 && slackCount() >= 3 && discordCount(DISCORD_LOCKBIT) >= 1);
      assert.equal(service.answer('LockBit Zorblax Corp').incident?.title, 'LockBit gang claims attack on Zorblax Corp');

      // Several more poll cycles (304s and unchanged bodies) must not repeat anything.
      const polls = (await watcher.alerts.listFeeds()).reduce((s, f) => s + f.polls, 0);
      await waitFor('more polls', async () => (await watcher!.alerts.listFeeds()).reduce((s, f) => s + f.polls, 0) >= polls + 4);
      await watcher.worker.drain(3000);
      assert.equal(discordCount(DISCORD_ALL), 3);
      assert.equal(slackCount(), 3);
      assert.equal(discordCount(DISCORD_LOCKBIT), 1);
      const texts = JSON.stringify(discord.channelMessages.get(DISCORD_ALL));
      for (const t of ['LockBit gang claims attack on Zorblax Corp', 'Zorblax weekly note 4', 'Outlet B second post']) assert.ok(texts.includes(t), t);
      assert.ok(!texts.includes('corrected'), 'an edited post is not alerted');
      assert.ok(server.requests('/a.xml').some((r) => r.status === 304), 'conditional GETs answered 304');
      const a = (await watcher.alerts.listFeeds()).find((f) => f.url.endsWith('/a.xml'))!;
      assert.ok(a.notModifiedRate > 0);
      assert.equal(a.itemsSeen, 5);
    } finally {
      await watcher?.stop();
      store.close();
      await discord.close();
      await slack.close();
    }
  });

  it('re-reads FEEDS_FILE at every start as the truth for operator feeds: added ones appear, dropped ones stop', async () => {
    const path = join(dir, 'restart.db');
    const list = join(dir, 'feeds-restart.json');
    writeFileSync(list, JSON.stringify([server.url('/r1.xml'), server.url('/r2.xml')]));
    const make = async (store: ReturnType<typeof openStore>) =>
      createFeedWatcher({ storage: await storageOverStore(store), service: createIncidentService([]), senders: [new RecordingSender('discord')], config: feedsConfig(list, { discordAlertChannels: [], slackAlertChannels: [] }), logger: silent });
    let store = openStore(path);
    const w1 = await make(store);
    assert.equal((await w1.alerts.removeFeed({ tenant: 'discord:1', platform: 'discord', userId: '2' }, server.url('/r1.xml'))).status, 'operator-feed', 'chat cannot remove a FEEDS_FILE feed');
    store.close();
    writeFileSync(list, JSON.stringify([server.url('/r2.xml'), server.url('/r3.xml')]));
    store = openStore(path);
    try {
      const w2 = await make(store);
      assert.deepEqual((await w2.alerts.listFeeds('discord:1')).map((f) => f.url), [server.url('/r2.xml'), server.url('/r3.xml')]);
      assert.ok((await w2.alerts.listFeeds('discord:1')).every((f) => f.scope === 'operator' && f.source === 'file'));
    } finally {
      store.close();
    }
  });

  it('refuses a FEEDS_FILE it cannot read, naming the file', async () => {
    const store = openStore(join(dir, 'bad-list.db'));
    try {
      await assert.rejects(
        async () => createFeedWatcher({ storage: await storageOverStore(store), service: createIncidentService([]), senders: [], config: feedsConfig(join(dir, 'missing.json')), logger: silent }),
        /missing\.json/,
      );
    } finally {
      store.close();
    }
  });
});

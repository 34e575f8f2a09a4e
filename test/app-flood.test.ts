import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { startApp, type RunningApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { FakeDiscord, type RecordedRequest } from './support/fake-discord.js';
import { bigRssFeed, startFeedServer, type FeedServer } from './support/feed-server.js';

/**
 * The flood, as `npm start` runs it: a feed of 30,000 items (about 9 MB) with new ids at every poll, watched by the
 * bot connected to the fake Discord through the real discord.js. While the documents are parsed and stored,
 * `/incident` keeps answering inside Discord's 3-second window. (The event-loop delay figures are in `npm run bench`.)
 */

const ITEMS = 30_000;
const POLLS = 2;

function replyText(r: RecordedRequest): string {
  const data = r.body?.data ?? {};
  return [data.content ?? '', ...(data.embeds ?? []).map((e: any) => `${e.title ?? ''}\n${e.description ?? ''}`)].join('\n');
}

describe('a 30,000-item flood while /incident is asked through the real discord.js', { timeout: 120_000 }, () => {
  let dir: string;
  let fake: FakeDiscord;
  let server: FeedServer;
  let app: RunningApp;
  let served = 0;

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'incident-bot-flood-'));
    fake = await FakeDiscord.start();
    server = await startFeedServer();
    // Built before the bot starts (the server shares the bot's event loop): every request gets 30,000 new ids.
    const docs = Array.from({ length: POLLS + 2 }, (_, k) => Buffer.from(bigRssFeed(ITEMS, { start: k * ITEMS })));
    server.route('/flood.xml', (_req, res) => {
      const body = docs[Math.min(served++, docs.length - 1)]!;
      res.writeHead(200, { 'content-type': 'application/rss+xml', 'content-length': body.length }).end(body);
    });
    const feedsFile = path.join(dir, 'feeds.json');
    writeFileSync(feedsFile, JSON.stringify([{ url: server.url('/flood.xml'), name: 'Flood' }]));
    app = await startApp(
      loadConfig({
        DATABASE_PATH: path.join(dir, 'bot.db'),
        DISCORD_TOKEN: 'fake-token',
        DISCORD_APPLICATION_ID: fake.applicationId,
        DISCORD_API_URL: fake.apiUrl,
        FEEDS_FILE: feedsFile,
        FEED_POLL_SECONDS: '1',
        FEED_MAX_POSTS_PER_FEED: '300',
        ALLOW_PRIVATE_FEED_URLS: 'true',
        DISCORD_ALERT_CHANNEL_IDS: fake.channelId,
      }),
      pino({ level: 'silent' }),
    );
  });

  after(async () => {
    await app?.stop();
    await fake?.close();
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers every /incident in time while two polls of the flood are parsed and stored, stores at most 200 a poll and shows the skip', async () => {
    const watcher = app.watcher!;
    const feedId = (await watcher.storage.feeds.list())[0]!.id;
    const polls = async () => (await watcher.storage.feeds.get(feedId))!.polls;
    // A question every 50 ms, without waiting for the previous answer (as a busy server's members ask), until two
    // polls of the flood are in. A question in flight when something holds the event loop is answered late.
    const asked: Promise<{ ms: number; busy: boolean; title: string }>[] = [];
    const deadline = Date.now() + 90_000;
    while ((await polls()) < POLLS) {
      assert.ok(Date.now() < deadline, `the flood polls did not finish (${await polls()} of ${POLLS}, ${served} documents served)`);
      const busy = served > (await polls());
      const sent = fake.sendSlashCommand('incident', { query: 'skyecc' });
      asked.push(
        fake.waitForCallback(sent, 30_000).then((callback) => ({ ms: callback.at - sent.sentAt, busy, title: String(callback.body?.data?.embeds?.[0]?.title) })),
      );
      await new Promise((r) => setTimeout(r, 50));
    }
    const answers = await Promise.all(asked);
    const latencies = answers.map((a) => a.ms);
    const during = answers.filter((a) => a.busy).length;
    process.stdout.write(`flood: ${answers.length} questions, ${during} during a poll, slowest reply ${Math.max(...latencies).toFixed(0)} ms\n`);
    assert.ok(answers.every((a) => /Sky ECC/.test(a.title)), 'every question got its answer');
    // Discord's window is 3 s; the margin covers a loaded test machine.
    const late = latencies.filter((ms) => ms > 2_500);
    assert.deepEqual(late.map((ms) => `${ms.toFixed(0)} ms`), [], `replies later than 2.5 s (of ${answers.length})`);
    assert.ok(during >= 5, `questions were asked while a flood document was being read (${during} of ${answers.length})`);

    const status = (await watcher.alerts.listFeeds())[0]!;
    assert.equal(status.lastSkipped, ITEMS - 200, 'the last poll skipped all but 200');
    // Pruning runs in slices right after the poll is recorded: give it a moment.
    for (let i = 0; i < 100 && await watcher.storage.posts.count(feedId) > 300; i++) await new Promise((r) => setTimeout(r, 100));
    assert.ok(await watcher.storage.posts.count(feedId) <= 300, `posts stay within FEED_MAX_POSTS_PER_FEED (${await watcher.storage.posts.count(feedId)})`);
    const pending = (await watcher.storage.outbox.counts()).reduce((n, c) => n + (c.kind === 'alert' ? c.n : 0), 0);
    assert.ok(pending <= 200 * (POLLS - 1), `at most 200 alerts a poll after the seeding one (${pending})`);

    const reply = await fake.waitForCallback(fake.sendSlashCommand('feeds', {}, 'status'));
    assert.match(replyText(reply), /skipped, not stored: 29800 new items in the last poll \(29800 over the limit of 200 per poll\)/);
  });
});

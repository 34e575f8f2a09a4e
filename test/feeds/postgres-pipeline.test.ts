import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createIncidentService } from '../../src/core/create-service.js';
import { fetchFeed } from '../../src/feeds/fetch.js';
import { createOutboxWorker } from '../../src/feeds/outbox-worker.js';
import { parseFeedDocument } from '../../src/feeds/parse.js';
import { createPipeline } from '../../src/feeds/pipeline.js';
import { createPoller } from '../../src/feeds/poller.js';
import type { Db } from '../../src/store/db.js';
import { applyPgMigrations } from '../../src/store/pg-migrations.js';
import { storageOverDb, type Storage } from '../../src/store/storage.js';
import { dbCases } from '../support/databases.js';
import { rssFeed, startFeedServer, type FeedServer } from '../support/feed-server.js';
import { RecordingSender } from '../support/recording-sender.js';

const postgres = dbCases('postgres pipeline').find((c) => c.name === 'postgres')!;

/** Records in a plain table, standing in for the records repositories (their own schema step and tests). */
describe('the feed pipeline on PostgreSQL: poll, posts, outbox, delivery', { skip: postgres.skip }, () => {
  let server: FeedServer;
  let db: Db;
  let storage: Storage;
  before(async () => {
    server = await startFeedServer();
    db = await postgres.open();
    await applyPgMigrations(db);
    storage = await storageOverDb(db, 'test');
  });
  after(async () => {
    await server.close();
    await postgres.cleanup();
  });

  it('seeds silently, then stores new posts as records, queues one alert per channel and delivers each once', async () => {
    const t0 = Date.now();
    const item = (n: number) => ({ guid: `https://pg.example/${n}`, link: `https://pg.example/${n}`, title: `Zorblax breach number ${n}`, pubDate: new Date(t0 - n * 60_000) });
    server.route('/pg.xml', { body: rssFeed([item(2), item(1)], { title: 'PG outlet' }) });
    const feed = (await storage.feeds.add({ url: server.url('/pg.xml') }, t0)).feed;
    await storage.subscriptions.subscribe({ platform: 'discord', channelId: 'D1', filter: '' }, t0);
    await storage.subscriptions.subscribe({ platform: 'discord', channelId: 'D2', filter: 'zorblax' }, t0);
    const service = createIncidentService([]);
    const pipeline = await createPipeline({ storage, service });
    const poller = createPoller({ storage, pipeline, fetchFeed, parseFeed: (b, o) => parseFeedDocument(b, o), pollSeconds: 600, allowPrivate: true });

    const seeded = await poller.pollOnce(feed.id);
    assert.equal(seeded.status, 'ok', seeded.error);
    assert.equal(seeded.ingest?.queued, 0, 'the first poll only seeds');
    assert.equal(await storage.posts.count(feed.id), 2);

    server.route('/pg.xml', { body: rssFeed([item(4), item(3), item(2), item(1)], { title: 'PG outlet' }) });
    const second = await poller.pollOnce(feed.id);
    assert.equal(second.ingest?.fresh, 2);
    assert.equal(second.ingest?.queued, 4, 'two posts, two channels');
    assert.ok(service.get(second.ingest!.newIncidents[0]!), 'new records are answerable at once');
    const titles = [];
    for (const id of second.ingest!.newIncidents) titles.push((await storage.incidents.get(id))?.title);
    assert.deepEqual(titles.sort(), ['Zorblax breach number 3', 'Zorblax breach number 4'], 'stored in the records table, in the same transactions');

    const sender = new RecordingSender('discord');
    const worker = createOutboxWorker({ storage, senders: [sender], holder: 'replica-1' });
    assert.equal(await worker.drain(5_000), 4);
    const pairs = sender.sent.map((m) => `${m.channelId} ${m.message.kind === 'alert' ? m.message.post.title : m.message.kind}`).sort();
    assert.deepEqual(pairs, ['D1 Zorblax breach number 3', 'D1 Zorblax breach number 4', 'D2 Zorblax breach number 3', 'D2 Zorblax breach number 4']);
    assert.deepEqual(await storage.outbox.backlog(), [], 'nothing left to deliver');
    const leased = await db.query<{ lease_holder: string }>("SELECT DISTINCT lease_holder FROM outbox WHERE status = 'sent'");
    assert.deepEqual(leased, [{ lease_holder: 'replica-1' }], 'each row was claimed by this replica');
    assert.equal(await worker.drain(1_000), 0, 'and never again');
  });
});

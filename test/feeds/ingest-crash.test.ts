import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createIncidentService } from '../../src/core/create-service.js';
import { createPipeline, ingestFeed } from '../../src/feeds/pipeline.js';
import type { FeedItem, ParsedFeed } from '../../src/feeds/types.js';
import { storageOverStore } from '../../src/store/storage.js';
import { openStore } from '../../src/store/store.js';

/**
 * Sliced ingestion under crashes, by in-process fault injection: the store's transaction is made to fail at the k-th
 * slice, either inside it (rolled back, as a kill mid-transaction leaves it) or right after its commit (as a kill
 * between slices does). A restart (new pipeline, new index, same database) then ingests the same document again. The
 * end state must equal an uninterrupted run's: every post, item key, incident and (subscription, post) alert once.
 */

const DAY = 86_400_000;
const T0 = Math.floor(Date.now() / DAY) * DAY + 12 * 3_600_000;
const ITEMS = 120;
const CAP = 40;
const CHANNELS = ['100', '200', '300'];

class Crash extends Error {}


/** A document of ITEMS items, newest first, some telling one story twice and some too old to keep. */
function document(): ParsedFeed {
  const items: FeedItem[] = Array.from({ length: ITEMS }, (_, i) => ({
    key: `urn:crash:${i}`,
    link: `https://crash.example/${i}`,
    title: i % 10 === 3 ? `Quillfeather ransomware hits Dunmore hospital, part ${i % 2}` : `Crash item ${i}: Zorblax ${i} flaw`,
    summary: `Item ${i}.`,
    // Every 7th item is older than the retention window.
    published: new Date(T0 - (i % 7 === 6 ? 400 * DAY : i * 60_000)).toISOString(),
    authors: [],
    categories: [],
  }));
  return { format: 'rss', title: 'Crash feed', items };
}

interface State {
  posts: string[];
  keys: string[];
  incidents: string[];
  alerts: string[];
  seeded: number;
  itemsSeen: number;
}

/** Runs one scenario on a fresh database: a first poll (when `seedFirst`), then the document; crash at slice `k`. */
async function run(seedFirst: boolean, backfill: number, crash?: { at: number; mode: 'inside' | 'after' }): Promise<{ state: State; slices: number }> {
  // One in-memory database per scenario; a "restart" is a new FeedStore, pipeline and index over what was committed.
  const store = openStore(':memory:');
  {
    const feeds = await storageOverStore(store);
    const feed = (await feeds.feeds.add({ url: 'https://crash.example/feed', name: 'Crash' }, T0)).feed;
    for (const c of CHANNELS) await feeds.subscriptions.subscribe({ platform: 'discord', channelId: c, filter: '' }, T0);
    if (seedFirst) await ingestFeed((await feeds.feeds.get(feed.id))!, { format: 'rss', items: [] }, await createPipeline({ storage: feeds, now: () => T0 }));
  }
  let slices = 0;
  const attempt = async (inject: boolean) => {
    {
      const feeds = await storageOverStore(store);
      const original = feeds.db.transaction.bind(feeds.db);
      feeds.db.transaction = async <T>(fn: () => Promise<T>): Promise<T> => {
        if (feeds.db.inTransaction()) return original(fn);
        slices++;
        if (inject && crash && slices === crash.at) {
          if (crash.mode === 'inside') {
            return original(async () => {
              await fn();
              throw new Crash('killed inside a slice');
            });
          }
          await original(fn);
          throw new Crash('killed between slices');
        }
        return original(fn);
      };
      // sliceMs 0: every item its own slice, so every boundary is a crash point.
      const deps = await createPipeline({ storage: feeds, service: createIncidentService([]), now: () => T0, backfill, bounds: { maxItemsPerPoll: CAP }, sliceMs: 0 });
      assert.equal(store.db.inTransaction, false);
      await ingestFeed((await feeds.feeds.get(1))!, document(), deps);
    }
  };
  if (crash) {
    await assert.rejects(attempt(true), Crash, `a crash at slice ${crash.at}`);
  }
  await attempt(false);

  try {
    const all = <T>(sql: string) => store.db.prepare(sql).all() as T[];
    const feed = store.db.prepare('SELECT seeded, items_seen FROM feeds WHERE id = 1').get() as { seeded: number; items_seen: number };
    return {
      slices,
      state: {
        posts: all<{ id: string }>('SELECT id FROM posts ORDER BY id').map((r) => r.id),
        keys: all<{ k: string }>("SELECT item_key || ':' || coalesce(post_id, '-') AS k FROM feed_items ORDER BY item_key").map((r) => r.k),
        incidents: all<{ k: string }>("SELECT id || ' ' || json_array_length(data, '$.sources') AS k FROM incidents ORDER BY id").map((r) => r.k),
        alerts: all<{ k: string }>("SELECT subscription_id || ':' || post_id AS k FROM outbox WHERE kind = 'alert' ORDER BY k").map((r) => r.k),
        seeded: feed.seeded,
        itemsSeen: feed.items_seen,
      },
    };
  } finally {
    store.close();
  }
}

describe('sliced ingestion: a crash between or inside slices loses and repeats nothing', { timeout: 60_000 }, () => {
  for (const [label, seedFirst, backfill] of [
    ['a poll of a seeded feed', true, 0],
    ['a first poll with FEED_BACKFILL 5', false, 5],
  ] as const) {
    it(label, async () => {
      const reference = await run(seedFirst, backfill);
      const ref = reference.state;
      assert.equal(ref.posts.length, CAP, 'the cap held');
      assert.equal(ref.alerts.length, (seedFirst ? CAP : 5) * CHANNELS.length);
      assert.ok(ref.keys.some((k) => k.endsWith(':-')), 'skipped keys were recorded');
      const total = reference.slices;
      assert.ok(total > CAP, `the document took ${total} slices`);
      // Every boundary of the first few slices, then a spread over the rest.
      const points = [...new Set([1, 2, 3, ...Array.from({ length: 14 }, (_, i) => Math.round(4 + (i * (total - 4)) / 13))])].filter((k) => k <= total);
      for (const at of points) {
        for (const mode of ['inside', 'after'] as const) {
          const { state } = await run(seedFirst, backfill, { at, mode });
          assert.deepEqual(state, ref, `crash ${mode} slice ${at} of ${total}`);
        }
      }
    });
  }
});

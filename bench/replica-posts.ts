/**
 * `node --import tsx bench/replica-posts.ts`: how long a feed post that joins a known story (it makes no record of its
 * own) takes, once its replica stored it, to be listed in "what's new with <story>" on another replica of the same
 * PostgreSQL. Two replicas in this process, each with its own listening connection, over a fresh schema dropped at the
 * end. REPLICA_POSTS_ROUNDS (40) posts, one at a time, each timed from when the pipeline hands it to its replica's index
 * (after the commit; the notice goes out then) and from the start of its ingest. Figures are printed, never asserted. TEST_DATABASE_URL picks
 * the server (default the local one).
 */
import { cpus, loadavg } from 'node:os';
import { parseIncident } from '../src/core/incident.js';
import { createPipeline, ingestFeed, postIdFor } from '../src/feeds/pipeline.js';

import { applyPgMigrations } from '../src/store/pg-migrations.js';
import { createPgDb } from '../src/store/pg-db.js';
import { postsReplica } from '../test/support/posts-replica.js';

const DB_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const ROUNDS = Number(process.env.REPLICA_POSTS_ROUNDS ?? 40);
const STORY_URL = 'https://intel.example/dim-lantern';
const RECORDS = [
  parseIncident({ id: 'bench:G1', kind: 'group', title: 'Zorblax Spider', summary: 'Zorblax Spider is a made-up group.', sources: [{ url: 'https://intel.example/zorblax' }] }),
  parseIncident({
    id: 'bench:C1', kind: 'incident', title: 'Operation Dim Lantern', date: { value: '2024-03', precision: 'month' },
    summary: 'Operation Dim Lantern was a made-up intrusion set.', tags: ['attributed-to:Zorblax Spider'], sources: [{ url: STORY_URL }],
  }),
];

const schema = `bench_replica_posts_${process.pid}`;
const db = await createPgDb({ url: DB_URL, schema, max: 4 });
try {
  await applyPgMigrations(db);
  const replica = (id: string) => postsReplica(db, DB_URL, id, RECORDS);
  const a = await replica('a');
  const b = await replica('b');
  // The clock starts when the pipeline hands the stored post to its replica's index (and the notice goes out).
  let handedAt = 0;
  const writer = new Proxy(a.replication.service, {
    get(target, key) {
      const value = Reflect.get(target, key, target);
      if (key === 'addPosts') return (...args: unknown[]) => ((handedAt = performance.now()), (value as (...x: unknown[]) => void).apply(target, args));
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  const deps = await createPipeline({ storage: a.storage, service: writer, incidents: RECORDS });
  const feed = (await a.storage.feeds.add({ url: 'https://outlet.example/feed' }, Date.now())).feed;
  const ingest = async (items: Parameters<typeof ingestFeed>[1]['items']) => ingestFeed((await a.storage.feeds.get(feed.id))!, { format: 'rss', title: 'Outlet', items }, deps);
  await ingest([]);

  const WHATS_NEW = "what's new with Zorblax Spider";
  const before = b.core.answer(WHATS_NEW).total ?? 0;
  const afterStored: number[] = [];
  const fromIngest: number[] = [];
  const cpu = process.cpuUsage();
  const wall = performance.now();
  for (let n = 0; n < ROUNDS; n++) {
    // Distinct items, one link: each joins the campaign whose report they link to.
    const key = `${STORY_URL}#${n}`;
    const title = `Dim Lantern follow-up number ${n}`;
    const started = performance.now();
    await ingest([{ key, guid: key, link: STORY_URL, title, summary: `${title}.`, published: new Date().toISOString(), authors: [], categories: [] }]);
    const post = postIdFor(feed.url, key);
    // Posts of one day tie in the list's order: the list's total tells that the post is in it, whatever its page.
    const listed = () => b.core.answer(WHATS_NEW).total === before + n + 1 && b.core.get(post) === undefined;
    while (!listed()) await new Promise((resolve) => setTimeout(resolve, 1));
    afterStored.push(performance.now() - handedAt);
    fromIngest.push(performance.now() - started);
  }
  const elapsed = performance.now() - wall;
  const used = process.cpuUsage(cpu);
  const line = (what: string, values: number[]) => {
    const sorted = [...values].sort((x, y) => x - y);
    const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!.toFixed(1);
    console.log(`  ${what}: best ${sorted[0]!.toFixed(1)} ms, p50 ${at(50)} ms, p99 ${at(99)} ms, worst ${sorted[sorted.length - 1]!.toFixed(1)} ms`);
  };
  console.log(`story post listed in "what's new" on the other replica (${ROUNDS} posts, one at a time):`);
  line('after its replica stored it and announced it', afterStored);
  line('from the start of the ingest that stored it', fromIngest);
  console.log(`  wall ${elapsed.toFixed(0)} ms, CPU ${((used.user + used.system) / 1000).toFixed(0)} ms for the rounds (both replicas and the ingests)`);
  console.log(`  load average ${loadavg().map((l) => l.toFixed(2)).join(' ')} on ${cpus().length} cores`);
  await a.replication.close();
  await b.replication.close();
} finally {
  await db.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => {});
  await db.close();
}

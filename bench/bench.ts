/**
 * `npm run bench`: our index beside plain minisearch (configured as a user would: names boosted, fuzzy 0.2, prefix)
 * and FlexSearch (its README's relevance setup), over the same records in the same run, at the shared corpus size
 * and at ~6k, ~10k and ~100k records (real records copied with new names): build time, heap, snapshot size and
 * load time, answer latency p50/p99, postings read per query (ours), start-up from store and snapshot (ours), and
 * quality (hit@1, MRR@10 on eval-public) where the records are real. Then answer latency per kind of question
 * (bench/answers.ts), and the adapters' round trips when their bench modules are present. Figures are printed, never
 * asserted: timing targets belong here, not in tests.
 *
 * BENCH_SIZES=2629,10000 picks sizes; BENCH_ANSWER_SIZES=10000 the answer bench's; BENCH_CORE_ONLY=1 skips the
 * adapters; BENCH_SLOW=1 lists the slowest queries.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import MiniSearch from 'minisearch';
import { createIncidentService, createIncidentServiceFromSnapshot } from '../src/core/create-service.js';
import type { Incident } from '../src/core/incident.js';
import { PLAIN_OPTIONS, PlainMiniSearch } from '../src/eval/baseline.js';
import { evaluate, readEvalQueries } from '../src/eval/evaluate.js';
import { pino } from 'pino';
import { loadService, snapshotPathFor } from '../src/bootstrap.js';
import { openStore } from '../src/store/store.js';
import { benchAnswers } from './answers.js';
import { baseRecords, heapMb, machineNote, percentile, queriesFor, scaleUp, SHARED, timeQueries, type Latency } from './corpus.js';
import { FlexSearchBaseline, importFlexSearch } from './flexsearch-baseline.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** One engine's figures at one size. */
interface Figures {
  build: number;
  heap: number;
  snapshotMb: number;
  load: number;
  latency: Latency;
}

const f = (x: number, d = 1) => (Number.isNaN(x) ? 'n/a' : x.toFixed(d));

/** Returns the heap an engine holds once built over `n` records (MB), measured in a process of its own (heap-probe.ts). */
function heapOf(engine: 'ours' | 'minisearch' | 'flexsearch', n: number): number {
  const out = execFileSync(process.execPath, ['--expose-gc', '--import', 'tsx', path.join(root, 'bench', 'heap-probe.ts'), engine, String(n)], { cwd: root, encoding: 'utf8' });
  return Number(out.trim().split('\n').pop());
}

function benchOurs(records: Incident[], queries: string[]): Figures & { work: { p99: number; max: number } } {
  const heap = heapOf('ours', records.length);
  let t = performance.now();
  const ours = createIncidentService(records);
  const build = performance.now() - t;
  const snapshot = ours.index.toSnapshot();
  t = performance.now();
  createIncidentServiceFromSnapshot(snapshot, records);
  const load = performance.now() - t;
  const latency = timeQueries(queries, (q) => ours.answer(q));
  const work = queries.map((q) => (ours.index.search(q, 12), ours.index.lastWork.postings)).sort((a, b) => a - b);
  return { build, heap, snapshotMb: snapshot.length / 1e6, load, latency, work: { p99: percentile(work, 0.99), max: work[work.length - 1] } };
}

function benchPlain(records: Incident[], queries: string[]): Figures {
  const heap = heapOf('minisearch', records.length);
  let t = performance.now();
  const plain = new PlainMiniSearch(records);
  const build = performance.now() - t;
  const snapshot = JSON.stringify(plain.mini);
  t = performance.now();
  MiniSearch.loadJSON(snapshot, PLAIN_OPTIONS);
  const load = performance.now() - t;
  // Fuzzy and prefix search over 100k records take tens of ms a query: one pass is enough to see it.
  const latency = timeQueries(queries, (q) => plain.search(q, 10), records.length > 50_000 ? 1 : 3);
  return { build, heap, snapshotMb: snapshot.length / 1e6, load, latency };
}

function benchFlex(records: Incident[], queries: string[]): Figures {
  const heap = heapOf('flexsearch', records.length);
  let t = performance.now();
  const flex = new FlexSearchBaseline(records);
  const build = performance.now() - t;
  const parts = flex.export();
  t = performance.now();
  importFlexSearch(parts);
  const load = performance.now() - t;
  const latency = timeQueries(queries, (q) => flex.search(q, 10));
  return { build, heap, snapshotMb: parts.reduce((n, [k, d]) => n + k.length + (d?.length ?? 0), 0) / 1e6, load, latency };
}

/**
 * Start-up as the bot does it (`loadService`): records, merges and index from the SQLite store and the served snapshot
 * beside it, once that snapshot is written; best of 3.
 */
async function startupFromStore(records: Incident[]): Promise<number> {
  const dir = mkdtempSync(path.join(tmpdir(), 'incident-bench-'));
  const logger = pino({ level: 'silent' });
  try {
    const store = openStore(path.join(dir, 'bench.db'));
    store.importIncidents(records, { origin: 'bench', format: 'jsonl' });
    await (await loadService(store, logger)).graphStored;
    while (!existsSync(snapshotPathFor(store.path)!)) await new Promise((r) => setTimeout(r, 100));
    heapMb();
    let best = Infinity;
    for (let i = 0; i < 3; i++) {
      const t = performance.now();
      const service = await loadService(store, logger);
      best = Math.min(best, performance.now() - t);
      await service.graphStored;
    }
    store.close();
    return best;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function quality(records: Incident[]): string[][] {
  const file = path.join(SHARED, 'eval-public.jsonl');
  if (!existsSync(file)) return [];
  const queries = readEvalQueries(file);
  const ours = createIncidentService(records);
  const plain = new PlainMiniSearch(records);
  const flex = new FlexSearchBaseline(records);
  const scores = [
    evaluate(queries, (q) => ours.search(q, { limit: 10 }).map((h) => h.id)).overall,
    evaluate(queries, (q) => plain.search(q, 10)).overall,
    evaluate(queries, (q) => flex.search(q, 10)).overall,
  ];
  return [
    [`eval-public hit@1 (${queries.length} queries)`, ...scores.map((s) => f(s.hitAt1, 3))],
    ['eval-public MRR@10', ...scores.map((s) => f(s.mrrAt10, 3))],
  ];
}

async function benchSize(label: string, records: Incident[], real: boolean): Promise<void> {
  const queries = queriesFor(records);
  const ours = benchOurs(records, queries);
  const plain = benchPlain(records, queries);
  const flex = benchFlex(records, queries);
  const startup = await startupFromStore(records);
  const all = [ours, plain, flex];
  const rows: string[][] = [['', 'ours', 'plain minisearch', 'flexsearch']];
  rows.push(['index build (ms)', ...all.map((x) => f(x.build, 0))]);
  rows.push(['heap after build (MB)', ...all.map((x) => f(x.heap))]);
  rows.push(['snapshot size (MB)', ...all.map((x) => f(x.snapshotMb))]);
  rows.push(['snapshot load (ms)', ...all.map((x) => f(x.load, 0))]);
  rows.push(['answer p50 / p99 (ms)', ...all.map((x) => `${f(x.latency.p50, 2)} / ${f(x.latency.p99, 2)}`)]);
  rows.push(['  fastest of runs, p50 / p99', ...all.map((x) => `${f(x.latency.bestP50, 2)} / ${f(x.latency.bestP99, 2)}`)]);
  rows.push(['postings read per query p99 / max', `${ours.work.p99} / ${ours.work.max}`, '', '']);
  rows.push(['start-up: store + snapshot (ms)', f(startup, 0), '', '']);
  if (real) rows.push(...quality(records));
  const w = [0, 1, 2, 3].map((c) => Math.max(...rows.map((r) => r[c].length)));
  console.log(`\n${label}: ${records.length.toLocaleString('en')} records, ${queries.length} queries (${machineNote()})`);
  for (const r of rows) console.log(`  ${r[0].padEnd(w[0])}  ${r[1].padStart(w[1])}  ${r[2].padStart(w[2])}  ${r[3].padStart(w[3])}`);
}

async function main(): Promise<void> {
  const base = baseRecords();
  console.log(
    'ours = the full answer() path (search, re-rank, summary, facts, sources); the others = search only.\n' +
      'Latency: p50/p99 of every run (3 runs of each query; 1 for plain minisearch at 100k), and of each query\'s\n' +
      'fastest run, which leaves out time other processes took on a shared machine (and our own rare pauses).',
  );
  const only = process.env.BENCH_SIZES?.split(',').map(Number);
  for (const n of only ?? [base.length, 6_000, 10_000, 100_000]) {
    const real = n === base.length;
    await benchSize(real ? 'shared corpus' : `scaled x${(n / base.length).toFixed(1)}`, real ? base : scaleUp(base, n), real);
  }

  console.log('\nanswers per kind of question (the full answer() path over served records with the graph):');
  await benchAnswers();

  for (const [name, fn] of [['discord', 'benchDiscord'], ['slack', 'benchSlack'], ['feed-parse', 'benchFeedParse'], ['feeds', 'benchFeeds'], ['sources', 'benchSources'], ['startup', 'benchStartup']] as const) {
    const mod = path.join(root, 'bench', `${name}.ts`);
    if (!existsSync(mod) || process.env.BENCH_CORE_ONLY) continue;
    const m = (await import(pathToFileURL(mod).href)) as Record<string, () => Promise<void>>;
    console.log(`\n${name}:`);
    await m[fn]();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});

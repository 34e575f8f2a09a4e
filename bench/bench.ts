/**
 * `npm run bench`: index build time, heap, snapshot size and load time, and answer latency p50/p99 over 1,000
 * eval-style queries, for our index and plain minisearch side by side, at the shared corpus size and at ~10k and
 * ~100k records (real records perturbed). Then the adapters' round trips when their bench modules are present.
 * Figures are printed, never asserted: timing targets belong here, not in tests.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import MiniSearch from 'minisearch';
import { createIncidentService, createIncidentServiceFromSnapshot } from '../src/core/create-service.js';
import type { Incident } from '../src/core/incident.js';
import { BUNDLED_DATA_DIR, loadIncidentDir } from '../src/core/load-data.js';
import { PlainMiniSearch } from '../src/eval/baseline.js';
import { readEvalQueries } from '../src/eval/evaluate.js';
import { importJsonl } from '../src/importers/jsonl.js';
import { openStore } from '../src/store/store.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const shared = path.resolve(root, '../shared/datasets');
const gc = (globalThis as { gc?: () => void }).gc;

function heapMb(): number {
  gc?.();
  gc?.();
  return process.memoryUsage().heapUsed / 1e6;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
}

/** Deterministic pseudo-random numbers, so every run perturbs the same way. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const SYLLABLES = ['ka', 'ro', 'ven', 'tor', 'mi', 'lex', 'dra', 'sul', 'pen', 'ix', 'zor', 'tan', 'bel', 'qua', 'nim', 'op'];

/** Returns `n` records: the originals, then copies with new names, shifted dates and shuffled summary sentences. */
function scaleUp(base: readonly Incident[], n: number): Incident[] {
  const out: Incident[] = [...base];
  const rand = rng(42);
  for (let k = 1; out.length < n; k++) {
    for (const r of base) {
      if (out.length >= n) break;
      const word = Array.from({ length: 2 + Math.floor(rand() * 2) }, () => SYLLABLES[Math.floor(rand() * SYLLABLES.length)]).join('');
      const title = `${r.title} ${word[0].toUpperCase()}${word.slice(1)}`;
      let date = r.date;
      if (date && date.precision !== 'year') {
        const [y, m] = date.value.split('-').map(Number);
        const shifted = new Date(Date.UTC(y, m - 1 + ((k * 7) % 36), 1));
        date = { value: shifted.toISOString().slice(0, date.precision === 'day' ? 10 : 7), precision: date.precision };
      }
      out.push({ ...r, id: `${r.id}~${k}`, title, date, aliases: r.aliases.map((a) => `${a} ${word}`), related: [] });
    }
  }
  return out;
}

/** Returns 1,000 eval-style queries: the public eval queries, then names as users type them (lower, compact, one typo). */
function queriesFor(records: readonly Incident[]): string[] {
  const qs: string[] = [];
  const evalFile = path.join(shared, 'eval-public.jsonl');
  if (existsSync(evalFile)) qs.push(...readEvalQueries(evalFile).map((q) => q.query));
  const rand = rng(7);
  while (qs.length < 1000) {
    const r = records[Math.floor(rand() * records.length)];
    const name = r.title.toLowerCase();
    const form = qs.length % 4;
    if (form === 0) qs.push(name);
    else if (form === 1) qs.push(name.replace(/[^a-z0-9]/g, ''));
    else if (form === 2) {
      const i = 1 + Math.floor(rand() * Math.max(1, name.length - 2));
      qs.push(name.slice(0, i) + name.slice(i + 1));
    } else qs.push(`what happened with ${name}?`);
  }
  return qs.slice(0, 1000);
}

function timeQueries(queries: string[], run: (q: string) => unknown): { p50: number; p99: number } {
  for (const q of queries.slice(0, 200)) run(q); // warm up the JIT
  const times: number[] = [];
  const slow: [number, string][] = [];
  for (const q of queries) {
    const t = performance.now();
    run(q);
    const ms = performance.now() - t;
    times.push(ms);
    slow.push([ms, q]);
  }
  // BENCH_SLOW=1 lists the slowest queries, to tell a systematic cost from a garbage-collection pause.
  if (process.env.BENCH_SLOW) for (const [ms, q] of slow.sort((a, b) => b[0] - a[0]).slice(0, 12)) console.log(`    ${ms.toFixed(1)} ms  ${q.slice(0, 90)}`);
  times.sort((a, b) => a - b);
  return { p50: percentile(times, 0.5), p99: percentile(times, 0.99) };
}

function benchSize(label: string, records: Incident[]): void {
  const queries = queriesFor(records);
  const rows: string[][] = [];

  let before = heapMb();
  let t = performance.now();
  const ours = createIncidentService(records);
  const oursBuild = performance.now() - t;
  const oursHeap = heapMb() - before;
  const snapshot = ours.index.toSnapshot();
  t = performance.now();
  const loaded = createIncidentServiceFromSnapshot(snapshot, records);
  const oursLoad = performance.now() - t;
  void loaded;
  const oursLat = timeQueries(queries, (q) => ours.answer(q));

  before = heapMb();
  t = performance.now();
  const plain = new PlainMiniSearch(records);
  const plainBuild = performance.now() - t;
  const plainHeap = heapMb() - before;
  const plainSnapshot = JSON.stringify(plain.mini);
  t = performance.now();
  MiniSearch.loadJSON(plainSnapshot, { fields: ['title', 'aliases', 'summary', 'tags'], storeFields: ['title'] });
  const plainLoad = performance.now() - t;
  const plainLat = timeQueries(queries, (q) => plain.search(q, 10));

  // Start-up as the bot does it: records from the SQLite store, then the index from the snapshot beside it.
  const startup = startupFromStore(records);
  const f = (x: number, d = 1) => x.toFixed(d);
  rows.push(['', 'ours', 'plain minisearch']);
  rows.push(['index build (ms)', f(oursBuild, 0), f(plainBuild, 0)]);
  rows.push(['heap after build (MB)', gc ? f(oursHeap) : 'n/a (--expose-gc)', gc ? f(plainHeap) : 'n/a']);
  rows.push(['snapshot size (MB)', f(snapshot.length / 1e6), f(plainSnapshot.length / 1e6)]);
  rows.push(['snapshot load (ms)', f(oursLoad, 0), f(plainLoad, 0)]);
  rows.push(['start-up: store + snapshot (ms)', `${f(startup.total, 0)} (${f(startup.records, 0)} + ${f(startup.index, 0)})`, '']);
  rows.push(['answer p50 (ms)', f(oursLat.p50, 2), f(plainLat.p50, 2)]);
  rows.push(['answer p99 (ms)', f(oursLat.p99, 2), f(plainLat.p99, 2)]);
  const w = [0, 1, 2].map((c) => Math.max(...rows.map((r) => r[c].length)));
  console.log(`\n${label}: ${records.length.toLocaleString('en')} records, ${queries.length} queries`);
  for (const r of rows) console.log(`  ${r[0].padEnd(w[0])}  ${r[1].padStart(w[1])}  ${r[2].padStart(w[2])}`);
}

function startupFromStore(records: Incident[]): { records: number; index: number; total: number } {
  const dir = mkdtempSync(path.join(tmpdir(), 'incident-bench-'));
  try {
    const dbPath = path.join(dir, 'bench.db');
    const store = openStore(dbPath);
    store.importIncidents(records, { origin: 'bench', format: 'jsonl' });
    const snapshot = createIncidentService(store.allIncidents()).index.toSnapshot();
    gc?.();
    let t = performance.now();
    const loaded = store.allIncidents();
    const recordsMs = performance.now() - t;
    t = performance.now();
    createIncidentServiceFromSnapshot(snapshot, loaded);
    const indexMs = performance.now() - t;
    store.close();
    return { records: recordsMs, index: indexMs, total: recordsMs + indexMs };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const bundled = loadIncidentDir(BUNDLED_DATA_DIR);
  const file = path.join(shared, 'incidents.jsonl');
  let base: Incident[] = bundled;
  if (existsSync(file)) base = [...bundled, ...importJsonl(readFileSync(file, 'utf8'), file)];
  else console.log(`(${file} not found: benchmarking the bundled data only; scale-up figures are less meaningful)`);
  console.log(`node ${process.version}, answer = the full answer() path (search, re-rank, summary, facts, sources)`);
  const only = process.env.BENCH_SIZES?.split(',').map(Number);
  for (const n of only ?? [base.length, 10_000, 100_000]) benchSize(n === base.length ? 'shared corpus' : `scaled x${Math.round(n / base.length)}`, n === base.length ? base : scaleUp(base, n));

  for (const [name, fn] of [['discord', 'benchDiscord'], ['slack', 'benchSlack'], ['feed-parse', 'benchFeedParse'], ['feeds', 'benchFeeds'], ['sources', 'benchSources']] as const) {
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

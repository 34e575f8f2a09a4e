/** The records and queries the index benches share: the real corpus, scaled-up copies, eval-style queries. */
import { existsSync, readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Incident } from '../src/core/incident.js';
import { BUNDLED_DATA_DIR, loadIncidentDir } from '../src/core/load-data.js';
import { readEvalQueries } from '../src/eval/evaluate.js';
import { importJsonl } from '../src/importers/jsonl.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** ../shared/datasets from the project root. */
export const SHARED = path.resolve(root, '../shared/datasets');

/** Returns the bundled records plus the shared corpus when it is there (and says so when it is not). */
export function baseRecords(): Incident[] {
  const bundled = loadIncidentDir(BUNDLED_DATA_DIR);
  const file = path.join(SHARED, 'incidents.jsonl');
  if (!existsSync(file)) {
    console.log(`(${file} not found: benchmarking the bundled data only; scale-up figures are less meaningful)`);
    return bundled;
  }
  return [...bundled, ...importJsonl(readFileSync(file, 'utf8'), file)];
}

/** Deterministic pseudo-random numbers, so every run perturbs the same way. */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const SYLLABLES = ['ka', 'ro', 'ven', 'tor', 'mi', 'lex', 'dra', 'sul', 'pen', 'ix', 'zor', 'tan', 'bel', 'qua', 'nim', 'op'];

/**
 * Returns `n` records: the originals, then copies with new names and shifted dates. Copies keep their texts, so
 * every text word's postings grow with the copies: the worst case for full text (real records differ more).
 */
export function scaleUp(base: readonly Incident[], n: number): Incident[] {
  if (n <= base.length) return base.slice(0, n);
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

/** Words from deep in descriptions, as users remember them from articles: what full text is for. */
const TEXT_LOOKUPS = ['viasat', 'viasat satellite hack', 'printnightmare', 'print nightmare', 'log4shell', 'zerologon', 'notpetya outage', 'solarwinds orion'];

/**
 * Returns 1,000 eval-style queries: the public eval queries, lookups of words deep in descriptions, then names as
 * users type them (lower case, run together, one typo, in a question).
 */
export function queriesFor(records: readonly Incident[]): string[] {
  const qs: string[] = [];
  const evalFile = path.join(SHARED, 'eval-public.jsonl');
  if (existsSync(evalFile)) qs.push(...readEvalQueries(evalFile).map((q) => q.query));
  qs.push(...TEXT_LOOKUPS);
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

/** Returns the p-quantile of sorted numbers. */
export function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
}

/** Latency of a query set: every run, and each query's fastest of `passes` runs (what other processes cannot add). */
export interface Latency {
  p50: number;
  p99: number;
  bestP50: number;
  bestP99: number;
  /** p99 of each query's least CPU time (user + system) over the runs: what a busy machine adds least to. */
  bestCpuP99: number;
}

/** Times every query `passes` times (after a warm-up); BENCH_SLOW=1 lists the slowest. */
export function timeQueries(queries: readonly string[], run: (q: string) => unknown, passes = 3): Latency {
  for (const q of queries.slice(0, 200)) run(q); // warm up the JIT
  const all: number[] = [];
  const best = new Map<string, number>();
  const bestCpu = new Map<string, number>();
  for (let pass = 0; pass < passes; pass++) {
    for (const q of queries) {
      const cpu = process.cpuUsage();
      const t = performance.now();
      run(q);
      const ms = performance.now() - t;
      const used = process.cpuUsage(cpu);
      all.push(ms);
      best.set(q, Math.min(best.get(q) ?? Infinity, ms));
      bestCpu.set(q, Math.min(bestCpu.get(q) ?? Infinity, (used.user + used.system) / 1000));
    }
  }
  if (process.env.BENCH_SLOW) for (const [q, ms] of [...best].sort((a, b) => b[1] - a[1]).slice(0, 12)) console.log(`    ${ms.toFixed(1)} ms  ${q.slice(0, 90)}`);
  all.sort((a, b) => a - b);
  const bests = [...best.values()].sort((a, b) => a - b);
  const cpus = [...bestCpu.values()].sort((a, b) => a - b);
  return { p50: percentile(all, 0.5), p99: percentile(all, 0.99), bestP50: percentile(bests, 0.5), bestP99: percentile(bests, 0.99), bestCpuP99: percentile(cpus, 0.99) };
}

/** Returns the heap in use after two collections (MB); NaN without --expose-gc. */
export function heapMb(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) return NaN;
  gc();
  gc();
  return process.memoryUsage().heapUsed / 1e6;
}

/** One line on the machine: timings on a shared 2-core machine move with what else runs. */
export function machineNote(): string {
  return `node ${process.version}, ${cpus().length} cores, load average ${loadavg()[0].toFixed(1)}`;
}

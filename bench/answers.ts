/**
 * Answer latency per kind of question (lookup, list, topic, comparison, and `/incidents search` with its filters),
 * through the whole `answer()` (or `searchList()`) path over
 * served records (merged, with the knowledge graph), at 10k and 100k records: the records the natural-question eval
 * uses (incidents.jsonl and the MISP threat-actor and ransomware files) copied with new names, tags kept so that the
 * graph's relations resolve as in real data. Targets: at 10k, lookups p99 <= 5 ms and lists, topics and comparisons
 * p99 <= 20 ms; at 100k, everything p99 <= 50 ms. Each question runs 3 times: p50/p99 of every run, of each question's
 * fastest run, and of its least CPU time (a machine shared with other work adds wall time, far less CPU time). Figures
 * are printed, never asserted.
 *
 * Run alone with `node --expose-gc --import tsx bench/answers.ts`; `npm run bench` calls it. BENCH_ANSWER_SIZES=10000
 * picks sizes; BENCH_SLOW=1 lists the slowest questions of each kind.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServedService } from '../src/core/create-service.js';
import type { Incident } from '../src/core/incident.js';
import { BUNDLED_DATA_DIR, loadIncidentDir } from '../src/core/load-data.js';
import { buildServed } from '../src/core/served.js';
import { importFile } from '../src/importers/index.js';
import { machineNote, rng, SHARED, timeQueries, type Latency } from './corpus.js';

/** Question kinds timed, and each one's p99 target (ms) at 10k and at 100k records. */
export const ANSWER_TARGETS = {
  lookup: { at10k: 5, at100k: 50 },
  list: { at10k: 20, at100k: 50 },
  topic: { at10k: 20, at100k: 50 },
  comparison: { at10k: 20, at100k: 50 },
  search: { at10k: 20, at100k: 50 },
} as const;
/** A kind of question the bench times. */
export type AnswerKind = keyof typeof ANSWER_TARGETS;

const QUESTIONS_PER_KIND = 200;

/** Returns the records the natural-question eval is run over, or undefined when ../shared is not there. */
function evalRecords(): Incident[] | undefined {
  const files = ['incidents.jsonl', 'raw/misp-galaxy-threat-actor.json', 'raw/misp-galaxy-ransomware.json'].map((f) => path.join(SHARED, f));
  if (!files.every(existsSync)) return undefined;
  return files.flatMap((f) => importFile('auto', [f]));
}

/** Copies with new ids and names and their tags kept, so relations resolve in the copies as in the originals. */
function scaleUp(base: readonly Incident[], n: number): Incident[] {
  const out: Incident[] = [...base];
  for (let k = 1; out.length < n; k++) {
    for (const r of base) {
      if (out.length >= n) break;
      out.push({ ...r, id: `${r.id}~${k}`, title: `${r.title} v${k}`, aliases: r.aliases.map((a) => `${a} v${k}`), sameAs: undefined, related: [], stixId: undefined });
    }
  }
  return out;
}

const tagValues = (r: Incident, prefix: string) => r.tags.filter((t) => t.startsWith(prefix)).map((t) => t.slice(prefix.length));
const kindTag = (r: Incident) => tagValues(r, 'type:')[0];

/** Words of a description worth typing: no markup, no names in capitals, nothing short. */
function topicWords(summary: string, pick: () => number): string | undefined {
  const words = summary
    .replace(/\[([^\]]+)\]\([^)]*\)|\(Citation:[^)]*\)|<[^>]+>/g, ' ')
    .split(/\s+/)
    .map((w) => w.replace(/[^A-Za-z-]/g, ''))
    .filter((w) => w.length > 4 && w === w.toLowerCase());
  if (words.length < 8) return undefined;
  const start = Math.floor(pick() * (words.length - 7));
  return words.slice(start, start + 7).join(' ');
}

/** Returns QUESTIONS_PER_KIND questions of each kind, built from the real records (not the copies) with a fixed seed. */
export function answerQuestions(records: readonly Incident[]): Record<AnswerKind, string[]> {
  const pick = rng(11);
  const any = <T>(xs: readonly T[]) => xs[Math.floor(pick() * xs.length)];
  const groups = records.filter((r) => kindTag(r) === 'group' || r.kind === 'group');
  const tools = records.filter((r) => r.kind === 'software' && tagValues(r, 'used-by:').length > 0);
  const vendors = [...new Set(records.flatMap((r) => tagValues(r, 'vendor:')))];
  const campaigns = records.filter((r) => r.kind === 'incident' && r.summary.length > 200);
  const named = records.filter((r) => r.title.length < 40);
  const out: Record<AnswerKind, string[]> = { lookup: [], list: [], topic: [], comparison: [], search: [] };
  while (out.lookup.length < QUESTIONS_PER_KIND) {
    const r = any(named);
    const name = pick() < 0.5 || r.aliases.length === 0 ? r.title : any(r.aliases);
    out.lookup.push(pick() < 0.5 ? name.toLowerCase() : name);
  }
  const listForms = [
    () => `which groups use ${any(tools).title}`,
    () => `campaigns that used ${any(tools).title.toLowerCase()}`,
    () => `${any(vendors)} vulnerabilities in the KEV`,
    () => `latest ${any(vendors).toLowerCase()} bugs exploited`,
    () => `what tools does ${any(groups).title} use`,
    () => `what happened in ${any(['March', 'June', 'October', 'December'])} ${2019 + Math.floor(pick() * 6)}`,
  ];
  while (out.list.length < QUESTIONS_PER_KIND) out.list.push(any(listForms)());
  while (out.topic.length < QUESTIONS_PER_KIND) {
    const words = topicWords(any(campaigns).summary, pick);
    if (words) out.topic.push(words);
  }
  const compareForms = [(a: string, b: string) => `${a} vs ${b}`, (a: string, b: string) => `difference between ${a} and ${b}`, (a: string, b: string) => `compare ${a} and ${b}`];
  while (out.comparison.length < QUESTIONS_PER_KIND) {
    const pool = pick() < 0.6 ? groups : tools;
    out.comparison.push(any(compareForms)(any(pool).title.toLowerCase(), any(pool).title.toLowerCase()));
  }
  const slug = (name: string) => name.toLowerCase().replace(/[^a-z0-9]+/g, '-');
  const searchForms = [
    () => `${any(['ransomware', 'phishing', 'espionage', 'backdoor'])} since:${2019 + Math.floor(pick() * 6)}`,
    () => `vendor:${slug(any(vendors))} kind:vulnerability`,
    () => `latest actor:${slug(any(groups).title)}`,
    () => `${any(tools).title.toLowerCase()} kind:incident`,
    () => `tag:${any(['ransomware', 'espionage', 'financially-motivated'])} until:${2018 + Math.floor(pick() * 6)}`,
    () => `latest ${any(vendors).toLowerCase()}`,
  ];
  while (out.search.length < QUESTIONS_PER_KIND) out.search.push(any(searchForms)());
  return out;
}

const f = (x: number) => x.toFixed(2);

/** Times each kind of question at each size and prints p50/p99 beside the targets. */
export async function benchAnswers(): Promise<void> {
  const base = evalRecords();
  if (!base) {
    console.log(`  (${SHARED} not found: the answer bench needs the shared datasets)`);
    return;
  }
  const bundled = loadIncidentDir(BUNDLED_DATA_DIR);
  const questions = answerQuestions(base);
  const sizes = process.env.BENCH_ANSWER_SIZES?.split(',').map(Number) ?? [10_000, 100_000];
  for (const n of sizes) {
    let t = performance.now();
    const served = buildServed({ bundled, files: scaleUp(base, n) });
    await served.graphReady;
    const service = createServedService(served);
    const build = performance.now() - t;
    const target = n >= 100_000 ? 'at100k' : 'at10k';
    console.log(`  ${served.records.length.toLocaleString('en')} served records (built in ${(build / 1000).toFixed(1)} s; ${machineNote()})`);
    const rows: string[][] = [['kind', 'p50 / p99 (ms)', 'fastest of runs p50 / p99', 'least CPU p99', 'target p99', 'met']];
    for (const kind of Object.keys(ANSWER_TARGETS) as AnswerKind[]) {
      const run = kind === 'search' ? (q: string) => service.searchList(q) : (q: string) => service.answer(q);
      const latency: Latency = timeQueries(questions[kind], run, 3);
      const goal = ANSWER_TARGETS[kind][target];
      rows.push([kind, `${f(latency.p50)} / ${f(latency.p99)}`, `${f(latency.bestP50)} / ${f(latency.bestP99)}`, f(latency.bestCpuP99), `<= ${goal}`, latency.p99 <= goal ? 'yes' : 'no']);
    }
    const w = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
    for (const r of rows) console.log(`    ${r.map((cell, c) => (c === 0 ? cell.padEnd(w[c]) : cell.padStart(w[c]))).join('  ')}`);
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  benchAnswers().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}

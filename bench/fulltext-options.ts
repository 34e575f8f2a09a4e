/**
 * The ways to make whole descriptions searchable, measured side by side (README, "How search works"):
 *   A. one minisearch index: the whole text in the name index's summary field;
 *   B. a second minisearch index over the text, beside the name index (what the bot does);
 *   C. SQLite FTS5 over the text (porter stemming), in a database file beside the store.
 * Per size: build time, heap, bytes on disk (snapshot or database), load time, how many words the name index's
 * typo walk must visit (and the time of one walk), and the time of text lookups: rare words (what full text is for)
 * and common ones (what a bound must keep out).
 *
 * `node --expose-gc --import tsx bench/fulltext-options.ts` (BENCH_SIZES=2629,10000 picks sizes).
 */
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import MiniSearch from 'minisearch';
import { INDEX_OPTIONS, toIndexDoc, type IndexDoc } from '../src/core/index-doc.js';
import { readSnapshot, writeSnapshot } from '../src/core/index-snapshot.js';
import type { Incident } from '../src/core/incident.js';
import type { MiniInternals } from '../src/core/postings.js';
import { TEXT_INDEX_OPTIONS, toTextDoc, type TextDoc } from '../src/core/text-index.js';
import { stripMarkup } from '../src/core/text.js';
import { baseRecords, heapMb, machineNote, percentile, scaleUp } from './corpus.js';

/** Words only descriptions carry, as users look them up. */
const RARE = ['viasat', 'printnightmare', 'log4shell', 'zerologon', 'kurdish', 'honeywell', 'notpetya', 'singhealth', 'tulip', 'farsi'];
/** Words most descriptions carry. */
const COMMON = ['windows', 'remote', 'code', 'execution', 'microsoft', 'network', 'access', 'attackers'];
/** Typed names with a typo, for the one- and two-edit walks of the name index's term tree. */
const TYPOS = ['sandwrom', 'lazarsu', 'mimikatzz', 'cobaltstrke', 'skyecc', 'frankensteiin', 'kimsukky', 'turla'];

function time(run: () => unknown, repeat = 5): number {
  let best = Infinity;
  for (let i = 0; i < repeat; i++) {
    const t = performance.now();
    run();
    best = Math.min(best, performance.now() - t);
  }
  return best;
}

function timeEach(words: readonly string[], run: (w: string) => unknown): { p50: number; max: number } {
  const times = words.map((w) => time(() => run(w))).sort((a, b) => a - b);
  return { p50: percentile(times, 0.5), max: times[times.length - 1] };
}

interface Row {
  build: number;
  heap: number;
  diskMb: number;
  load: number;
  dictionary: number | string;
  typoWalk: number | string;
  rare: { p50: number; max: number };
  common: { p50: number; max: number };
}

function optionA(records: Incident[]): Row {
  const docs = records.map((r) => ({ ...toIndexDoc(r), summary: stripMarkup(r.summary) }));
  const before = heapMb();
  let t = performance.now();
  const mini = new MiniSearch<IndexDoc>(INDEX_OPTIONS);
  mini.addAll(docs);
  const build = performance.now() - t;
  const heap = heapMb() - before;
  const snapshot = writeSnapshot(mini, INDEX_OPTIONS);
  t = performance.now();
  readSnapshot<IndexDoc>(snapshot, INDEX_OPTIONS);
  const load = performance.now() - t;
  const tree = (mini as unknown as MiniInternals)._index;
  return {
    build,
    heap,
    diskMb: snapshot.length / 1e6,
    load,
    dictionary: tree.size,
    typoWalk: percentile(TYPOS.map((w) => time(() => [...tree.fuzzyGet(w, 2)])).sort((a, b) => a - b), 0.5),
    rare: timeEach(RARE, (w) => mini.search(w, { fields: ['summary'] }).slice(0, 60)),
    common: timeEach(COMMON, (w) => mini.search(w, { fields: ['summary'] }).slice(0, 60)),
  };
}

function optionB(records: Incident[]): Row {
  const names = records.map(toIndexDoc);
  const texts = records.map(toTextDoc);
  const before = heapMb();
  let t = performance.now();
  const nameIndex = new MiniSearch<IndexDoc>(INDEX_OPTIONS);
  nameIndex.addAll(names);
  const text = new MiniSearch<TextDoc>(TEXT_INDEX_OPTIONS);
  text.addAll(texts);
  const build = performance.now() - t;
  const heap = heapMb() - before;
  const snapshot = `${writeSnapshot(nameIndex, INDEX_OPTIONS)}\n${writeSnapshot(text, TEXT_INDEX_OPTIONS)}`;
  t = performance.now();
  const [a, b] = snapshot.split('\n');
  readSnapshot<IndexDoc>(a, INDEX_OPTIONS);
  readSnapshot<TextDoc>(b, TEXT_INDEX_OPTIONS);
  const load = performance.now() - t;
  const tree = (nameIndex as unknown as MiniInternals)._index;
  const search = (w: string) => text.search(w, { fields: ['text'] }).slice(0, 60);
  return {
    build,
    heap,
    diskMb: snapshot.length / 1e6,
    load,
    dictionary: tree.size,
    typoWalk: percentile(TYPOS.map((w) => time(() => [...tree.fuzzyGet(w, 2)])).sort((x, y) => x - y), 0.5),
    rare: timeEach(RARE, search),
    common: timeEach(COMMON, search),
  };
}

function optionC(records: Incident[]): Row {
  const dir = mkdtempSync(path.join(tmpdir(), 'fts5-'));
  try {
    const file = path.join(dir, 'text.db');
    const db = new Database(file);
    db.exec("CREATE VIRTUAL TABLE text USING fts5(id UNINDEXED, body, tokenize = 'porter unicode61 remove_diacritics 2')");
    const insert = db.prepare('INSERT INTO text (id, body) VALUES (?, ?)');
    const texts = records.map((r) => stripMarkup(r.summary));
    const t = performance.now();
    db.transaction(() => records.forEach((r, i) => insert.run(r.id, texts[i])))();
    const build = performance.now() - t;
    db.close();
    const diskMb = statSync(file).size / 1e6;
    let load = performance.now();
    const reader = new Database(file, { readonly: true });
    const query = reader.prepare('SELECT id, bm25(text) AS score FROM text WHERE text MATCH ? ORDER BY score LIMIT 60');
    load = performance.now() - load;
    const search = (w: string) => query.all(`"${w}"`);
    const row: Row = { build, heap: 0, diskMb, load, dictionary: 'n/a', typoWalk: 'n/a', rare: timeEach(RARE, search), common: timeEach(COMMON, search) };
    reader.close();
    return row;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function main(): void {
  const base = baseRecords();
  console.log(`Full-text options (${machineNote()}); lookups: fastest of 5 runs, p50 and max over the words.`);
  const sizes = process.env.BENCH_SIZES?.split(',').map(Number) ?? [base.length, 10_000, 100_000];
  for (const n of sizes) {
    const records = scaleUp(base, n);
    const rows: [string, Row][] = [
      ['A. one minisearch', optionA(records)],
      ['B. second minisearch (ours)', optionB(records)],
      ['C. SQLite FTS5', optionC(records)],
    ];
    const f = (x: number | string, d = 1) => (typeof x === 'string' ? x : Number.isNaN(x) ? 'n/a' : x.toFixed(d));
    const table = [
      ['', 'build ms', 'heap MB', 'disk MB', 'load ms', 'name words', 'typo walk ms', 'rare word ms p50/max', 'common word ms p50/max'],
      ...rows.map(([label, r]) => [
        label,
        f(r.build, 0),
        f(r.heap),
        f(r.diskMb),
        f(r.load, 1),
        f(r.dictionary, 0),
        f(r.typoWalk, 2),
        `${f(r.rare.p50, 2)} / ${f(r.rare.max, 2)}`,
        `${f(r.common.p50, 2)} / ${f(r.common.max, 2)}`,
      ]),
    ];
    const w = table[0].map((_, c) => Math.max(...table.map((r) => String(r[c]).length)));
    console.log(`\n${records.length.toLocaleString('en')} records`);
    for (const r of table) console.log(`  ${r.map((cell, c) => (c === 0 ? String(cell).padEnd(w[c]) : String(cell).padStart(w[c]))).join('  ')}`);
  }
}

main();

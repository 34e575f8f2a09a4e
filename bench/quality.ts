/**
 * Quality side by side: our index, plain minisearch (configured as a user would) and FlexSearch over the same
 * records, on the public eval files and on held-out queries (bench/heldout.ts). hit@1 and MRR@10 per kind.
 *
 * `node --import tsx bench/quality.ts [--data FILE]... [--queries FILE]...`
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createIncidentService } from '../src/core/create-service.js';
import type { Incident } from '../src/core/incident.js';
import { BUNDLED_DATA_DIR, loadIncidentDir } from '../src/core/load-data.js';
import { PlainMiniSearch } from '../src/eval/baseline.js';
import { evaluate, readEvalQueries, type EvalQuery, type EvalReport } from '../src/eval/evaluate.js';
import { importFile } from '../src/importers/index.js';
import { FlexSearchBaseline } from './flexsearch-baseline.js';

/** A named ranking function: query in, ids out (best first). */
export type Rankers = Record<string, (query: string) => string[]>;

/** Returns ours, plain minisearch and FlexSearch over the same records. */
export function rankersFor(records: readonly Incident[]): Rankers {
  const service = createIncidentService(records);
  const plain = new PlainMiniSearch(records);
  const flex = new FlexSearchBaseline(records);
  return {
    ours: (q) => service.search(q, { limit: 10 }).map((h) => h.id),
    minisearch: (q) => plain.search(q, 10),
    flexsearch: (q) => flex.search(q, 10),
  };
}

/** Returns a table of hit@1 / MRR@10 per kind for every ranker (and the misses of the first, when asked). */
export function formatComparison(queries: readonly EvalQuery[], rankers: Rankers, misses = false): string {
  const reports: [string, EvalReport][] = Object.entries(rankers).map(([name, rank]) => [name, evaluate(queries, rank)]);
  const fmt = (x: number | undefined) => (x === undefined ? '-' : x.toFixed(3));
  const header = ['kind', 'queries', ...reports.flatMap(([name]) => [`${name} hit@1`, 'MRR@10'])];
  const rows = [header];
  for (const kind of Object.keys(reports[0][1].byKind)) {
    rows.push([kind, String(reports[0][1].byKind[kind].queries), ...reports.flatMap(([, r]) => [fmt(r.byKind[kind]?.hitAt1), fmt(r.byKind[kind]?.mrrAt10)])]);
  }
  rows.push(['overall', String(reports[0][1].overall.queries), ...reports.flatMap(([, r]) => [fmt(r.overall.hitAt1), fmt(r.overall.mrrAt10)])]);
  const widths = header.map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  let text = rows.map((r) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  ')).join('\n');
  if (misses) for (const m of reports[0][1].misses) text += `\nmiss [${m.kind}] ${JSON.stringify(m.query)} expected ${m.expected.join('|')} got ${m.got.join(', ')}`;
  return text;
}

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const shared = path.resolve(root, '../shared/datasets');

function main(): void {
  const { values } = parseArgs({
    options: {
      data: { type: 'string', multiple: true, default: [] },
      queries: { type: 'string', multiple: true, default: [] },
      misses: { type: 'boolean', default: false },
    },
  });
  const data = values.data.length ? values.data : [path.join(shared, 'incidents.jsonl')];
  const queries = values.queries.length ? values.queries : [path.join(shared, 'eval-public.jsonl')];
  if (![...data, ...queries].every(existsSync)) {
    console.log(`quality: needs ${[...data, ...queries].filter((f) => !existsSync(f)).join(', ')}`);
    return;
  }
  const byId = new Map<string, Incident>();
  for (const i of loadIncidentDir(BUNDLED_DATA_DIR)) byId.set(i.id, i);
  for (const file of data) for (const i of importFile('auto', [file])) byId.set(i.id, i);
  const rankers = rankersFor([...byId.values()]);
  for (const file of queries) {
    const qs = readEvalQueries(file);
    console.log(`\n${path.basename(file)}: ${qs.length} queries over ${byId.size} records (${data.map((d) => path.basename(d)).join(', ')})`);
    console.log(formatComparison(qs, rankers, values.misses));
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();

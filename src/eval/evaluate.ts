import { readFileSync } from 'node:fs';
import { z } from '../core/zod.js';

/** One evaluation query: the text, the ids that count as right, and its kind (alias, typo, question, entity...). */
export const EvalQuerySchema = z.object({
  query: z.string(),
  expected_ids: z.array(z.string()).min(1),
  kind: z.string().default('other'),
  rule: z.string().optional(),
});
/** One evaluation query. */
export type EvalQuery = z.infer<typeof EvalQuerySchema>;

/** hit@1 and MRR@10 for one group of queries. */
export interface EvalScore {
  queries: number;
  hitAt1: number;
  mrrAt10: number;
}

/** Scores per kind and overall, plus the misses (for looking into, not for special-casing). */
export interface EvalReport {
  byKind: Record<string, EvalScore>;
  overall: EvalScore;
  misses: { query: string; kind: string; expected: string[]; got: string[] }[];
}

/** Returns the queries of an eval JSONL file, validated (a bad line names the file and line). */
export function readEvalQueries(file: string): EvalQuery[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .map((line, n) => ({ line: line.trim(), n: n + 1 }))
    .filter(({ line }) => line !== '')
    .map(({ line, n }) => {
      const parsed = EvalQuerySchema.safeParse(JSON.parse(line));
      if (!parsed.success) throw new Error(`${file}:${n}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
      return parsed.data;
    });
}

/** Returns hit@1 and MRR@10 of a ranking function over the queries, per kind and overall. */
export function evaluate(queries: readonly EvalQuery[], rank: (query: string) => string[]): EvalReport {
  const groups = new Map<string, { n: number; hits: number; rr: number }>();
  const all = { n: 0, hits: 0, rr: 0 };
  const misses: EvalReport['misses'] = [];
  for (const q of queries) {
    const ids = rank(q.query).slice(0, 10);
    const pos = ids.findIndex((id) => q.expected_ids.includes(id));
    const g = groups.get(q.kind) ?? { n: 0, hits: 0, rr: 0 };
    groups.set(q.kind, g);
    for (const s of [g, all]) {
      s.n++;
      if (pos === 0) s.hits++;
      if (pos >= 0) s.rr += 1 / (pos + 1);
    }
    if (pos !== 0) misses.push({ query: q.query, kind: q.kind, expected: q.expected_ids, got: ids.slice(0, 3) });
  }
  const score = (s: { n: number; hits: number; rr: number }): EvalScore => ({ queries: s.n, hitAt1: s.n ? s.hits / s.n : 0, mrrAt10: s.n ? s.rr / s.n : 0 });
  const byKind: Record<string, EvalScore> = {};
  for (const [kind, s] of [...groups].sort(([a], [b]) => a.localeCompare(b))) byKind[kind] = score(s);
  return { byKind, overall: score(all), misses };
}

/** Returns a side-by-side table of our scores and the baseline's. */
export function formatEvalTable(ours: EvalReport, baseline: EvalReport): string {
  const rows = [['kind', 'queries', 'hit@1', 'MRR@10', 'plain hit@1', 'plain MRR@10']];
  const fmt = (x: number) => x.toFixed(3);
  for (const [kind, s] of Object.entries(ours.byKind)) {
    const b = baseline.byKind[kind];
    rows.push([kind, String(s.queries), fmt(s.hitAt1), fmt(s.mrrAt10), fmt(b?.hitAt1 ?? 0), fmt(b?.mrrAt10 ?? 0)]);
  }
  rows.push(['overall', String(ours.overall.queries), fmt(ours.overall.hitAt1), fmt(ours.overall.mrrAt10), fmt(baseline.overall.hitAt1), fmt(baseline.overall.mrrAt10)]);
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows.map((r) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  ')).join('\n');
}

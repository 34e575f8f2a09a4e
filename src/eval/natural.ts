import { readFileSync } from 'node:fs';
import { z } from '../core/zod.js';
import type { Answer } from '../core/answer-model.js';

/**
 * One natural question: as people type it in chat, with what counts as right for its kind (see
 * ../shared/datasets/README.md): `expected_ids` for lookups, facts, topics and follow-ups, `items` and `min_hits` for
 * lists, latest and comparisons, `status` for absent questions.
 */
export const NaturalQuerySchema = z.object({
  query: z.string(),
  kind: z.string(),
  expected_ids: z.array(z.string()).optional(),
  answer_contains: z.array(z.string()).optional(),
  items: z.array(z.string()).optional(),
  min_hits: z.number().int().min(1).optional(),
  status: z.array(z.string()).optional(),
  conversation: z.string().optional(),
  turn: z.number().optional(),
  note: z.string().optional(),
});
/** One natural question. */
export type NaturalQuery = z.infer<typeof NaturalQuerySchema>;

/** How many questions of one kind were answered right. */
export interface NaturalScore {
  queries: number;
  right: number;
  score: number;
}

/** Scores per kind and overall, and what went wrong (for looking into, never for special-casing). */
export interface NaturalReport {
  byKind: Record<string, NaturalScore>;
  overall: NaturalScore;
  misses: { query: string; kind: string; why: string }[];
}

/** Returns whether a file holds natural questions (a `kind` of the natural set on its first line) rather than mechanical ones. */
export function isNaturalFile(file: string): boolean {
  const first = readFileSync(file, 'utf8').split('\n').find((l) => l.trim() !== '');
  if (!first) return false;
  try {
    const o = JSON.parse(first) as { items?: unknown; status?: unknown; answer_contains?: unknown; kind?: unknown };
    return NATURAL_KINDS.has(String(o.kind)) || o.items !== undefined || o.status !== undefined;
  } catch {
    return false;
  }
}

const NATURAL_KINDS = new Set(['lookup', 'fact', 'topic', 'list', 'latest', 'compare', 'followup', 'absent']);

/** Returns the questions of a natural eval JSONL file, validated (a bad line names the file and line). */
export function readNaturalQueries(file: string): NaturalQuery[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .map((line, n) => ({ line: line.trim(), n: n + 1 }))
    .filter(({ line }) => line !== '')
    .map(({ line, n }) => {
      const parsed = NaturalQuerySchema.safeParse(JSON.parse(line));
      if (!parsed.success) throw new Error(`${file}:${n}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
      return parsed.data;
    });
}

/** Answers one question; questions that share a `conversation` are asked in order through the same one. */
export type AskFn = (query: string, conversation?: string) => Answer;

/**
 * Returns the score of `ask` over the questions, per kind and overall. `canonical` maps an id merged into another
 * record to the record it lives on, so an expected id that was merged counts as the record holding it.
 */
export function evaluateNatural(queries: readonly NaturalQuery[], ask: AskFn, canonical: ReadonlyMap<string, string> = new Map()): NaturalReport {
  const groups = new Map<string, { n: number; right: number }>();
  const all = { n: 0, right: 0 };
  const misses: NaturalReport['misses'] = [];
  for (const q of queries) {
    const answer = ask(q.query, q.conversation);
    const why = judge(q, answer, canonical);
    const g = groups.get(q.kind) ?? { n: 0, right: 0 };
    groups.set(q.kind, g);
    for (const s of [g, all]) {
      s.n++;
      if (!why) s.right++;
    }
    if (why) misses.push({ query: q.query, kind: q.kind, why });
  }
  const score = (s: { n: number; right: number }): NaturalScore => ({ queries: s.n, right: s.right, score: s.n ? s.right / s.n : 0 });
  const byKind: Record<string, NaturalScore> = {};
  for (const [kind, s] of [...groups].sort(([a], [b]) => a.localeCompare(b))) byKind[kind] = score(s);
  return { byKind, overall: score(all), misses };
}

/** Returns why the answer is wrong for the question, or undefined when it counts. */
export function judge(q: NaturalQuery, answer: Answer, canonical: ReadonlyMap<string, string> = new Map()): string | undefined {
  const canon = (id: string) => canonical.get(id) ?? id;
  const idsOf = (ref: { id: string; sameAs?: string[] }) => [ref.id, ...(ref.sameAs ?? [])].map(canon);
  const got = `${answer.status} ${answer.incident?.id ?? ''} items ${(answer.items ?? []).slice(0, 5).map((i) => i.id).join(',')}`;
  if (q.kind === 'absent') {
    const allowed = q.status ?? ['not-found', 'ambiguous'];
    return allowed.includes(answer.status) ? undefined : `status ${got}`;
  }
  if (q.items) {
    const expected = new Set(q.items.map(canon));
    const listed = answer.items ?? (answer.comparison ? [answer.comparison.left.ref, answer.comparison.right.ref] : []);
    const hits = listed.slice(0, 10).filter((i) => idsOf(i).some((id) => expected.has(id))).length;
    const need = q.min_hits ?? 1;
    return hits >= need ? undefined : `${hits}/${need} hits: ${got}`;
  }
  const expected = new Set((q.expected_ids ?? []).map(canon));
  // A not-found answer may still carry its closest record; the user was told the bot does not know, so it is a miss.
  if (answer.status === 'not-found') return `not found: ${got}`;
  if (!answer.incident || !idsOf(answer.incident).some((id) => expected.has(id))) return `top: ${got}`;
  if (q.answer_contains?.length) {
    const text = `${answer.quote?.text ?? ''} ${answer.summary}`.toLowerCase();
    if (!q.answer_contains.some((s) => text.includes(s.toLowerCase()))) return `text lacks ${q.answer_contains.join('|')}: ${answer.quote?.text ?? answer.summary.slice(0, 120)}`;
  }
  return undefined;
}

/** Returns a table of the scores per kind and overall, beside the previous method's when given. */
export function formatNaturalTable(report: NaturalReport, previous?: NaturalReport): string {
  const rows = [['kind', 'queries', 'right', 'score', ...(previous ? ['previous'] : [])]];
  const was = (s: NaturalScore | undefined) => (previous ? [(s?.score ?? 0).toFixed(3)] : []);
  for (const [kind, s] of Object.entries(report.byKind)) rows.push([kind, String(s.queries), String(s.right), s.score.toFixed(3), ...was(previous?.byKind[kind])]);
  rows.push(['overall', String(report.overall.queries), String(report.overall.right), report.overall.score.toFixed(3), ...was(previous?.overall)]);
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows.map((r) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  ')).join('\n');
}

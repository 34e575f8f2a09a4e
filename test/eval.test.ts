import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createIncidentService } from '../src/core/create-service.js';
import type { Incident } from '../src/core/incident.js';
import { BUNDLED_DATA_DIR, loadIncidentDir } from '../src/core/load-data.js';
import { PlainMiniSearch } from '../src/eval/baseline.js';
import { evaluate, formatEvalTable, readEvalQueries, type EvalReport } from '../src/eval/evaluate.js';
import { importFile } from '../src/importers/index.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SHARED = path.resolve(ROOT, '../shared/datasets');
const CORPUS = path.join(SHARED, 'incidents.jsonl');
const PUBLIC = path.join(SHARED, 'eval-public.jsonl');
const SEED = path.join(SHARED, 'eval-seed.jsonl');
const haveShared = existsSync(CORPUS) && existsSync(PUBLIC) && existsSync(SEED);
const needsShared = haveShared ? false : 'needs ../shared/datasets (incidents.jsonl, eval-public.jsonl, eval-seed.jsonl)';

/** Returns our ranking and the plain-minisearch baseline's over the same records. */
function rankers(incidents: readonly Incident[]) {
  const service = createIncidentService(incidents);
  const plain = new PlainMiniSearch(incidents);
  return {
    ours: (q: string) => service.search(q, { limit: 10 }).map((h) => h.id),
    plain: (q: string) => plain.search(q, 10),
  };
}

function describeMisses(report: EvalReport): string {
  return report.misses.slice(0, 10).map((m) => `[${m.kind}] ${JSON.stringify(m.query)} expected ${m.expected.join('|')} got ${m.got.join(', ')}`).join('\n');
}

describe('evaluate', () => {
  it('evaluate computes hit@1 and MRR@10 per kind and overall when given known ranks', () => {
    const queries = [
      { query: 'a', expected_ids: ['x'], kind: 'alias' },
      { query: 'b', expected_ids: ['x'], kind: 'alias' },
      { query: 'c', expected_ids: ['y', 'z'], kind: 'typo' },
      { query: 'd', expected_ids: ['x'], kind: 'typo' },
    ];
    const ranks: Record<string, string[]> = { a: ['x', 'q'], b: ['q', 'x'], c: ['q', 'r', 'z'], d: [...Array(10).fill('q'), 'x'] };
    const report = evaluate(queries, (q) => ranks[q]);
    assert.deepEqual(report.byKind.alias, { queries: 2, hitAt1: 0.5, mrrAt10: 0.75 });
    assert.deepEqual(report.byKind.typo, { queries: 2, hitAt1: 0, mrrAt10: 1 / 6 });
    assert.equal(report.overall.queries, 4);
    assert.equal(report.overall.hitAt1, 0.25);
    assert.ok(Math.abs(report.overall.mrrAt10 - (1 + 0.5 + 1 / 3 + 0) / 4) < 1e-12);
    assert.deepEqual(report.misses.map((m) => m.query), ['b', 'c', 'd']);
  });

  it('readEvalQueries names the file and line when a line is invalid', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'eval-'));
    try {
      const file = path.join(dir, 'bad.jsonl');
      writeFileSync(file, '{"query":"ok","expected_ids":["a:1"]}\n\n{"query":"no ids","expected_ids":[]}\n');
      assert.throws(() => readEvalQueries(file), (err: Error) => err.message.includes('bad.jsonl:3') && err.message.includes('expected_ids'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('formatEvalTable prints ours beside the baseline for every kind and overall', () => {
    const queries = [{ query: 'a', expected_ids: ['x'], kind: 'alias' }];
    const table = formatEvalTable(evaluate(queries, () => ['x']), evaluate(queries, () => []));
    assert.match(table, /plain hit@1/);
    assert.match(table, /^alias\s+1\s+1\.000\s+1\.000\s+0\.000\s+0\.000$/m);
    assert.match(table, /^overall\s+1\s+1\.000/m);
  });
});

describe('eval over the bundled corpus (own fixture)', () => {
  const queries = readEvalQueries(path.join(ROOT, 'test/fixtures/core/eval-mini.jsonl'));
  const { ours, plain } = rankers(loadIncidentDir(BUNDLED_DATA_DIR));

  it('eval finds every fixture query first over the bundled data, typos included', () => {
    const report = evaluate(queries, ours);
    assert.equal(report.overall.hitAt1, 1, describeMisses(report));
  });

  it('eval scores above plain minisearch when the fixture has typos', () => {
    assert.ok(evaluate(queries, ours).overall.hitAt1 > evaluate(queries, plain).overall.hitAt1);
  });
});

describe('eval over ../shared datasets', { skip: needsShared }, () => {
  // Built once: the shared corpus (~2,600 records) plus the bundled data, as `npm run eval -- --data ...` loads it.
  const load = () => {
    const byId = new Map<string, Incident>();
    for (const i of loadIncidentDir(BUNDLED_DATA_DIR)) byId.set(i.id, i);
    for (const i of importFile('jsonl', [CORPUS])) byId.set(i.id, i);
    return rankers([...byId.values()]);
  };
  const r = haveShared ? load() : undefined;

  it('eval-public reaches hit@1 >= 0.95 overall and >= 0.90 for every kind', () => {
    const report = evaluate(readEvalQueries(PUBLIC), r!.ours);
    assert.ok(report.overall.queries >= 100, `${report.overall.queries} queries`);
    assert.ok(report.overall.hitAt1 >= 0.95, `overall hit@1 ${report.overall.hitAt1.toFixed(3)}\n${describeMisses(report)}`);
    for (const [kind, score] of Object.entries(report.byKind)) {
      assert.ok(score.hitAt1 >= 0.9, `${kind} hit@1 ${score.hitAt1.toFixed(3)}\n${describeMisses(report)}`);
    }
  });

  it('eval-seed finds seed:skyecc-2021 first for all four queries', () => {
    const queries = readEvalQueries(SEED);
    assert.equal(queries.length, 4);
    for (const q of queries) assert.equal(r!.ours(q.query)[0], 'seed:skyecc-2021', q.query);
  });

  it('eval-public scores our ranking above the plain minisearch baseline overall', () => {
    const queries = readEvalQueries(PUBLIC);
    const ours = evaluate(queries, r!.ours).overall;
    const plain = evaluate(queries, r!.plain).overall;
    assert.ok(ours.hitAt1 > plain.hitAt1, `ours ${ours.hitAt1.toFixed(3)} vs plain ${plain.hitAt1.toFixed(3)}`);
    assert.ok(ours.mrrAt10 > plain.mrrAt10);
  });
});

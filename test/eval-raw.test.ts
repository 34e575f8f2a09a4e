import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createIncidentService } from '../src/core/create-service.js';
import type { Incident } from '../src/core/incident.js';
import { BUNDLED_DATA_DIR, loadIncidentDir } from '../src/core/load-data.js';
import { evaluate, readEvalQueries } from '../src/eval/evaluate.js';
import { importFile } from '../src/importers/index.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SHARED = path.resolve(ROOT, '../shared/datasets');
const RAW = ['enterprise-attack.json', 'ics-attack.json', 'mobile-attack.json', 'known_exploited_vulnerabilities.json', 'misp-galaxy-tidal-campaigns.json'].map((f) =>
  path.join(SHARED, 'raw', f),
);
const PUBLIC = path.join(SHARED, 'eval-public.jsonl');
const present = [...RAW, PUBLIC].every((f) => existsSync(f));

describe('eval over the publishers\' raw files', { skip: present ? false : 'needs ../shared/datasets/raw and eval-public.jsonl' }, () => {
  it('eval-public reaches hit@1 >= 0.95 over the raw files, as `npm run eval -- --data <each raw file>` loads them', () => {
    // As the CLI loads --data: bundled records, then each file in turn (format detected; tidal with its references).
    const byId = new Map<string, Incident>();
    for (const i of loadIncidentDir(BUNDLED_DATA_DIR)) byId.set(i.id, i);
    for (const file of RAW) for (const i of importFile('auto', [file])) byId.set(i.id, i);
    const service = createIncidentService([...byId.values()]);
    const report = evaluate(readEvalQueries(PUBLIC), (q) => service.search(q, { limit: 10 }).map((h) => h.id));
    const misses = report.misses.map((m) => `[${m.kind}] ${m.query} -> ${m.got.join(', ')}`).join('\n');
    assert.ok(report.overall.hitAt1 >= 0.95, `hit@1 ${report.overall.hitAt1.toFixed(3)}\n${misses}`);
  });
});

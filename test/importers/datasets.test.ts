import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Incident } from '../../src/core/incident.js';
import { importFile, ImportError, type ImportFormat } from '../../src/importers/index.js';

// The real publishers' files and the converted dataset, shared between projects (see ../shared/datasets/README.md).
const datasets = path.resolve('../shared/datasets');
const raw = (name: string) => path.join(datasets, 'raw', name);
const jsonlPath = path.join(datasets, 'incidents.jsonl');
const skip = (p: string) => (existsSync(p) ? false : `needs ${path.relative(process.cwd(), p)}`);

const scratch = mkdtempSync(path.join(tmpdir(), 'importers-datasets-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

let reference: Map<string, Incident> | undefined;
function referenceById(): Map<string, Incident> {
  reference ??= new Map(importFile('jsonl', [jsonlPath]).map((i) => [i.id, i]));
  return reference;
}

/** Returns the import and how long it took, so the figures can be read from the test output. */
function timed(format: ImportFormat, paths: string[]): { incidents: Incident[]; ms: number } {
  const start = performance.now();
  const incidents = importFile(format, paths);
  return { incidents, ms: performance.now() - start };
}

const DATASETS: Array<{ name: string; format: ImportFormat; files: string[]; prefix: string }> = [
  { name: 'ATT&CK (3 bundles)', format: 'stix', files: ['enterprise-attack.json', 'ics-attack.json', 'mobile-attack.json'], prefix: 'attack:' },
  { name: 'CISA KEV', format: 'kev', files: ['known_exploited_vulnerabilities.json'], prefix: 'kev:' },
  { name: 'Tidal via MISP galaxy', format: 'misp-galaxy', files: ['misp-galaxy-tidal-campaigns.json', 'misp-galaxy-tidal-references.json'], prefix: 'tidal:' },
];

describe('real datasets (../shared/datasets)', () => {
  it('imports incidents.jsonl: 2,624 valid records, 134 incidents and the rest context', { skip: skip(jsonlPath) }, (t) => {
    const { incidents, ms } = timed('jsonl', [jsonlPath]);
    t.diagnostic(`incidents.jsonl: ${incidents.length} records in ${ms.toFixed(0)} ms`);
    assert.equal(incidents.length, 2624);
    const kinds: Record<string, number> = {};
    for (const i of incidents) kinds[i.kind] = (kinds[i.kind] ?? 0) + 1;
    assert.deepEqual(kinds, { incident: 134, group: 176, software: 910, vulnerability: 1404 });
    const lantern = incidents.find((i) => i.id === 'attack:C0001')!;
    assert.deepEqual(lantern.date, { value: '2019-01', precision: 'month' });
    assert.doesNotMatch(lantern.summary, /\]\(|\(Citation:/);
  });

  for (const set of DATASETS) {
    const paths = set.files.map(raw);
    it(`imports ${set.name} with the same ids and titles as incidents.jsonl`, { skip: skip(paths[0]) || skip(jsonlPath) }, (t) => {
      const { incidents, ms } = timed(set.format, paths);
      t.diagnostic(`${set.name}: ${incidents.length} records in ${ms.toFixed(0)} ms`);
      const expected = [...referenceById().values()].filter((i) => i.id.startsWith(set.prefix));
      const got = new Map(incidents.map((i) => [i.id, i]));
      const missing = expected.filter((i) => !got.has(i.id)).map((i) => i.id);
      const extra = incidents.filter((i) => !referenceById().has(i.id)).map((i) => i.id);
      const titles = expected.filter((i) => got.has(i.id) && got.get(i.id)!.title !== i.title).map((i) => i.id);
      // Everything else should agree too; the dataset's converter kept a few publisher typos the importers clean.
      const fields = ['kind', 'date', 'dateEnd', 'summary', 'aliases', 'entities'] as const;
      const other = expected.filter((i) => got.has(i.id) && fields.some((f) => JSON.stringify(got.get(i.id)![f]) !== JSON.stringify(i[f])));
      t.diagnostic(`${set.name}: missing ${missing.length}, extra ${extra.length}, title mismatches ${titles.length}, other field mismatches ${other.length}`);
      assert.deepEqual(missing, []);
      assert.deepEqual(extra, []);
      assert.deepEqual(titles, []);
      assert.deepEqual(other.map((i) => i.id), []);
    });
  }

  it('imports the 25 MB enterprise bundle in well under 10 s', { skip: skip(raw('enterprise-attack.json')) }, (t) => {
    const { incidents, ms } = timed('stix', [raw('enterprise-attack.json')]);
    t.diagnostic(`enterprise-attack.json: ${incidents.length} records in ${ms.toFixed(0)} ms`);
    assert.equal(incidents.length, 1008);
    assert.ok(ms < 5000, `took ${ms.toFixed(0)} ms`);
  });

  it('reports the KEV catalog given as STIX, and a truncated bundle, as ImportErrors', { skip: skip(raw('mobile-attack.json')) }, () => {
    assert.throws(
      () => importFile('stix', [raw('known_exploited_vulnerabilities.json')]),
      (err: unknown) => err instanceof ImportError && /is not a STIX bundle: .*import it with format "kev"$/.test(err.message),
    );
    const text = readFileSync(raw('mobile-attack.json'), 'utf8');
    const cut = path.join(scratch, 'mobile-attack.json');
    writeFileSync(cut, text.slice(0, Math.floor(text.length / 2)));
    assert.throws(
      () => importFile('stix', [cut]),
      (err: unknown) => err instanceof ImportError && /mobile-attack\.json: invalid JSON at position \d+ \(truncated file\?\)/.test(err.message),
    );
  });
});

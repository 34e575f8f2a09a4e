import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { detectFormat, importFile, ImportError, siblingReferences } from '../../src/importers/index.js';

const dir = fileURLToPath(new URL('../fixtures/importers/', import.meta.url));
const fx = (name: string) => path.join(dir, name);
const scratch = mkdtempSync(path.join(tmpdir(), 'importers-test-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

function importErrorMessage(run: () => unknown): string {
  try {
    run();
  } catch (err) {
    assert.ok(err instanceof ImportError, `expected ImportError, got ${String(err)}`);
    return err.message;
  }
  assert.fail('expected an ImportError');
}

describe('detectFormat', () => {
  it('recognises each format from content', () => {
    const detect = (name: string) => detectFormat(name, readFileSync(fx(name), 'utf8'));
    assert.equal(detect('stix-enterprise-mini.json'), 'stix');
    assert.equal(detect('kev-mini.json'), 'kev');
    assert.equal(detect('mini-campaigns.json'), 'misp-galaxy');
    assert.equal(detect('mini-references.json'), 'misp-galaxy');
    assert.equal(detect('incidents-mini.jsonl'), 'jsonl');
    // Content decides, not the name; a single flat record is JSON Lines too.
    assert.equal(detectFormat('data.json', '{"id":"a:1","title":"A","date":null,"summary":"s"}'), 'jsonl');
    assert.equal(detectFormat('data.txt', '{"id":"a:1"}\n{"id":"a:2"}\n'), 'jsonl');
  });

  it('explains invalid or unknown content', () => {
    assert.match(importErrorMessage(() => detectFormat('x.json', '{"type":"bundle","objects":[{"id":')), /^x\.json: invalid JSON at position 34 \(truncated file\?\)/);
    assert.match(importErrorMessage(() => detectFormat('x.json', '[1,2,3]')), /^x\.json: unknown file format: expected a STIX bundle/);
  });
});

describe('importFile', () => {
  it('imports each format from files', () => {
    assert.equal(importFile('stix', [fx('stix-enterprise-mini.json')]).length, 4);
    assert.equal(importFile('kev', [fx('kev-mini.json')]).length, 3);
    assert.equal(importFile('jsonl', [fx('incidents-mini.jsonl')]).length, 7);
  });

  it('merges STIX bundles given together', () => {
    const ids = importFile('stix', [fx('stix-enterprise-mini.json'), fx('stix-mobile-mini.json')]).map((i) => i.id);
    assert.deepEqual(ids, ['attack:C9001', 'attack:G9001', 'attack:G9003', 'attack:S9001', 'attack:S9002']);
  });

  it('takes galaxy references given in any order, or finds the sibling file', () => {
    const cited = (incidents: ReturnType<typeof importFile>) => incidents[0].sources.map((s) => s.url);
    const both = importFile('misp-galaxy', [fx('mini-references.json'), fx('mini-campaigns.json')]);
    assert.equal(cited(both).length, 2);
    assert.equal(siblingReferences(fx('mini-campaigns.json')), fx('mini-references.json'));
    assert.deepEqual(cited(importFile('misp-galaxy', [fx('mini-campaigns.json')])), cited(both));
    // Alone in a folder, the clusters file still imports, with inline links only.
    const lonely = path.join(scratch, 'lonely-campaigns.json');
    copyFileSync(fx('mini-campaigns.json'), lonely);
    assert.equal(siblingReferences(lonely), undefined);
    assert.equal(cited(importFile('misp-galaxy', [lonely])).length, 1);
  });

  it('detects formats per file with "auto"', () => {
    const all = importFile('auto', [fx('kev-mini.json'), fx('stix-enterprise-mini.json'), fx('mini-campaigns.json')]);
    assert.equal(all.length, 3 + 4 + 2);
  });

  it('rejects a KEV catalog given as STIX, naming the fix', () => {
    assert.equal(
      importErrorMessage(() => importFile('stix', [fx('kev-mini.json')])),
      `${fx('kev-mini.json')} is not a STIX bundle: expected {"type":"bundle","objects":[...]}; this looks like a CISA KEV catalog: import it with format "kev"`,
    );
    assert.match(importErrorMessage(() => importFile('kev', [fx('incidents-mini.jsonl')])), /is JSON Lines \(one JSON object per line\), not a single JSON document: import it with format "jsonl"$/);
  });

  it('rejects files cut in half', () => {
    for (const name of ['stix-enterprise-mini.json', 'kev-mini.json', 'mini-campaigns.json']) {
      const text = readFileSync(fx(name), 'utf8');
      const cut = path.join(scratch, `half-${name}`);
      writeFileSync(cut, text.slice(0, Math.floor(text.length / 2)));
      const format = name.startsWith('stix') ? 'stix' : name.startsWith('kev') ? 'kev' : 'misp-galaxy';
      assert.match(importErrorMessage(() => importFile(format, [cut])), new RegExp(`^${escape(cut)}: invalid JSON at position \\d+ \\(truncated file\\?\\)`));
      assert.match(importErrorMessage(() => importFile('auto', [cut])), /invalid JSON at position \d+ \(truncated file\?\)/);
    }
    const lines = readFileSync(fx('incidents-mini.jsonl'), 'utf8');
    const cut = path.join(scratch, 'half.jsonl');
    writeFileSync(cut, lines.slice(0, Math.floor(lines.length / 2)));
    assert.match(importErrorMessage(() => importFile('jsonl', [cut])), /^.*half\.jsonl:\d+: invalid JSON at position \d+ \(truncated file\?\): the last line is cut off/);
  });

  it('rejects missing files, unknown formats, no files and duplicate ids across files', () => {
    assert.equal(importErrorMessage(() => importFile('kev', [path.join(scratch, 'nope.json')])), `${path.join(scratch, 'nope.json')}: file not found; check the path`);
    assert.match(importErrorMessage(() => importFile('csv' as never, [fx('kev-mini.json')])), /unknown import format "csv": expected one of stix, kev, misp-galaxy, jsonl/);
    assert.match(importErrorMessage(() => importFile('kev', [])), /no files given/);
    assert.match(importErrorMessage(() => importFile('kev', [fx('kev-mini.json'), fx('kev-mini.json')])), /id: "kev:CVE-2021-44228" already appears at/);
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { importJsonl } from '../../src/importers/jsonl.js';
import { ImportError } from '../../src/importers/util.js';

const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/importers/${name}`, import.meta.url));
const text = readFileSync(fixture('incidents-mini.jsonl'), 'utf8');
const byId = () => new Map(importJsonl(text, 'incidents-mini.jsonl').map((i) => [i.id, i]));

/** Returns a valid flat line with some fields replaced (undefined removes a field). */
function line(overrides: Record<string, unknown> = {}): string {
  const base: Record<string, unknown> = {
    id: 'test:one',
    title: 'One',
    date: '2024-05-06',
    summary: 'Something happened.',
    sources: ['https://example.com/a'],
    tags: ['type:campaign'],
    aliases: [],
  };
  for (const [k, v] of Object.entries(overrides)) {
    if (v === undefined) delete base[k];
    else base[k] = v;
  }
  return JSON.stringify(base);
}

function importError(input: string): string {
  try {
    importJsonl(input, 'x.jsonl');
  } catch (err) {
    assert.ok(err instanceof ImportError, `expected ImportError, got ${String(err)}`);
    return err.message;
  }
  assert.fail('expected an ImportError');
}

describe('importJsonl: flat schema', () => {
  it('imports every non-blank line, flat and full Incident lines alike', () => {
    const incidents = importJsonl(text, 'incidents-mini.jsonl');
    assert.deepEqual(
      incidents.map((i) => i.id),
      ['attack:C9001', 'attack:G9001', 'attack:S9001', 'kev:CVE-2021-44228', 'tidal:C3901', 'seed:year-only', 'seed:skyecc-2021'],
    );
  });

  it('maps type tags to kinds, and no type tag to incident', () => {
    const m = byId();
    assert.equal(m.get('attack:C9001')?.kind, 'incident');
    assert.equal(m.get('attack:G9001')?.kind, 'group');
    assert.equal(m.get('attack:S9001')?.kind, 'software');
    assert.equal(m.get('kev:CVE-2021-44228')?.kind, 'vulnerability');
    assert.equal(m.get('seed:year-only')?.kind, 'incident');
  });

  it('reads timestamps as months 12 hours later, date-only strings as days, and honours date_precision', () => {
    const m = byId();
    // 2023-01-31T23:00Z is local midnight of 1 February somewhere west of UTC: February 2023.
    assert.deepEqual(m.get('attack:C9001')?.date, { value: '2023-02', precision: 'month' });
    assert.deepEqual(m.get('attack:C9001')?.dateEnd, { value: '2023-06', precision: 'month' });
    assert.deepEqual(m.get('kev:CVE-2021-44228')?.date, { value: '2021-12-10', precision: 'day' });
    assert.deepEqual(m.get('seed:year-only')?.date, { value: '2019', precision: 'year' });
    assert.equal(m.get('attack:G9001')?.date, null);
    assert.equal(m.get('attack:G9001')?.dateEnd, undefined);
  });

  it('strips markup from summaries and leaves body unset', () => {
    const m = byId();
    assert.equal(m.get('attack:C9001')?.summary, 'Operation Paper Lantern was a campaign by Harbor Spider.');
    assert.equal(m.get('tidal:C3901')?.summary, 'In March 2024, authorities released an advisory.\nRelated Vulnerabilities: CVE-2024-1111');
    assert.equal(m.get('attack:C9001')?.body, undefined);
  });

  it('keeps http(s) sources once each, with publishers from the host', () => {
    const m = byId();
    assert.deepEqual(m.get('attack:C9001')?.sources, [
      { url: 'https://attack.mitre.org/campaigns/C9001', publisher: 'MITRE ATT&CK' },
      { url: 'https://research.example.com/paper-lantern', publisher: 'research.example.com' },
    ]);
    assert.deepEqual(
      m.get('kev:CVE-2021-44228')?.sources.map((s) => s.publisher),
      ['logging.apache.org', 'NVD', 'CISA'],
    );
    // Two links glued with a comma in the publisher's data are two sources.
    assert.deepEqual(
      m.get('tidal:C3901')?.sources.map((s) => s.url),
      ['https://www.cisa.gov/news-events/cybersecurity-advisories/aa24-001a', 'https://support.example.com/a', 'https://support.example.com/b'],
    );
  });

  it('derives entities from tags and keeps every tag unchanged', () => {
    const m = byId();
    const campaign = m.get('attack:C9001')!;
    assert.deepEqual(campaign.entities.actors, ['Harbor Spider']);
    assert.deepEqual(campaign.entities.software, ['LanternRAT']);
    assert.deepEqual(m.get('attack:S9001')?.entities.actors, ['Harbor Spider', 'Operation Paper Lantern']);
    assert.deepEqual(m.get('attack:G9001')?.entities.software, ['LanternRAT', 'netcatz']);
    assert.deepEqual(m.get('tidal:C3901')?.entities.cves, ['CVE-2024-1111']);
    const kev = m.get('kev:CVE-2021-44228')!;
    assert.deepEqual(kev.entities.cves, ['CVE-2021-44228']);
    assert.deepEqual(kev.entities.actors, []);
    assert.equal(kev.title, 'Apache Log4j2 Remote Code Execution Vulnerability');
    assert.deepEqual(kev.tags, ['type:vulnerability', 'dataset:cisa-kev', 'vendor:Apache ', 'product:Log4j2', 'ransomware-use:Known', 'cwe:CWE-20']);
    assert.deepEqual(m.get('tidal:C3901')?.tags.slice(-2), ['mentions-cve:cve-2024-1111', 'mentions-cve:not-a-cve']);
  });

  it('passes full Incident lines through the schema as they are', () => {
    const sky = byId().get('seed:skyecc-2021')!;
    assert.deepEqual(sky.date, { value: '2021-03-09', precision: 'day' });
    assert.deepEqual(sky.entities.countries, ['BE', 'NL', 'FR']);
    assert.deepEqual(sky.sources[0].publisher, 'Europol');
  });
});

describe('importJsonl: errors name file, line, field and problem', () => {
  it('rejects a missing or empty title', () => {
    assert.match(importError(`${line()}\n${line({ id: 'test:two', title: undefined })}`), /^x\.jsonl:2: title: missing$/);
    assert.match(importError(line({ title: '  ' })), /^x\.jsonl:1: title: is empty$/);
  });

  it('rejects bad dates, precisions and type tags', () => {
    assert.match(importError(line({ date: '2024-02-30' })), /^x\.jsonl:1: date: no such day "2024-02-30"$/);
    assert.match(importError(line({ date: 'last spring' })), /^x\.jsonl:1: date: expected YYYY-MM-DD/);
    assert.match(importError(line({ date_end: 20240101 })), /^x\.jsonl:1: date_end: expected an ISO date string or null/);
    assert.match(importError(line({ date_precision: 'week' })), /^x\.jsonl:1: date_precision: expected "day", "month" or "year"/);
    assert.match(importError(line({ tags: ['type:report'] })), /^x\.jsonl:1: tags: unknown type tag "type:report"/);
  });

  it('rejects wrongly typed arrays and ids the schema refuses', () => {
    assert.match(importError(line({ sources: 'https://example.com' })), /^x\.jsonl:1: sources: expected an array/);
    assert.match(importError(line({ tags: ['ok', 3] })), /^x\.jsonl:1: tags\[1\]: expected a string, got 3$/);
    assert.match(importError(line({ id: 'no namespace' })), /^x\.jsonl:1: id: expected "<namespace>:<id>"/);
  });

  it('rejects a bad full Incident line with the schema field', () => {
    const bad = JSON.stringify({ id: 'seed:x', kind: 'rumour', title: 'X', summary: 'Y' });
    assert.match(importError(bad), /^x\.jsonl:1: kind: /);
  });

  it('rejects invalid JSON, a cut-off last line and duplicate ids', () => {
    assert.match(importError(`${line()}\n{"id": nope}\n${line({ id: 'test:3' })}`), /^x\.jsonl:2: invalid JSON at position 8 \(line 1, column 9\): Unexpected token/);
    const full = `${line()}\n${line({ id: 'test:two' })}\n`;
    assert.match(importError(full.slice(0, full.length - 20)), /^x\.jsonl:2: invalid JSON at position \d+ \(truncated file\?\): the last line is cut off/);
    assert.match(importError(`${line()}\n${line()}`), /^x\.jsonl:2: id: "test:one" already appears at x\.jsonl:1/);
  });

  it('names the right format when given a whole JSON document', () => {
    assert.match(importError('{\n  "type": "bundle",\n  "objects": []\n}'), /^x\.jsonl:1: not JSON Lines: the file is one pretty-printed JSON document/);
    assert.match(importError('{"type":"bundle","id":"bundle--1","objects":[]}'), /this looks like a STIX bundle: import it with format "stix"/);
  });
});

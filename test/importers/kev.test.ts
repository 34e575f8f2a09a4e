import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { importKev } from '../../src/importers/kev.js';
import { ImportError } from '../../src/importers/util.js';

const text = readFileSync(fileURLToPath(new URL('../fixtures/importers/kev-mini.json', import.meta.url)), 'utf8');
const byId = () => new Map(importKev(text, 'kev-mini.json').map((i) => [i.id, i]));

describe('importKev', () => {
  it('makes one vulnerability per entry, id kev:<CVE>, dated by dateAdded at day precision', () => {
    const incidents = importKev(text, 'kev-mini.json');
    assert.deepEqual(incidents.map((i) => i.id), ['kev:CVE-2021-44228', 'kev:CVE-2023-29552', 'kev:CVE-2019-0708']);
    const log4j = incidents[0];
    assert.equal(log4j.kind, 'vulnerability');
    assert.equal(log4j.title, 'Apache Log4j2 Remote Code Execution Vulnerability');
    assert.deepEqual(log4j.date, { value: '2021-12-10', precision: 'day' });
    assert.deepEqual(log4j.aliases, ['CVE-2021-44228']);
    assert.deepEqual(log4j.entities.cves, ['CVE-2021-44228']);
    assert.match(log4j.summary, /^Apache Log4j2 contains a vulnerability where JNDI features/);
  });

  it('tags vendor, product, ransomware use and CWEs as incidents.jsonl does, trimmed', () => {
    const m = byId();
    assert.deepEqual(m.get('kev:CVE-2021-44228')?.tags, [
      'type:vulnerability',
      'dataset:cisa-kev',
      'vendor:Apache',
      'product:Log4j2',
      'ransomware-use:Known',
      'cwe:CWE-20',
      'cwe:CWE-400',
      'cwe:CWE-502',
    ]);
    assert.equal(m.get('kev:CVE-2023-29552')?.tags[2], 'vendor:IETF');
    assert.equal(m.get('kev:CVE-2023-29552')?.title, 'IETF Service Location Protocol (SLP) Denial-of-Service Vulnerability');
  });

  it('takes sources from the free-text notes, cleaned, with the NVD page always present', () => {
    const m = byId();
    assert.deepEqual(m.get('kev:CVE-2023-29552')?.sources.map((s) => s.url), [
      'https://www.bitsight.example/blog/slp-dos',
      'https://www.cisa.gov/news-events/alerts/2023/04/25/slp-dos',
      'https://support.example.com/a',
      'https://support.example.com/b',
      'https://nvd.nist.gov/vuln/detail/CVE-2023-29552',
    ]);
    assert.deepEqual(m.get('kev:CVE-2019-0708')?.sources, [{ url: 'https://nvd.nist.gov/vuln/detail/CVE-2019-0708', publisher: 'NVD' }]);
    assert.equal(m.get('kev:CVE-2023-29552')?.sources[1].publisher, 'CISA');
  });

  it('rejects a bad CVE id naming the entry', () => {
    const doc = JSON.parse(text);
    doc.vulnerabilities[1].cveID = 'CVE-23-1';
    assert.throws(
      () => importKev(doc, 'kev.json'),
      (err: unknown) => err instanceof ImportError && err.message === 'kev.json: vulnerabilities[1]: cveID: expected CVE-YYYY-NNNN, got "CVE-23-1"',
    );
  });

  it('rejects a truncated catalog and a STIX bundle', () => {
    assert.throws(() => importKev(text.slice(0, 900), 'kev.json'), /^ImportError: kev\.json: invalid JSON at position 900 \(truncated file\?\)/);
    assert.throws(
      () => importKev('{"type":"bundle","objects":[]}', 'b.json'),
      /^ImportError: b\.json is not a CISA KEV catalog: .*this looks like a STIX bundle: import it with format "stix"/,
    );
  });
});

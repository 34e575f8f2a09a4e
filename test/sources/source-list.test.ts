import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_SOURCES_FILE, loadSourceList, parseSourceList, SourceListError } from '../../src/sources/source-list.js';

const FILE = 'my-sources.json';
const ok = { name: 'kev', format: 'kev', url: 'https://example.org/kev.json' };

function refused(entries: unknown, pattern: RegExp): void {
  assert.throws(
    () => parseSourceList(typeof entries === 'string' ? entries : JSON.stringify(entries), FILE),
    (error: unknown) => error instanceof SourceListError && pattern.test(error.message) && error.message.startsWith(`${FILE}: `),
  );
}

describe('source list', () => {
  it('ships the publishers’ own URLs by default: ATT&CK (three domains), CISA KEV, MISP galaxy clusters', () => {
    const specs = loadSourceList(DEFAULT_SOURCES_FILE);
    assert.deepEqual(specs.map((s) => [s.name, s.format]), [
      ['attack-enterprise', 'stix'],
      ['attack-ics', 'stix'],
      ['attack-mobile', 'stix'],
      ['cisa-kev', 'kev'],
      ['misp-tidal-campaigns', 'misp-galaxy'],
      ['misp-threat-actor', 'misp-galaxy'],
      ['misp-ransomware', 'misp-galaxy'],
    ]);
    for (const s of specs.filter((x) => x.name.startsWith('attack-'))) assert.match(s.url, /^https:\/\/raw\.githubusercontent\.com\/mitre\/cti\/master\/(enterprise|ics|mobile)-attack\/\1-attack\.json$/);
    assert.match(specs[3].url, /^https:\/\/www\.cisa\.gov\/.*known_exploited_vulnerabilities\.json$/);
    for (const s of specs.filter((x) => x.name.startsWith('misp-'))) assert.match(s.url, /^https:\/\/raw\.githubusercontent\.com\/MISP\/misp-galaxy\/main\/clusters\/[a-z-]+\.json$/);
    assert.equal(specs[4].references, 'https://raw.githubusercontent.com/MISP/misp-galaxy/main/clusters/tidal-references.json');
    assert.ok(specs.every((s) => s.refreshHours === 24), 'refreshHours defaults to 24');
  });

  it('keeps title, references and refreshHours when given', () => {
    const [spec] = parseSourceList(JSON.stringify([{ name: 'tidal', title: 'Tidal', format: 'misp-galaxy', url: 'https://e.org/c.json', references: 'https://e.org/r.json', refreshHours: 0.5 }]), FILE);
    assert.deepEqual(spec, { name: 'tidal', title: 'Tidal', format: 'misp-galaxy', url: 'https://e.org/c.json', references: 'https://e.org/r.json', refreshHours: 0.5 });
  });

  it('refuses a bad list naming the file, the entry, the field and the fix', () => {
    refused('{not json', /not valid JSON.*set SOURCES_FILE/);
    refused({ sources: [ok] }, /expected a JSON array/);
    refused([ok, { ...ok, name: 'ics', format: 'stx' }], /^my-sources\.json: entry 2 \("ics"\): format: must be one of stix, kev, misp-galaxy, jsonl\. Fix the entry/);
    refused([{ ...ok, url: 'file:///etc/passwd' }], /entry 1 \("kev"\): url: must be an absolute http\(s\) URL/);
    refused([{ ...ok, url: undefined }], /entry 1 \("kev"\): url:/);
    refused([{ ...ok, refresh: 6 }], /entry 1 \("kev"\): .*"refresh".*\(allowed: name, title, format, url, references, refreshHours\)/);
    refused([{ ...ok, refreshHours: 0 }], /refreshHours: must be more than 0/);
    refused([{ ...ok, refreshHours: '24' }], /refreshHours: must be a number of hours/);
    refused([{ ...ok, name: 'two words' }], /entry 1 \("two words"\): name: must be 1-64 letters/);
    refused([ok, { ...ok, name: 'KEV' }], /entry 2 \("KEV"\): name "KEV" is already used by entry 1/);
    refused([{ ...ok, references: 'https://e.org/r.json' }], /references: only a misp-galaxy source cites a references file/);
  });

  it('names a missing file and how to fix it', () => {
    assert.throws(() => loadSourceList('/nonexistent/sources.json'), /\/nonexistent\/sources\.json: cannot read the source list \(file not found\); fix SOURCES_FILE/);
  });
});

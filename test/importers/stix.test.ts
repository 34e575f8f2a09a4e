import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { importStix, importStixBundles } from '../../src/importers/stix.js';
import { ImportError } from '../../src/importers/util.js';

const fixture = (name: string) => readFileSync(fileURLToPath(new URL(`../fixtures/importers/${name}`, import.meta.url)), 'utf8');
const enterprise = fixture('stix-enterprise-mini.json');
const mobile = fixture('stix-mobile-mini.json');
const byId = () => new Map(importStix(enterprise, 'stix-enterprise-mini.json').map((i) => [i.id, i]));

describe('importStix', () => {
  it('imports campaigns, intrusion sets, malware and tools by ATT&CK id, skipping revoked, deprecated and other types', () => {
    const incidents = importStix(enterprise, 'stix-enterprise-mini.json');
    assert.deepEqual(
      incidents.map((i) => [i.id, i.kind]),
      [
        ['attack:C9001', 'incident'],
        ['attack:G9001', 'group'],
        ['attack:S9001', 'software'],
        ['attack:S9002', 'software'],
      ],
    );
  });

  it('reads campaign first_seen/last_seen as months, 12 hours on', () => {
    const campaign = byId().get('attack:C9001')!;
    assert.deepEqual(campaign.date, { value: '2023-02', precision: 'month' });
    assert.deepEqual(campaign.dateEnd, { value: '2023-06', precision: 'month' });
    assert.equal(byId().get('attack:G9001')?.date, null);
  });

  it('turns attributed-to and uses relationships into entities and the dataset tags', () => {
    const m = byId();
    const campaign = m.get('attack:C9001')!;
    assert.deepEqual(campaign.entities.actors, ['Harbor Spider']);
    assert.deepEqual(campaign.entities.software, ['LanternRAT']);
    assert.deepEqual(campaign.tags, [
      'type:campaign',
      'dataset:mitre-attack',
      'domain:enterprise-attack',
      'attributed-to:Harbor Spider',
      'uses:LanternRAT',
    ]);
    // The revoked group's and the deprecated malware's relationships, the revoked relationship and technique use are gone.
    assert.deepEqual(m.get('attack:G9001')?.tags.filter((t) => t.startsWith('uses:')), ['uses:LanternRAT', 'uses:netcatz']);
    assert.deepEqual(m.get('attack:S9002')?.tags, ['type:software', 'dataset:mitre-attack', 'stix:tool', 'domain:enterprise-attack', 'platform:Linux', 'used-by:Harbor Spider']);
    assert.deepEqual(m.get('attack:S9001')?.entities.actors, ['Harbor Spider', 'Operation Paper Lantern']);
  });

  it('takes aliases other than the name, and sources from external references', () => {
    const m = byId();
    assert.deepEqual(m.get('attack:C9001')?.aliases, ['Paper Lantern']);
    assert.deepEqual(m.get('attack:S9001')?.aliases, ['Lantern']);
    assert.deepEqual(m.get('attack:C9001')?.sources, [
      { url: 'https://attack.mitre.org/campaigns/C9001', publisher: 'MITRE ATT&CK' },
      { url: 'https://research.example.com/paper-lantern', title: 'Example Lantern 2023', publisher: 'research.example.com' },
    ]);
    // javascript: links never become sources; archived copies are credited to the original site.
    assert.deepEqual(m.get('attack:S9001')?.sources.map((s) => s.url), ['https://attack.mitre.org/software/S9001']);
    assert.equal(m.get('attack:G9001')?.sources[1].publisher, 'vendor.example.org (archived)');
  });

  it('strips markdown links and citations from summaries', () => {
    assert.equal(
      byId().get('attack:C9001')?.summary,
      'Operation Paper Lantern was a cyber espionage campaign conducted by Harbor Spider that used LanternRAT.',
    );
  });

  it('merges an object present in several bundles: domains, platforms and relationships from each', () => {
    const merged = importStixBundles([
      { json: enterprise, origin: 'enterprise' },
      { json: JSON.parse(mobile), origin: 'mobile' },
    ]);
    assert.deepEqual(merged.map((i) => i.id), ['attack:C9001', 'attack:G9001', 'attack:G9003', 'attack:S9001', 'attack:S9002']);
    const rat = merged.find((i) => i.id === 'attack:S9001')!;
    assert.deepEqual(rat.tags, [
      'type:software',
      'dataset:mitre-attack',
      'stix:malware',
      'domain:enterprise-attack',
      'domain:mobile-attack',
      'platform:Windows',
      'platform:Linux',
      'platform:Android',
      'used-by:Harbor Spider',
      'used-by:Operation Paper Lantern',
      'used-by:Pocket Bear',
    ]);
  });

  it('rejects what is not a bundle, naming the format it looks like', () => {
    assert.throws(
      () => importStix(fixture('kev-mini.json'), 'kev-mini.json'),
      (err: unknown) =>
        err instanceof ImportError &&
        err.message === 'kev-mini.json is not a STIX bundle: expected {"type":"bundle","objects":[...]}; this looks like a CISA KEV catalog: import it with format "kev"',
    );
    assert.throws(() => importStix({ type: 'bundle' }, 'b.json'), /b\.json is not a STIX bundle: .*\(the bundle has no "objects" array\)/);
  });

  it('rejects a truncated bundle with the position', () => {
    const half = enterprise.slice(0, Math.floor(enterprise.length / 2));
    assert.throws(
      () => importStix(half, 'half.json'),
      (err: unknown) => err instanceof ImportError && /^half\.json: invalid JSON at position \d+ \(truncated file\?\)/.test(err.message),
    );
  });

  it('names the object when a campaign has no name', () => {
    const bundle = JSON.parse(enterprise);
    delete bundle.objects[2].name;
    assert.throws(() => importStix(bundle, 'e.json'), /^ImportError: e\.json: campaign--1111.*: name: missing/);
  });
});

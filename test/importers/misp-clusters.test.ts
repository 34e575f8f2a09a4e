import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { detectFormat, importFile, importMispGalaxy } from '../../src/importers/index.js';
import { looseDate } from '../../src/importers/misp-clusters.js';
import { ImportError } from '../../src/importers/util.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/knowledge/', import.meta.url));
const fixture = (name: string) => path.join(FIXTURES, name);
const RAW = fileURLToPath(new URL('../../../shared/datasets/raw/', import.meta.url));
const rawFile = (name: string) => path.join(RAW, name);
const noShared = existsSync(rawFile('misp-galaxy-threat-actor.json')) ? false : 'needs ../shared/datasets/raw (the publishers\' files), absent in a user\'s clone';

describe('MISP threat-actor clusters', () => {
  const actors = importFile('misp-galaxy', [fixture('misp-threat-actor-mini.json')]);
  const byTitle = (t: string) => actors.find((a) => a.title === t)!;

  it('are detected from the file and imported as groups with misp:threat-actor:<uuid> ids', () => {
    assert.equal(detectFormat('x.json', readFileSync(fixture('misp-threat-actor-mini.json'), 'utf8')), 'misp-galaxy');
    assert.deepEqual(
      actors.map((a) => [a.id, a.kind]),
      [
        ['misp:threat-actor:1b000000-0000-4000-8000-000000000001', 'group'],
        ['misp:threat-actor:1b000000-0000-4000-8000-000000000002', 'group'],
        ['misp:threat-actor:1b000000-0000-4000-8000-000000000003', 'group'],
        ['misp:threat-actor:1b000000-0000-4000-8000-000000000004', 'group'],
      ],
    );
    assert.deepEqual(importFile('auto', [fixture('misp-threat-actor-mini.json')]).length, 4);
  });

  it('take synonyms as aliases and refs as sources', () => {
    const hollow = byTitle('EMBER HOLLOW');
    assert.deepEqual(hollow.aliases, ['Fancy Heron', 'Smoke Viper']);
    assert.deepEqual(hollow.sources.map((s) => s.url), ['https://lab.example.org/ember-hollow', 'https://news.example.com/hollow-group']);
    assert.ok(hollow.tags.includes('type:group') && hollow.tags.includes('espionage'), hollow.tags.join(', '));
  });

  it('turn origin, state sponsor, suspected victims and target categories into entities and links', () => {
    const hollow = byTitle('EMBER HOLLOW');
    assert.deepEqual(hollow.entities.countries, ['Russia']);
    assert.deepEqual(hollow.entities.actors, ['Russia']);
    assert.deepEqual(hollow.entities.victims, ['Ukraine', 'Example Ministry of Energy', 'Poland', 'Government', 'Energy']);
    const links = (hollow.links ?? []).map((l) => `${l.type} ${l.to}`);
    for (const want of ['attributed-to country:RU', 'targets country:UA', 'targets country:PL', 'targets sector:government', 'targets sector:energy']) {
      assert.ok(links.includes(want), `missing ${want} in ${links.join(', ')}`);
    }
    assert.ok(!links.some((l) => /Ministry/i.test(l)), 'a victim that is no country is an entity, not a country link');
    assert.ok(links.includes('related-to uuid:0a000000-0000-4000-8000-000000000001'), 'MISP "similar" becomes a related-to link by uuid');
    const drift = byTitle('Driftwood Crew');
    assert.deepEqual(
      drift.links?.map((l) => `${l.type} ${l.to}`),
      ['attributed-to country:KP', 'targets sector:finance', 'uses uuid:0a000000-0000-4000-8000-000000000021', 'targets uuid:9f000000-0000-4000-8000-000000000999'],
    );
  });
});

describe('MISP ransomware clusters', () => {
  const families = importFile('misp-galaxy', [fixture('misp-ransomware-mini.json')]);
  const byTitle = (t: string) => families.find((a) => a.title === t)!;

  it('are imported as software with misp:ransomware:<uuid> ids, synonyms, refs and the ransomware tag', () => {
    assert.deepEqual(families.map((f) => [f.id, f.kind]), [
      ['misp:ransomware:2c000000-0000-4000-8000-000000000001', 'software'],
      ['misp:ransomware:2c000000-0000-4000-8000-000000000002', 'software'],
      ['misp:ransomware:2c000000-0000-4000-8000-000000000003', 'software'],
      ['misp:ransomware:2c000000-0000-4000-8000-000000000004', 'software'],
    ]);
    const vexlock = byTitle('Vexlock');
    assert.deepEqual(vexlock.aliases, ['Vex Locker']);
    assert.deepEqual(vexlock.sources.map((s) => s.url), ['https://lab.example.org/vexlock']);
    assert.ok(vexlock.tags.includes('ransomware'), vexlock.tags.join(', '));
    // No description: the name stands in as the summary.
    assert.equal(byTitle('Undated').summary, 'Undated');
  });

  it('read first-seen dates as publishers write them', () => {
    assert.deepEqual(byTitle('Vexlock').date, { value: '2021-02', precision: 'month' });
    assert.deepEqual(byTitle('Glasswing Ransomware').date, { value: '2022-11-30', precision: 'day' });
    assert.deepEqual(byTitle('Locker').date, { value: '2016-12', precision: 'month' });
    assert.equal(byTitle('Undated').date, null);
    assert.equal(looseDate('mars 2021'), '2021-03');
    assert.equal(looseDate('JanuaryJ 2021'), '2021-01');
    assert.equal(looseDate('Early 2019'), '2019');
    assert.equal(looseDate('soon'), undefined);
  });

  it('state "used-by" as a uses relation from the actor', () => {
    assert.deepEqual(byTitle('Glasswing Ransomware').links, [{ type: 'uses', to: 'uuid:1b000000-0000-4000-8000-000000000003', inverse: true }]);
  });
});

describe('MISP galaxy files together', () => {
  it('import in one call whatever their types, and refuse other galaxies naming the supported ones', () => {
    const all = importFile('misp-galaxy', [fixture('misp-threat-actor-mini.json'), fixture('misp-ransomware-mini.json')]);
    assert.equal(all.length, 8);
    const tools = { type: 'tool', uuid: '3d000000-0000-4000-8000-000000000000', values: [{ value: 'x', uuid: '3d000000-0000-4000-8000-000000000001' }] };
    assert.throws(
      () => importMispGalaxy(tools, undefined, 'tools.json'),
      (err: unknown) => err instanceof ImportError && /tools\.json: MISP galaxy type "tool" is not imported: the bot reads the galaxies "campaigns", "threat-actor", "ransomware"/.test(err.message),
    );
  });

  it('reject a cluster without a uuid, naming the value', () => {
    const bad = { type: 'threat-actor', uuid: '3d000000-0000-4000-8000-000000000000', values: [{ value: 'Nameless', uuid: 'not-a-uuid' }] };
    assert.throws(() => importMispGalaxy(bad, undefined, 'bad.json'), /bad\.json: values\[0\] \(Nameless\): uuid: expected a UUID/);
  });
});

describe('the real MISP galaxy files', { skip: noShared }, () => {
  it('threat-actor.json: 1,041 groups; APT28 with its synonyms, Russian origin, victims and sectors', () => {
    const actors = importFile('auto', [rawFile('misp-galaxy-threat-actor.json')]);
    assert.equal(actors.length, 1041);
    assert.ok(actors.every((a) => a.kind === 'group' && a.id.startsWith('misp:threat-actor:')), 'every actor a group with a misp:threat-actor id');
    const apt28 = actors.find((a) => a.id === 'misp:threat-actor:5b4ee3ea-eee3-4c8e-8323-85ae32658754')!;
    assert.equal(apt28.title, 'APT28');
    assert.ok(apt28.aliases.includes('Fancy Bear') && apt28.aliases.includes('Sofacy'), apt28.aliases.join(', '));
    assert.deepEqual(apt28.entities.countries, ['Russia']);
    assert.ok(apt28.entities.victims.includes('Georgia') && apt28.entities.victims.includes('Military'), apt28.entities.victims.join(', '));
    assert.ok(apt28.sources.some((s) => s.url === 'https://attack.mitre.org/groups/G0007/'), 'refs become sources');
    assert.ok(apt28.links?.some((l) => l.to === 'uuid:bef4c620-0787-42a8-a96d-b7eb6e85917c'), 'related to the ATT&CK intrusion set');
  });

  it('ransomware.json: 2,135 software records; LockBit with its synonym', () => {
    const families = importFile('auto', [rawFile('misp-galaxy-ransomware.json')]);
    assert.equal(families.length, 2135);
    assert.ok(families.every((f) => f.kind === 'software' && f.tags.includes('ransomware')), 'every family is ransomware software');
    const lockbit = families.find((f) => f.id === 'misp:ransomware:8eda8bf1-db5a-412d-8511-45e2f7621d51')!;
    assert.equal(lockbit.title, 'LockBit');
    assert.deepEqual(lockbit.aliases, ['ABCD ransomware']);
    assert.ok(families.filter((f) => f.date).length > 250, 'most meta.date values read');
  });
});

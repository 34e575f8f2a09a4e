import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Incident } from '../../src/core/incident.js';
import { mergeSameThings, unionSameIds } from '../../src/core/merge.js';
import { nameKey, nameWords } from '../../src/core/names.js';
import { buildServed } from '../../src/core/served.js';
import { importFile } from '../../src/importers/index.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/knowledge/', import.meta.url));

/** A record with defaults; ids decide the dataset (attack: is the reference side, misp: is merged into it). */
function rec(id: string, title: string, more: Partial<Incident> = {}): Incident {
  return {
    id,
    kind: 'software',
    title,
    date: null,
    aliases: [],
    summary: `${title} is a record written for this test.`,
    sources: [],
    tags: [],
    entities: { actors: [], victims: [], software: [], cves: [], countries: [] },
    related: [],
    ...more,
  };
}

const ransomware = (id: string, title: string, more: Partial<Incident> = {}) =>
  rec(id, title, { tags: ['type:software', 'ransomware'], summary: `${title} encrypts files.`, ...more });
const attackRansomware = (id: string, title: string, more: Partial<Incident> = {}) =>
  rec(id, title, { summary: `${title} is ransomware that encrypts file servers.`, ...more });

describe('unionSameIds', () => {
  it('makes one record of one id from several places: later single fields win, lists are unioned', () => {
    const early = rec('attack:S1', 'Old name', {
      aliases: ['A'],
      tags: ['domain:enterprise-attack'],
      sources: [{ url: 'https://a.example/1' }],
      entities: { actors: ['X'], victims: [], software: [], cves: [], countries: [] },
    });
    const late = rec('attack:S1', 'New name', {
      aliases: ['B', 'A'],
      tags: ['domain:mobile-attack'],
      sources: [{ url: 'https://a.example/1' }, { url: 'https://a.example/2' }],
      date: { value: '2020', precision: 'year' },
    });
    const [one, ...rest] = unionSameIds([early, rec('attack:S2', 'Other'), late]);
    assert.equal(rest.length, 1);
    assert.equal(one.title, 'New name');
    assert.deepEqual(one.aliases, ['B', 'A']);
    assert.deepEqual(one.tags, ['domain:mobile-attack', 'domain:enterprise-attack']);
    assert.deepEqual(one.sources.map((s) => s.url), ['https://a.example/1', 'https://a.example/2']);
    assert.deepEqual(one.entities.actors, ['X']);
    assert.deepEqual(one.date, { value: '2020', precision: 'year' });
  });
});

describe('mergeSameThings: MISP related entries', () => {
  const group = rec('attack:G1', 'Ember Hollow', { kind: 'group', stixId: 'intrusion-set--0a000000-0000-4000-8000-000000000001', aliases: ['Fancy Heron'] });
  const actor = rec('misp:threat-actor:1b000000-0000-4000-8000-000000000001', 'HOLLOW TEAM', {
    kind: 'group',
    aliases: ['Smoke Viper'],
    sources: [{ url: 'https://misp.example/hollow' }],
    links: [{ type: 'related-to', to: 'uuid:0a000000-0000-4000-8000-000000000001' }],
  });

  it('fold an actor pointing at an intrusion set into that ATT&CK group, keeping its id', () => {
    const { records, canonical, merges } = mergeSameThings([group, actor]);
    assert.equal(records.length, 1);
    const [one] = records;
    assert.equal(one.id, 'attack:G1');
    assert.deepEqual(one.sameAs, [actor.id]);
    assert.deepEqual(one.aliases, ['Fancy Heron', 'HOLLOW TEAM', 'Smoke Viper']);
    assert.deepEqual(one.sources.map((s) => s.url), ['https://misp.example/hollow']);
    assert.equal(canonical.get(actor.id), 'attack:G1');
    assert.deepEqual(merges, [{ into: 'attack:G1', from: actor.id, rule: 'misp-related' }]);
  });

  it('merge the same way again when the kept record comes back merged (stored after a feed story joined it)', () => {
    const withBody = { ...group, body: 'Notes of its own.' };
    const first = mergeSameThings([withBody, actor]).records[0];
    assert.equal(first.body, `Notes of its own.\n\n${actor.summary}`);
    const again = mergeSameThings([first, actor]).records;
    assert.equal(again.length, 1);
    assert.deepEqual(again[0], first);
  });

  it('pick, among several linked sets, the one sharing a name; none when no one does', () => {
    const other = rec('attack:G2', 'Grey Wren', { kind: 'group', stixId: 'intrusion-set--0a000000-0000-4000-8000-000000000002' });
    const both = { ...actor, links: [...actor.links!, { type: 'related-to' as const, to: 'uuid:0a000000-0000-4000-8000-000000000002' }] };
    assert.equal(mergeSameThings([group, other, both]).records.length, 3, 'no shared name: nothing merged');
    const named = { ...both, aliases: ['Fancy Heron'] };
    assert.equal(mergeSameThings([group, other, named]).canonical.get(actor.id), 'attack:G1');
  });

  it('do not fold an actor into a set it calls similar when its own name is another ATT&CK group', () => {
    const wren = rec('attack:G3', 'Grey Wren', { kind: 'group', stixId: 'intrusion-set--0a000000-0000-4000-8000-000000000003' });
    const misnamed = { ...actor, title: 'Grey Wren', aliases: [] };
    const { canonical } = mergeSameThings([group, wren, misnamed]);
    assert.equal(canonical.get(actor.id), 'attack:G3', 'merged by its own name instead');
  });

  it('of several actors claiming one set, keep those sharing a name with it', () => {
    const neighbour = { ...actor, id: 'misp:threat-actor:1b000000-0000-4000-8000-000000000009', title: 'Distant Cousin', aliases: [] };
    const sibling = { ...actor, aliases: ['Fancy Heron'] };
    const { canonical } = mergeSameThings([group, sibling, neighbour]);
    assert.equal(canonical.get(sibling.id), 'attack:G1');
    assert.equal(canonical.has(neighbour.id), false);
  });
});

describe('mergeSameThings: distinctive names', () => {
  it('fold a ransomware family into the ATT&CK ransomware of the same coined name', () => {
    const { canonical } = mergeSameThings([attackRansomware('attack:S10', 'Vexlock2'), ransomware('misp:ransomware:r1', 'Vexlock2 Ransomware')]);
    assert.equal(canonical.get('misp:ransomware:r1'), 'attack:S10');
  });

  it('never fold a family into software its publisher does not call ransomware', () => {
    const tool = rec('attack:S11', 'Havenstrike', { summary: 'Havenstrike is a command and control framework.' });
    assert.equal(mergeSameThings([tool, ransomware('misp:ransomware:r2', 'Havenstrike')]).records.length, 2);
  });

  it('never fold on a name that is a common word, whatever else agrees', () => {
    // Everything but the word agrees: both ransomware, same title, even a shared report.
    const report = { url: 'https://lab.example.org/report' };
    const context = [
      attackRansomware('attack:S20', 'Agent Tesla'),
      rec('attack:S21', 'Agent.btz'),
      rec('attack:S22', 'Cobalt Strike'),
      rec('attack:G20', 'Cobalt Group', { kind: 'group', aliases: ['Cobalt Spider'] }),
      rec('attack:S23', 'DarkGate'),
      rec('attack:S24', 'Dark Comet'),
      rec('attack:S25', 'Ransom Cartel'),
      rec('attack:S26', 'DeathRansom'),
      rec('attack:S27', 'WastedLocker'),
      rec('attack:S28', 'Ragnar Locker'),
    ];
    for (const word of ['Agent', 'Cobalt', 'Ransom', 'Locker', 'Dark']) {
      const attack = attackRansomware('attack:S99', word, { sources: [report] });
      const misp = ransomware('misp:ransomware:r99', word, { sources: [report] });
      const { canonical } = mergeSameThings([...context, attack, misp]);
      assert.equal(canonical.has(misp.id), false, `"${word}" must not merge`);
    }
  });

  it('never fold on one plain word without a shared report or a second shared name, even when the corpus is silent', () => {
    const attack = attackRansomware('attack:S30', 'Locker');
    const misp = ransomware('misp:ransomware:r30', 'Locker');
    assert.equal(mergeSameThings([attack, misp]).canonical.has(misp.id), false);
    // With a second name in common, the word is no longer all they share.
    const both = mergeSameThings([{ ...attack, aliases: ['Glasscrypt'] }, { ...misp, aliases: ['Glasscrypt'] }]);
    assert.equal(both.canonical.get(misp.id), 'attack:S30');
  });

  it('treat a word used in lower case in the texts as ordinary, and a name inside other names as a building block', () => {
    const word = (w: string, texts: string[], names: string[] = []) => {
      const attack = attackRansomware('attack:S40', w, { sources: [{ url: 'https://x.example/r' }] });
      const misp = ransomware('misp:ransomware:r40', w, { sources: [{ url: 'https://x.example/r' }] });
      const others = [...texts.map((t, i) => rec(`attack:S4${i + 1}`, `Other${i}`, { summary: t })), ...names.map((n, i) => rec(`attack:S5${i}`, n))];
      return mergeSameThings([attack, misp, ...others]).canonical.has(misp.id);
    };
    assert.equal(word('Tundra', []), true, 'a shared report and an unused word: merged');
    assert.equal(word('Tundra', ['It crossed the tundra.', 'A tundra of logs.']), false, 'used as a word in two texts');
    assert.equal(word('Tundra', [], ['Tundra Bear', 'TundraLoader']), false, 'part of two other names');
    assert.equal(word('Tundra', [], ['Tundra 2.0', 'Tundra ransomware']), true, 'versions and kind words do not make a building block');
  });

  it('need the name to be the title of one side, and several families claiming one record to carry one of its names as title', () => {
    const notPetya = attackRansomware('attack:S50', 'NotPetya', { aliases: ['GoldenEye', 'Petrwrap'] });
    const petya = ransomware('misp:ransomware:r50', 'Petya', { aliases: ['GoldenEye'] });
    const petrwrap = ransomware('misp:ransomware:r51', 'PetrWrap Ransomware');
    const { canonical } = mergeSameThings([notPetya, petya, petrwrap]);
    assert.equal(canonical.get(petrwrap.id), 'attack:S50');
    assert.equal(canonical.has(petya.id), false, 'two alternative names agreeing is not enough');
  });

  it('fold MISP groups by name only into groups, and leave feed stories and KEV entries alone', () => {
    const group = rec('attack:G60', 'Harbor Spider', { kind: 'group' });
    const software = rec('attack:S60', 'Harbor Spider Loader');
    const actor = rec('misp:threat-actor:a60', 'Harbor Spider', { kind: 'group' });
    const story = rec('post:0123456789abcdef', 'Harbor Spider', { kind: 'incident' });
    const { canonical, records } = mergeSameThings([group, software, actor, story]);
    assert.equal(canonical.get(actor.id), 'attack:G60');
    assert.equal(canonical.has(story.id), false);
    assert.equal(records.length, 3);
  });

  it('never merge two ATT&CK records, even through a MISP record naming both', () => {
    const a = rec('attack:G70', 'Alpha Group', { kind: 'group' });
    const b = rec('attack:G71', 'Beta Group', { kind: 'group' });
    const bridge = rec('misp:threat-actor:a70', 'Bridge', { kind: 'group', sameAs: ['attack:G70', 'attack:G71'] });
    const { records } = mergeSameThings([a, b, bridge]);
    assert.deepEqual(records.map((r) => r.id).sort(), ['attack:G70', 'attack:G71']);
  });
});

describe('name helpers', () => {
  it('split coined names into words and compare names without kind words', () => {
    assert.deepEqual(nameWords('LockerGoga'), ['locker', 'goga']);
    assert.deepEqual(nameWords('Pay2Key'), ['pay', '2', 'key']);
    assert.deepEqual(nameWords('Ragnar Locker'), ['ragnar', 'locker']);
    assert.equal(nameKey('Ryuk ransomware'), 'ryuk');
    assert.equal(nameKey('The Gorgon Group'), 'gorgon');
    assert.equal(nameKey('Ransomware'), 'ransomware');
    assert.equal(nameKey('Émeraude Team'), 'emeraude');
  });
});

describe('merging the fixture datasets', () => {
  const files = [
    ...importFile('auto', [path.join(FIXTURES, 'attack-mini.json')]),
    ...importFile('auto', [path.join(FIXTURES, 'misp-threat-actor-mini.json')]),
    ...importFile('auto', [path.join(FIXTURES, 'misp-ransomware-mini.json')]),
  ];
  const served = buildServed({ bundled: [], files });

  it('"fancy heron" is the ATT&CK group, with the MISP actor in sameAs', () => {
    const group = served.records.find((r) => r.aliases.includes('Fancy Heron'))!;
    assert.equal(group.id, 'attack:G9001');
    assert.deepEqual(group.sameAs, ['misp:threat-actor:1b000000-0000-4000-8000-000000000001']);
    assert.ok(group.aliases.includes('Smoke Viper'), 'the MISP synonyms join');
    assert.ok(group.entities.countries.includes('Russia'), 'the MISP entities join');
  });

  it('the same record arriving twice (file and store) is still one', () => {
    const twice = buildServed({ bundled: [], stored: files, files });
    assert.equal(twice.records.length, served.records.length);
    assert.deepEqual(twice.records.find((r) => r.id === 'attack:G9001')?.sameAs, ['misp:threat-actor:1b000000-0000-4000-8000-000000000001']);
  });
});

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Incident } from '../../src/core/incident.js';
import { readSnapshot, SnapshotError } from '../../src/core/index-snapshot.js';
import { INDEX_OPTIONS, IncidentIndex, toIndexDoc, transpositions } from '../../src/core/incident-index.js';
import { TEXT_INDEX_OPTIONS } from '../../src/core/text-index.js';
import { BUNDLED_DATA_DIR, loadIncidentDir } from '../../src/core/load-data.js';
import { buildIncident, day, month } from '../fixtures/core/build-incident.js';

const SKY = 'seed:skyecc-2021';
const bundled = loadIncidentDir(BUNDLED_DATA_DIR);

/** Inline records with near-miss names, so a right answer has to beat a plausible wrong one. */
function inlineRecords(): Incident[] {
  return [
    buildIncident({ id: 'test:juicy-mix', title: 'Juicy Mix', summary: 'Juicy Mix was a campaign by OilRig against Israeli organisations. It used a new backdoor.', date: month('2023-09') }),
    buildIncident({ id: 'test:juicy-fruit', title: 'Juicy Fruit Loader', kind: 'software', summary: 'Juicy Fruit Loader is a loader that mixes payloads. It is unrelated.' }),
    buildIncident({ id: 'test:moonbounce', title: 'Moonbounce', summary: 'Moonbounce was a firmware implant campaign. It persisted in SPI flash.', date: month('2022-01') }),
    buildIncident({ id: 'test:moonlight', title: 'Moonlight Maze', summary: 'Moonlight Maze was an espionage campaign in the late 1990s. It targeted research networks.', date: { value: '1998', precision: 'year' } }),
    buildIncident({ id: 'test:bounce-house', title: 'Bounce House', summary: 'Bounce House was a phishing kit. Kits like it sold widely.' }),
  ];
}

function top(index: IncidentIndex, query: string): string | undefined {
  return index.search(query, 5)[0]?.id;
}

describe('IncidentIndex.search', () => {
  const index = IncidentIndex.build([...bundled, ...inlineRecords()]);

  for (const query of ['skyecc', 'sky ecc', 'SKY ECC', 'SkyECC', 'Sky-ECC', 'Operation Argus', 'sky ecc takedown']) {
    it(`IncidentIndex.search finds the Sky ECC record first when asked "${query}"`, () => {
      assert.equal(top(index, query), SKY);
    });
  }

  it('IncidentIndex.search marks the hit as an exact name when the query is a compacted alias', () => {
    const [hit] = index.search('skyecc', 1);
    assert.equal(hit.id, SKY);
    assert.equal(hit.exactName, true);
  });

  it('IncidentIndex.search finds "Juicy Mix" when given the compact form "juicymix"', () => {
    assert.equal(top(index, 'juicymix'), 'test:juicy-mix');
    assert.equal(top(index, 'JuicyMix'), 'test:juicy-mix');
    assert.equal(top(index, 'juicy mix'), 'test:juicy-mix');
  });

  const typos: [string, string][] = [
    ['dropped letter', 'monbounce'],
    ['doubled letter', 'moonbounnce'],
    ['swapped letters', 'moonbuonce'],
    ['wrong letter', 'moonbiunce'],
    ['added letter', 'moonbouncer'],
  ];
  for (const [kind, query] of typos) {
    it(`IncidentIndex.search finds the name when it has a ${kind} ("${query}")`, () => {
      assert.equal(top(index, query), 'test:moonbounce');
    });
  }

  for (const query of ['skyec', 'skyeccc', 'ksyecc', 'skyecd', 'sky ecx']) {
    it(`IncidentIndex.search finds Sky ECC when the name has one typo ("${query}")`, () => {
      assert.equal(top(index, query), SKY);
    });
  }

  it('IncidentIndex.search ranks an incident above a context record when both match as well', () => {
    // The context records come first in the input and sort first by id: only the kind can put the incident on top.
    const shared = { title: 'Lantern Spider', aliases: ['LanternSpider'], summary: 'Lantern Spider hit harbour operators. It stole cargo manifests.', tags: ['espionage'] };
    const records = [
      buildIncident({ ...shared, id: 'test:a-group', kind: 'group' }),
      buildIncident({ ...shared, id: 'test:b-software', kind: 'software' }),
      buildIncident({ ...shared, id: 'test:z-incident', kind: 'incident' }),
    ];
    const idx = IncidentIndex.build(records);
    for (const q of ['lantern spider', 'lanternspider', 'lantern espionage']) {
      const hits = idx.search(q, 3);
      assert.equal(hits[0].id, 'test:z-incident', `${q}: ${JSON.stringify(hits.map((h) => h.id))}`);
      assert.ok(hits[0].score > hits[1].score, `${q}: the incident must score strictly higher`);
    }
  });

  it('IncidentIndex.search prefers the record with that date when a question names a date', () => {
    const shared = { title: 'Harbor Logistics breach', summary: 'A harbor logistics company was breached. Customer data was stolen.' };
    const records = [
      buildIncident({ ...shared, id: 'test:harbor-2023', date: day('2023-11-30') }),
      buildIncident({ ...shared, id: 'test:harbor-2024', date: day('2024-03-04') }),
      buildIncident({ ...shared, id: 'test:harbor-2021', date: month('2021-05') }),
    ];
    const idx = IncidentIndex.build(records);
    assert.equal(top(idx, 'what happened to harbor logistics on November 30, 2023?'), 'test:harbor-2023');
    assert.equal(top(idx, 'harbor logistics breach 4 March 2024'), 'test:harbor-2024');
    assert.equal(top(idx, 'harbor logistics 2023-11-30'), 'test:harbor-2023');
    assert.equal(top(idx, 'harbor logistics breach in May 2021'), 'test:harbor-2021');
  });

  it('IncidentIndex.search finds a record by CVE id when written in any form', () => {
    const records = [
      buildIncident({ id: 'kev:CVE-2017-7269', kind: 'vulnerability', title: 'Microsoft IIS WebDAV buffer overflow', summary: 'A buffer overflow in IIS 6.0 WebDAV. It allows remote code execution.', entities: { cves: ['CVE-2017-7269'] } }),
      buildIncident({ id: 'kev:CVE-2017-0144', kind: 'vulnerability', title: 'Microsoft SMBv1 remote code execution', summary: 'EternalBlue. It spread WannaCry.', entities: { cves: ['CVE-2017-0144'] } }),
    ];
    const idx = IncidentIndex.build(records);
    for (const q of ['cve 2017 7269', 'CVE-2017-7269', 'cve-2017-7269']) assert.equal(top(idx, q), 'kev:CVE-2017-7269', q);
  });

  it('IncidentIndex.search finds a word in the summary tail and in the body when records are long', () => {
    const filler = 'Filler words about nothing in particular. '.repeat(20);
    const idx = IncidentIndex.build([
      buildIncident({ id: 'test:long', title: 'Long record', summary: `${filler} The tail mentions zanzibarite.`, body: 'The body mentions quillfeather.' }),
      buildIncident({ id: 'test:other', title: 'Other record', summary: 'Nothing to see here. Really.' }),
    ]);
    assert.deepEqual(idx.search('quillfeather').map((h) => h.id), ['test:long']);
    assert.deepEqual(idx.search('zanzibarite').map((h) => h.id), ['test:long']);
  });

  it('IncidentIndex.search does not match link targets when summaries carry markdown links', () => {
    const idx = IncidentIndex.build([
      buildIncident({ id: 'test:linked', title: 'Linked record', summary: '[Harbor Spider](https://attack.mitre.org/groups/G9123) ran it. (Citation: Vendor Report 2022)' }),
    ]);
    assert.deepEqual(idx.search('G9123'), []);
    assert.deepEqual(idx.search('citation vendor report'), []);
    assert.equal(top(idx, 'harbor spider'), 'test:linked');
    assert.equal(toIndexDoc(buildIncident({ summary: '[Harbor Spider](https://x.example/y) ran it.(Citation: Z 2022)' })).summary, 'Harbor Spider ran it.');
  });

  it('IncidentIndex.search returns at most `limit` hits, best first, when many match', () => {
    const hits = index.search('takedown', 2);
    assert.ok(hits.length <= 2);
    for (let i = 1; i < hits.length; i++) assert.ok(hits[i - 1].score >= hits[i].score);
  });

  const bad = ['', '   ', '?!.,', 'x'.repeat(10_000), 'sky ecc '.repeat(1250), '.*+?^${}()|[]\\', '(((', '[a-', '😀🔥💥', 'Скай ECC 天空', 'sky\u0000ecc', '\u0000\u0000', '\uD800'];
  for (const q of bad) {
    it(`IncidentIndex.search returns an array without throwing when given ${JSON.stringify(q.slice(0, 20))}${q.length > 20 ? ` (${q.length} chars)` : ''}`, () => {
      const started = performance.now();
      const hits = index.search(q);
      assert.ok(Array.isArray(hits));
      assert.ok(performance.now() - started < 500, 'work per query is bounded');
    });
  }

  it('IncidentIndex.search returns nothing when given empty or punctuation-only queries', () => {
    for (const q of ['', '   ', '?!.,', '.*+?^${}()|[]\\']) assert.deepEqual(index.search(q), [], JSON.stringify(q));
  });
});

describe('IncidentIndex snapshots', () => {
  const records = [...bundled, ...inlineRecords()];
  const built = IncidentIndex.build(records);
  const loaded = IncidentIndex.fromSnapshot(built.toSnapshot(), records);

  it('IncidentIndex.fromSnapshot gives the same top hits when loaded from toSnapshot()', () => {
    assert.equal(loaded.size, built.size);
    for (const q of ['skyecc', 'sky ecc', 'Operation Argus', 'juicymix', 'monbounce', 'how many users did Sky ECC have?', 'takedown 2024', 'lab host']) {
      const a = built.search(q, 5).map((h) => [h.id, h.score.toFixed(6)]);
      const b = loaded.search(q, 5).map((h) => [h.id, h.score.toFixed(6)]);
      assert.deepEqual(b, a, q);
      assert.ok(a.length > 0, `${q} finds something`);
    }
  });

  it('IncidentIndex.fromSnapshot rebuilds suggestions when loaded from a snapshot', () => {
    assert.deepEqual(loaded.suggest('sky'), built.suggest('sky'));
  });

  it('readSnapshot loads a snapshot with INDEX_OPTIONS and refuses other options', () => {
    // The snapshot's first line is the name index; the second the full-text index.
    const [names, text] = built.toSnapshot().split('\n');
    const mini = readSnapshot(names, INDEX_OPTIONS);
    assert.equal(mini.documentCount, records.length);
    assert.equal(readSnapshot(text, TEXT_INDEX_OPTIONS).documentCount, records.length);
    assert.throws(() => readSnapshot(names, { ...INDEX_OPTIONS, fields: ['title'] }), SnapshotError);
    assert.throws(() => readSnapshot(text, INDEX_OPTIONS), SnapshotError);
  });
});

describe('IncidentIndex.upsert', () => {
  it('IncidentIndex.upsert replaces a record when its id is already indexed', () => {
    const index = IncidentIndex.build([buildIncident({ id: 'test:renamed', title: 'Quillfeather Heist', summary: 'A heist. It was bold.' }), ...inlineRecords()]);
    const size = index.size;
    assert.equal(index.search('quillfeather')[0]?.id, 'test:renamed');
    index.upsert([buildIncident({ id: 'test:renamed', title: 'Bramblewood Heist', summary: 'A heist. It was bold.' })]);
    assert.equal(index.size, size);
    assert.ok(!index.search('quillfeather heist').some((h) => h.id === 'test:renamed' && h.exactName), 'old name no longer an exact name');
    assert.ok(!index.search('quillfeather').some((h) => h.id === 'test:renamed'), 'old title no longer found');
    assert.equal(index.search('bramblewood')[0]?.id, 'test:renamed');
    assert.equal(index.search('bramblewood')[0]?.title, 'Bramblewood Heist');
    assert.ok(!index.suggest('quill').some((s) => s.id === 'test:renamed'), 'old title no longer suggested');
    assert.equal(index.suggest('bramble')[0]?.id, 'test:renamed');
  });

  it('IncidentIndex.upsert adds a record when its id is new', () => {
    const index = IncidentIndex.build([]);
    assert.equal(index.size, 0);
    assert.deepEqual(index.search('sky ecc'), []);
    index.upsert(bundled);
    assert.equal(index.size, bundled.length);
    assert.equal(top(index, 'skyecc'), SKY);
  });
});

describe('IncidentIndex.suggest', () => {
  const index = IncidentIndex.build([...bundled, ...inlineRecords()]);

  it('IncidentIndex.suggest returns Sky ECC first when given "sky"', () => {
    const out = index.suggest('sky');
    assert.equal(out[0]?.id, SKY);
    assert.match(out[0].name, /Sky ECC/);
  });

  it('IncidentIndex.suggest returns names by prefix when typed with spaces or case', () => {
    assert.equal(index.suggest('Juicy M')[0]?.id, 'test:juicy-mix');
    assert.equal(index.suggest('MOON')[0]?.id, 'test:moonbounce');
  });

  it('IncidentIndex.suggest respects the limit and lists each record once when many match', () => {
    const out = index.suggest('moon', 1);
    assert.equal(out.length, 1);
    const all = index.suggest('juicy', 25);
    assert.equal(new Set(all.map((s) => s.id)).size, all.length);
  });

  it('IncidentIndex.suggest returns nothing and never throws when given junk', () => {
    for (const q of ['', '   ', '?!', '.*+?^${}()|[]\\', 'x'.repeat(10_000), '😀']) assert.ok(Array.isArray(index.suggest(q)), q.slice(0, 10));
    assert.deepEqual(index.suggest(''), []);
  });
});

describe('transpositions', () => {
  it('transpositions yields every adjacent swap and never the word itself when given a word', () => {
    const v = new Set(transpositions('skyecc'));
    for (const w of ['ksyecc', 'sykecc', 'skeycc', 'skycec']) assert.ok(v.has(w), w);
    assert.ok(!v.has('skyecc'), 'swapping the two c letters gives the word itself, which is no variant');
    assert.equal(v.size, 4);
  });
});

describe('IncidentIndex.search typo preference', () => {
  it('IncidentIndex.search prefers the name reached by undoing a doubled letter over a wrong letter when both are one edit away', () => {
    const idx = IncidentIndex.build([
      buildIncident({ id: 'test:nokki', kind: 'software', title: 'NOKKI' }),
      buildIncident({ id: 'test:doki', kind: 'software', title: 'Doki' }),
    ]);
    assert.equal(idx.search('dokki')[0]?.id, 'test:doki');
  });
});

describe('index snapshot', () => {
  it('fromSnapshot refuses a snapshot of another format with an error that says to rebuild', () => {
    const idx = IncidentIndex.build([buildIncident({ id: 'test:one', title: 'Only One' })]);
    const [names, text] = idx.toSnapshot().split('\n');
    const bad = JSON.stringify({ ...JSON.parse(names), version: 999 });
    assert.throws(() => IncidentIndex.fromSnapshot(`${bad}\n${text}`, []), /rebuild/);
    assert.throws(() => IncidentIndex.fromSnapshot('{not json', []), /rebuild/);
    // A snapshot from before the full-text index (one part) is rebuilt, never half-loaded.
    assert.throws(() => IncidentIndex.fromSnapshot(names, []), /rebuild/);
    assert.throws(() => IncidentIndex.fromSnapshot(`${names}\n{not json`, []), /rebuild/);
  });

  it('fromSnapshot gives the same scores as the built index and accepts upserts when loaded', () => {
    const records = [
      buildIncident({ id: 'test:a', title: 'Quiet Harbor', aliases: ['QH'], summary: 'Quiet Harbor was an intrusion. It hit ports.', date: day('2023-11-30') }),
      buildIncident({ id: 'test:b', kind: 'group', title: 'Harbor Spider', tags: ['espionage'] }),
      buildIncident({ id: 'test:c', kind: 'vulnerability', title: 'Acme Router Overflow', aliases: ['CVE-2024-0001'], entities: { actors: [], victims: [], software: [], cves: ['CVE-2024-0001'], countries: [] } }),
    ];
    const built = IncidentIndex.build(records);
    const loaded = IncidentIndex.fromSnapshot(built.toSnapshot(), records);
    for (const q of ['quiet harbor', 'quietharbor', 'harbr spider', 'cve 2024 0001', 'harbor', 'November 30, 2023 intrusion']) {
      assert.deepEqual(loaded.search(q), built.search(q), q);
    }
    loaded.upsert([{ ...records[0], title: 'Loud Harbor', aliases: [] }]);
    assert.equal(loaded.search('loud harbor')[0]?.id, 'test:a');
    assert.notEqual(loaded.search('quietharbor')[0]?.exactName, true);
  });
});

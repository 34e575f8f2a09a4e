import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createIncidentService } from '../../src/core/create-service.js';
import type { Incident } from '../../src/core/incident.js';
import { IncidentIndex, MAX_COMMON_SCAN } from '../../src/core/incident-index.js';
import { mentionedNames, toTextDoc } from '../../src/core/text-index.js';
import { BUNDLED_DATA_DIR, loadIncidentDir } from '../../src/core/load-data.js';
import { importJsonl } from '../../src/importers/jsonl.js';
import { buildIncident, month } from '../fixtures/core/build-incident.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CORPUS = path.resolve(ROOT, '../shared/datasets/incidents.jsonl');
const needsShared = existsSync(CORPUS) ? false : 'needs ../shared/datasets/incidents.jsonl (the real records)';

/** Words that say nothing, to push a name deep into a description. */
const FILLER = 'The operators moved slowly through the network and collected credentials over several weeks. '.repeat(12);

const ids = (index: IncidentIndex, query: string, limit = 5) => index.search(query, limit).map((h) => h.id);

describe('full text: inline records', () => {
  const records: Incident[] = [
    buildIncident({ id: 'test:deep-incident', title: 'Harbour Blackout', summary: `${FILLER}Investigators later tied it to the Quillfeather toolkit.`, date: month('2023-04') }),
    buildIncident({ id: 'test:deep-group', kind: 'group', title: 'Grey Otter', summary: `${FILLER}Its operators also ran the Zanzibarite botnet against ports.` }),
    buildIncident({ id: 'test:deep-software', kind: 'software', title: 'LampWick', summary: `${FILLER}LampWick was first seen wiping Marrowgate satellite modems.` }),
    buildIncident({ id: 'test:deep-cve', kind: 'vulnerability', title: 'Acme Print Service Remote Code Execution Vulnerability', summary: 'Acme Print Service improperly performs privileged file operations. The vulnerability is also known under the moniker of InkStorm.', entities: { cves: ['CVE-2031-0001'] } }),
    buildIncident({ id: 'test:named-quillfeather', kind: 'software', title: 'Quillfeather', summary: 'Quillfeather is a modular toolkit. It loads plugins.' }),
    buildIncident({ id: 'test:bystander', title: 'Unrelated Outage', summary: 'A storm cut power to a data centre. Nobody attacked anything.' }),
    buildIncident({ id: 'test:signal-fox', kind: 'group', title: 'Signal Fox', summary: 'Signal Fox is known for a hack of a satellite provider in 2019.' }),
  ];
  const index = IncidentIndex.build(records);

  for (const [query, id] of [
    ['zanzibarite', 'test:deep-group'],
    ['marrowgate', 'test:deep-software'],
    ['inkstorm', 'test:deep-cve'],
    ['Marrowgate satellite wiper', 'test:deep-software'],
  ]) {
    it(`IncidentIndex.search finds the record whose description mentions "${query}" deep in its text`, () => {
      assert.equal(ids(index, query)[0], id, JSON.stringify(index.search(query, 3)));
    });
  }

  it('IncidentIndex.search ranks the record named X above the record that mentions X in its text', () => {
    const hits = index.search('quillfeather', 5);
    assert.deepEqual(hits.slice(0, 2).map((h) => h.id), ['test:named-quillfeather', 'test:deep-incident'], JSON.stringify(hits));
    assert.ok(hits[0].score > hits[1].score, 'the named record scores strictly higher, though the other is an incident');
  });

  it('IncidentIndex.search keeps a name above a text mention when the name is part of a longer query', () => {
    assert.equal(ids(index, 'quillfeather toolkit')[0], 'test:named-quillfeather');
  });

  it('the answer names the record that mentions a name only texts carry, beside ordinary words', () => {
    const service = createIncidentService(records);
    // "satellite" and "hack" are ordinary words other records carry; "Marrowgate" is a name only one text writes.
    const answer = service.answer('marrowgate satellite hack');
    assert.equal(answer.status, 'found', answer.summary);
    assert.equal(answer.incident?.id, 'test:deep-software');
  });

  it('IncidentIndex.search finds a word written apart when the text writes it as one ("ink storm")', () => {
    assert.equal(ids(index, 'ink storm')[0], 'test:deep-cve');
  });

  it('IncidentIndex.search finds a text word by its family when inflected ("wipe" finds "wiping")', () => {
    assert.ok(ids(index, 'marrowgate wipe').includes('test:deep-software'));
    assert.equal(ids(index, 'wipes')[0], 'test:deep-software');
  });

  it('IncidentIndex.fromSnapshot answers full-text queries like the built index when loaded', () => {
    const loaded = IncidentIndex.fromSnapshot(index.toSnapshot(), records);
    for (const q of ['zanzibarite', 'quillfeather', 'marrowgate satellite wiper', 'ink storm']) assert.deepEqual(loaded.search(q), index.search(q), q);
  });

  it('IncidentIndex.upsert and remove keep the full text in step with the records', () => {
    const idx = IncidentIndex.build(records);
    idx.upsert([{ ...records[1], summary: 'Grey Otter now runs the Brambleshade botnet.' }]);
    assert.deepEqual(ids(idx, 'zanzibarite'), []);
    assert.equal(ids(idx, 'brambleshade')[0], 'test:deep-group');
    idx.remove(['test:deep-group']);
    assert.deepEqual(ids(idx, 'brambleshade'), []);
    assert.equal(idx.get('test:deep-group'), undefined);
  });
});

describe('full text: what a description contributes', () => {
  it('toTextDoc leaves out the words of the record own names, which the name index holds', () => {
    const doc = toTextDoc(buildIncident({ title: 'Blue Mockingbird', summary: 'Blue Mockingbird mines Monero with a blue payload.' }));
    assert.doesNotMatch(doc.mentions, /Blue|Mockingbird/);
    assert.match(doc.mentions, /Monero/);
  });

  it('mentionedNames keeps words written as names and drops words capitalised only to open a sentence', () => {
    assert.deepEqual(mentionedNames('Analysts linked it to the ViaSat KA-SAT outage. Later, Sandworm Team used Log4Shell in 2022.'), [
      'ViaSat', 'KA', 'SAT', 'Sandworm', 'Team', 'Log4Shell',
    ]);
  });
});

describe('full text: bounded work per query', () => {
  // Every record carries the same common words in its text and its title: a query of only those words could read
  // every posting of every word. The bound must hold however many records carry them.
  const size = 3 * MAX_COMMON_SCAN;
  const common = ['remote', 'code', 'execution', 'windows', 'server', 'attackers', 'exploit', 'network', 'microsoft', 'service', 'update', 'access'];
  const records = Array.from({ length: size }, (_, i) =>
    buildIncident({
      id: `test:common-${i}`,
      kind: i % 2 ? 'vulnerability' : 'incident',
      title: `Microsoft Windows Server remote code execution ${i}`,
      summary: `Attackers exploit the network service. ${common.join(' ')} ${common.slice(0, 1 + (i % common.length)).join(' ')}.`,
    }),
  );
  const index = IncidentIndex.build(records);
  // Searching every word in full would read size x words x fields (~150,000) postings. The bound: 12 words searched
  // at most 400 postings each in two indexes, plus one bounded scan of 2,000 records checked for each word.
  const bound = 40_000;

  it(`IncidentIndex.search reads at most ${bound} postings when a query holds only words that every record carries`, () => {
    const hits = index.search(common.join(' '), 10);
    assert.ok(hits.length > 0, 'still answers');
    assert.ok(index.lastWork.postings <= bound, `read ${index.lastWork.postings} postings`);
    assert.ok(index.lastWork.postings < size * common.length, 'far fewer than searching every word in full');
  });

  it('IncidentIndex.search reads at most the bound when common words come with a date and a question', () => {
    index.search('Which Microsoft Windows remote code execution flaw was exploited in March 2024?', 10);
    assert.ok(index.lastWork.postings <= bound, `read ${index.lastWork.postings} postings`);
  });

  it('IncidentIndex.search reads few postings when the query names one rare word', () => {
    const idx = IncidentIndex.build([...records.slice(0, 500), buildIncident({ id: 'test:rare', title: 'Rare', summary: `${FILLER} It mentions Quasarwick once.` })]);
    assert.equal(idx.search('quasarwick')[0]?.id, 'test:rare');
    assert.ok(idx.lastWork.postings < 50, `read ${idx.lastWork.postings} postings`);
  });
});

describe('full text over the real records', { skip: needsShared }, () => {
  const load = () => IncidentIndex.build([...loadIncidentDir(BUNDLED_DATA_DIR), ...importJsonl(readFileSync(CORPUS, 'utf8'), CORPUS)]);
  const index = needsShared ? undefined : load();

  it('"viasat satellite hack" finds AcidRain first (its description names the ViaSat KA-SAT outage)', () => {
    assert.equal(ids(index!, 'viasat satellite hack')[0], 'attack:S1125', JSON.stringify(index!.search('viasat satellite hack', 3)));
    assert.equal(ids(index!, 'viasat')[0], 'attack:S1125');
  });

  it('"printnightmare" finds kev:CVE-2021-34527 first (its description gives the moniker)', () => {
    assert.equal(ids(index!, 'printnightmare')[0], 'kev:CVE-2021-34527');
    assert.equal(ids(index!, 'print nightmare')[0], 'kev:CVE-2021-34527');
  });

  it('"log4shell" finds the Log4j CVE (cited by the campaign whose description names Log4Shell)', () => {
    const found = ids(index!, 'log4shell', 5);
    assert.ok(found.includes('kev:CVE-2021-44228'), JSON.stringify(found));
    assert.ok(found.includes('tidal:C3012'), JSON.stringify(found));
  });

  it('the answers to them are found, not "nothing matches"', () => {
    const service = createIncidentService([...index!.all()]);
    for (const [q, id] of [['viasat satellite hack', 'attack:S1125'], ['printnightmare', 'kev:CVE-2021-34527']]) {
      const answer = service.answer(q);
      assert.equal(answer.status, 'found', `${q}: ${answer.summary}`);
      assert.equal(answer.incident?.id, id, q);
    }
  });

  it('a name still outranks a mention over the real records ("sandworm" finds Sandworm Team, not records that mention it)', () => {
    assert.equal(ids(index!, 'sandworm')[0], 'attack:G0034');
    assert.equal(ids(index!, 'acidrain')[0], 'attack:S1125');
  });
});

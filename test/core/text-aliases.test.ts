import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Incident } from '../../src/core/incident.js';
import { addIntroducedNames, namesIntroduced } from '../../src/core/text-aliases.js';

function rec(title: string, summary: string, more: Partial<Incident> = {}): Incident {
  return {
    id: `test:${title.toLowerCase().replace(/\W+/g, '-')}`,
    kind: 'group',
    title,
    date: null,
    aliases: [],
    summary,
    sources: [],
    tags: [],
    entities: { actors: [], victims: [], software: [], cves: [], countries: [] },
    related: [],
    ...more,
  };
}

const names = (title: string, summary: string, more: Partial<Incident> = {}) => namesIntroduced(rec(title, summary, more));

describe('names the text introduces', () => {
  it('reads "also known as", "aka", "a.k.a.", "also called", "dubbed", "tracked as" and monikers about the record itself', () => {
    assert.deepEqual(names('Harbor Spider', 'Harbor Spider, also known as Dock Mantis and TEMP.Pier, is a financially motivated group.'), ['Dock Mantis', 'TEMP.Pier']);
    assert.deepEqual(names('Quill', 'Quill (aka QuillLoader or Q-Loader) is a downloader first seen in 2023.'), ['QuillLoader', 'Q-Loader']);
    assert.deepEqual(names('Kettle', 'Kettle (a.k.a. Teapot) was observed in 2020.'), ['Teapot']);
    assert.deepEqual(names('Glassworm', 'Researchers found the malware in 2024. It is also called GlassWorm Lite.'), ['GlassWorm Lite']);
    assert.deepEqual(names('Operation Larch', 'Operation Larch, dubbed "larchwood" by the press, hit ports.'), ['larchwood']);
    assert.deepEqual(names('Kettle', 'Kettle is also tracked as UNC9999 by one vendor.'), ['UNC9999']);
    assert.deepEqual(names('Spooler flaw', 'A flaw in the print service allows code execution. This vulnerability has the moniker of "Spool Storm."'), ['Spool Storm']);
    assert.deepEqual(names('Cobweb', 'The ransomware is known under the moniker of WebSpinner.'), ['WebSpinner']);
  });

  it('takes the name a text opens with as its subject, and keeps a trailing kind word', () => {
    assert.deepEqual(names('arcturus', 'ArcTurus (also known as Polaris Locker or NorthStar) was first identified in 2022.'), ['Polaris Locker', 'NorthStar']);
    assert.deepEqual(names('Operation Alder', 'Operation Alder, also known as the Birch gang, targets banks.'), ['Birch gang']);
  });

  it('ignores names introduced for something else', () => {
    assert.deepEqual(names('Tidewater', 'The group used a backdoor known as Sunfish to reach victims.'), []);
    assert.deepEqual(names('Tidewater', 'Tidewater targeted activists collectively known as Anonymous.'), []);
    assert.deepEqual(names('Tidewater', 'Researchers tracked a campaign dubbed Blue Lagoon in 2022.'), []);
    assert.deepEqual(names('Tidewater', 'Tidewater attacks banks. Another group, known as Reef Eel, attacks ports.'), []);
    assert.deepEqual(names('Tidewater', 'Tidewater drops a ransom note named README.txt.'), []);
  });

  it('takes names, never clauses, headings or ordinary words', () => {
    assert.deepEqual(names('Rook', 'Rook is known as a loader that drops other malware.'), []);
    assert.deepEqual(names('Rook', 'Rook, also known as the Windows Print Spooler Remote Code Execution Thing, is bad.'), []);
    assert.deepEqual(names('Rook', 'Rook is known as of 2021 to target banks.'), []);
    assert.deepEqual(names('Rook', 'Rook, known as In the wild, targets banks.'), []);
    assert.deepEqual(names('Rook', 'Rook, also known as 2019, targets banks.'), []);
  });

  it('skips names the record already has, also with a kind word', () => {
    assert.deepEqual(names('Crynox', 'Crynox, also known as Crynox Ransomware, encrypts files.'), []);
    assert.deepEqual(names('Crynox', 'Crynox, also known as CX Locker, encrypts files.', { aliases: ['CX Locker'] }), []);
  });

  it('does not give a record a name another record goes by', () => {
    const plead = rec('Pleat', 'Pleat is a remote access tool. Pleat has also been referred to as TeaCookie.', { id: 'attack:S1' });
    const cookie = rec('TeaCookie', 'TeaCookie is a backdoor.', { id: 'attack:S2' });
    const other = rec('Hazel', 'Hazel, also known as Witch Hazel, is a loader.', { id: 'attack:S3' });
    const { records, added } = addIntroducedNames([plead, cookie, other]);
    assert.deepEqual(records[0].aliases, []);
    assert.deepEqual(records[2].aliases, ['Witch Hazel']);
    assert.equal(added, 1);
    assert.equal(records[1], cookie, 'records without new names are passed through as they are');
  });
});

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Answer } from '../../src/core/answer-model.js';
import type { IncidentInput } from '../../src/core/incident.js';
import { askerOver } from '../support/ask-command.js';

// Made-up records: campaigns whose texts share many words with the questions below, which are phrasings of our own.
// Each question about something else still shares most of its words with one record: only what the record fails to
// say (a place, things no record says) tells that it is about something else.
const src = [{ url: 'https://example.org/report' }];
const RECORDS: IncidentInput[] = [
  {
    id: 'test:C1', kind: 'incident', title: 'Operation Salt Ledger', date: { value: '2023-03', precision: 'month' },
    summary: 'Hackers sent invoice lures to shipping companies in Norway, deploying a remote access trojan to steal credentials from finance staff.',
    sources: src,
  },
  {
    id: 'test:C2', kind: 'incident', title: 'Operation Quiet Loom', date: { value: '2022-10', precision: 'month' },
    summary: 'Copper Wren sent fake conference invitations to university researchers, installing a backdoor that copied their papers.',
    tags: ['attributed-to:Copper Wren'], sources: src,
  },
  {
    id: 'test:C3', kind: 'incident', title: 'Operation Dry Ledger', date: { value: '2021-05', precision: 'month' },
    summary: 'Operators phished U.S. water utilities with fake billing notices to harvest passwords of plant staff.', sources: src,
  },
  { id: 'test:G1', kind: 'group', title: 'Copper Wren', summary: 'Copper Wren is an Iranian espionage group active since 2019.', sources: src },
  ...['Amber', 'Birch', 'Cedar', 'Delta', 'Elm', 'Fern'].map((w, i): IncidentInput => ({
    id: `test:F${i}`, kind: 'group', title: `${w} Gull`, summary: `${w} Gull is a criminal group that sells stolen access to networks of companies, Chilean ones among them.`, sources: src,
  })),
];

const ask = askerOver(RECORDS);

const notSure = (a: Answer) => a.status === 'not-found' || a.status === 'ambiguous';

describe('not sure about a description its best record only partly tells', () => {
  it('a country the question names that the record never mentions: not answered; the record\'s own country: answered', async () => {
    const elsewhere = await ask('hackers sending invoice lures to shipping companies in chile to steal finance credentials');
    assert.ok(notSure(elsewhere), `${elsewhere.status} ${elsewhere.incident?.id}`);
    assert.ok(elsewhere.suggestions.includes('Operation Salt Ledger'), elsewhere.suggestions.join('|'));
    for (const q of ['hackers sending invoice lures to shipping companies in norway to steal finance credentials', 'invoice lures sent to norwegian shipping companies to steal finance credentials']) {
      const here = await ask(q);
      assert.equal(here.status, 'found', `${q}: ${here.status}`);
      assert.equal(here.incident?.id, 'test:C1');
    }
  });

  it('a country written as its dotted code ("U.S.") counts as said', async () => {
    const a = await ask('american water utilities phished with fake billing notices to harvest passwords');
    assert.equal(a.status, 'found', `${a.status} ${a.incident?.id} ${a.summary}`);
    assert.equal(a.incident?.id, 'test:C3');
  });

  it('the people\'s adjective said by the group the campaign is attributed to counts as said', async () => {
    const a = await ask('iranian espionage group sent fake conference invitations to university researchers');
    assert.equal(a.status, 'found', `${a.status} ${a.incident?.id} ${a.summary}`);
    assert.equal(a.incident?.id, 'test:C2');
  });

  it('two things no record says (a zeppelin hangar) are another story; one casual word, or one hyphenated compound, is not', async () => {
    const other = await ask('invoice lures sent to shipping companies in norway to steal credentials at a zeppelin hangar');
    assert.ok(notSure(other), `${other.status} ${other.incident?.id}`);
    for (const q of ['invoice lures sent to shipping companies in norway to steal credentials at a hangar', 'booby-trapped invoice lures sent to shipping companies in norway to steal credentials']) {
      const a = await ask(q);
      assert.equal(a.status, 'found', `${q}: ${a.status}`);
      assert.equal(a.incident?.id, 'test:C1');
    }
  });

  it('a people\'s adjective is read for every country, not only the common few', async () => {
    for (const q of ['invoice lures sent to swedish shipping companies to steal finance credentials', 'invoice lures sent to polish shipping companies to steal finance credentials']) {
      const a = await ask(q);
      assert.ok(notSure(a), `${q}: ${a.status} ${a.incident?.id}`);
    }
  });

  it('a short description (a country and three words) is doubted by a place its record never names', async () => {
    const a = await ask('chilean water utilities phished');
    assert.ok(notSure(a), `${a.status} ${a.incident?.id} ${a.summary}`);
    const here = await ask('american water utilities phished');
    assert.equal(here.incident?.id, 'test:C3', `${here.status} ${here.incident?.id}`);
  });
});

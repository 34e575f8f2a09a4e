import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { IncidentInput } from '../../src/core/incident.js';
import { askerOver } from '../support/ask-command.js';

// Made-up records, all dated years ago: one whose text says "last week", a group whose text holds a topic's words,
// and campaigns of one year. The questions are phrasings of our own.
const src = [{ url: 'https://example.org/report' }];
const RECORDS: IncidentInput[] = [
  { id: 'test:S1', kind: 'software', title: 'Pewter Lock', date: { value: '2018-01', precision: 'month' }, summary: 'Pewter Lock is a locker that appeared late last week in spam runs.', sources: src },
  { id: 'test:G1', kind: 'group', title: 'Quartz Heron', summary: 'Quartz Heron rents ransomware to crews that extort hospital networks.', sources: src },
  { id: 'test:C1', kind: 'incident', title: 'Operation Slate Bell', date: { value: '2022-04', precision: 'month' }, summary: 'A ransomware campaign against clinics.', tags: ['attributed-to:Quartz Heron'], sources: src },
  { id: 'test:C2', kind: 'incident', title: 'Operation Chalk Reed', date: { value: '2022-09', precision: 'month' }, summary: 'Phishing against port operators.', sources: src },
];

const ask = askerOver(RECORDS);

describe('a relative time alone', () => {
  it('asks what is dated then, and says nothing is, rather than answer a record whose text says the same words', async () => {
    for (const q of ['what happened last week', 'anything going on last week?', 'what occurred yesterday']) {
      const a = await ask(q);
      assert.notEqual(a.incident?.id, 'test:S1', `${q}: ${a.status} ${a.summary}`);
      assert.equal(a.status, 'not-found', `${q}: ${a.status} ${a.summary}`);
    }
    const dated = await ask('what happened in 2022');
    assert.equal(dated.status, 'list');
    assert.deepEqual(dated.items?.map((i) => i.id).sort(), ['test:C1', 'test:C2']);
  });
});

describe('a list\'s subject', () => {
  it('is a record the question names, not one whose text holds the question\'s topic words', async () => {
    const topic = await ask('hospital ransomware campaigns in 2022');
    assert.doesNotMatch(topic.summary, /Quartz Heron/, topic.summary);
    const named = await ask('quartz heron campaigns in 2022');
    assert.match(named.summary, /Quartz Heron/, named.summary);
    assert.deepEqual(named.items?.map((i) => i.id), ['test:C1']);
  });
});

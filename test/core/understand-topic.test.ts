import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { IncidentInput } from '../../src/core/incident.js';
import { askerOver } from '../support/ask-command.js';

// Made-up records: a campaign told in report words, records sharing some of its words, and vendors whose names an
// incident, several incidents, or only vulnerabilities carry. The questions are phrasings of our own.
const src = [{ url: 'https://example.org/report' }];
const kev = (id: string, vendor: string, product: string, what: string): IncidentInput => ({
  id: `test:${id}`, kind: 'vulnerability', title: `${vendor} ${product} ${what} Vulnerability`,
  summary: `${vendor} ${product} contains a ${what.toLowerCase()} vulnerability that allows a remote attacker to run code.`,
  tags: [`vendor:${vendor}`, `product:${product}`], sources: src,
});
const RECORDS: IncidentInput[] = [
  {
    id: 'test:C1', kind: 'incident', title: 'Operation Glass Harbor', date: { value: '2024-05', precision: 'month' },
    summary: 'Actors attributed to the Mossy Finch adversary group targeted shipping organizations through supplier invoice portals, exploiting these submissions to deliver remote access trojan malware that gave full control over infected systems.',
    tags: ['attributed-to:Mossy Finch'], sources: src,
  },
  { id: 'test:G1', kind: 'group', title: 'Mossy Finch', aliases: ['Gravel Kite'], summary: 'Mossy Finch is a financially motivated group that targets logistics firms in Europe.', sources: src },
  {
    id: 'test:C2', kind: 'incident', title: 'Operation Paper Lantern', date: { value: '2023-02', precision: 'month' },
    summary: 'Operators sent invoice-themed emails to accounting staff at retailers, installing a loader that fetched a banking trojan.', sources: src,
  },
  {
    id: 'test:C3', kind: 'incident', title: 'Lumaview Compromise', date: { value: '2022-08', precision: 'month' },
    summary: 'The Lumaview Compromise was a supply chain operation by Mossy Finch that inserted code into a monitoring product update.',
    tags: ['attributed-to:Mossy Finch'], sources: src,
  },
  kev('K1', 'Lumaview', 'Orbit', 'Authentication Bypass'),
  kev('K2', 'Lumaview', 'Orbit', 'Path Traversal'),
  kev('K3', 'Lumaview', 'Relay Manager', 'Command Injection'),
  kev('K4', 'Tesswell', 'Gatekeeper', 'Authentication Bypass'),
  kev('K5', 'Tesswell', 'Gatekeeper', 'SQL Injection'),
  kev('K6', 'Tesswell', 'Portal', 'Path Traversal'),
  {
    id: 'test:C4', kind: 'incident', title: 'Brindle Compromise', date: { value: '2021-03', precision: 'month' },
    summary: 'Intruders abused a Brindle appliance to reach internal networks.', sources: src,
  },
  {
    id: 'test:C5', kind: 'incident', title: 'Brindle Exploitation Activity', date: { value: '2023-09', precision: 'month' },
    summary: 'A second wave of intrusions through Brindle appliances, by another actor.', sources: src,
  },
  {
    id: 'test:C6', kind: 'incident', title: 'Operation Tin Compass', date: { value: '2020-04', precision: 'month' },
    summary: 'Frost Owl operators sent poisoned tender documents to port authorities.', sources: src,
  },
  {
    id: 'test:C7', kind: 'incident', title: 'Operation Reed Lantern', date: { value: '2020-06', precision: 'month' },
    summary: 'Mossy Finch operators sent poisoned tender documents to port authorities.', sources: src,
  },
  {
    id: 'test:C8', kind: 'incident', title: 'Brass Kettle', date: { value: '2019-11', precision: 'month' },
    summary: 'Brass Kettle was a campaign that stole tender files from port authorities.', sources: src,
  },
  { id: 'test:G9', kind: 'group', title: 'Brass Kettle', summary: 'Brass Kettle is the actor named after the operation.', sources: src },
  {
    id: 'test:C10', kind: 'incident', title: 'Operation Quiet Ledger', date: { value: '2022-10', precision: 'month' },
    summary: 'A ransomware group moved from compromised branch office servers into hosted payroll systems, encrypting the ledgers of several credit unions.', sources: src,
  },
  kev('K7', 'Brindle', 'Edge', 'Command Injection'),
  kev('K8', 'Brindle', 'Edge', 'Path Traversal'),
  ...['Amber', 'Cobalt', 'Dune', 'Ember', 'Frost', 'Garnet'].map((w, i): IncidentInput => ({
    id: `test:F${i}`, kind: 'group', title: `${w} Owl`, summary: `${w} Owl is an espionage group that targets governments and telecoms with phishing and custom malware.`, sources: src,
  })),
];

const ask = askerOver(RECORDS);

describe('descriptions in other words than the record', () => {
  it('a word the synonym table pairs with the text\'s ("crew" for group) finds the incident told in the other word', async () => {
    const a = await ask('ransomware crew hopping from branch office servers into hosted payroll systems at credit unions');
    assert.equal(a.status, 'found', `${a.status} ${a.incident?.id} ${a.summary}`);
    assert.equal(a.incident?.id, 'test:C10');
  });

  it('a group named by another of its names than the one the story uses finds the story that names it', async () => {
    const a = await ask('gravel kite mailing poisoned tender documents to port authorities');
    assert.equal(a.incident?.id, 'test:C7', `${a.status} ${a.incident?.id}`);
  });

  it('a description of something the data does not hold is still not answered', async () => {
    const a = await ask('teenagers hijacking a lottery website to change the winning numbers');
    assert.ok(a.status === 'not-found' || a.status === 'ambiguous', `${a.status} ${a.incident?.id}`);
  });
});

describe('a bare name shared by an incident and a vendor\'s vulnerabilities', () => {
  it('answers the incident whose distinctive name it is, with its group related and the vendor\'s flaws suggested', async () => {
    const a = await ask('lumaview');
    assert.equal(a.status, 'found', `${a.status} ${a.candidates.map((c) => c.id).join(' ')}`);
    assert.equal(a.incident?.id, 'test:C3');
    assert.ok(a.related.some((r) => r.id === 'test:G1'), JSON.stringify(a.related.map((r) => r.id)));
    assert.ok(a.suggestions.some((s) => s.startsWith('Lumaview Orbit')), JSON.stringify(a.suggestions));
    assert.ok(a.related.some((r) => r.kind === 'vulnerability' && r.title.startsWith('Lumaview')), JSON.stringify(a.related.map((r) => r.id)));
    assert.equal((await ask('lumaview hack')).incident?.id, 'test:C3');
  });

  it('a product name besides the vendor\'s asks about the flaw, not the incident', async () => {
    assert.equal((await ask('lumaview relay manager')).incident?.id, 'test:K3');
  });

  it('a vendor only vulnerabilities carry, a name two incidents carry, or a group\'s name, still asks which', async () => {
    assert.equal((await ask('tesswell')).status, 'ambiguous');
    const brindle = await ask('brindle');
    assert.equal(brindle.status, 'ambiguous', `${brindle.status} ${brindle.incident?.id}`);
    // A group called by the same name as the campaign is its peer: still asks which.
    assert.equal((await ask('brass kettle')).status, 'ambiguous');
  });
});

describe('a description that mentions a kind and a time in passing', () => {
  it('is answered as a description, not listed by time; asked with "which" it lists', async () => {
    const a = await ask('intrusions where crooks slipped a backdoor through supplier invoice portals at shipping companies in 2024');
    assert.notEqual(a.status, 'list', JSON.stringify(a.items?.map((i) => i.id)));
    assert.equal(a.incident?.id, 'test:C1');
    assert.equal((await ask('which campaigns in 2024')).status, 'list');
  });

  it('a vendor among many other words is a detail of the description, not a request for its flaws', async () => {
    const a = await ask('gravel kite crooks hacking lumaview boxes through old bugs to read port authority mail');
    assert.notEqual(a.status, 'list', JSON.stringify(a.items?.map((i) => i.id)));
    assert.equal((await ask('lumaview bugs')).status, 'list');
    assert.equal((await ask('which lumaview bugs did crooks use against port authorities')).status, 'list');
  });
});

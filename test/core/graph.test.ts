import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServedService } from '../../src/core/create-service.js';
import { Graph, type Relation } from '../../src/core/graph.js';
import type { Incident } from '../../src/core/incident.js';
import { extractRelations } from '../../src/core/relations.js';
import { buildServed, GRAPH_AT_ONCE_RECORDS, servedFromStored } from '../../src/core/served.js';
import { importFile, importJsonl } from '../../src/importers/index.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/knowledge/', import.meta.url));
const fixtureRecords = () => [
  ...importFile('auto', [path.join(FIXTURES, 'attack-mini.json')]),
  ...importFile('auto', [path.join(FIXTURES, 'misp-threat-actor-mini.json')]),
  ...importFile('auto', [path.join(FIXTURES, 'misp-ransomware-mini.json')]),
];
const DRIFTWOOD = 'misp:threat-actor:1b000000-0000-4000-8000-000000000003';
const GLASSWING = 'misp:ransomware:2c000000-0000-4000-8000-000000000002';

describe('Graph', () => {
  const graph = Graph.build([
    { from: 'c:1', type: 'uses', to: 's:1' },
    { from: 'c:1', type: 'uses', to: 's:2' },
    { from: 'g:1', type: 'uses', to: 's:1' },
    { from: 'c:1', type: 'attributed-to', to: 'g:1' },
    { from: 'c:1', type: 'uses', to: 's:1' },
    { from: 'g:1', type: 'uses', to: 'g:1' },
  ]);

  it('answers both directions by type, each id once, without duplicates or self-loops', () => {
    assert.deepEqual(graph.neighbors('c:1', 'uses'), ['s:1', 's:2']);
    assert.deepEqual(graph.neighbors('s:1', 'uses', 'in'), ['c:1', 'g:1']);
    assert.deepEqual(graph.neighbors('g:1', 'attributed-to', 'in'), ['c:1']);
    assert.deepEqual(graph.neighbors('g:1', undefined, 'both'), ['s:1', 'c:1']);
    assert.deepEqual(graph.neighbors('c:1', ['attributed-to']), ['g:1']);
    assert.deepEqual(graph.neighbors('nobody', 'uses', 'both'), []);
    assert.equal(graph.size, 4);
    assert.ok(graph.has('g:1', 'uses', 's:1') && !graph.has('s:1', 'uses', 'g:1'));
    assert.deepEqual(graph.relationsOf('g:1').map((r) => `${r.from} ${r.type} ${r.to}`), ['g:1 uses s:1', 'c:1 attributed-to g:1']);
  });

  it('grows without duplicates', () => {
    const g = Graph.build([]);
    assert.equal(g.add([{ from: 'a:1', type: 'exploits', to: 'cve:CVE-2099-1000' }, { from: 'a:1', type: 'exploits', to: 'cve:CVE-2099-1000' }]), 1);
    assert.deepEqual(g.neighbors('cve:CVE-2099-1000', 'exploits', 'in'), ['a:1']);
  });
});

describe('relations from the fixture datasets', () => {
  const served = buildServed({ bundled: [], files: fixtureRecords(), posts: [{ postId: 'post:00000000000000aa', incidentId: 'attack:C9002', title: 'Ashfall hits a grid' }] });
  const g = served.graph;

  it('STIX relationships: attributed-to and uses, both directions', () => {
    assert.deepEqual(g.neighbors('attack:C9001', 'attributed-to'), ['attack:G9001']);
    assert.deepEqual(g.neighbors('attack:C9001', 'uses'), ['attack:S9001', 'attack:S9002']);
    assert.deepEqual(g.neighbors('attack:S9002', 'uses', 'in').sort(), ['attack:C9001', 'attack:C9002', 'attack:G9002']);
    assert.deepEqual(g.neighbors('attack:G9001', 'attributed-to', 'in').sort(), ['attack:C9001', 'attack:C9002']);
  });

  it('MISP related by uuid (uses, used-by), origin and targets; merged ids resolve to the kept record', () => {
    assert.deepEqual(g.neighbors(DRIFTWOOD, 'uses'), ['attack:S9001', GLASSWING]);
    assert.deepEqual(g.neighbors(GLASSWING, 'uses', 'in'), [DRIFTWOOD]);
    assert.deepEqual(g.neighbors('attack:G9001', 'attributed-to'), ['country:RU']);
    assert.deepEqual(g.neighbors('country:RU', 'attributed-to', 'in'), ['attack:G9001']);
    assert.deepEqual(g.neighbors('attack:G9001', 'targets'), ['country:UA', 'country:PL', 'sector:government', 'sector:energy']);
    assert.equal(g.label('country:UA'), 'Ukraine');
    assert.equal(g.label('sector:government'), 'Government');
    assert.deepEqual(g.neighbors('attack:G9001', 'same-as'), ['misp:threat-actor:1b000000-0000-4000-8000-000000000001']);
    assert.deepEqual(g.neighbors('attack:G9001', 'related-to'), [DRIFTWOOD], 'the MISP actor\'s own links move to the kept record');
  });

  it('CVE ids in text become exploits; feed posts become reported-in', () => {
    assert.deepEqual(g.neighbors('attack:C9001', 'exploits'), ['cve:CVE-2099-10001']);
    assert.equal(g.label('cve:CVE-2099-10001'), 'CVE-2099-10001');
    assert.deepEqual(g.neighbors('attack:C9002', 'reported-in'), ['post:00000000000000aa']);
  });

  it('tags and entities resolve names to records of the right kind; ambiguous names are left out', () => {
    const lines = [
      { id: 'x:C1', title: 'Camp One', date: '2022-01-01', summary: 'A campaign exploiting CVE-2099-2000.', sources: [], tags: ['type:campaign', 'attributed-to:Harbor', 'uses:Netz'], aliases: [] },
      { id: 'x:G1', title: 'Harbor', date: null, summary: 'A group.', sources: [], tags: ['type:group'], aliases: [] },
      { id: 'x:S1', title: 'Netz', date: null, summary: 'A tool.', sources: [], tags: ['type:software', 'used-by:Harbor'], aliases: [] },
      { id: 'x:S2', title: 'Twin', date: null, summary: 'A tool.', sources: [], tags: ['type:software'], aliases: [] },
      { id: 'y:S2', title: 'Twin', date: null, summary: 'Another tool.', sources: [], tags: ['type:software'], aliases: [] },
      { id: 'z:C2', title: 'Camp Two', date: null, summary: 'A campaign.', sources: [], tags: ['type:campaign', 'uses:Twin', 'attributed-to:Netz'], aliases: [] },
      { id: 'kev:CVE-2099-2000', title: 'Gateway flaw', date: '2099-01-01', summary: 'A flaw.', sources: [], tags: ['type:vulnerability', 'vendor:Example Corp'], aliases: ['CVE-2099-2000'] },
    ];
    const records = importJsonl(lines.map((l) => JSON.stringify(l)).join('\n'), 'lines.jsonl');
    const { relations, labels } = extractRelations(records, new Map());
    const got = relations.map((r) => `${r.from} ${r.type} ${r.to}`);
    assert.ok(got.includes('x:C1 attributed-to x:G1'), got.join('\n'));
    assert.ok(got.includes('x:C1 uses x:S1'), 'uses: tag resolved to the software');
    assert.ok(got.includes('x:G1 uses x:S1'), 'used-by: tags point back');
    assert.ok(got.includes('x:C1 exploits kev:CVE-2099-2000'), 'a CVE with a record resolves to it');
    assert.ok(got.includes('kev:CVE-2099-2000 affects vendor:example-corp'), 'vendor tag becomes affects');
    assert.equal(labels.get('vendor:example-corp'), 'Example Corp');
    assert.ok(!got.some((r) => r.startsWith('z:C2 uses')), 'two records named Twin from other datasets: no guess');
    assert.ok(!got.some((r) => r.startsWith('z:C2 attributed-to')), 'Netz is software, not a group');
  });
});

describe('the graph built in the background', () => {
  it('fills after buildServed returns and ends with the same relations as a graph built at once', async () => {
    // Above GRAPH_AT_ONCE_RECORDS only: pad the fixture with plain records.
    const padding: Incident[] = Array.from({ length: GRAPH_AT_ONCE_RECORDS }, (_, i) => ({
      id: `pad:${i}`,
      kind: 'incident',
      title: `Padding ${i}`,
      date: null,
      aliases: [],
      summary: 'Nothing to relate.',
      sources: [],
      tags: [],
      entities: { actors: [], victims: [], software: [], cves: [], countries: [] },
      related: [],
    }));
    const at = buildServed({ bundled: [], files: [...fixtureRecords(), ...padding] });
    const later = buildServed({ bundled: [], files: [...fixtureRecords(), ...padding] }, { background: true });
    assert.equal(later.graph.size, 0, 'nothing yet: start-up does not wait for it');
    await later.graphReady;
    const edges = (s: typeof at) => [...s.graph.relations()].map((r) => `${r.from} ${r.type} ${r.to}`).sort();
    assert.deepEqual(edges(later), edges(at));
    assert.ok(at.graph.size > 10, `graph size ${at.graph.size}`);
  });

  it('is built at once for a corpus of the usual size, so the first answer has its related records', () => {
    const served = buildServed({ bundled: [], files: fixtureRecords() }, { background: true });
    assert.ok(served.graph.size > 10, `graph size ${served.graph.size}`);
  });
});

describe('served from stored relations', () => {
  it('gives the same records, merges and graph as building them', () => {
    const inputs = { bundled: [], files: fixtureRecords(), posts: [{ postId: 'post:00000000000000aa', incidentId: 'attack:C9002' }] };
    const built = buildServed(inputs);
    const all = [...built.graph.relations()].sort((a, b) => (`${a.from} ${a.type} ${a.to}` < `${b.from} ${b.type} ${b.to}` ? -1 : 1));
    const key = (r: Relation) => `${r.from} ${r.type} ${r.to}`;
    const again = servedFromStored(inputs, {
      sameAs: all.filter((r) => r.type === 'same-as'),
      size: all.length,
      slice: (after, limit) => all.filter((r) => !after || key(r) > key(after)).slice(0, limit),
      labels: () => [...built.graph.labelled()],
    });
    assert.deepEqual(again.records, built.records);
    assert.deepEqual([...again.canonical].sort(), [...built.canonical].sort());
    assert.deepEqual([...again.graph.relations()].map(key).sort(), all.map(key));
    assert.equal(again.graph.label('country:UA'), 'Ukraine');
  });
});

describe('answers from the graph', () => {
  const served = buildServed({ bundled: [], files: fixtureRecords() });
  const service = createServedService(served);

  it('a campaign shows its group first, then the software it used', () => {
    const answer = service.answer('operation cinder');
    assert.equal(answer.incident?.id, 'attack:C9001');
    assert.deepEqual(answer.related.map((r) => r.id), ['attack:G9001', 'attack:S9001', 'attack:S9002']);
  });

  it('a group shows its campaigns newest first, then its software', () => {
    const answer = service.answer('ember hollow');
    assert.equal(answer.incident?.id, 'attack:G9001');
    const ids = answer.related.map((r) => r.id);
    assert.deepEqual(ids.slice(0, 2), ['attack:C9002', 'attack:C9001']);
    assert.ok(ids.includes('attack:S9001'), ids.join(', '));
  });

  it('software shows the campaigns (newest first) and groups that use it', () => {
    const answer = service.answer('cobalt strike');
    assert.equal(answer.incident?.id, 'attack:S9002');
    assert.deepEqual(answer.related.map((r) => r.id), ['attack:C9002', 'attack:C9001', 'attack:G9002']);
  });

  it('a merged name and a merged id answer with the kept record, which lists the other ids', () => {
    const answer = service.answer('fancy heron');
    assert.equal(answer.incident?.id, 'attack:G9001');
    assert.deepEqual(answer.incident?.sameAs, ['misp:threat-actor:1b000000-0000-4000-8000-000000000001']);
    assert.equal(service.answer('smoke viper').incident?.id, 'attack:G9001');
    assert.equal(service.get('misp:threat-actor:1b000000-0000-4000-8000-000000000001')?.id, 'attack:G9001');
    const byId = service.answer('misp:threat-actor:1b000000-0000-4000-8000-000000000001');
    assert.equal(byId.status, 'found');
    assert.equal(byId.incident?.id, 'attack:G9001');
    assert.equal(service.search('misp:ransomware:2c000000-0000-4000-8000-000000000001')[0]?.id, 'attack:S9003');
  });

  it('records that arrive later (feed stories) join the graph', () => {
    const story: Incident = {
      id: 'post:00000000000000bb',
      kind: 'incident',
      title: 'Gateway attacks',
      date: { value: '2099-02-01', precision: 'day' },
      aliases: [],
      summary: 'Attackers exploit CVE-2099-10001 in mail gateways.',
      sources: [],
      tags: [],
      entities: { actors: [], victims: [], software: [], cves: [], countries: [] },
      related: [],
    };
    service.upsert([story]);
    assert.deepEqual(service.graph.neighbors('cve:CVE-2099-10001', 'exploits', 'in'), ['attack:C9001', 'post:00000000000000bb']);
  });
});

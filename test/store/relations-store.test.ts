import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadService, readDataFiles } from '../../src/bootstrap.js';
import { Graph } from '../../src/core/graph.js';
import { importFile } from '../../src/importers/index.js';
import { createLogger } from '../../src/logger.js';
import { readLabel, readRelations, readStoredGraph, RELATION_ROWS_PER_SLICE, RELATIONS_FINGERPRINT_KEY, saveRelations, storyPosts } from '../../src/store/relations-store.js';
import { GRAPH_AT_ONCE_RECORDS, servedFromStored } from '../../src/core/served.js';
import { openStore, type Store } from '../../src/store/store.js';

const dir = mkdtempSync(path.join(tmpdir(), 'incident-relations-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let counter = 0;
const fresh = (): Store => openStore(path.join(dir, `case-${++counter}`, 'store.db'));
const KNOWLEDGE = fileURLToPath(new URL('../fixtures/knowledge/', import.meta.url));

function addPost(store: Store, postId: string, incidentId: string, title: string, at: number): void {
  store.db.prepare('INSERT OR IGNORE INTO feeds (id, url, created_at) VALUES (1, ?, ?)').run('https://feeds.example.org/rss', at);
  store.db
    .prepare('INSERT INTO posts (id, feed_id, incident_id, url, url_key, title, published, summary, created_at) VALUES (?, 1, ?, NULL, NULL, ?, NULL, ?, ?)')
    .run(postId, incidentId, title, title, at);
}

describe('relations in the store', () => {
  it('are written as a new generation, skipped when their inputs did not change, and read back by subject, object and type', async () => {
    const store = fresh();
    try {
      const graph = Graph.build(
        [
          { from: 'attack:C1', type: 'attributed-to', to: 'attack:G1' },
          { from: 'attack:C1', type: 'uses', to: 'attack:S1' },
          { from: 'attack:G1', type: 'uses', to: 'attack:S1' },
          { from: 'attack:G1', type: 'attributed-to', to: 'country:RU' },
        ],
        [['country:RU', 'Russia']],
      );
      assert.equal(await saveRelations(store.db, graph, 'one'), true);
      assert.equal(await saveRelations(store.db, graph, 'one'), false, 'same inputs: nothing written');
      assert.equal(store.getMeta(RELATIONS_FINGERPRINT_KEY), 'one');
      assert.equal(readRelations(store.db).length, 4);
      assert.deepEqual(readRelations(store.db, { to: 'attack:S1', type: 'uses' }).map((r) => r.from), ['attack:C1', 'attack:G1']);
      assert.deepEqual(readRelations(store.db, { from: 'attack:C1' }).map((r) => r.type), ['attributed-to', 'uses']);
      assert.equal(readLabel(store.db, 'country:RU'), 'Russia');
      assert.equal(await saveRelations(store.db, Graph.build([{ from: 'a:1', type: 'exploits', to: 'cve:CVE-2099-0001' }]), 'two'), true);
      assert.deepEqual(readRelations(store.db).map((r) => `${r.from} ${r.type} ${r.to}`), ['a:1 exploits cve:CVE-2099-0001'], 'replaced, not added to');
      assert.equal(readLabel(store.db, 'country:RU'), undefined);
      const rows = store.db.prepare('SELECT count(*) AS n FROM relations').get() as { n: number };
      assert.equal(rows.n, 1, 'the old generation is gone');
    } finally {
      store.close();
    }
  });

  it('write large graphs in slices, a turn of the event loop each, and leave a half-written generation unseen', async () => {
    const store = fresh();
    try {
      const many = Array.from({ length: RELATION_ROWS_PER_SLICE * 2 + 10 }, (_, i) => ({ from: `attack:C${i}`, type: 'uses' as const, to: 'attack:S1' }));
      await saveRelations(store.db, Graph.build(many.slice(0, 3)), 'small');
      let turns = 0;
      const ticker = setInterval(() => turns++, 0);
      const writing = saveRelations(store.db, Graph.build(many), 'large');
      // Between slices, readers still see the previous generation whole.
      await new Promise((resolve) => setImmediate(resolve));
      assert.equal(readRelations(store.db).length, 3);
      await writing;
      clearInterval(ticker);
      assert.equal(readRelations(store.db, { to: 'attack:S1' }).length, many.length);
      assert.ok(turns >= 2, `the event loop turned ${turns} times while writing`);
    } finally {
      store.close();
    }
  });

  it('are read back a slice at a time, at once for a small graph and in the background for a large one', async () => {
    const store = fresh();
    try {
      for (const size of [RELATION_ROWS_PER_SLICE * 2 + 10, GRAPH_AT_ONCE_RECORDS + 10]) {
        const many = Array.from({ length: size }, (_, i) => ({ from: `attack:C${i}`, type: 'uses' as const, to: `attack:S${i % 7}` }));
        many.push({ from: 'attack:G1', type: 'same-as', to: 'misp:threat-actor:x' } as never);
        await saveRelations(store.db, Graph.build(many, [['country:RU', 'Russia']]), `size ${size}`);
        const stored = readStoredGraph(store.db, `size ${size}`)!;
        assert.equal(stored.size, many.length);
        assert.deepEqual(stored.sameAs, [{ from: 'attack:G1', type: 'same-as', to: 'misp:threat-actor:x' }]);
        const served = servedFromStored({ bundled: [] }, stored);
        assert.equal(served.canonical.get('misp:threat-actor:x'), 'attack:G1');
        if (size > GRAPH_AT_ONCE_RECORDS) assert.ok(served.graph.size < many.length, 'a large graph fills after start-up');
        await served.graphReady;
        assert.equal(served.graph.size, many.length);
        assert.equal(served.graph.neighbors('attack:S3', 'uses', 'in').length, many.filter((r) => r.to === 'attack:S3').length);
        assert.equal(served.graph.label('country:RU'), 'Russia');
      }
      assert.equal(readStoredGraph(store.db, 'other inputs'), undefined);
    } finally {
      store.close();
    }
  });

  it('stop quietly when the bot closes the database half way, and are written again at the next start', async () => {
    const file = path.join(dir, 'closing', 'store.db');
    const store = openStore(file);
    const many = Array.from({ length: RELATION_ROWS_PER_SLICE * 3 }, (_, i) => ({ from: `attack:C${i}`, type: 'uses' as const, to: 'attack:S1' }));
    const writing = saveRelations(store.db, Graph.build(many), 'big');
    await new Promise((resolve) => setImmediate(resolve));
    store.close();
    assert.equal(await writing, false);
    const again = openStore(file);
    try {
      assert.equal(again.getMeta(RELATIONS_FINGERPRINT_KEY), undefined, 'not marked as stored');
      assert.equal(readRelations(again.db).length, 0, 'the half-written generation is never current');
      assert.equal(await saveRelations(again.db, Graph.build(many), 'big'), true);
      assert.equal(readRelations(again.db).length, many.length);
    } finally {
      again.close();
    }
  });

  it('start-up builds them from the stored records and feed posts, and the service resolves merged ids', async () => {
    const store = fresh();
    try {
      const records = importFile('auto', [path.join(KNOWLEDGE, 'attack-mini.json')]);
      store.importIncidents(records, { origin: 'file:attack-mini.json', format: 'stix' });
      store.importIncidents(importFile('misp-galaxy', [path.join(KNOWLEDGE, 'misp-threat-actor-mini.json')]), { origin: 'file:ta.json', format: 'misp-galaxy' });
      addPost(store, 'post:00000000000000c1', 'attack:C9002', 'Ashfall reported', 1_000);
      addPost(store, 'post:00000000000000c2', 'misp:threat-actor:1b000000-0000-4000-8000-000000000001', 'Hollow seen again', 2_000);
      assert.equal(storyPosts(store.db).length, 2);

      const service = await loadService(store, createLogger('silent'));
      await service.graphStored;
      assert.equal(service.get('misp:threat-actor:1b000000-0000-4000-8000-000000000001')?.id, 'attack:G9001');
      assert.deepEqual(service.graph.neighbors('attack:G9001', 'reported-in'), ['post:00000000000000c2'], 'a post on a merged id reports the kept record');
      const stored = readRelations(store.db, { to: 'attack:G9001', type: 'attributed-to' }).map((r) => r.from);
      assert.deepEqual(stored, ['attack:C9001', 'attack:C9002']);
      assert.deepEqual(readRelations(store.db, { from: 'attack:C9002', type: 'reported-in' }).map((r) => r.to), ['post:00000000000000c1']);
      assert.equal(readRelations(store.db).length, service.graph.size);

      // Nothing changed: the next start-up takes the merges and the graph from the store (a row added by hand shows it).
      const generation = Number(store.getMeta('relations_generation'));
      store.db.prepare('INSERT INTO relations (generation, subject, type, object) VALUES (?, ?, ?, ?)').run(generation, 'attack:G9002', 'targets', 'country:FR');
      const second = await loadService(store, createLogger('silent'));
      await second.graphStored;
      assert.deepEqual(second.graph.neighbors('attack:G9002', 'targets'), ['country:FR']);
      assert.equal(second.get('misp:threat-actor:1b000000-0000-4000-8000-000000000001')?.id, 'attack:G9001');
      assert.deepEqual(second.get('attack:G9001'), service.get('attack:G9001'), 'the same merged record either way');
      assert.equal(second.size, service.size);

      // A new post changes the inputs: the next start-up rewrites the relations.
      const before = store.getMeta(RELATIONS_FINGERPRINT_KEY);
      addPost(store, 'post:00000000000000c3', 'attack:C9001', 'Cinder reported', 3_000);
      await (await loadService(store, createLogger('silent'))).graphStored;
      assert.notEqual(store.getMeta(RELATIONS_FINGERPRINT_KEY), before);
      assert.deepEqual(readRelations(store.db, { from: 'attack:C9001', type: 'reported-in' }).map((r) => r.to), ['post:00000000000000c3']);
    } finally {
      store.close();
    }
  });
});

describe('data files for one run', () => {
  it('read a MISP references file with the galaxy files beside it, whatever the order', () => {
    // Apart, so that the campaigns file finds no sibling references file on its own.
    const dirOf = fileURLToPath(new URL('../fixtures/importers/', import.meta.url));
    const campaigns = path.join(dir, 'apart', 'campaigns.json');
    const references = path.join(dir, 'elsewhere', 'refs.json');
    mkdirSync(path.dirname(campaigns), { recursive: true });
    mkdirSync(path.dirname(references), { recursive: true });
    copyFileSync(path.join(dirOf, 'mini-campaigns.json'), campaigns);
    copyFileSync(path.join(dirOf, 'mini-references.json'), references);
    const records = readDataFiles([references, campaigns, path.join(KNOWLEDGE, 'misp-ransomware-mini.json')]);
    const gateway = records.find((r) => r.id === 'tidal:C3901')!;
    assert.ok(gateway.sources.some((s) => s.title === 'Inside the Example Gateway attacks'), 'citations resolved through the references file');
    assert.equal(records.filter((r) => r.id.startsWith('misp:ransomware:')).length, 4);
  });
});

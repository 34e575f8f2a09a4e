import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadService } from '../../src/bootstrap.js';
import { Graph } from '../../src/core/graph.js';
import { importFile } from '../../src/importers/index.js';
import { createLogger } from '../../src/logger.js';
import { readLabel, readRelations, RELATIONS_FINGERPRINT_KEY, saveRelations, storyPosts } from '../../src/store/relations-store.js';
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
  it('are written in one go, skipped when their inputs did not change, and read back by subject, object and type', () => {
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
      assert.equal(saveRelations(store.db, graph, 'one'), true);
      assert.equal(saveRelations(store.db, graph, 'one'), false, 'same inputs: nothing written');
      assert.equal(store.getMeta(RELATIONS_FINGERPRINT_KEY), 'one');
      assert.equal(readRelations(store.db).length, 4);
      assert.deepEqual(readRelations(store.db, { to: 'attack:S1', type: 'uses' }).map((r) => r.from), ['attack:C1', 'attack:G1']);
      assert.deepEqual(readRelations(store.db, { from: 'attack:C1' }).map((r) => r.type), ['attributed-to', 'uses']);
      assert.equal(readLabel(store.db, 'country:RU'), 'Russia');
      assert.equal(saveRelations(store.db, Graph.build([{ from: 'a:1', type: 'exploits', to: 'cve:CVE-2099-0001' }]), 'two'), true);
      assert.deepEqual(readRelations(store.db).map((r) => `${r.from} ${r.type} ${r.to}`), ['a:1 exploits cve:CVE-2099-0001'], 'replaced, not added to');
      assert.equal(readLabel(store.db, 'country:RU'), undefined);
    } finally {
      store.close();
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
      assert.equal(service.get('misp:threat-actor:1b000000-0000-4000-8000-000000000001')?.id, 'attack:G9001');
      assert.deepEqual(service.graph.neighbors('attack:G9001', 'reported-in'), ['post:00000000000000c2'], 'a post on a merged id reports the kept record');
      const stored = readRelations(store.db, { to: 'attack:G9001', type: 'attributed-to' }).map((r) => r.from);
      assert.deepEqual(stored, ['attack:C9001', 'attack:C9002']);
      assert.deepEqual(readRelations(store.db, { from: 'attack:C9002', type: 'reported-in' }).map((r) => r.to), ['post:00000000000000c1']);
      assert.equal(readRelations(store.db).length, service.graph.size);

      // A new post changes the inputs: the next start-up rewrites the relations.
      const before = store.getMeta(RELATIONS_FINGERPRINT_KEY);
      addPost(store, 'post:00000000000000c3', 'attack:C9001', 'Cinder reported', 3_000);
      await loadService(store, createLogger('silent'));
      assert.notEqual(store.getMeta(RELATIONS_FINGERPRINT_KEY), before);
      assert.deepEqual(readRelations(store.db, { from: 'attack:C9001', type: 'reported-in' }).map((r) => r.to), ['post:00000000000000c3']);
    } finally {
      store.close();
    }
  });
});

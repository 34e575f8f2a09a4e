import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { createServedService } from '../src/core/create-service.js';
import type { Incident } from '../src/core/incident.js';
import { buildServed } from '../src/core/served.js';
import { startReplication, type Replication } from '../src/replication.js';
import type { Db } from '../src/store/db.js';
import { dbCases, TEST_DATABASE_URL } from './support/databases.js';
import { recordOf } from './support/record.js';

const rec = (id: string, title: string, more: Partial<Incident> = {}) => recordOf(id, title, { kind: 'incident', ...more });

/** Polls `check` until it holds (fails after 5 s). */
async function eventually(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const bundled = [rec('attack:G9001', 'Quartz Heron', { kind: 'group' }), rec('misp:threat-actor:1', 'Glass Stork', { kind: 'group', sameAs: ['attack:G9001'] })];

const postgres = dbCases('replication').find((c) => c.name === 'postgres')!;

describe('startReplication: two replicas on one PostgreSQL', { skip: postgres.skip }, () => {
  let db: Db;
  const replicas: Replication[] = [];

  /** A replica: its own served index over the bundled records, reading changes from the shared `records` table. */
  async function replica(id: string) {
    const served = buildServed({ bundled });
    const core = createServedService(served);
    const read = async (ids: readonly string[]) => {
      const rows = await db.query<{ id: string; data: string }>(`SELECT id, data FROM records WHERE id IN (${ids.map(() => '?').join(', ')})`, ids);
      const held = new Map(rows.map((r) => [r.id, JSON.parse(r.data) as Incident]));
      return new Map(ids.map((i) => [i, held.get(i) ?? bundled.find((b) => b.id === i)]));
    };
    const changedSince = async (since: number) => (await db.query<{ id: string }>('SELECT id FROM records WHERE updated_at >= ?', [since])).map((r) => r.id);
    const replication = await startReplication({ db, databaseUrl: TEST_DATABASE_URL, replicaId: id, service: core, canonical: served.canonical, read, changedSince });
    replicas.push(replication);
    return { core, replication };
  }

  /** What a writer does: store the record, then put it in its own index (through the replication's service). */
  async function write(on: Replication, record: Incident, at = Date.now()): Promise<void> {
    await db.run('INSERT INTO records (id, data, updated_at) VALUES (?, ?, ?) ON CONFLICT (id) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at', [
      record.id,
      JSON.stringify(record),
      at,
    ]);
    on.service.upsert([record]);
  }

  before(async () => {
    db = await postgres.open();
    await db.run('CREATE TABLE records (id TEXT PRIMARY KEY, data TEXT NOT NULL, updated_at BIGINT NOT NULL)');
  });
  after(async () => {
    for (const r of replicas) await r.close();
    await postgres.cleanup();
  });

  it('a record stored by one replica becomes answerable on the other, and a change to a merged one updates the group', async () => {
    const a = await replica('a');
    const b = await replica('b');
    await write(a.replication, rec('feed:1:x', 'Lantern breach at a harbour operator'));
    assert.equal(a.core.search('Lantern breach')[0]?.id, 'feed:1:x', 'the writer has it at once');
    await eventually(() => b.core.search('Lantern breach')[0]?.id === 'feed:1:x', 'replica b to answer it');
    await write(b.replication, rec('misp:threat-actor:1', 'Glass Stork', { kind: 'group', sameAs: ['attack:G9001'], aliases: ['Amber Finch'] }));
    await eventually(() => a.core.search('Amber Finch')[0]?.id === 'attack:G9001', 'replica a to serve the new alias on the merged record');
    assert.equal(a.core.size, b.core.size);
    await b.replication.settled();
    assert.equal(b.core.search('Amber Finch')[0]?.id, 'attack:G9001', 'the writer serves its own change merged too');
    await db.run('DELETE FROM records WHERE id = ?', ['feed:1:x']);
    a.replication.service.remove(['feed:1:x']);
    await eventually(() => b.core.get('feed:1:x') === undefined, 'replica b to drop the removed record');
  });

  it('after its listening connection is cut, a replica catches up on what was written meanwhile', async () => {
    const a = await replica('c');
    const b = await replica('d');
    const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await admin.connect();
    try {
      await admin.query("SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity WHERE application_name = 'incident-bot d listener'");
    } finally {
      await admin.end();
    }
    // Written once d's listening session is gone (the call waits for it) and before d listens again: its notice is lost.
    await write(a.replication, rec('feed:2:y', 'Copper kestrel intrusion'));
    await eventually(() => b.core.search('Copper kestrel')[0]?.id === 'feed:2:y', 'replica d to catch up');
  });
});

describe('startReplication on SQLite', () => {
  it('keeps notices in the process: the writer\'s own index is updated once, nothing else listens', async () => {
    const sqlite = dbCases('replication sqlite').find((c) => c.name === 'sqlite')!;
    const db = await sqlite.open();
    try {
      const served = buildServed({ bundled });
      const core = createServedService(served);
      let reads = 0;
      const r = await startReplication({ db, replicaId: 'solo', service: core, canonical: served.canonical, read: () => (reads++, new Map()) });
      assert.equal(r.bus.kind, 'local');
      r.service.upsert([rec('feed:1:z', 'Pewter lynx outage')]);
      await new Promise((resolve) => setImmediate(resolve));
      await r.settled();
      assert.equal(core.search('Pewter lynx')[0]?.id, 'feed:1:z');
      assert.equal(reads, 0, 'its own notice is not read back');
      await r.close();
    } finally {
      await sqlite.cleanup();
    }
  });
});

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import type { Db } from '../../src/store/db.js';
import { createPgDb } from '../../src/store/pg-db.js';
import { applyPgMigrations } from '../../src/store/pg-migrations.js';
import { PgShardLocks } from '../../src/store/shard-locks.js';
import { POSTGRES_SKIP, TEST_DATABASE_URL } from '../support/databases.js';

const SESSION = { sessionId: 'session-1', sequence: 41, resumeUrl: 'ws://127.0.0.1:1/resume', botUser: { id: '7', username: 'bot' } };

describe('PgShardLocks', { skip: POSTGRES_SKIP, timeout: 30_000 }, () => {
  const schemas = [1, 2, 3, 4].map((n) => `t_shardlocks_${process.pid}_${n}_${Math.random().toString(36).slice(2, 8)}`);
  const dbs: Db[] = [];
  const locks: PgShardLocks[] = [];
  const open = (schema: string, replicaId: string, shardCount = 4, queryTimeoutMs?: number) => {
    const l = new PgShardLocks({ url: TEST_DATABASE_URL, schema, replicaId, shardCount, ...(queryTimeoutMs ? { queryTimeoutMs } : {}) });
    locks.push(l);
    return l;
  };

  before(async () => {
    for (const schema of schemas) {
      const db = await createPgDb({ url: TEST_DATABASE_URL, schema, max: 1 });
      await applyPgMigrations(db);
      dbs.push(db);
    }
  });

  after(async () => {
    for (const l of locks) await l.close();
    for (const db of dbs) await db.close();
    const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await admin.connect();
    try {
      for (const schema of schemas) await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    } finally {
      await admin.end();
    }
  });

  it('gives each shard to one replica, stores sessions only for the holder, and frees them all with the connection', async () => {
    const a = open(schemas[0]!, 'a');
    const b = open(schemas[0]!, 'b');
    assert.deepEqual(await a.tryClaim([0, 1]), [0, 1]);
    assert.deepEqual(await b.tryClaim([0, 1, 2]), [2]);
    assert.deepEqual(await a.tryClaim([0, 1, 3]), [0, 1, 3], 'claiming again keeps what a holds');
    assert.equal(await a.saveSession(0, SESSION), true);
    assert.equal(await b.saveSession(0, { ...SESSION, sequence: 99 }), false, 'b does not hold shard 0');
    const records = await b.records();
    assert.deepEqual(records.get(0), { shard: 0, holder: 'a', session: SESSION });
    assert.deepEqual(records.get(2), { shard: 2, holder: 'b' });

    const lost = new Promise<number[]>((resolve) => a.onLost((shards) => resolve(shards)));
    const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await admin.connect();
    try {
      await admin.query('SELECT pg_terminate_backend($1)', [await a.backendPid()]);
    } finally {
      await admin.end();
    }
    assert.deepEqual(await lost, [0, 1, 3]);
    assert.deepEqual(a.held(), []);
    assert.equal(await a.saveSession(0, { ...SESSION, sequence: 100 }), false, 'nothing is written for a lost shard');
    assert.deepEqual(await b.tryClaim([0, 1]), [0, 1], 'freed at once, no expiry to wait for');
    const after = await b.records();
    assert.deepEqual(after.get(0), { shard: 0, holder: 'b', session: SESSION }, 'the new holder finds the session to resume');
    // a reconnects on its next claim and finds its old shards taken.
    assert.deepEqual(await a.tryClaim([0, 1, 3]), [3]);
  });

  it('keeps the locks of databases in other schemas apart', async () => {
    const c = open(schemas[1]!, 'c');
    assert.deepEqual(await c.tryClaim([0, 1, 2, 3]), [0, 1, 2, 3]);
  });

  it('never lets replicas of two shard counts run shards at once, and says which count it waits for', async () => {
    const one = open(schemas[2]!, 'one', 1);
    const two = open(schemas[2]!, 'two', 2);
    const twoToo = open(schemas[2]!, 'two-too', 2);
    assert.deepEqual(await one.tryClaim([0]), [0], 'shard 0 of 1: every server');
    // Shard 1 of 2 is half of shard 0 of 1's servers: they would be answered twice.
    assert.deepEqual(await two.tryClaim([0, 1]), []);
    assert.equal(one.countConflict(), undefined);
    assert.deepEqual(two.countConflict(), { counts: [1], replicas: ['one'] });
    await one.close();
    assert.deepEqual(await two.tryClaim([1]), [1], 'free once the other count is gone');
    assert.equal(two.countConflict(), undefined);
    assert.deepEqual(await twoToo.tryClaim([0, 1]), [0], 'replicas of one count share it');
    const late = open(schemas[2]!, 'late', 1);
    assert.deepEqual(await late.tryClaim([0]), []);
    assert.deepEqual(late.countConflict(), { counts: [2], replicas: ['two', 'two-too'] });
    // Standing by costs nothing: a replica that claimed nothing does not hold the other count off.
    await two.close();
    await twoToo.close();
    assert.deepEqual(await late.tryClaim([0]), [0]);
  });

  it('gives its connection and shards up when a statement overruns, instead of waiting on it', async () => {
    const slow = open(schemas[3]!, 'slow', 4, 400);
    const other = open(schemas[3]!, 'other', 4);
    assert.deepEqual(await slow.tryClaim([0, 1]), [0, 1]);
    const lost = new Promise<{ shards: number[]; error?: Error }>((resolve) => slow.onLost((shards, error) => resolve({ shards, error })));
    // The fault: the table the tick reads stays locked, so the read hangs as it would on a connection cut silently.
    const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await admin.connect();
    try {
      await admin.query('BEGIN');
      await admin.query(`LOCK TABLE ${schemas[3]}.discord_shards IN ACCESS EXCLUSIVE MODE`);
      const started = Date.now();
      await assert.rejects(slow.records());
      const { shards, error } = await lost;
      assert.deepEqual(shards, [0, 1]);
      assert.match(error?.message ?? '', /given up/);
      assert.ok(Date.now() - started < 5_000, 'within the statement bound, not the minutes of keepalive');
      assert.deepEqual(slow.held(), []);
      await admin.query('ROLLBACK');
      // The server let the locks go with the connection: the other replica may run them now.
      const until = Date.now() + 5_000;
      let taken: number[] = [];
      while (taken.length < 2 && Date.now() < until) taken = await other.tryClaim([0, 1]);
      assert.deepEqual(taken, [0, 1]);
    } finally {
      await admin.end();
    }
  });
});

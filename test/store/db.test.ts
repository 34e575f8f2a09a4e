import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { numberPlaceholders, type Db } from '../../src/store/db.js';
import { dbCases } from '../support/databases.js';

describe('numberPlaceholders', () => {
  it('numbers each ? outside string literals', () => {
    assert.equal(numberPlaceholders("SELECT ? , '?', \"a?\", ?"), "SELECT $1 , '?', \"a?\", $2");
  });
});

for (const engine of dbCases('db contract')) {
  describe(`Db on ${engine.name}`, { skip: engine.skip }, () => {
    let db: Db;
    before(async () => {
      db = await engine.open();
      await db.run('CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL, flag INTEGER NOT NULL DEFAULT 0)');
      // PostgreSQL has no rowid: an identity column gives inserts their id, read back with RETURNING.
      if (db.kind === 'postgres') await db.run('CREATE TABLE counters (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, n BIGINT NOT NULL)');
      else await db.run('CREATE TABLE counters (id INTEGER PRIMARY KEY AUTOINCREMENT, n INTEGER NOT NULL)');
    });
    after(() => engine.cleanup());

    it('query, one and run read and write rows with ? placeholders, booleans and big numbers', async () => {
      await db.run('INSERT INTO items (id, name, flag) VALUES (?, ?, ?)', [1, 'one', true]);
      await db.run('INSERT INTO items (id, name, flag) VALUES (?, ?, ?)', [2, 'two', false]);
      assert.deepEqual(await db.query('SELECT id, name, flag FROM items ORDER BY id'), [
        { id: 1, name: 'one', flag: 1 },
        { id: 2, name: 'two', flag: 0 },
      ]);
      assert.deepEqual(await db.one('SELECT name FROM items WHERE id = ?', [2]), { name: 'two' });
      assert.equal(await db.one('SELECT name FROM items WHERE id = ?', [3]), undefined);
      const res = await db.run('UPDATE items SET name = ? WHERE id > ?', ['x', 0]);
      assert.equal(res.changes, 2);
      const inserted = await db.run('INSERT INTO counters (n) VALUES (?) RETURNING id', [1_790_000_000_000]);
      assert.equal(typeof inserted.lastId, 'number', 'the new row id');
      const row = await db.one<{ n: number; c: number }>('SELECT n, (SELECT count(*) FROM counters) AS c FROM counters WHERE id = ?', [inserted.lastId!]);
      assert.deepEqual(row, { n: 1_790_000_000_000, c: 1 }, 'epoch milliseconds and counts come back as numbers');
    });

    it('transaction commits when fn resolves and rolls back when it throws', async () => {
      await db.transaction(async () => {
        await db.run('INSERT INTO items (id, name) VALUES (?, ?)', [10, 'kept']);
      });
      await assert.rejects(
        db.transaction(async () => {
          await db.run('INSERT INTO items (id, name) VALUES (?, ?)', [11, 'dropped']);
          throw new Error('boom');
        }),
        /boom/,
      );
      assert.deepEqual((await db.query<{ id: number }>('SELECT id FROM items WHERE id >= 10 ORDER BY id')).map((r) => r.id), [10]);
    });

    it('a nested transaction is a savepoint: its rollback keeps the outer work', async () => {
      await db.transaction(async () => {
        await db.run('INSERT INTO items (id, name) VALUES (?, ?)', [20, 'outer']);
        await assert.rejects(
          db.transaction(async () => {
            await db.run('INSERT INTO items (id, name) VALUES (?, ?)', [21, 'inner']);
            throw new Error('inner fails');
          }),
        );
        assert.equal(db.inTransaction(), true);
      });
      assert.deepEqual((await db.query<{ id: number }>('SELECT id FROM items WHERE id >= 20 ORDER BY id')).map((r) => r.id), [20]);
    });

    it('queries made anywhere in the transaction call chain use the transaction', async () => {
      const helper = async () => db.one<{ n: number }>('SELECT count(*) AS n FROM items WHERE id = 30');
      await db.transaction(async () => {
        await db.run('INSERT INTO items (id, name) VALUES (?, ?)', [30, 'seen inside']);
        await Promise.resolve();
        assert.deepEqual(await helper(), { n: 1 }, 'a helper that was not handed the transaction still sees its rows');
      });
      assert.equal(db.inTransaction(), false);
    });

    it('another call chain never sees or joins an open transaction', async () => {
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      const order: string[] = [];
      const first = db.transaction(async () => {
        await db.run('INSERT INTO items (id, name) VALUES (?, ?)', [40, 'first']);
        order.push('first wrote');
        await gate;
        await db.run('INSERT INTO items (id, name) VALUES (?, ?)', [41, 'first again']);
        order.push('first done');
      });
      await new Promise((r) => setTimeout(r, 20));
      const outside = db.one<{ n: number }>('SELECT count(*) AS n FROM items WHERE id IN (40, 41)').then((r) => {
        order.push(`outside saw ${r?.n}`);
      });
      const second = db.transaction(async () => {
        const r = await db.one<{ n: number }>('SELECT count(*) AS n FROM items WHERE id IN (40, 41)');
        order.push(`second saw ${r?.n}`);
      });
      await new Promise((r) => setTimeout(r, 20));
      release();
      await Promise.all([first, outside, second]);
      assert.equal(order[0], 'first wrote');
      assert.ok(!order.includes('outside saw 1'), `no one outside saw the uncommitted row: ${order.join(', ')}`);
      assert.ok(!order.includes('second saw 1'), `the second transaction did not see half the first: ${order.join(', ')}`);
      // SQLite has one connection, so its transactions queue; PostgreSQL runs them side by side, each isolated.
      if (db.kind === 'sqlite') assert.ok(order.includes('second saw 2'), `the second transaction ran after the first committed: ${order.join(', ')}`);
      assert.equal((await db.one<{ n: number }>('SELECT count(*) AS n FROM items WHERE id IN (40, 41)'))?.n, 2);
    });

    it('a write from another call chain made as a transaction begins is never undone by that transaction\'s rollback', async () => {
      // The same turn of the event loop: the transaction starts first, the write right after it (an outbox worker
      // marking a row sent while a feed poll opens a slice that then fails).
      const failing = db.transaction(async () => {
        await Promise.resolve();
        await new Promise((r) => setTimeout(r, 10));
        throw new Error('the slice fails');
      });
      const write = db.run('INSERT INTO items (id, name) VALUES (?, ?)', [50, 'outside']);
      await assert.rejects(failing, /the slice fails/);
      await write;
      assert.equal((await db.one<{ n: number }>('SELECT count(*) AS n FROM items WHERE id = 50'))?.n, 1, 'the write outside the transaction stays');
    });
  });
}

describe('applyPgMigrations', () => {
  const engine = dbCases('pg migrations').find((c) => c.name === 'postgres')!;
  const steps = [
    { version: 1, name: 'a', sql: 'CREATE TABLE a (id INTEGER PRIMARY KEY)' },
    { version: 2, name: 'b', sql: 'CREATE TABLE b (id INTEGER PRIMARY KEY); INSERT INTO a VALUES (1)' },
  ];
  after(() => engine.cleanup());

  it('applies each step once, even when two replicas migrate at the same time', { skip: engine.skip }, async () => {
    const { applyPgMigrations } = await import('../../src/store/pg-migrations.js');
    const db = await engine.open();
    const results = await Promise.all([applyPgMigrations(db, steps), applyPgMigrations(db, steps)]);
    assert.deepEqual(results.flat().sort(), [1, 2], `each version applied by exactly one of them: ${JSON.stringify(results)}`);
    assert.deepEqual(await applyPgMigrations(db, steps), []);
    assert.deepEqual(await db.query('SELECT id FROM a'), [{ id: 1 }]);
    await assert.rejects(applyPgMigrations(db, steps.slice(0, 1)), /newer than this program supports/);
  });
});

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { createLocalChangeBus, createPgChangeBus, MAX_NOTICE_BYTES, noticePayloads, type ChangeBus, type ChangeNotice } from '../../src/store/change-bus.js';
import type { Db } from '../../src/store/db.js';
import { dbCases, TEST_DATABASE_URL } from '../support/databases.js';

/** Returns a listener recording what it hears, and a promise for the next notice or gap matching `want`. */
function recorder() {
  const notices: ChangeNotice[] = [];
  let gaps = 0;
  const waiters: Array<() => void> = [];
  const wake = () => waiters.splice(0).forEach((w) => w());
  return {
    notices,
    get gaps() {
      return gaps;
    },
    listener: {
      notice: (n: ChangeNotice) => {
        notices.push(n);
        wake();
      },
      gap: () => {
        gaps++;
        wake();
      },
    },
    /** Resolves when `done()` holds, checked after every notice (fails the test after 5 s). */
    async until(done: () => boolean): Promise<void> {
      const deadline = Date.now() + 5_000;
      while (!done()) {
        if (Date.now() > deadline) throw new Error('timed out waiting for change notices');
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, 50).unref();
        });
      }
    },
  };
}

describe('noticePayloads', () => {
  it('splits many ids into payloads under the NOTIFY limit, every id once and in order', () => {
    const ids = Array.from({ length: 3_000 }, (_, i) => `misp:threat-actor:${i.toString().padStart(8, '0')}-long-id`);
    const payloads = noticePayloads('records', 'replica-1', ids);
    assert.ok(payloads.length > 1);
    for (const p of payloads) assert.ok(Buffer.byteLength(p) <= MAX_NOTICE_BYTES, `${Buffer.byteLength(p)} bytes`);
    assert.deepEqual(payloads.flatMap((p) => (JSON.parse(p) as { i: string[] }).i), ids);
  });

  it('turns an id too long to name into a gap notice instead of a payload PostgreSQL would refuse', () => {
    const payloads = noticePayloads('posts', 'r', ['ok', 'é'.repeat(5_000)]);
    assert.deepEqual(payloads.map((p) => JSON.parse(p)), [{ t: 'posts', f: 'r', i: ['ok'] }, { t: 'posts', f: 'r', g: true }]);
  });
});

describe('createLocalChangeBus', () => {
  it('tells every subscriber after the publisher\'s turn, and no longer once unsubscribed', async () => {
    const bus = createLocalChangeBus('solo');
    const a = recorder();
    const b = recorder();
    const stopA = bus.subscribe(a.listener);
    bus.subscribe(b.listener);
    await bus.publish('records', ['attack:G0007']);
    assert.equal(a.notices.length, 0, 'not inside the publisher\'s call');
    await b.until(() => b.notices.length === 1);
    assert.deepEqual(a.notices, [{ topic: 'records', ids: ['attack:G0007'], from: 'solo' }]);
    stopA();
    await bus.publish('posts', ['1']);
    await b.until(() => b.notices.length === 2);
    assert.equal(a.notices.length, 1);
    await bus.close();
  });
});

const postgres = dbCases('change bus').find((c) => c.name === 'postgres')!;

describe('createPgChangeBus', { skip: postgres.skip }, () => {
  let db: Db;
  let other: Db;
  const buses: ChangeBus[] = [];
  const open = async (replicaId: string, on: Db = db, onConnection?: (s: string) => void) => {
    const bus = await createPgChangeBus({ db: on, url: TEST_DATABASE_URL, replicaId, applicationName: `bus-test ${replicaId} ${process.pid}`, onConnection });
    buses.push(bus);
    return bus;
  };
  before(async () => {
    db = await postgres.open();
    other = await postgres.open();
  });
  after(async () => {
    for (const bus of buses) await bus.close();
    await postgres.cleanup();
  });

  it('a notice published by one replica reaches the others (and itself), ids chunked under the payload limit', async () => {
    const a = await open('a');
    const b = await open('b');
    const heardA = recorder();
    const heardB = recorder();
    a.subscribe(heardA.listener);
    b.subscribe(heardB.listener);
    const ids = Array.from({ length: 1_000 }, (_, i) => `feed:1:story-${i}-${'x'.repeat(20)}`);
    await a.publish('records', ids);
    await heardB.until(() => heardB.notices.flatMap((n) => n.ids).length === ids.length);
    assert.ok(heardB.notices.length > 1, 'several payloads');
    assert.deepEqual(heardB.notices.flatMap((n) => n.ids), ids);
    assert.ok(heardB.notices.every((n) => n.topic === 'records' && n.from === 'a'));
    await heardA.until(() => heardA.notices.flatMap((n) => n.ids).length === ids.length);
  });

  it('inside a transaction, a notice goes out on commit and never on rollback', async () => {
    const a = await open('tx-a');
    const heard = recorder();
    (await open('tx-b')).subscribe(heard.listener);
    await assert.rejects(
      db.transaction(async () => {
        await a.publish('posts', ['rolled-back']);
        throw new Error('boom');
      }),
      /boom/,
    );
    await db.transaction(async () => {
      await a.publish('posts', ['committed']);
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.equal(heard.notices.length, 0, 'not before the commit');
    });
    await heard.until(() => heard.notices.length === 1);
    assert.deepEqual(heard.notices.map((n) => n.ids), [['committed']]);
  });

  it('another schema on the same server does not hear the notices', async () => {
    const here = recorder();
    const there = recorder();
    (await open('s1')).subscribe(here.listener);
    (await open('s2', other)).subscribe(there.listener);
    await (await open('s1-pub')).publish('records', ['x']);
    await here.until(() => here.notices.length === 1);
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(there.notices.length, 0);
  });

  it('listens again after its connection is killed, tells subscribers of the gap, and hears later notices', async () => {
    const states: string[] = [];
    const name = `bus-test killed ${process.pid}`;
    const bus = await createPgChangeBus({ db, url: TEST_DATABASE_URL, replicaId: 'k', applicationName: name, onConnection: (s) => states.push(s) });
    buses.push(bus);
    const heard = recorder();
    bus.subscribe(heard.listener);
    const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await admin.connect();
    try {
      const killed = await admin.query('SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE application_name = $1', [name]);
      assert.equal(killed.rowCount, 1);
    } finally {
      await admin.end();
    }
    await heard.until(() => heard.gaps === 1);
    assert.deepEqual(states, ['lost', 'listening']);
    await (await open('k-pub')).publish('posts', ['after']);
    await heard.until(() => heard.notices.some((n) => n.ids.includes('after')));
  });
});

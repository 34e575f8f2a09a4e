import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { Db } from '../../src/store/db.js';
import { createReplicaGates } from '../../src/store/replica-gates.js';
import { LeaseRepo } from '../../src/store/leases.js';
import { dbCases } from '../support/databases.js';
import { createReplicaTables } from '../support/replica-schema.js';

for (const engine of dbCases('replica gates')) {
  describe(`createReplicaGates on ${engine.name}`, { skip: engine.skip }, () => {
    let db: Db;
    let clock = 1_800_000_000_000;
    const gates = (holder: string) => createReplicaGates(new LeaseRepo(db, holder, { now: () => clock }), { feedLeaseMs: 1_000, channelLeaseMs: 1_000, sourcesLeaseMs: 1_000 });
    before(async () => {
      db = await engine.open();
      await createReplicaTables(db);
    });
    beforeEach(async () => {
      await db.run('DELETE FROM leases');
    });
    after(() => engine.cleanup());

    it('feeds.poll: of two replicas polling one feed at once, one polls; a feed no longer due is not polled', async () => {
      const a = gates('a');
      const b = gates('b');
      let polls = 0;
      let release!: () => void;
      let started!: () => void;
      const slow = new Promise<void>((resolve) => (release = resolve));
      const polling = new Promise<void>((resolve) => (started = resolve));
      const first = a.feeds.poll(7, async () => true, async () => {
        polls++;
        started();
        await slow;
        return 'a polled';
      });
      await polling;
      assert.equal(await b.feeds.poll(7, async () => true, async () => 'b polled'), undefined, 'a holds it');
      release();
      assert.equal(await first, 'a polled');
      assert.equal(await b.feeds.poll(7, async () => false, async () => 'b polled'), undefined, 'a polled it just now');
      assert.equal(await b.feeds.poll(7, async () => true, async () => 'b polled'), 'b polled', 'free again after the poll');
      assert.equal(polls, 1);
    });

    it('feeds.poll: a dead replica\'s poll lease is taken over once it expires', async () => {
      const dead = new LeaseRepo(db, 'dead', { now: () => clock });
      await dead.acquire('feed:9', 1_000);
      const b = gates('b');
      assert.equal(await b.feeds.poll(9, async () => true, async () => 'b'), undefined);
      clock += 1_000;
      assert.equal(await b.feeds.poll(9, async () => true, async () => 'b'), 'b');
    });

    it('channels.claim: each channel goes to one replica, stays with it while it claims, and moves when it stops', async () => {
      const a = gates('a');
      const b = gates('b');
      assert.deepEqual([...(await a.channels.claim(['discord:1', 'slack:C1']))].sort(), ['discord:1', 'slack:C1']);
      assert.deepEqual([...(await b.channels.claim(['discord:1', 'slack:C1', 'slack:C2']))], ['slack:C2']);
      clock += 900;
      assert.equal((await a.channels.claim(['discord:1'])).size, 1, 'extended');
      clock += 900;
      assert.deepEqual([...(await b.channels.claim(['discord:1', 'slack:C1']))], ['slack:C1'], 'slack:C1 expired; discord:1 was extended');
    });

    it('sources.run: one round at a time across replicas', async () => {
      const a = gates('a');
      const b = gates('b');
      const inner = await a.sources.run(async () => b.sources.run(async () => 'b ran'));
      assert.equal(inner, undefined, 'b did not run while a held the round');
      assert.equal(await b.sources.run(async () => 'b ran'), 'b ran');
    });
  });
}

import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { Db } from '../../src/store/db.js';
import { LeaseRepo } from '../../src/store/leases.js';
import { dbCases } from '../support/databases.js';
import { createReplicaTables } from '../support/replica-schema.js';

for (const engine of dbCases('leases contract')) {
  describe(`LeaseRepo on ${engine.name}`, { skip: engine.skip }, () => {
    let db: Db;
    let clock = 1_800_000_000_000;
    const now = () => clock;
    const repo = (holder: string) => new LeaseRepo(db, holder, { now });
    before(async () => {
      db = await engine.open();
      await createReplicaTables(db);
    });
    beforeEach(async () => {
      await db.run('DELETE FROM leases');
    });
    after(() => engine.cleanup());

    it('acquire gives a free lease to the first holder and refuses the others while it runs', async () => {
      const a = repo('a');
      const b = repo('b');
      const lease = await a.acquire('feed:1', 10_000);
      assert.deepEqual(lease, { name: 'feed:1', holder: 'a', fence: 1, acquiredAt: clock, expiresAt: clock + 10_000 });
      clock += 9_999;
      assert.equal(await b.acquire('feed:1', 10_000), undefined, 'still running');
      assert.equal((await a.acquire('feed:1', 10_000))?.fence, 1, 'the holder asking again extends it and keeps its fence');
      assert.equal((await a.list('feed:'))[0]?.expiresAt, clock + 10_000);
    });

    it('acquire takes over an expired lease, bumping the fence, and the old holder can no longer renew it', async () => {
      const a = repo('a');
      const b = repo('b');
      await a.acquire('feed:1', 1_000);
      clock += 1_000;
      const taken = await b.acquire('feed:1', 1_000);
      assert.equal(taken?.holder, 'b');
      assert.equal(taken?.fence, 2);
      assert.equal(taken?.acquiredAt, clock);
      assert.equal(await a.renew('feed:1', 1_000), undefined, 'a lost it');
      assert.equal(await a.holds('feed:1', 1), false);
      assert.equal(await b.holds('feed:1', 2), true);
      assert.equal(await b.holds('feed:1', 1), false, 'work begun under an older fence is refused');
    });

    it('renew extends the holder\'s lease, even expired as long as nobody took it', async () => {
      const a = repo('a');
      await a.acquire('source:kev', 1_000);
      clock += 5_000;
      assert.equal(await a.holds('source:kev', 1), false, 'expired');
      const renewed = await a.renew('source:kev', 1_000);
      assert.equal(renewed?.expiresAt, clock + 1_000);
      assert.equal(renewed?.fence, 1);
      assert.equal(await repo('b').renew('source:kev', 1_000), undefined, 'only the holder renews');
    });

    it('release frees a lease at once for another holder, and only the holder may release it', async () => {
      const a = repo('a');
      const b = repo('b');
      await a.acquire('feed:1', 60_000);
      await a.acquire('feed:2', 60_000);
      await a.acquire('source:x', 60_000);
      assert.equal(await b.release('feed:1'), false);
      assert.equal(await a.release('feed:1'), true);
      assert.equal((await b.acquire('feed:1', 60_000))?.holder, 'b');
      assert.equal(await a.releaseAll('feed:'), 1, 'feed:2 only');
      assert.deepEqual((await b.list()).map((l) => `${l.name}=${l.holder}`), ['feed:1=b', 'source:x=a']);
    });

    it('of holders asking at once for a free or expired lease, exactly one gets it', async () => {
      for (let round = 0; round < 3; round++) {
        // New holders each round: a past winner asking again would extend its own lease and keep the fence.
        const holders = Array.from({ length: 8 }, (_, i) => repo(`r${round}-${i}`));
        const got = (await Promise.all(holders.map((h) => h.acquire('feed:race', 1_000)))).filter((l) => l !== undefined);
        assert.equal(got.length, 1, `round ${round}: one winner`);
        assert.equal(got[0]!.fence, round + 1);
        clock += 1_000;
      }
    });

    it('without an injected clock, leases run on the database\'s clock', async () => {
      const a = new LeaseRepo(db, 'a');
      const lease = await a.acquire('feed:clock', 60_000);
      assert.ok(lease);
      assert.ok(Math.abs(lease.acquiredAt - Date.now()) < 60_000, 'epoch milliseconds');
      assert.equal(await new LeaseRepo(db, 'b').acquire('feed:clock', 60_000), undefined);
      assert.equal(await a.holds('feed:clock', lease.fence), true);
    });
    it('hold runs work under the lease, refuses a second holder meanwhile, and gives the lease back after', async () => {
      const a = repo('a');
      const b = repo('b');
      const seen: Array<string | undefined> = [];
      const outcome = await a.hold('source:kev', 30_000, async (lost) => {
        seen.push((await a.list('source:'))[0]?.holder);
        assert.deepEqual(await b.hold('source:kev', 30_000, async () => 'ran'), { held: false });
        return lost.aborted;
      });
      assert.deepEqual(outcome, { held: true, result: false });
      assert.deepEqual(seen, ['a']);
      assert.deepEqual(await a.list('source:'), [], 'released');
      assert.equal((await b.hold('source:kev', 30_000, async () => 'ran')).held, true);
    });

    it('hold renews the lease while slow work runs and tells the work when another holder took it over', async (t) => {
      t.mock.timers.enable({ apis: ['setInterval'] });
      const a = repo('a');
      const b = repo('b');
      const until = async (done: () => boolean | Promise<boolean>) => {
        // Real time, not turns of the loop: on PostgreSQL the renewal is a round trip, slower on a busy machine.
        const deadline = Date.now() + 10_000;
        while (!(await done()) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 2));
      };
      const outcome = await a.hold('feed:slow', 900, async (lost) => {
        clock += 800;
        t.mock.timers.tick(300);
        await until(async () => (await a.list('feed:'))[0]?.expiresAt === clock + 900);
        clock += 800;
        assert.equal(await b.acquire('feed:slow', 900), undefined, 'renewed: still ours after more than its ttl');
        // Another replica takes it (as if this one had stalled past the expiry).
        await db.run("UPDATE leases SET holder = 'b', fence = fence + 1 WHERE name = 'feed:slow'");
        t.mock.timers.tick(300);
        await until(() => lost.aborted);
        return lost.aborted;
      });
      assert.deepEqual(outcome, { held: true, result: true });
      const row = await db.one<{ holder: string }>("SELECT holder FROM leases WHERE name = 'feed:slow'");
      assert.equal(row?.holder, 'b', 'the lease taken over is not released by the old holder');
    });
  });
}

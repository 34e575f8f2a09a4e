import { describe, it, mock } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { Client } from 'discord.js';
import { createShardPool, type ShardClaims, type ShardClient, type ShardPoolOptions } from '../../../src/adapters/discord/shard-pool.js';
import type { ShardStatus } from '../../../src/adapters/discord/shards.js';
import { shardsCheck } from '../../../src/observability/readiness.js';
import type { LogLine } from '../../support/fake-discord-bot.js';

/**
 * The pool on its own, with claims and clients that stand in for PostgreSQL and discord.js in-process, so that faults
 * (a refused login, a claim that fails or never answers) and time (mock.timers) are the test's to set.
 */

/** Claims held in memory, with the faults a test injects. */
class MemoryClaims implements ShardClaims {
  readonly mine = new Set<number>();
  claims = 0;
  released: number[] = [];
  conflict: { counts: number[]; replicas: string[] } | undefined;
  /** Set: every query fails with it. */
  failing?: Error;
  /** True: every query from now on never answers (a connection cut without a reset). */
  hung = false;
  private readonly lost = new Set<(shards: number[], error?: Error) => void>();
  private call<T>(value: () => T): Promise<T> {
    if (this.hung) return new Promise(() => undefined);
    return this.failing ? Promise.reject(this.failing) : Promise.resolve(value());
  }
  tryClaim(shards: readonly number[]) {
    return this.call(() => {
      this.claims += 1;
      if (!this.conflict) for (const s of shards) this.mine.add(s);
      return shards.filter((s) => this.mine.has(s));
    });
  }
  release(shard: number) {
    return this.call(() => {
      this.released.push(shard);
      this.mine.delete(shard);
    });
  }
  records() {
    return this.call(() => new Map<number, { holder?: string }>());
  }
  saveSession(shard: number) {
    return this.call(() => this.mine.has(shard));
  }
  onLost(listener: (shards: number[], error?: Error) => void) {
    this.lost.add(listener);
    return () => this.lost.delete(listener);
  }
  close() {
    return this.call(() => this.mine.clear());
  }
  countConflict() {
    return this.conflict;
  }
}

/** A shard client whose login succeeds, or fails with `refuse` (Discord refusing the token). */
function stubClient(shard: number, login: () => Promise<string>, destroyed: number[]): ShardClient {
  const client = Object.assign(new EventEmitter(), {
    login,
    destroy: async () => void destroyed.push(shard),
  }) as unknown as Client;
  let state: ShardStatus['state'] = 'connecting';
  return {
    client,
    tracker: {
      status: () => [{ id: shard, count: 2, state, since: 0 }],
      connecting: () => void (state = 'ready'),
      stopped: () => void (state = 'down'),
    },
    onInteraction: () => undefined,
    drain: async () => undefined,
  };
}

function pool(claims: MemoryClaims, logs: LogLine[], extra: Partial<ShardPoolOptions> & { login?: () => Promise<string> } = {}) {
  const destroyed: number[] = [];
  const built: number[] = [];
  const log = (level: LogLine['level']) => (details: Record<string, unknown>, message: string) => void logs.push({ level, message, details });
  const p = createShardPool({
    claims,
    count: 2,
    token: 't',
    applicationId: '1',
    logger: { info: log('info'), warn: log('warn'), error: log('error') },
    build: (shard) => {
      built.push(shard);
      return stubClient(shard, extra.login ?? (async () => 't'), destroyed);
    },
    claimEveryMs: 500,
    now: () => Date.now(),
    ...extra,
  });
  return { pool: p, destroyed, built };
}

/** Lets the promises queued by a timer settle. */
const settle = async () => {
  for (let i = 0; i < 20; i++) await Promise.resolve();
};

/** Runs `test` on mocked timers and clock. */
async function withClock(test: () => Promise<void>): Promise<void> {
  mock.timers.enable({ apis: ['setInterval', 'setTimeout', 'Date'], now: 1_000_000 });
  try {
    await test();
  } finally {
    mock.timers.reset();
  }
}

describe('shard pool', () => {
  it('claims nothing while replicas of another shard count run the shards, says so once, and shows it in /readyz', async () => {
    await withClock(async () => {
      const claims = new MemoryClaims();
      claims.conflict = { counts: [1], replicas: ['old-1'] };
      const logs: LogLine[] = [];
      const { pool: p, built } = pool(claims, logs);
      await p.start();
      for (let i = 0; i < 10; i++) {
        mock.timers.tick(500);
        await settle();
      }
      assert.deepEqual(built, []);
      const waits = logs.filter((l) => /waiting/.test(l.message));
      assert.equal(waits.length, 1, 'once, not every tick');
      assert.match(waits[0]!.message, /shard count 1 \(old-1\).*this replica \(count 2\)/);
      const ready = await shardsCheck(() => p.status())();
      assert.equal(ready.ok, true, 'standing by: a rolling restart must be able to go on');
      assert.match(ready.detail, /^shards 0,1 waiting: replicas with shard count 1 \(old-1\) run the shards/);

      claims.conflict = undefined;
      mock.timers.tick(500);
      await settle();
      assert.deepEqual(built, [0, 1]);
      assert.ok(logs.some((l) => /no replica of another shard count left/.test(l.message)));
      await p.stop();
    });
  });

  it('backs off a shard whose login fails, 1 s doubling to 60 s, with one line per step', async () => {
    await withClock(async () => {
      const claims = new MemoryClaims();
      const logs: LogLine[] = [];
      let logins = 0;
      const { pool: p } = pool(claims, logs, {
        count: 1,
        login: async () => {
          logins += 1;
          throw new Error('An invalid token was provided.');
        },
      });
      await p.start();
      // Ten minutes of ticks: claimed again every 500 ms, that was about 1,200 refused logins.
      for (let i = 0; i < 1_200; i++) {
        mock.timers.tick(500);
        await settle();
      }
      const steps = logs.filter((l) => /failed to connect/.test(l.message));
      assert.equal(steps.length, logins);
      assert.ok(logins <= 20, `${logins} logins in 10 min`);
      assert.deepEqual(steps.slice(0, 8).map((l) => l.details.retryInMs), [1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 60_000]);
      assert.ok(claims.released.length === logins, 'each time given back for another replica to try');
      const [row] = p.status();
      assert.equal(row?.state, 'down', 'not reported as running elsewhere');
      assert.match(row?.lastError ?? '', /invalid token.*trying again in \d+ s/);
      assert.equal((await shardsCheck(() => p.status())()).ok, false);
      await p.stop();
    });
  });

  it('stops its shards when a round of claims fails, and claims them again once the database answers', async () => {
    await withClock(async () => {
      const claims = new MemoryClaims();
      const logs: LogLine[] = [];
      const { pool: p, built, destroyed } = pool(claims, logs);
      await p.start();
      assert.deepEqual(built, [0, 1]);
      claims.failing = new Error('canceling statement due to statement timeout');
      mock.timers.tick(500);
      await settle();
      assert.deepEqual(destroyed, [0, 1], 'no shard runs on claims that could not be confirmed');
      assert.ok(logs.some((l) => l.level === 'error' && /claims failed: stopping/.test(l.message)));
      claims.failing = undefined;
      mock.timers.tick(500);
      await settle();
      assert.deepEqual(built, [0, 1, 0, 1]);
      await p.stop();
    });
  });

  it('stops its shards when a round of claims never answers, and stops without waiting for it', async () => {
    await withClock(async () => {
      const claims = new MemoryClaims();
      const logs: LogLine[] = [];
      const { pool: p, destroyed } = pool(claims, logs, { tickTimeoutMs: 2_000 });
      await p.start();
      claims.hung = true;
      mock.timers.tick(500);
      await settle();
      mock.timers.tick(1_999);
      await settle();
      assert.deepEqual(destroyed, [], 'still within the bound');
      mock.timers.tick(1);
      await settle();
      assert.deepEqual(destroyed, [0, 1]);
      assert.ok(logs.some((l) => /no answer within 2 s/.test(l.message)));
      // A round is in progress again (every 500 ms) and hangs too: stop waits for it at most the bound.
      mock.timers.tick(500);
      await settle();
      let stopped = false;
      void p.stop().then(() => (stopped = true));
      for (let i = 0; i < 10 && !stopped; i++) {
        mock.timers.tick(2_000);
        await settle();
      }
      assert.equal(stopped, true);
    });
  });
});

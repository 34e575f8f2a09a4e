import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import pg from 'pg';
import { createDiscordAdapter, type DiscordAdapter } from '../../../src/adapters/discord/adapter.js';
import type { ShardClaims } from '../../../src/adapters/discord/shard-pool.js';
import { shardsCheck } from '../../../src/observability/readiness.js';
import { applyPgMigrations } from '../../../src/store/pg-migrations.js';
import { PgShardLocks } from '../../../src/store/shard-locks.js';
import type { Db } from '../../../src/store/db.js';
import { createPgDb } from '../../../src/store/pg-db.js';
import { POSTGRES_SKIP, TEST_DATABASE_URL } from '../../support/databases.js';
import { replicaOptions, type LogLine } from '../../support/fake-discord-bot.js';
import { FakeDiscord, guildIdOnShard, type SentInteraction } from '../../support/fake-discord.js';

const SHARDS = 4;

/** A replica's shard locks, with the faults a test injects: refusing to claim (a dead process claims nothing). */
class FaultyClaims implements ShardClaims {
  refuse = new Set<number>();
  dead = false;
  constructor(readonly locks: PgShardLocks) {}
  tryClaim(shards: readonly number[]) {
    return this.dead ? Promise.resolve([]) : this.locks.tryClaim(shards.filter((s) => !this.refuse.has(s)));
  }
  release(shard: number) {
    return this.locks.release(shard);
  }
  records() {
    return this.locks.records();
  }
  saveSession(...args: Parameters<PgShardLocks['saveSession']>) {
    return this.locks.saveSession(...args);
  }
  onLost(listener: (shards: number[], error?: Error) => void) {
    return this.locks.onLost(listener);
  }
  close() {
    return this.locks.close();
  }
}

interface Replica {
  name: string;
  adapter: DiscordAdapter;
  claims: FaultyClaims;
  logs: LogLine[];
}

async function waitUntil(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await delay(10);
  }
}

describe('replicas on PostgreSQL share the shards and take over a dead one\'s', { skip: POSTGRES_SKIP, timeout: 60_000 }, () => {
  const guilds = Array.from({ length: SHARDS * 2 }, (_, i) => guildIdOnShard(i % SHARDS, SHARDS, Math.floor(i / SHARDS) + 1));
  const schema = `t_takeover_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  let db: Db;
  let fake: FakeDiscord;
  let a: Replica;
  let b: Replica;
  const sent: SentInteraction[] = [];

  const replica = (name: string, ids: number[]): Replica => {
    const logs: LogLine[] = [];
    const claims = new FaultyClaims(new PgShardLocks({ url: TEST_DATABASE_URL, schema, replicaId: name, shardCount: SHARDS }));
    const adapter = createDiscordAdapter({
      ...replicaOptions(fake, name, logs),
      shards: { count: SHARDS, ids },
      shardClaims: () => claims,
      claimEveryMs: 100,
      // Long enough that neither takes the other's shards before both started.
      orphanGraceMs: 60_000,
    });
    return { name, adapter, claims, logs };
  };
  const ask = (shard: number, n: number) => {
    const guild = guildIdOnShard(shard, SHARDS, 1 + (n % 2));
    const s = fake.sendSlashCommand('incident', { query: 'skyecc' }, undefined, { guildId: guild, channelId: guild });
    sent.push(s);
    return s;
  };

  before(async () => {
    db = await createPgDb({ url: TEST_DATABASE_URL, schema, max: 2 });
    await applyPgMigrations(db);
    fake = await FakeDiscord.start({ shards: SHARDS, maxConcurrency: 16, guildIds: guilds });
    a = replica('a', [0, 1]);
    b = replica('b', [2, 3]);
    await Promise.all([a.adapter.start(), b.adapter.start()]);
  });

  after(async () => {
    await Promise.allSettled([a?.adapter.stop(), b?.adapter.stop()]);
    await fake?.close();
    await db?.close();
    const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await admin.connect();
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).finally(() => admin.end());
  });

  it('runs each shard once, on the replica that prefers it', async () => {
    await waitUntil(() => [a, b].every((r) => r.adapter.shardStatus().filter((s) => s.state === 'ready').length === 2), 'both replicas ready');
    assert.deepEqual(a.adapter.shardStatus().map((s) => `${s.id}:${s.state}`), ['0:ready', '1:ready']);
    assert.deepEqual(b.adapter.shardStatus().map((s) => `${s.id}:${s.state}`), ['2:ready', '3:ready']);
    const live = [0, 1, 2, 3].map((s) => fake.sessions.filter((x) => x.socket && x.shard === s).map((x) => x.token));
    assert.deepEqual(live, [['token-a'], ['token-a'], ['token-b'], ['token-b']]);
    for (let n = 0; n < 8; n++) ask(n % SHARDS, n);
    await waitUntil(() => sent.every((s) => fake.acceptedCallbacks(s).length === 1), 'every interaction answered');
  });

  it('takes over the shards of a replica whose lock connection died, resuming their sessions without losing an interaction', async () => {
    // Replica a holds off from b's shards until the gap below has happened; replica b claims nothing from now on.
    a.claims.refuse = new Set([2, 3]);
    for (let n = 0; n < 6; n++) ask(2 + (n % 2), n);
    b.claims.dead = true;
    const pid = await b.claims.locks.backendPid();
    const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await admin.connect();
    const killedAt = performance.now();
    try {
      await admin.query('SELECT pg_terminate_backend($1)', [pid]);
    } finally {
      await admin.end();
    }
    // b must stop its shards at once: no socket of its sessions stays open.
    await waitUntil(() => fake.sessions.filter((s) => s.shard >= 2 && s.socket).length === 0, 'b closing its shards');
    assert.ok(b.logs.some((l) => /shard locks lost/.test(l.message)), 'b logged the loss');
    assert.deepEqual(b.adapter.shardStatus().map((s) => `${s.id}:${s.state}`), ['2:elsewhere', '3:elsewhere']);
    // The gap: sent while no process runs shards 2 and 3; Discord keeps them for the sessions' resume.
    const gap = [ask(2, 10), ask(3, 11), ask(2, 12), ask(3, 13)];
    assert.ok(gap.every((g) => fake.dispatches.some((d) => d.id === g.id && d.buffered)), 'the gap interactions were held for the resume');
    a.claims.refuse.clear();
    await waitUntil(() => a.adapter.shardStatus().filter((s) => s.state === 'ready').length === 4, 'a running all four shards', 15_000);
    const took = performance.now() - killedAt;
    await waitUntil(() => sent.every((s) => fake.acceptedCallbacks(s).length === 1), 'every interaction answered once', 15_000);

    const resumes = fake.gatewayEvents.filter((e) => e.kind === 'resume' && e.at > killedAt);
    assert.deepEqual(resumes.map((e) => e.shard).sort(), [2, 3], 'a resumed b\'s two sessions');
    assert.ok(resumes.every((e) => e.payload?.token === 'token-a'));
    assert.equal(fake.gatewayEvents.filter((e) => e.kind === 'identify' && e.at > killedAt).length, 0, 'no new session: the old ones were resumed');
    assert.deepEqual(fake.resumesOfLiveSessions, [], 'never two processes on one session');
    assert.deepEqual(fake.lateCallbacks, [], 'every answer within 3 s');
    for (const s of sent) assert.equal(fake.acceptedCallbacks(s).length, 1, `interaction ${s.id} answered exactly once`);
    const rows = await db.query<{ shard_id: number; holder: string }>('SELECT shard_id, holder FROM discord_shards ORDER BY shard_id');
    assert.deepEqual(rows.map((r) => `${r.shard_id}:${r.holder}`), ['0:a', '1:a', '2:a', '3:a']);
    assert.ok(took < 15_000);
    // /readyz: b stands by for shards another replica runs (ready); a runs all four.
    const standby = await shardsCheck(() => b.adapter.shardStatus())();
    assert.deepEqual(standby, { ok: true, detail: 'shards 2,3 run by another replica' });
    assert.deepEqual(await shardsCheck(() => a.adapter.shardStatus())(), { ok: true, detail: 'shards 0,1,2,3 ready' });
  });

  it('answers new interactions on the taken-over shards from the replica that took them', async () => {
    const more = [ask(2, 20), ask(3, 21)];
    await waitUntil(() => more.every((s) => fake.acceptedCallbacks(s).length === 1), 'answers after the takeover');
    assert.equal(fake.sessions.filter((s) => s.socket && s.shard >= 2).length, 2, 'one live session per shard');
  });

  it('hands every shard over when a replica stops, so that the other resumes them', async () => {
    b.claims.dead = false;
    const stoppedAt = performance.now();
    const during = [ask(0, 30), ask(1, 31), ask(2, 32), ask(3, 33)];
    await a.adapter.stop();
    const after = [ask(0, 34), ask(1, 35), ask(2, 36), ask(3, 37)];
    await waitUntil(() => b.adapter.shardStatus().filter((s) => s.state === 'ready').length === 4, 'b running all four shards', 15_000);
    await waitUntil(() => [...during, ...after].every((s) => fake.acceptedCallbacks(s).length === 1), 'every interaction answered once', 15_000);
    const resumes = fake.gatewayEvents.filter((e) => e.kind === 'resume' && e.at > stoppedAt);
    assert.deepEqual(resumes.map((e) => e.shard).sort(), [0, 1, 2, 3]);
    assert.ok(resumes.every((e) => e.payload?.token === 'token-b'));
    assert.equal(fake.gatewayEvents.filter((e) => e.kind === 'identify' && e.at > stoppedAt).length, 0, 'the sessions outlived the stop');
    assert.deepEqual(fake.resumesOfLiveSessions, []);
    for (const s of sent) assert.equal(fake.acceptedCallbacks(s).length, 1, `interaction ${s.id} answered exactly once`);
  });
});

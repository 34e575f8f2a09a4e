import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { Events } from 'discord.js';
import { createDiscordAdapter, type DiscordAdapter } from '../../../src/adapters/discord/adapter.js';
import type { DiscordShardPlan } from '../../../src/adapters/discord/shards.js';
import { replicaOptions, startFakeDiscordBot, type LogLine } from '../../support/fake-discord-bot.js';
import { FakeDiscord, guildIdOnShard, type SentInteraction } from '../../support/fake-discord.js';

/** A bot process in these tests: its adapter, its log, and the interactions its client received. */
interface Replica {
  name: string;
  adapter: DiscordAdapter;
  logs: LogLine[];
  /** Interaction ids this replica's discord.js client received, with the shard of the session they came on. */
  received: { id: string; guildId: string | null; shard: number | undefined }[];
}

/** Builds a replica against the fake with its own token (the fake records which token each session used). */
function replica(fake: FakeDiscord, name: string, shards?: DiscordShardPlan): Replica {
  const logs: LogLine[] = [];
  const adapter = createDiscordAdapter({ ...replicaOptions(fake, name, logs), shards });
  const received: Replica['received'] = [];
  adapter.client.on(Events.InteractionCreate, (interaction) => {
    received.push({ id: interaction.id, guildId: interaction.guildId, shard: interaction.guild?.shardId });
  });
  return { name, adapter, logs, received };
}

function callbacksOf(fake: FakeDiscord, sent: { id: string }): number {
  return fake.requests.filter((r) => r.method === 'POST' && r.path.startsWith(`/api/v10/interactions/${sent.id}/`) && r.path.endsWith('/callback')).length;
}

async function waitUntil(check: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await delay(10);
  }
}

const SHARDS = 4;

/** Discord's rule, written out here as the oracle (not the fake's copy): a guild's shard is (guild_id >> 22) % count. */
function shardOfGuild(guildId: string, count: number): number {
  return Number((BigInt(guildId) >> 22n) % BigInt(count));
}

describe('two replicas with two shards each, four shards in all', { timeout: 30_000 }, () => {
  // Two guilds on every shard besides the fake's own guild, so every shard has servers to answer.
  const guilds = Array.from({ length: SHARDS * 2 }, (_, i) => guildIdOnShard(i % SHARDS, SHARDS, Math.floor(i / SHARDS) + 1));
  let fake: FakeDiscord;
  let a: Replica;
  let b: Replica;
  const owner = (guildId: string) => (shardOfGuild(guildId, SHARDS) < 2 ? 'a' : 'b');

  before(async () => {
    // max_concurrency 16 (a large bot's bucket): the four identifies need not wait 5 s for each other.
    fake = await FakeDiscord.start({ shards: SHARDS, maxConcurrency: 16, guildIds: guilds });
    a = replica(fake, 'a', { count: SHARDS, ids: [0, 1] });
    b = replica(fake, 'b', { count: SHARDS, ids: [2, 3] });
    await Promise.all([a.adapter.start(), b.adapter.start()]);
  });

  after(async () => {
    await Promise.allSettled([a?.adapter.stop(), b?.adapter.stop()]);
    await fake?.close();
  });

  it('spreads the test guilds over all four shards', () => {
    assert.deepEqual([...new Set(guilds.map((g) => shardOfGuild(g, SHARDS)))].sort(), [0, 1, 2, 3]);
  });

  it('opens one session per shard, each identified as [id, 4] by the replica that runs it', () => {
    const sessions = fake.sessions.map((s) => `${s.shard}/${s.count}:${s.token}`).sort();
    assert.deepEqual(sessions, ['0/4:token-a', '1/4:token-a', '2/4:token-b', '3/4:token-b']);
    assert.ok(fake.requests.some((r) => r.path === '/api/v10/gateway/bot'), 'discord.js read GET /gateway/bot');
  });

  it('logs which shards each replica runs, at start', () => {
    assert.ok(a.logs.some((l) => l.message === 'discord gateway: running shards 0,1 of 4'), JSON.stringify(a.logs.map((l) => l.message)));
    assert.ok(b.logs.some((l) => l.message === 'discord gateway: running shards 2,3 of 4'), JSON.stringify(b.logs.map((l) => l.message)));
    const ready = b.logs.find((l) => l.message === 'discord adapter ready');
    assert.deepEqual({ shards: ready?.details.shards, shardCount: ready?.details.shardCount }, { shards: [2, 3], shardCount: 4 });
  });

  it('reports each shard it runs as ready', () => {
    const brief = (r: Replica) => r.adapter.shardStatus().map((s) => `${s.id}/${s.count}:${s.state}`);
    assert.deepEqual(brief(a), ['0/4:ready', '1/4:ready']);
    assert.deepEqual(brief(b), ['2/4:ready', '3/4:ready']);
  });

  it('gets the guilds of its own shards only (GUILD_CREATE per shard), also for a guild joined later', async () => {
    const all = [fake.guildId, ...guilds];
    const expected = (name: string) => all.filter((g) => owner(g) === name).sort();
    assert.deepEqual([...a.adapter.client.guilds.cache.keys()].sort(), expected('a'));
    assert.deepEqual([...b.adapter.client.guilds.cache.keys()].sort(), expected('b'));
    const joined = guildIdOnShard(3, SHARDS, 9);
    fake.joinGuild(joined);
    await waitUntil(() => b.adapter.client.guilds.cache.has(joined), 'the joined guild on replica b');
    assert.equal(a.adapter.client.guilds.cache.has(joined), false, 'replica a never hears of a shard-3 guild');
  });

  it('answers every interaction exactly once, on the replica that owns its guild\'s shard', async () => {
    const sent: (SentInteraction & { guildId: string })[] = [];
    for (const guildId of guilds) {
      const extras = { guildId, channelId: guildId };
      sent.push({ ...fake.sendSlashCommand('incident', { query: 'skyecc' }, undefined, extras), guildId });
      sent.push({ ...fake.sendAutocomplete('incident', 'query', 'sky', {}, extras), guildId });
    }
    const callbacks = await Promise.all(sent.map((s) => fake.waitForCallback(s)));
    for (const [i, callback] of callbacks.entries()) {
      const text = JSON.stringify(callback.body);
      assert.match(text, /Sky ECC/, `interaction ${i} was answered with Sky ECC`);
    }
    // A barrier per shard: frames on one socket arrive in order, so once these are answered, any copy of an
    // earlier interaction on a second session would have been received (and answered) too.
    await Promise.all(Array.from({ length: SHARDS }, (_, shard) => fake.waitForCallback(fake.sendAutocomplete('incident', 'query', 'x', {}, { guildId: guildIdOnShard(shard, SHARDS, 1) }))));
    for (const s of sent) {
      const shard = shardOfGuild(s.guildId, SHARDS);
      assert.equal(callbacksOf(fake, s), 1, `interaction for a shard-${shard} guild answered once`);
      const by = [a, b].filter((r) => r.received.some((x) => x.id === s.id));
      assert.deepEqual(by.map((r) => r.name), [owner(s.guildId)], `interaction for a shard-${shard} guild received by its owner only`);
      const seen = by[0].received.find((x) => x.id === s.id);
      assert.equal(seen?.shard, shard, 'discord.js saw it on the shard that owns the guild');
    }
    assert.ok(a.received.length >= 8 && b.received.length >= 8, `both replicas answered (a ${a.received.length}, b ${b.received.length})`);
  });

  it('marks a shard reconnecting, then ready again once it resumed, without touching the other', async () => {
    fake.requestReconnect(1);
    await waitUntil(() => a.logs.some((l) => l.message === 'discord gateway resumed' && l.details.shardId === 1), 'shard 1 resumed');
    assert.ok(a.logs.some((l) => l.message === 'discord gateway reconnecting' && l.details.shardId === 1), 'the reconnect was logged for shard 1');
    await waitUntil(() => a.adapter.shardStatus().every((s) => s.state === 'ready'), 'both shards of a ready');
    const resumed = fake.gatewayEvents.filter((e) => e.kind === 'resume');
    assert.deepEqual(resumed.map((e) => e.shard), [1], 'only shard 1 resumed');
    const guild = guildIdOnShard(1, SHARDS, 1);
    const sent = fake.sendSlashCommand('incident', { query: 'skyecc' }, undefined, { guildId: guild, channelId: guild });
    await fake.waitForCallback(sent);
    assert.ok(a.received.some((x) => x.id === sent.id), 'replica a still answers shard 1');
  });

  it('marks a shard down when Discord closes it for good, and keeps the replica\'s other shard answering', async () => {
    fake.closeShard(3, 4004);
    await waitUntil(() => b.adapter.shardStatus().find((s) => s.id === 3)?.state === 'down', 'shard 3 down');
    const [two, three] = b.adapter.shardStatus();
    assert.equal(two.state, 'ready');
    assert.match(three.lastError ?? '', /4004.*DISCORD_TOKEN/);
    assert.ok(b.logs.some((l) => l.level === 'error' && /shard 3 is down/.test(l.message)), 'the lost shard is logged as an error');
    const guild = guildIdOnShard(2, SHARDS, 1);
    const sent = fake.sendSlashCommand('incident', { query: 'skyecc' }, undefined, { guildId: guild, channelId: guild });
    await fake.waitForCallback(sent);
    assert.throws(() => fake.sendSlashCommand('incident', { query: 'skyecc' }, undefined, { guildId: guildIdOnShard(3, SHARDS, 1) }), /no gateway session/);
  });
});

describe('DISCORD_SHARDS=auto and the unsharded default', { timeout: 20_000 }, () => {
  it('auto asks GET /gateway/bot for the count and runs every shard of it', async () => {
    const fake = await FakeDiscord.start({ shards: 3, maxConcurrency: 16, guildIds: [guildIdOnShard(1, 3), guildIdOnShard(2, 3)] });
    const r = replica(fake, 'auto', { count: 'auto' });
    try {
      assert.deepEqual(r.adapter.shardStatus(), [], 'no shard is known before Discord was asked');
      await r.adapter.start();
      assert.deepEqual(fake.sessions.map((s) => [s.shard, s.count]).sort(), [[0, 3], [1, 3], [2, 3]]);
      assert.deepEqual(r.adapter.shardStatus().map((s) => `${s.id}/${s.count}:${s.state}`), ['0/3:ready', '1/3:ready', '2/3:ready']);
      assert.equal(r.adapter.client.guilds.cache.size, 3);
    } finally {
      await r.adapter.stop();
      await fake.close();
    }
  });

  it('without a plan runs one session as [0, 1], as before sharding existed', async () => {
    const bot = await startFakeDiscordBot();
    try {
      const identify = await bot.fake.waitForGateway((e) => e.kind === 'identify');
      assert.deepEqual(identify.payload.shard, [0, 1]);
      assert.deepEqual(bot.adapter.shardStatus().map((s) => `${s.id}/${s.count}:${s.state}`), ['0/1:ready']);
      assert.ok(bot.logs.some((l) => l.message === 'discord gateway: running one unsharded gateway session'), 'start-up log names the plan');
      await bot.adapter.stop();
      assert.deepEqual(bot.adapter.shardStatus().map((s) => s.state), ['down'], 'down after stop');
    } finally {
      await bot.stop();
    }
  });

  it('fails to start with a hint when Discord requires sharding (close 4011)', async () => {
    const fake = await FakeDiscord.start({ shards: 2, minShards: 2 });
    const r = replica(fake, 'unsharded');
    try {
      await assert.rejects(r.adapter.start(), /Sharding is required/);
      const [status] = r.adapter.shardStatus();
      assert.equal(status.state, 'down');
      assert.ok(r.logs.some((l) => l.level === 'error' && /set DISCORD_SHARDS/.test(l.message)), JSON.stringify(r.logs));
    } finally {
      await r.adapter.stop();
      await fake.close();
    }
  });

  it('fails to start when the session start limit left is below the shards to run', async () => {
    const fake = await FakeDiscord.start({ shards: 2, sessionStartRemaining: 1 });
    const r = replica(fake, 'limited', { count: 2 });
    try {
      await assert.rejects(r.adapter.start(), /Not enough sessions remaining to spawn 2 shards/);
      assert.equal(fake.sessions.length, 0, 'no session was started');
    } finally {
      await r.adapter.stop();
      await fake.close();
    }
  });
});

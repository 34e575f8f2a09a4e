import { Events, type Client, type ClientOptions } from 'discord.js';
import type { DiscordLogger } from './interactions.js';

/**
 * Which gateway shards this process runs. Discord sends each server's events on one shard only, shard
 * `(guild_id >> 22) % count`, so replicas that split the ids of one count between them each see their own servers.
 */
export interface DiscordShardPlan {
  /** Shards across every replica, or `auto`: the count Discord recommends (GET /gateway/bot), all run here. */
  count: number | 'auto';
  /** The shard ids this process runs (each below `count`); absent: all of them. */
  ids?: readonly number[];
}

/**
 * A shard's connection, as /readyz and metrics read it; `elsewhere`: a shard this replica prefers runs on another
 * replica of the database (it took the shard over), and this one stands by for it.
 */
export type ShardState = 'connecting' | 'ready' | 'reconnecting' | 'down' | 'elsewhere';

/** One shard this process runs: its state and since when. */
export interface ShardStatus {
  id: number;
  /** Shards in all (this replica's and the others'); 0 while `auto` has not asked Discord yet. */
  count: number;
  state: ShardState;
  /** Epoch milliseconds of the last change of state. */
  since: number;
  /** Last heartbeat round trip in milliseconds, once there was one. */
  pingMs?: number;
  /** The last error or unrecoverable close the shard reported. */
  lastError?: string;
  /** `elsewhere` because replicas of another shard count run the shards: what this replica waits for. */
  waitingFor?: string;
}

/** Returns the discord.js Client options for a plan; none (discord.js's default: one unsharded session) without one. */
export function clientShardOptions(plan: DiscordShardPlan | undefined): Pick<ClientOptions, 'shards' | 'shardCount'> {
  if (!plan) return {};
  // 'auto' leaves both ids and count to @discordjs/ws, which takes `shards` from GET /gateway/bot and runs 0..n-1.
  if (plan.count === 'auto') return { shards: 'auto' };
  const ids = plan.ids?.length ? [...plan.ids] : Array.from({ length: plan.count }, (_, i) => i);
  // shardCount must be given with the ids: without it discord.js takes ids.length as the count, and replicas
  // running 0,1 and 2,3 of 4 would identify as [2, 2] (an invalid shard).
  return { shards: ids, shardCount: plan.count };
}

/** Returns a short description of a plan for the start-up log, e.g. `shards 0,1 of 4`. */
export function describeShardPlan(plan: DiscordShardPlan | undefined): string {
  if (!plan) return 'one unsharded gateway session';
  if (plan.count === 'auto') return 'every shard of the count Discord recommends (DISCORD_SHARDS=auto)';
  const ids = plan.ids?.length ? plan.ids : Array.from({ length: plan.count }, (_, i) => i);
  return `shard${ids.length === 1 ? '' : 's'} ${ids.join(',')} of ${plan.count}`;
}

/** Gateway close codes after which discord.js gives a shard up, with what the operator can do about each. */
const CLOSE_HINTS: Record<number, string> = {
  4004: 'the token was refused: check DISCORD_TOKEN',
  4010: 'Discord refused the shard: DISCORD_SHARD_IDS must be below DISCORD_SHARDS, and every replica needs the same DISCORD_SHARDS',
  4011: 'Discord requires sharding for this many servers: set DISCORD_SHARDS=auto, or a count with DISCORD_SHARD_IDS per replica',
  4012: 'the gateway API version is no longer supported: update discord.js',
  4013: 'the gateway refused the intents',
  4014: 'a privileged intent is not enabled for this application',
};

/** Per-shard state, kept from discord.js's shard events. */
export interface ShardTracker {
  /** The shards this process runs, by id. */
  status(): ShardStatus[];
  /** Marks every planned shard connecting (at login). */
  connecting(): void;
  /** Marks every shard down and ignores later events (discord.js reports its own shutdown as a reconnect). */
  stopped(): void;
}

/** Returns a tracker listening to the client's shard events and logging the notable ones. */
export function trackShards(client: Client, logger: DiscordLogger, now: () => number = Date.now): ShardTracker {
  const states = new Map<number, Omit<ShardStatus, 'count' | 'pingMs'>>();
  let startedAt: number | undefined;
  let stopping = false;
  const set = (id: number, state: ShardState, lastError?: string) => {
    const previous = states.get(id);
    if (previous?.state === state && lastError === undefined) return;
    states.set(id, { id, state, since: previous?.state === state ? previous.since : now(), lastError: lastError ?? previous?.lastError });
  };

  client.on(Events.ShardReady, (id) => {
    if (stopping) return;
    set(id, 'ready');
    logger.info({ shardId: id }, 'discord shard ready');
  });
  client.on(Events.ShardResume, (id, replayed) => {
    if (stopping) return;
    set(id, 'ready');
    logger.info({ shardId: id, replayed }, 'discord gateway resumed');
  });
  client.on(Events.ShardReconnecting, (id) => {
    if (stopping) return;
    set(id, 'reconnecting');
    logger.info({ shardId: id }, 'discord gateway reconnecting');
  });
  client.on(Events.ShardDisconnect, (event, id) => {
    if (stopping) return;
    // discord.js emits this only for close codes it will not recover from: the shard stays down until a restart.
    const hint = CLOSE_HINTS[event.code];
    set(id, 'down', `closed with ${event.code}${hint ? `: ${hint}` : ''}`);
    logger.error({ shardId: id, code: event.code }, `discord shard ${id} is down and will not reconnect${hint ? `: ${hint}` : ''}`);
  });
  client.on(Events.ShardError, (error, id) => {
    if (stopping) return;
    const previous = states.get(id);
    // discord.js reports a final close first, then its error ("Authentication failed"): keep the close and its hint.
    const lastError = previous?.state === 'down' && previous.lastError ? `${previous.lastError} (${error.message})` : error.message;
    states.set(id, { id, state: previous?.state ?? 'connecting', since: previous?.since ?? now(), lastError });
    logger.warn({ shardId: id, err: error.message }, 'discord shard error');
  });

  const plannedIds = (): number[] => (Array.isArray(client.options.shards) ? client.options.shards : []);

  return {
    status() {
      // Before `auto` has asked Discord, discord.js's shardCount is still its default of 1: report 0 (unknown).
      const count = client.options.shards === 'auto' ? 0 : (client.options.shardCount ?? 0);
      const ids = new Set([...plannedIds(), ...states.keys()]);
      return [...ids]
        .sort((a, b) => a - b)
        .map((id) => {
          // A shard discord.js has not reported on yet: connecting once started (with `auto`, the ids appear only
          // after /gateway/bot), down before.
          const unseen = startedAt !== undefined && !stopping ? { id, state: 'connecting' as const, since: startedAt } : { id, state: 'down' as const, since: 0 };
          const known = states.get(id) ?? unseen;
          const ping = client.ws.shards.get(id)?.ping;
          return { ...known, count, ...(typeof ping === 'number' && ping >= 0 ? { pingMs: ping } : {}) };
        });
    },
    connecting() {
      startedAt = now();
      for (const id of plannedIds()) if (states.get(id)?.state !== 'ready') set(id, 'connecting');
    },
    stopped() {
      stopping = true;
      for (const id of new Set([...plannedIds(), ...states.keys()])) set(id, 'down');
    },
  };
}

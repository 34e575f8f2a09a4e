import { Events, type Client } from 'discord.js';
import type { DiscordLogger } from './interactions.js';
import { sessionStrategy, type SeedSession, type SessionStrategy } from './session-strategy.js';
import type { ShardStatus, ShardTracker } from './shards.js';

/**
 * Gateway shards shared by the replicas of one database: each shard runs on the replica holding its lock (see
 * store/shard-locks.ts), in a discord.js Client of its own, so that shards can be gained and lost one at a time. A
 * replica claims the shards it prefers (DISCORD_SHARD_IDS) and waits while they run elsewhere; it takes over any
 * shard whose holder died, and resumes that shard's gateway session, so that Discord replays what it sent in between.
 */

/** A gateway session as the claims store it. */
export type ClaimedSession = SeedSession;

/** The shard locks and stored sessions of one replica (PgShardLocks implements it). */
export interface ShardClaims {
  /** Returns the shards among `shards` this replica holds after trying to take them. */
  tryClaim(shards: readonly number[]): Promise<number[]>;
  /** Gives a shard back. */
  release(shard: number): Promise<void>;
  /** Every shard's last holder and stored session. */
  records(): Promise<Map<number, { holder?: string; session?: ClaimedSession }>>;
  /** Stores a held shard's session; false when the shard is no longer this replica's. */
  saveSession(shard: number, session: ClaimedSession | undefined): Promise<boolean>;
  /** Tells `listener` which shards were lost with the lock connection. */
  onLost(listener: (shards: number[], error?: Error) => void): () => void;
  /** Releases every shard. */
  close(): Promise<void>;
  /** Replicas of another shard count that keep this one from claiming (see the last tryClaim); undefined: none. */
  countConflict?(): { counts: number[]; replicas: string[] } | undefined;
}

/** A client built for one shard by the adapter (handlers attached), and the interactions it is answering. */
export interface ShardClient {
  client: Client;
  tracker: ShardTracker;
  /** Called with each interaction's handling, so its gateway sequence counts as handled once it settles. */
  onInteraction(listener: (interactionId: string, handled: Promise<void>) => void): void;
  /** Waits for the interactions in flight (bounded by the adapter's grace). */
  drain(): Promise<void>;
}

/** How a pool runs. */
export interface ShardPoolOptions {
  claims: ShardClaims;
  count: number;
  /** DISCORD_SHARD_IDS: claimed first; absent, every shard is preferred. */
  preferred?: readonly number[];
  token: string;
  applicationId: string;
  logger: DiscordLogger;
  /** Builds the client of one shard with the given sharding strategy. */
  build(shard: number, strategy: SessionStrategy): ShardClient;
  /** How often free shards are tried (default 500 ms): the bound on a takeover after the holder's connection went. */
  claimEveryMs?: number;
  /**
   * How long after start a shard nobody ever ran may be taken by a replica that does not prefer it (default 30 s),
   * so that the replica preferring it can start first; a shard some replica ran is taken over at once.
   */
  orphanGraceMs?: number;
  /**
   * How long one round of claims may take (default 5 s): past it, or when it fails, this replica can no longer tell
   * its shards are its own and stops them; stop() waits no longer for a round in progress either.
   */
  tickTimeoutMs?: number;
  /** First wait before a shard whose login failed is claimed again (default 1 s), doubled per failure up to the cap (60 s). */
  loginBackoffMs?: number;
  loginBackoffMaxMs?: number;
  now?: () => number;
}

interface Running {
  shard: number;
  sc: ShardClient;
  strategy: SessionStrategy;
  session?: { sessionId: string; resumeUrl: string; botUser?: Record<string, unknown> };
  /** Sequence of the last dispatch received, and those of interactions not yet handled. */
  lastSeq: number;
  pending: Set<number>;
  seqOf: Map<string, number>;
  generation: number;
  saving?: Promise<void>;
  dirty: boolean;
  claimedAt: number;
  started: Promise<void>;
}

/** The shards this replica runs out of those the fleet shares. */
export interface ShardPool {
  start(): Promise<void>;
  stop(): Promise<void>;
  status(): ShardStatus[];
  /** The clients of the shards running here, by shard. */
  clients(): Map<number, Client>;
}

/** Returns a pool that claims, runs, hands over and takes over shards through `claims`. */
export function createShardPool(options: ShardPoolOptions): ShardPool {
  const { claims, count, logger } = options;
  const now = options.now ?? Date.now;
  const preferred = new Set(options.preferred?.length ? options.preferred : Array.from({ length: count }, (_, i) => i));
  const running = new Map<number, Running>();
  /** Preferred shards another replica holds, and shards this one ran and lost, since when. */
  const elsewhere = new Map<number, number>();
  let startedAt = 0;
  let timer: NodeJS.Timeout | undefined;
  let ticking: Promise<void> | undefined;
  /** Bumped when a round of claims is given up, so that it launches nothing if it ever ends. */
  let round = 0;
  let stopping = false;
  /** Shards whose client is still closing after a loss. */
  const closing = new Map<number, Promise<void>>();
  let unreachable = false;
  /** Shards whose login failed: how many times in a row, since when, and when they may be claimed again. */
  const failing = new Map<number, { failures: number; since: number; retryAt: number; error: string }>();
  /** Why this replica claims nothing: replicas of another shard count run the shards (undefined: they do not). */
  let waitingFor: string | undefined;

  const watermark = (r: Running) => (r.pending.size ? Math.min(...r.pending) - 1 : r.lastSeq);

  function persist(r: Running): void {
    if (r.saving) {
      r.dirty = true;
      return;
    }
    r.dirty = false;
    const session = r.session && { ...r.session, sequence: watermark(r) };
    r.saving = claims
      .saveSession(r.shard, session)
      .then(
        () => undefined,
        (error: unknown) => logger.warn({ shardId: r.shard, err: (error as Error).message }, 'discord shard session could not be stored'),
      )
      .finally(() => {
        r.saving = undefined;
        if (r.dirty && running.get(r.shard) === r) persist(r);
      });
  }

  function launch(shard: number, seed: ClaimedSession | undefined): void {
    const r = {} as Running;
    const strategy = sessionStrategy({
      ...(seed ? { seed } : {}),
      applicationId: options.applicationId,
      sessionChanged(_id, session) {
        r.generation += 1;
        r.pending.clear();
        r.seqOf.clear();
        r.session = session ?? undefined;
        r.lastSeq = 0;
        persist(r);
      },
    });
    const sc = options.build(shard, strategy);
    Object.assign(r, {
      shard,
      sc,
      strategy,
      ...(seed ? { session: { sessionId: seed.sessionId, resumeUrl: seed.resumeUrl, ...(seed.botUser ? { botUser: seed.botUser } : {}) } } : {}),
      lastSeq: seed?.sequence ?? 0,
      pending: new Set<number>(),
      seqOf: new Map<string, number>(),
      generation: 0,
      dirty: false,
      claimedAt: now(),
    });
    sc.client.on(Events.Raw, (packet: { t?: string; s?: number | null; d?: { id?: string } }) => {
      if (typeof packet.s !== 'number') return;
      r.lastSeq = Math.max(r.lastSeq, packet.s);
      if (packet.t === 'INTERACTION_CREATE' && typeof packet.d?.id === 'string') r.seqOf.set(packet.d.id, packet.s);
      else if (!r.pending.size) persistSoon(r);
    });
    sc.onInteraction((id, handled) => {
      const seq = r.seqOf.get(id);
      if (seq === undefined) return;
      r.seqOf.delete(id);
      const generation = r.generation;
      r.pending.add(seq);
      void handled.finally(() => {
        if (r.generation !== generation) return;
        r.pending.delete(seq);
        persist(r);
      });
    });
    running.set(shard, r);
    elsewhere.delete(shard);
    logger.info({ shardId: shard, resuming: seed?.sessionId ?? null, sequence: seed?.sequence ?? null }, seed ? 'discord shard claimed: resuming its session' : 'discord shard claimed: identifying');
    sc.tracker.connecting();
    r.started = sc.client.login(options.token).then(
      () => void failing.delete(shard),
      async (error: unknown) => {
        // Claimed again at once, a bad token would log in twice a second, near Discord's limit on invalid requests
        // (10,000 per 10 minutes, then the IP is restricted for a while): back off per shard, one line per step.
        const failures = (failing.get(shard)?.failures ?? 0) + 1;
        const waitMs = Math.min(options.loginBackoffMaxMs ?? 60_000, (options.loginBackoffMs ?? 1_000) * 2 ** (failures - 1));
        const message = (error as Error).message;
        failing.set(shard, { failures, since: now(), retryAt: now() + waitMs, error: message });
        logger.error({ shardId: shard, err: message, failures, retryInMs: waitMs }, `discord shard failed to connect: giving it back; claiming it again in ${waitMs / 1000} s`);
        await drop(shard, 'failed to connect', false);
        elsewhere.delete(shard);
        await claims.release(shard);
      },
    );
  }

  // Other dispatches (guild events, heartbeat-free stretches) move the watermark too; one write per quiet moment.
  const soon = new Set<Running>();
  function persistSoon(r: Running): void {
    if (soon.has(r)) return;
    soon.add(r);
    setTimeout(() => {
      soon.delete(r);
      if (running.get(r.shard) === r) persist(r);
    }, 250).unref();
  }

  /** Stops a shard's client; `handOver` keeps its session resumable for the next holder. */
  async function drop(shard: number, reason: string, handOver: boolean): Promise<void> {
    const r = running.get(shard);
    if (!r) return;
    running.delete(shard);
    // Reported (metrics, /readyz) as running elsewhere from now: a preferred one until this replica claims it again.
    if (!stopping) elsewhere.set(shard, now());
    r.sc.tracker.stopped();
    const closed = (async () => {
      if (handOver) await r.strategy.handOver(reason).catch(() => undefined);
      await r.sc.client.destroy().catch(() => undefined);
    })();
    // Not claimed again here before its socket is closed: the session must never have two connections.
    closing.set(shard, closed);
    await closed.finally(() => closing.delete(shard));
  }

  claims.onLost((shards, error) => {
    if (stopping) return;
    const lost = shards.filter((s) => running.has(s));
    if (lost.length === 0) return;
    // Another replica may hold these locks already: their sockets close now, before it resumes the sessions.
    logger.error({ shards: lost, err: error?.message }, 'discord shard locks lost with their database connection: stopping those shards');
    for (const shard of lost) void drop(shard, 'shard lock lost', true);
  });

  /** Stops every running shard because the claims could not be confirmed; the next round claims them again. */
  function dropAll(why: string, error?: Error): void {
    const shards = [...running.keys()];
    if (shards.length === 0) return;
    logger.error({ shards, err: error?.message }, `discord shard claims ${why}: stopping this replica's shards until they are claimed again`);
    for (const shard of shards) void drop(shard, 'shard claims unconfirmed', true).then(() => claims.release(shard).catch(() => undefined));
  }

  async function tick(): Promise<void> {
    if (stopping) return;
    const mine = round;
    try {
      let records = await claims.records();
      if (unreachable) logger.info({}, 'discord shard claims: database reachable again');
      unreachable = false;
      const graceOver = now() - startedAt >= (options.orphanGraceMs ?? 30_000);
      const wanted: number[] = [];
      for (let s = 0; s < count; s++) {
        if (running.has(s) || closing.has(s) || (failing.get(s)?.retryAt ?? 0) > now()) continue;
        // A shard some replica ran and nobody holds now lost its holder: take it over at once.
        if (preferred.has(s) || records.get(s)?.holder !== undefined || graceOver) wanted.push(s);
      }
      if (wanted.length === 0 || stopping) return;
      const won = new Set(await claims.tryClaim(wanted));
      noteConflict(claims.countConflict?.());
      // Read again once won: the last holder's final writes (its handled sequence) committed before its lock was free.
      if ([...won].some((s) => !running.has(s))) records = await claims.records();
      for (const s of wanted) {
        if (won.has(s)) {
          if (stopping || mine !== round) await claims.release(s);
          else if (!running.has(s)) launch(s, records.get(s)?.session);
        } else if (preferred.has(s) && !elsewhere.has(s)) {
          elsewhere.set(s, now());
          logger.info({ shardId: s }, 'discord shard runs on another replica: standing by for it');
        }
      }
    } catch (error) {
      if (mine !== round) return;
      dropAll('failed', error as Error);
      // Said once per outage, not twice a second.
      if (!unreachable) logger.warn({ err: (error as Error).message }, 'discord shard claims: database unreachable; retrying');
      unreachable = true;
    }
  }

  function noteConflict(conflict: { counts: number[]; replicas: string[] } | undefined): void {
    const why = conflict
      ? `replicas with shard count ${conflict.counts.join(',')} (${conflict.replicas.join(', ')}) run the shards; this replica (count ${count}) claims none until they stop`
      : undefined;
    if (why === waitingFor) return;
    // Said once per change: during a rolling restart with a new count this lasts until the last old replica stopped.
    if (why) logger.warn({ shardCount: count, otherCounts: conflict!.counts, replicas: conflict!.replicas }, `discord shards: waiting: ${why}`);
    else logger.info({ shardCount: count }, 'discord shards: no replica of another shard count left; claiming shards');
    waitingFor = why;
  }

  const tickTimeoutMs = options.tickTimeoutMs ?? 5_000;
  function runTick(): Promise<void> {
    if (ticking) return ticking;
    let timer: NodeJS.Timeout | undefined;
    const current: Promise<void> = Promise.race([
      tick(),
      new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          // The round hangs (a query without an answer): its result would come too late to trust.
          round += 1;
          dropAll(`gave no answer within ${tickTimeoutMs / 1000} s`);
          resolve();
        }, tickTimeoutMs);
      }),
    ]).finally(() => {
      clearTimeout(timer);
      if (ticking === current) ticking = undefined;
    });
    ticking = current;
    return current;
  }

  return {
    async start() {
      startedAt = now();
      await runTick();
      await Promise.all([...running.values()].map((r) => r.started));
      timer = setInterval(() => void runTick(), options.claimEveryMs ?? 500);
      timer.unref();
    },
    async stop() {
      stopping = true;
      clearInterval(timer);
      await ticking;
      round += 1;
      const all = [...running.values()];
      // Sockets first (resumably: whoever takes the shards resumes and gets what arrives from now on), then the
      // interactions in flight, then the handled sequence, then the locks.
      // discord.js reports the handover's close as a reconnect: the shards are marked stopped first.
      for (const r of all) r.sc.tracker.stopped();
      await Promise.all(all.map((r) => r.strategy.handOver('replica stopping').catch(() => undefined)));
      await Promise.all(all.map((r) => r.sc.drain()));
      for (const r of all) {
        // Bounded: a database without an answer must not keep the process from stopping.
        await within(r.saving, tickTimeoutMs);
        if (r.session) await within(claims.saveSession(r.shard, { ...r.session, sequence: watermark(r) }).catch(() => false), tickTimeoutMs);
        await r.sc.client.destroy().catch(() => undefined);
      }
      running.clear();
      await within(claims.close().catch(() => undefined), tickTimeoutMs);
    },
    status() {
      const rows: ShardStatus[] = [];
      for (const s of new Set([...running.keys(), ...preferred, ...elsewhere.keys(), ...failing.keys()])) {
        const r = running.get(s);
        const failed = failing.get(s);
        if (r) rows.push(...r.sc.tracker.status().filter((row) => row.id === s));
        else if (failed && !elsewhere.has(s)) {
          const again = Math.max(0, Math.ceil((failed.retryAt - now()) / 1000));
          rows.push({ id: s, count, state: 'down', since: failed.since, lastError: `login failed ${failed.failures}× (${failed.error}); trying again in ${again} s` });
        } else if (elsewhere.has(s)) rows.push({ id: s, count, state: 'elsewhere', since: elsewhere.get(s)!, ...(waitingFor ? { waitingFor } : {}) });
        else rows.push({ id: s, count, state: stopping ? 'down' : 'connecting', since: startedAt });
      }
      return rows.sort((a, b) => a.id - b.id);
    },
    clients: () => new Map([...running].map(([s, r]) => [s, r.sc.client])),
  };
}

/** Waits for `promise`, at most `ms`. */
function within(promise: Promise<unknown> | undefined, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([promise, new Promise((resolve) => (timer = setTimeout(resolve, ms)))]).then(() => clearTimeout(timer));
}

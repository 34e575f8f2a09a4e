import type { LeaseRepo } from './leases.js';

/**
 * How replicas sharing a database take turns at the feed and source work, through leases (see leases.ts): a feed is
 * polled by one replica at a time, a channel's alerts are delivered by one replica at a time (its pace, its digests
 * and its interrupted sends are then one replica's business), and a round of source syncs runs on one replica.
 */

/** Lets one replica at a time poll a feed. */
export interface FeedPollGate {
  /**
   * Runs `poll` under the feed's lease when this replica gets it and `stillDue` (read after taking the lease: another
   * replica may have just polled it) says so; returns undefined when it did not run.
   */
  poll<T>(feedId: number, stillDue: () => Promise<boolean>, poll: () => Promise<T>): Promise<T | undefined>;
}

/** Hands out alert channels ('<platform>:<channel id>') to one replica at a time. */
export interface ChannelGate {
  /**
   * Returns the keys among `keys` this replica delivers now (taking free or expired leases, extending its own). A row
   * `sending` in a channel it holds and not in flight in this process was interrupted (its sender died or lost the
   * channel), and is this replica's to check.
   */
  claim(keys: readonly string[]): Promise<Set<string>>;
}

/** Runs work on one replica at a time under one name (a round of source syncs). */
export interface RoundGate {
  /** Runs `work` when this replica holds the lease; undefined when another replica does. */
  run<T>(work: (lost: AbortSignal) => Promise<T>): Promise<T | undefined>;
}

/** Lease lengths; each lease is renewed every third of its length while its work runs. */
export interface ReplicaGateOptions {
  /** A feed poll's lease: a dead replica's poll is taken over after this (default 30 s, at most the poll interval). */
  feedLeaseMs?: number;
  /** A channel's lease: another replica delivers a dead one's channels after this (default 30 s). */
  channelLeaseMs?: number;
  /** The source sync round's lease (default 60 s). */
  sourcesLeaseMs?: number;
}

/** The gates of one replica, over its leases. */
export interface ReplicaGates {
  feeds: FeedPollGate;
  channels: ChannelGate;
  sources: RoundGate;
}

/** Returns the gates of the replica whose leases `leases` takes. */
export function createReplicaGates(leases: LeaseRepo, options: ReplicaGateOptions = {}): ReplicaGates {
  const feedMs = options.feedLeaseMs ?? 30_000;
  const channelMs = options.channelLeaseMs ?? 30_000;
  const sourcesMs = options.sourcesLeaseMs ?? 60_000;
  return {
    feeds: {
      async poll(feedId, stillDue, poll) {
        const outcome = await leases.hold(`feed:${feedId}`, feedMs, async () => ((await stillDue()) ? { ran: true as const, value: await poll() } : undefined));
        return outcome.held && outcome.result ? outcome.result.value : undefined;
      },
    },
    channels: {
      async claim(keys) {
        const mine = new Set<string>();
        for (const key of new Set(keys)) if (await leases.acquire(`outbox:${key}`, channelMs)) mine.add(key);
        return mine;
      },
    },
    sources: {
      async run(work) {
        const outcome = await leases.hold('sources', sourcesMs, work);
        return outcome.held ? outcome.result : undefined;
      },
    },
  };
}

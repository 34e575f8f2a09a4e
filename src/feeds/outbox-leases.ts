import type { Logger } from '../logger.js';
import type { ChannelGate } from '../store/replica-gates.js';
import type { OutboxRow } from '../store/repos/outbox.js';
import type { Storage } from '../store/storage.js';

/** Returns the name of a row's channel lease (the key ChannelGate.claim takes). */
export const channelLeaseKey = (r: Pick<OutboxRow, 'platform' | 'channelId'>): string => `${r.platform}:${r.channelId}`;

/** The leases of the sends in flight in one outbox worker: renewed while they run, and checked before each post. */
export interface SendLeases {
  /** Starts renewing the channel lease (and, once claimed, the row lease) of a row whose delivery began. */
  add(row: OutboxRow): void;
  /** Records that the row was claimed under a lease of this worker that runs until `until`. */
  claimed(id: number, until: number): void;
  /** Returns whether the row's lease was lost or ran out: its sender must not start the platform call. */
  lost(id: number): boolean;
  /** Stops renewing for a row whose delivery ended. */
  remove(id: number): void;
  /** Resolves once the renewal under way, if any, ended. */
  settled(): Promise<void>;
}

/** What createSendLeases needs. */
export interface SendLeasesOptions {
  storage: Storage;
  /** This replica's name (row leases exist only with it, on PostgreSQL). */
  holder?: string;
  leaseMs: number;
  now: () => number;
  channels?: ChannelGate;
  logger?: Logger;
}

/**
 * Returns the lease keeper of an outbox worker. A round waits for all its sends, so without renewals a send slower than
 * a lease (a platform holding the request, a stalled process under load) would let another replica take the channel,
 * find the row `sending` and not on the platform yet, and send it again; and a sender that stalled past its lease
 * must learn it before posting, since the row may be another replica's by then.
 */
export function createSendLeases(options: SendLeasesOptions): SendLeases {
  const { storage, holder, leaseMs, now, channels } = options;
  const log = options.logger;
  const leased = Boolean(holder) && storage.kind === 'postgres';
  const rows = new Map<number, OutboxRow>();
  /** Rows claimed under a lease: until when it is known to run, or lost (another replica put the row back). */
  const leases = new Map<number, { until: number; lost: boolean }>();
  let heartbeat: ReturnType<typeof setInterval> | undefined;
  /** The renewal under way, if any: a database that hangs must not pile up one more renewal every tick. */
  let renewing: Promise<void> | undefined;

  async function renew(): Promise<void> {
    const inFlight = [...rows.values()];
    if (inFlight.length === 0) return;
    try {
      const claimed = inFlight.filter((r) => leases.has(r.id)).map((r) => r.id);
      if (holder && claimed.length > 0) {
        const at = now();
        const held = await storage.outbox.renewLeases(claimed, { holder, ms: leaseMs, now: at });
        const kept = new Set(held ?? claimed);
        for (const id of claimed) {
          const lease = leases.get(id);
          if (!lease) continue; // its send ended meanwhile
          if (kept.has(id)) lease.until = Math.max(lease.until, at + leaseMs);
          else if (!lease.lost) {
            lease.lost = true;
            log?.warn({ outbox: id }, 'lost the lease of a row in flight (another replica put it back); its send stops if not under way');
          }
        }
      }
      if (channels) await channels.claim(inFlight.map(channelLeaseKey));
    } catch (err) {
      log?.warn({ err: (err as Error).message }, 'cannot renew the leases of sends in flight; will retry');
    }
  }

  /** Keeps the heartbeat running exactly while sends are in flight. */
  function pulse(): void {
    if (rows.size > 0 && !heartbeat) {
      heartbeat = setInterval(() => {
        if (renewing) return; // the last renewal is still out (a hung database): skip this tick
        renewing = renew().finally(() => (renewing = undefined));
      }, Math.max(1, Math.floor(leaseMs / 3)));
      heartbeat.unref?.();
    } else if (rows.size === 0 && heartbeat) {
      clearInterval(heartbeat);
      heartbeat = undefined;
    }
  }

  return {
    add(row) {
      rows.set(row.id, row);
      pulse();
    },
    claimed(id, until) {
      if (leased && rows.has(id)) leases.set(id, { until, lost: false });
    },
    lost(id) {
      const lease = leases.get(id);
      return lease !== undefined && (lease.lost || now() >= lease.until);
    },
    remove(id) {
      rows.delete(id);
      leases.delete(id);
      pulse();
    },
    async settled() {
      await renewing;
    },
  };
}

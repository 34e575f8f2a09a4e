import type { Db, SqlValue } from './db.js';

/**
 * Named leases shared by the replicas of one database: a row per name with its holder and expiry. Whoever holds an
 * unexpired lease owns that work (a feed's polling, a source's sync); a replica that dies stops renewing, its lease
 * expires, and the next replica to ask takes it over. Taking and renewing are single statements (`INSERT ... ON
 * CONFLICT ... DO UPDATE ... WHERE`), so the database's row lock decides between replicas asking at once; each
 * takeover bumps the lease's fence, so work done under an older fence can be refused.
 */

/** A lease held: its name, holder, fence (bumped by each change of holder) and expiry (epoch milliseconds). */
export interface Lease {
  name: string;
  holder: string;
  fence: number;
  acquiredAt: number;
  expiresAt: number;
}

/** How a lease repository reads the time. */
export interface LeaseOptions {
  /**
   * The clock, in epoch milliseconds. Default: PostgreSQL's own clock (replicas on several machines then agree on
   * when a lease expired, whatever their clocks say), and the process clock on SQLite (one machine).
   */
  now?: () => number;
}

interface LeaseRow {
  name: string;
  holder: string;
  fence: number;
  acquired_at: number;
  expires_at: number;
}

/** PostgreSQL's wall clock in epoch milliseconds; clock_timestamp() moves within a transaction, now() does not. */
const PG_NOW_MS = '(extract(epoch from clock_timestamp()) * 1000)::bigint';

const toLease = (r: LeaseRow): Lease => ({ name: r.name, holder: r.holder, fence: r.fence, acquiredAt: r.acquired_at, expiresAt: r.expires_at });

/** Leases on one database, taken in the name of one holder (the replica's id). */
export class LeaseRepo {
  private readonly clock: () => { sql: string; params: SqlValue[] };

  constructor(
    private readonly db: Db,
    /** Who takes the leases: the replica id (REPLICA_ID). */
    readonly holder: string,
    options: LeaseOptions = {},
  ) {
    const now = options.now ?? (db.kind === 'postgres' ? undefined : Date.now);
    this.clock = now ? () => ({ sql: 'CAST(? AS BIGINT)', params: [now()] }) : () => ({ sql: PG_NOW_MS, params: [] });
  }

  /**
   * Returns the lease when this holder now has it for `ttlMs` more: it was free, expired, or already this holder's
   * (then it is extended and keeps its fence); undefined while another holder's lease runs.
   */
  async acquire(name: string, ttlMs: number): Promise<Lease | undefined> {
    const t = this.clock();
    // The WHERE of DO UPDATE is evaluated on the row as locked, so of replicas asking at once exactly one takes it.
    const row = await this.db.one<LeaseRow>(
      `WITH clock AS (SELECT ${t.sql} AS t)
       INSERT INTO leases (name, holder, fence, acquired_at, expires_at)
       SELECT ?, ?, 1, t, t + CAST(? AS BIGINT) FROM clock WHERE true
       ON CONFLICT (name) DO UPDATE SET
         fence = CASE WHEN leases.holder = excluded.holder THEN leases.fence ELSE leases.fence + 1 END,
         acquired_at = CASE WHEN leases.holder = excluded.holder THEN leases.acquired_at ELSE excluded.acquired_at END,
         holder = excluded.holder,
         expires_at = excluded.expires_at
       WHERE leases.holder = excluded.holder OR leases.expires_at <= excluded.acquired_at
       RETURNING name, holder, fence, acquired_at, expires_at`,
      [...t.params, name, this.holder, Math.round(ttlMs)],
    );
    return row ? toLease(row) : undefined;
  }

  /**
   * Extends this holder's lease by `ttlMs` from now; returns it, or undefined when another holder has taken it over
   * (the work it guarded must stop). A lease that expired but was not taken is still this holder's and is renewed.
   */
  async renew(name: string, ttlMs: number): Promise<Lease | undefined> {
    const t = this.clock();
    const row = await this.db.one<LeaseRow>(
      `WITH clock AS (SELECT ${t.sql} AS t)
       UPDATE leases SET expires_at = (SELECT t FROM clock) + CAST(? AS BIGINT)
       WHERE name = ? AND holder = ?
       RETURNING name, holder, fence, acquired_at, expires_at`,
      [...t.params, Math.round(ttlMs), name, this.holder],
    );
    return row ? toLease(row) : undefined;
  }

  /** Gives a lease back at once, so another replica need not wait for it to expire; returns whether it was held. */
  async release(name: string): Promise<boolean> {
    return (await this.db.run('DELETE FROM leases WHERE name = ? AND holder = ?', [name, this.holder])).changes > 0;
  }

  /** Gives back every lease of this holder whose name starts with `prefix` (all of them without one); returns how many. */
  async releaseAll(prefix = ''): Promise<number> {
    return (await this.db.run('DELETE FROM leases WHERE holder = ? AND substr(name, 1, ?) = ?', [this.holder, prefix.length, prefix])).changes;
  }

  /** Returns whether this holder's lease on `name` runs with this fence (a takeover since would have bumped it). */
  async holds(name: string, fence: number): Promise<boolean> {
    const t = this.clock();
    const row = await this.db.one<{ ok: number }>(
      `SELECT 1 AS ok FROM leases WHERE name = ? AND holder = ? AND fence = ? AND expires_at > ${t.sql}`,
      [name, this.holder, fence, ...t.params],
    );
    return row !== undefined;
  }

  /**
   * Runs `work` while holding the lease `name`, renewed every third of `ttlMs` so that it outlives slow work but
   * expires within `ttlMs` of this replica dying; gives the lease back when `work` settles. Returns `{ held: false }`
   * without running `work` when another holder has the lease. `work` is told through its signal when the lease was
   * taken over meanwhile (this replica stalled past its expiry), so it can stop before writing.
   */
  async hold<T>(name: string, ttlMs: number, work: (lost: AbortSignal) => Promise<T>): Promise<{ held: true; result: T } | { held: false }> {
    const lease = await this.acquire(name, ttlMs);
    if (!lease) return { held: false };
    const lost = new AbortController();
    let renewing: Promise<unknown> = Promise.resolve();
    const timer = setInterval(() => {
      renewing = this.renew(name, ttlMs).then(
        (renewed) => {
          if (!renewed || renewed.fence !== lease.fence) lost.abort(new Error(`lease ${name} was taken over`));
        },
        () => {},
      );
    }, Math.max(1, Math.floor(ttlMs / 3)));
    timer.unref();
    try {
      return { held: true, result: await work(lost.signal) };
    } finally {
      clearInterval(timer);
      await renewing;
      if (!lost.signal.aborted) await this.release(name).catch(() => false);
    }
  }

  /** Returns the unexpired leases whose names start with `prefix`, by name: who does what now. */
  async list(prefix = ''): Promise<Lease[]> {
    const t = this.clock();
    const rows = await this.db.query<LeaseRow>(
      `SELECT name, holder, fence, acquired_at, expires_at FROM leases WHERE substr(name, 1, ?) = ? AND expires_at > ${t.sql} ORDER BY name`,
      [prefix.length, prefix, ...t.params],
    );
    return rows.map(toLease);
  }
}

import pg from 'pg';

/**
 * Which replica runs each Discord gateway shard, on PostgreSQL: one session-level advisory lock per shard, all held on
 * one connection of their own. The lock lives exactly as long as that connection, so a replica that dies (kill -9, a
 * crash, a network cut) frees its shards the moment PostgreSQL sees the connection go, with no expiry to wait for, and
 * a replica that lost the connection knows at once that its shards are no longer its own. Beside the locks, a row per
 * shard keeps who ran it last and its gateway session (id, sequence, resume URL), written only by the lock's holder,
 * so the replica that takes a shard over can resume that session and receive what Discord sent meanwhile.
 *
 * Shard ids mean nothing across counts (shard 1 of 2 is half of shard 0 of 1's servers), so replicas of different
 * counts must never run shards at once: each replica holds a shared lock on its count for as long as its connection
 * lives, and takes it (under a short gate lock, so two counts cannot both see the other absent) only while no other
 * count's lock is held; until then it claims nothing and says which counts and replicas it waits for.
 */

/** Replicas of another shard count that run (or stand by for) shards now: this replica claims none until they stop. */
export interface CountConflict {
  /** The other counts whose locks are held. */
  counts: number[];
  /** Their replicas (REPLICA_ID, from the lock connections' application_name; `pid N` when unreadable). */
  replicas: string[];
}

/** A gateway session as stored for the next holder of its shard. */
export interface StoredShardSession {
  sessionId: string;
  /** The last sequence number whose events were all handled: a resume replays everything after it. */
  sequence: number;
  resumeUrl: string;
  /** The bot user from the session's READY (a resumed session gets no READY of its own). */
  botUser?: Record<string, unknown>;
}

/** What the table says about one shard: who claimed it last, and its session when it has one. */
export interface ShardRecord {
  shard: number;
  holder?: string;
  session?: StoredShardSession;
}

/** How the locks connect. */
export interface ShardLockOptions {
  /** DATABASE_URL. */
  url: string;
  /** Schema of the tables (and the lock namespace), default the connection's search_path. */
  schema?: string;
  /** REPLICA_ID: recorded as the holder of the shards this replica claims. */
  replicaId: string;
  /** Shards across the fleet; rows are per (count, id), and a replica waits while one of another count holds its count. */
  shardCount: number;
  /**
   * How long a statement on the lock connection may take (default 3 s) before the connection is given up, with its
   * shards: far below the minutes TCP keepalive takes to notice a silently cut connection, during which PostgreSQL
   * may have freed the locks (its side ended) and another replica taken the shards.
   */
  queryTimeoutMs?: number;
}

interface ShardRow {
  shard_id: number;
  holder: string | null;
  session_id: string | null;
  sequence: string | number | null;
  resume_url: string | null;
  bot_user: Record<string, unknown> | null;
}

/** The lock namespace: advisory locks are per database, so tests in schemas of their own must not share keys. */
const LOCK_KEY = `hashtext(current_schema() || ':discord-shard')`;
/** Shared per count, held by every replica that may run shards of that count. */
const COUNT_KEY = `hashtext(current_schema() || ':discord-shard-count')`;
/** Taken for one transaction around reading the other counts and taking this one's. */
const GATE_KEY = `hashtext(current_schema() || ':discord-shard-gate')`;
/** Advisory locks of this database on the two-int4 keys of a namespace, as pg_locks shows them. */
const ADVISORY = (key: string) =>
  `l.locktype = 'advisory' AND l.granted AND l.objsubid = 2 AND l.classid = (${key})::oid
   AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())`;

/** Shard locks of one replica over one dedicated PostgreSQL connection (reopened on the next claim after a loss). */
export class PgShardLocks {
  private client?: pg.Client;
  private connecting?: Promise<pg.Client>;
  private readonly mine = new Set<number>();
  private readonly listeners = new Set<(shards: number[], error?: Error) => void>();
  private closed = false;
  /** Whether this connection holds its count's shared lock (lost with the connection). */
  private countHeld = false;
  private conflict?: CountConflict;
  /** Gives up the current connection and reports its shards lost. */
  private abandon?: (error: Error) => void;
  /** Queries on the lock connection, one at a time (pg's client does not take a query while one runs). */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: ShardLockOptions) {}

  /** The shards this replica holds now. */
  held(): number[] {
    return [...this.mine].sort((a, b) => a - b);
  }

  /** Calls `listener` with the shards this replica held when its lock connection is lost; returns how to stop. */
  onLost(listener: (shards: number[], error?: Error) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The other counts seen at the last claim, while they keep this replica from claiming; undefined otherwise. */
  countConflict(): CountConflict | undefined {
    return this.conflict;
  }

  /** Returns the shards among `shards` this replica now holds (already held ones included); the rest run elsewhere. */
  async tryClaim(shards: readonly number[]): Promise<number[]> {
    const wanted = shards.filter((s) => !this.mine.has(s));
    // No shard lock without the count's: it was taken first on this connection, and goes with it.
    if (wanted.length && (await this.joinCount())) {
      const { rows } = await this.query<{ s: number }>(
        `SELECT s FROM unnest($1::int[]) AS s WHERE pg_try_advisory_lock(${LOCK_KEY}, s)`,
        [wanted],
      );
      const won = rows.map((r) => Number(r.s));
      for (const s of won) this.mine.add(s);
      if (won.length) {
        await this.query(
          `INSERT INTO discord_shards (shard_count, shard_id, holder, claimed_at, updated_at)
           SELECT $1, s, $2, $3, $3 FROM unnest($4::int[]) AS s
           ON CONFLICT (shard_count, shard_id) DO UPDATE SET holder = excluded.holder, claimed_at = excluded.claimed_at, updated_at = excluded.updated_at`,
          [this.options.shardCount, this.options.replicaId, Date.now(), won],
        );
      }
    }
    return shards.filter((s) => this.mine.has(s));
  }

  /** Takes this count's shared lock unless another count's is held; returns whether this replica may claim shards. */
  private async joinCount(): Promise<boolean> {
    if (this.countHeld) return true;
    const count = this.options.shardCount;
    const others = await this.run(async (client) => {
      await client.query('BEGIN');
      try {
        await client.query(`SELECT pg_advisory_xact_lock(${GATE_KEY}, 0)`);
        const { rows } = await client.query<{ count: string; pid: number; app: string | null }>(
          `SELECT l.objid::bigint AS count, l.pid, a.application_name AS app FROM pg_locks l
           LEFT JOIN pg_stat_activity a ON a.pid = l.pid
           WHERE ${ADVISORY(COUNT_KEY)} AND l.objid::bigint <> $1`,
          [count],
        );
        if (rows.length === 0) await client.query(`SELECT pg_advisory_lock_shared(${COUNT_KEY}, $1)`, [count]);
        await client.query('COMMIT');
        return rows;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      }
    });
    if (others.length === 0) {
      this.countHeld = true;
      this.conflict = undefined;
      return true;
    }
    const replica = (r: { pid: number; app: string | null }) => /^incident-bot (.+) shard locks$/.exec(r.app ?? '')?.[1] ?? `pid ${r.pid}`;
    this.conflict = {
      counts: [...new Set(others.map((r) => Number(r.count)))].sort((a, b) => a - b),
      replicas: [...new Set(others.map(replica))].sort(),
    };
    return false;
  }

  /** Gives a shard back (its row keeps the session, for whoever takes it next). */
  async release(shard: number): Promise<void> {
    if (!this.mine.delete(shard) || !this.client) return;
    await this.query(`SELECT pg_advisory_unlock(${LOCK_KEY}, $1)`, [shard], this.client).catch(() => undefined);
  }

  /** Returns every shard's row of this count: who claimed it last and its stored session. */
  async records(): Promise<Map<number, ShardRecord>> {
    const { rows } = await this.query<ShardRow>(
      'SELECT shard_id, holder, session_id, sequence, resume_url, bot_user FROM discord_shards WHERE shard_count = $1',
      [this.options.shardCount],
    );
    return new Map(
      rows.map((r) => [
        r.shard_id,
        {
          shard: r.shard_id,
          ...(r.holder ? { holder: r.holder } : {}),
          ...(r.session_id && r.resume_url && r.sequence !== null
            ? { session: { sessionId: r.session_id, sequence: Number(r.sequence), resumeUrl: r.resume_url, ...(r.bot_user ? { botUser: r.bot_user } : {}) } }
            : {}),
        },
      ]),
    );
  }

  /**
   * Stores a held shard's session (undefined: it has none to resume); returns false, storing nothing, when this
   * connection does not hold the shard's lock (it was lost: the new holder's session must not be overwritten).
   */
  async saveSession(shard: number, session: StoredShardSession | undefined): Promise<boolean> {
    if (!this.mine.has(shard) || !this.client) return false;
    // Written on the lock's own connection and only while its lock shows in pg_locks for this backend: a write queued
    // before the connection died fails with it rather than landing after another replica took the shard.
    const result = await this.query(
      `UPDATE discord_shards SET session_id = $3, sequence = $4, resume_url = $5, bot_user = $6, updated_at = $7
       WHERE shard_count = $1 AND shard_id = $2
         AND EXISTS (SELECT 1 FROM pg_locks l WHERE ${ADVISORY(LOCK_KEY)} AND l.pid = pg_backend_pid() AND l.objid = $2)`,
      [
        this.options.shardCount,
        shard,
        session?.sessionId ?? null,
        session?.sequence ?? null,
        session?.resumeUrl ?? null,
        session?.botUser ? JSON.stringify(session.botUser) : null,
        Date.now(),
      ],
      this.client,
    );
    return (result.rowCount ?? 0) > 0;
  }

  /** The server process of the lock connection (tests end it to play a replica losing its connection). */
  async backendPid(): Promise<number> {
    const { rows } = await this.query<{ pid: number }>('SELECT pg_backend_pid() AS pid', []);
    return rows[0]!.pid;
  }

  /** Ends the lock connection, which releases every shard at once (safe to call twice). */
  async close(): Promise<void> {
    this.closed = true;
    this.mine.clear();
    this.countHeld = false;
    const client = this.client;
    this.client = undefined;
    // A dead peer would keep end() waiting for its answer.
    await bounded(client?.end().catch(() => undefined), this.timeoutMs);
  }

  /** Runs a statement on the lock connection after the ones before it. */
  private query<R extends pg.QueryResultRow>(sql: string, params: unknown[], client?: pg.Client): Promise<pg.QueryResult<R>> {
    return this.run((c) => c.query<R>(sql, params), client);
  }

  /** Runs `work` on the lock connection after what was queued before it, with nothing else in between. */
  private run<T>(work: (client: pg.Client) => Promise<T>, client?: pg.Client): Promise<T> {
    const next = this.queue.then(async () => {
      const c = client ?? (await this.connection());
      try {
        return await work(c);
      } catch (error) {
        // A statement that failed or overran leaves it unknown whether PostgreSQL still counts this connection's
        // locks: give the connection up (its shards stop now) and start over on a new one.
        if (c === this.client) this.abandon?.(error as Error);
        throw error;
      }
    });
    this.queue = next.catch(() => undefined);
    return next;
  }

  private connection(): Promise<pg.Client> {
    if (this.closed) return Promise.reject(new Error('shard locks closed'));
    if (this.client) return Promise.resolve(this.client);
    return (this.connecting ??= this.open().finally(() => (this.connecting = undefined)));
  }

  private async open(): Promise<pg.Client> {
    const client = new pg.Client({
      connectionString: this.options.url,
      application_name: `incident-bot ${this.options.replicaId} shard locks`.slice(0, 63),
      // A dead server must be noticed: without keepalive a silent network cut would leave this replica running shards
      // whose locks PostgreSQL already gave away.
      keepAlive: true,
      keepAliveInitialDelayMillis: 5_000,
      // Keepalive alone takes minutes; a tick queries every half second, so a cut is noticed within this bound. The
      // server cancels a slow statement a little earlier, so a merely slow server answers with an error.
      connectionTimeoutMillis: this.timeoutMs,
      query_timeout: this.timeoutMs,
      statement_timeout: Math.max(1, Math.round(this.timeoutMs * 0.8)),
      ...(this.options.schema ? { options: `-c search_path=${this.options.schema}` } : {}),
    });
    let lost = false;
    const onLost = (error?: Error) => {
      if (lost) return;
      lost = true;
      if (this.client === client) {
        this.client = undefined;
        this.countHeld = false;
      }
      const shards = this.held();
      this.mine.clear();
      if (this.closed) return;
      for (const listener of this.listeners) listener(shards, error);
    };
    client.on('error', (error) => onLost(error));
    client.on('end', () => onLost(new Error('shard lock connection ended')));
    await client.connect();
    this.client = client;
    this.abandon = (error) => {
      onLost(new Error(`shard lock connection given up: ${error.message}`));
      void client.end().catch(() => undefined);
    };
    return client;
  }

  private get timeoutMs(): number {
    return this.options.queryTimeoutMs ?? 3_000;
  }
}

/** Waits for `promise`, at most `ms`. */
function bounded(promise: Promise<unknown> | undefined, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([promise, new Promise((resolve) => (timer = setTimeout(resolve, ms)))]).then(() => clearTimeout(timer));
}

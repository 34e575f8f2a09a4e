import { randomUUID } from 'node:crypto';
import type { Db } from '../db.js';
import { insertRows } from './sql.js';

/** Outbox row kinds: one post, a digest of folded posts, or a plain notice (feed failing / recovered). */
export type OutboxKind = 'alert' | 'digest' | 'notice';
/** Outbox row states; `sending` is written before the platform call so a crash mid-send can be resolved. */
export type OutboxStatus = 'pending' | 'sending' | 'sent' | 'failed' | 'folded';

/** One outbox row. */
export interface OutboxRow {
  id: number;
  subscriptionId: number;
  platform: 'discord' | 'slack';
  channelId: string;
  postId: string | null;
  incidentId: string | null;
  kind: OutboxKind;
  status: OutboxStatus;
  text: string | null;
  roleId: string | null;
  attempts: number;
  nextAttemptAt: number;
  idempotencyKey: string;
  messageId: string | null;
  threadOf: string | null;
  digestId: number | null;
  error: string | null;
  createdAt: number;
  sentAt: number | null;
  /** When the row was last claimed for sending: a message it posted is no older (null for rows claimed before this was kept). */
  claimedAt: number | null;
  /** How many times checking this claim's interrupted send could not tell whether it was posted. */
  recoveryChecks: number;
  /** The token of the row's latest claim (null before any): only that claim's sender may mark it sent. */
  claimToken: string | null;
}

/** What a new outbox row needs; the idempotency key is generated. */
export interface OutboxInput {
  subscriptionId: number;
  platform: 'discord' | 'slack';
  channelId: string;
  postId?: string;
  incidentId?: string;
  kind: OutboxKind;
  text?: string;
  roleId?: string;
  nextAttemptAt: number;
  createdAt: number;
}

/** Who claims a row and for how long (PostgreSQL: another replica may claim it again once the lease ran out). */
export interface OutboxLease {
  holder: string;
  ms: number;
  now: number;
}

/** Returns a fresh idempotency key: 24 hex characters (92 random bits), under Discord's 25-character nonce limit. */
export function newIdempotencyKey(): string {
  // randomUUID draws from a cached entropy pool: a 15,000-alert poll pays microseconds, not a syscall per key.
  const u = randomUUID().replace(/-/g, '');
  return u.slice(0, 12) + u.slice(13, 25);
}

type Raw = Record<string, unknown>;

/** The alert outbox (what each channel is owed, and how far its delivery got) and the alert threads per channel. */
export class OutboxRepo {
  constructor(private readonly db: Db) {}

  /** Queues a row unless one exists for the same (subscription, post) or (channel, post); returns the new id or undefined. */
  async enqueue(input: OutboxInput): Promise<number | undefined> {
    const { changes, lastId } = await this.db.run(
      `INSERT INTO outbox (subscription_id, platform, channel_id, post_id, incident_id, kind, status, text, role_id,
         next_attempt_at, idempotency_key, created_at)
       VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?, ?)
       ON CONFLICT DO NOTHING RETURNING id`,
      [
        input.subscriptionId,
        input.platform,
        input.channelId,
        input.postId ?? null,
        input.incidentId ?? null,
        input.kind,
        input.text ?? null,
        input.roleId ?? null,
        input.nextAttemptAt,
        newIdempotencyKey(),
        input.createdAt,
      ],
    );
    return changes > 0 ? lastId : undefined;
  }

  /**
   * Queues rows as enqueue does, several per statement (one round trip per few hundred rows on PostgreSQL); returns
   * how many were new.
   */
  async enqueueMany(inputs: readonly OutboxInput[]): Promise<number> {
    return insertRows(
      this.db,
      `INSERT INTO outbox (subscription_id, platform, channel_id, post_id, incident_id, kind, status, text, role_id,
         next_attempt_at, idempotency_key, created_at)`,
      inputs.map((i) => [i.subscriptionId, i.platform, i.channelId, i.postId ?? null, i.incidentId ?? null, i.kind, 'pending', i.text ?? null, i.roleId ?? null, i.nextAttemptAt, newIdempotencyKey(), i.createdAt]),
      'ON CONFLICT DO NOTHING',
    );
  }

  /** One outbox row, or undefined. */
  async get(id: number): Promise<OutboxRow | undefined> {
    const r = await this.db.one<Raw>('SELECT * FROM outbox WHERE id = ?', [id]);
    return r ? toOutbox(r) : undefined;
  }

  /** Pending rows due at `now`, oldest due first. */
  async due(now: number, limit = 500): Promise<OutboxRow[]> {
    const rows = await this.db.query<Raw>("SELECT * FROM outbox WHERE status = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?", [now, limit]);
    return rows.map(toOutbox);
  }

  /** Rows in one state, by id. */
  async byStatus(status: OutboxStatus): Promise<OutboxRow[]> {
    return (await this.db.query<Raw>('SELECT * FROM outbox WHERE status = ? ORDER BY id', [status])).map(toOutbox);
  }

  /** When the next pending row is due, or undefined when none is pending. */
  async nextDue(): Promise<number | undefined> {
    return (await this.db.one<{ at: number | null }>("SELECT min(next_attempt_at) AS at FROM outbox WHERE status = 'pending'"))?.at ?? undefined;
  }

  /**
   * Claims a pending row for sending (status `sending`, with its thread parent); returns the claim's token, or
   * undefined when another worker took it. The one place rows are claimed: the conditional update lets exactly one
   * claimant win, on SQLite and, under PostgreSQL's row locks, across replicas; there the claim also records the holder
   * and its lease. The token is fresh per claim, so a sender whose row was put back and claimed again cannot mark the
   * new claim sent.
   */
  async claim(id: number, threadOf: string | null, lease?: OutboxLease, at: number = lease?.now ?? Date.now()): Promise<string | undefined> {
    const token = newIdempotencyKey();
    if (this.db.kind === 'postgres' && lease) {
      const r = await this.db.run(
        // SKIP LOCKED: a row another replica is claiming right now is passed over, not waited for.
        `UPDATE outbox SET status = 'sending', thread_of = ?, lease_holder = ?, lease_until = ?, claimed_at = ?, recovery_checks = 0, claim_token = ?
           WHERE id = (SELECT id FROM outbox WHERE id = ? AND status = 'pending' FOR UPDATE SKIP LOCKED)`,
        [threadOf, lease.holder, lease.now + lease.ms, at, token, id],
      );
      return r.changes > 0 ? token : undefined;
    }
    const r = await this.db.run(
      "UPDATE outbox SET status = 'sending', thread_of = ?, claimed_at = ?, recovery_checks = 0, claim_token = ? WHERE id = ? AND status = 'pending'",
      [threadOf, at, token, id],
    );
    return r.changes > 0 ? token : undefined;
  }

  /**
   * Extends the lease of rows this holder is sending (PostgreSQL) to `lease.now + lease.ms`; returns the ids it still
   * held (a row missing was put back by another replica: its sender must not send it), or undefined where rows have no
   * leases (SQLite, one process). A send may outlast its lease (a slow platform, a stalled process): renewed while it
   * runs, its row is never taken for an interrupted one by another replica.
   */
  async renewLeases(ids: readonly number[], lease: OutboxLease): Promise<number[] | undefined> {
    if (this.db.kind !== 'postgres') return undefined;
    if (ids.length === 0) return [];
    const rows = await this.db.query<{ id: number }>(
      "UPDATE outbox SET lease_until = ? WHERE status = 'sending' AND lease_holder = ? AND id IN (SELECT (jsonb_array_elements_text(?::jsonb))::bigint) RETURNING id",
      [lease.now + lease.ms, lease.holder, JSON.stringify(ids)],
    );
    return rows.map((r) => Number(r.id));
  }

  /**
   * Rows left `sending` whose sender may be gone: on PostgreSQL those claimed without a lease or whose lease ran out by
   * `now` (a live sender renews its lease); on SQLite, one process, every `sending` row (the caller skips its own).
   */
  async interrupted(now: number): Promise<OutboxRow[]> {
    if (this.db.kind !== 'postgres') return this.byStatus('sending');
    const rows = await this.db.query<Raw>("SELECT * FROM outbox WHERE status = 'sending' AND (lease_until IS NULL OR lease_until <= ?) ORDER BY id", [now]);
    return rows.map(toOutbox);
  }

  /**
   * Marks a row sent (and its folded rows, for a digest) and remembers the incident's first alert in the channel. Only
   * the claim `row.claimToken` names: the row `sending` under it, or `pending` again (its lease ran out and another
   * replica put it back, but this send went through: marking it sent keeps it from going out twice). A row claimed
   * again since is another sender's, and marking it sent would not stop that send. Returns false when it was neither.
   */
  markSent(row: OutboxRow, messageId: string, now: number): Promise<boolean> {
    return this.db.transaction(async () => {
      const changed =
        (
          await this.db.run(
            "UPDATE outbox SET status = 'sent', message_id = ?, sent_at = ?, error = NULL WHERE id = ? AND status IN ('sending', 'pending') AND COALESCE(claim_token, '') = ?",
            [messageId, now, row.id, row.claimToken ?? ''],
          )
        ).changes > 0;
      if (!changed) return row.kind === 'alert' && this.unfoldSent(row, messageId, now);
      if (row.kind === 'digest') await this.db.run("UPDATE outbox SET sent_at = ? WHERE digest_id = ? AND status = 'folded'", [now, row.id]);
      if (row.kind === 'alert') await this.rememberThread(row, messageId, now);
      return true;
    });
  }

  /**
   * The late send of a row that was put back and then folded into a digest: marks it sent and takes it out of the
   * digest while the digest is still pending (locked, so it cannot be claimed meanwhile; its sender reads the folded rows
   * again after claiming). A digest already claimed carries it: both went out. Returns whether it did.
   */
  private async unfoldSent(row: OutboxRow, messageId: string, now: number): Promise<boolean> {
    const lock = this.db.kind === 'postgres' ? ' FOR UPDATE' : '';
    const folded = await this.db.one<{ digest_id: number }>(`SELECT digest_id FROM outbox WHERE id = ? AND status = 'folded' AND COALESCE(claim_token, '') = ?${lock}`, [row.id, row.claimToken ?? '']);
    if (!folded?.digest_id) return false;
    if (!(await this.db.one(`SELECT id FROM outbox WHERE id = ? AND status = 'pending'${lock}`, [folded.digest_id]))) return false;
    await this.db.run("UPDATE outbox SET status = 'sent', message_id = ?, sent_at = ?, digest_id = NULL, error = NULL WHERE id = ? AND status = 'folded'", [messageId, now, row.id]);
    await this.rememberThread(row, messageId, now);
    return true;
  }

  /** Remembers a sent alert as its incident's first in the channel (the thread later alerts about it answer). */
  private async rememberThread(row: OutboxRow, messageId: string, now: number): Promise<void> {
    if (!row.incidentId) return;
    await this.db.run(
      'INSERT INTO alert_threads (platform, channel_id, incident_id, message_id, created_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING',
      [row.platform, row.channelId, row.incidentId, messageId, now],
    );
  }

  /** Puts a row back to pending for another attempt at `at`; with `claimToken`, only while it is `sending` under that claim. */
  async markRetry(id: number, at: number, error: string, claimToken?: string): Promise<void> {
    const mine = claimToken === undefined ? '' : " AND status = 'sending' AND COALESCE(claim_token, '') = ?";
    await this.db.run(`UPDATE outbox SET status = 'pending', attempts = attempts + 1, next_attempt_at = ?, error = ? WHERE id = ?${mine}`, [at, error, id, ...(claimToken === undefined ? [] : [claimToken])]);
  }

  /**
   * Puts a `sending` row back to pending without counting an attempt (an interrupted send found not delivered); on
   * PostgreSQL only while its lease is still out at `at` (its sender may have renewed it meanwhile). Returns whether it did.
   */
  async requeue(id: number, at: number): Promise<boolean> {
    const leaseOut = this.db.kind === 'postgres' ? ' AND (lease_until IS NULL OR lease_until <= ?)' : '';
    const params = this.db.kind === 'postgres' ? [at, id, at] : [at, id];
    return (await this.db.run(`UPDATE outbox SET status = 'pending', next_attempt_at = ? WHERE id = ? AND status = 'sending'${leaseOut}`, params)).changes > 0;
  }

  /**
   * Records that checking an interrupted send could not tell whether it was posted, and puts the next check off until
   * `next` (the row stays `sending`); returns whether the row was still `sending` under the claim checked.
   */
  async deferRecovery(row: Pick<OutboxRow, 'id' | 'claimToken'>, next: number, error: string): Promise<boolean> {
    return (
      await this.db.run("UPDATE outbox SET recovery_checks = recovery_checks + 1, next_attempt_at = ?, error = ? WHERE id = ? AND status = 'sending' AND COALESCE(claim_token, '') = ?", [
        next,
        error,
        row.id,
        row.claimToken ?? '',
      ])
    ).changes > 0;
  }

  /**
   * Puts back a row its sender gave up before sending (its lease was lost or could not be renewed), without counting
   * an attempt; only while it is still `sending` under that claim. Returns whether it did.
   */
  async release(id: number, claimToken: string, at: number): Promise<boolean> {
    return (await this.db.run("UPDATE outbox SET status = 'pending', next_attempt_at = ? WHERE id = ? AND status = 'sending' AND claim_token = ?", [at, id, claimToken])).changes > 0;
  }

  /** Marks a row failed for good; with `claimToken`, only while it is `sending` under that claim. */
  async markFailed(id: number, error: string, claimToken?: string): Promise<void> {
    const mine = claimToken === undefined ? '' : " AND status = 'sending' AND COALESCE(claim_token, '') = ?";
    await this.db.run(`UPDATE outbox SET status = 'failed', attempts = attempts + 1, error = ? WHERE id = ?${mine}`, [error, id, ...(claimToken === undefined ? [] : [claimToken])]);
  }

  /** Folds pending alert rows into a digest row (the channel's pending digest, or a new one); returns the digest id. */
  async foldIntoDigest(rows: readonly OutboxRow[], now: number): Promise<number | undefined> {
    if (rows.length === 0) return undefined;
    const first = rows[0]!;
    return this.db.transaction(async () => {
      let digestId = (
        await this.db.one<{ id: number }>(
          "SELECT id FROM outbox WHERE platform = ? AND channel_id = ? AND kind = 'digest' AND status = 'pending' ORDER BY id LIMIT 1",
          [first.platform, first.channelId],
        )
      )?.id;
      digestId ??= await this.enqueue({
        subscriptionId: first.subscriptionId,
        platform: first.platform,
        channelId: first.channelId,
        kind: 'digest',
        roleId: rows.find((r) => r.roleId)?.roleId ?? undefined,
        nextAttemptAt: now,
        createdAt: now,
      });
      for (const r of rows) await this.db.run("UPDATE outbox SET status = 'folded', digest_id = ? WHERE id = ? AND status = 'pending'", [digestId!, r.id]);
      return digestId;
    });
  }

  /** The rows a digest carries. */
  async foldedInto(digestId: number): Promise<OutboxRow[]> {
    return (await this.db.query<Raw>("SELECT * FROM outbox WHERE digest_id = ? AND status = 'folded' ORDER BY id", [digestId])).map(toOutbox);
  }

  /** Alerts of a channel that were sent since `since` or are being sent now (individually or in a digest). */
  async recentAlertCount(platform: string, channelId: string, since: number): Promise<number> {
    const r = await this.db.one<{ n: number }>(
      `SELECT count(*) AS n FROM outbox WHERE platform = ? AND channel_id = ? AND kind = 'alert'
         AND (status = 'sending' OR (status = 'sent' AND sent_at >= ?))`,
      [platform, channelId, since],
    );
    return r!.n;
  }

  /** Row counts by status and kind (for status output and tests). */
  async counts(): Promise<{ status: OutboxStatus; kind: OutboxKind; n: number }[]> {
    return this.db.query<{ status: OutboxStatus; kind: OutboxKind; n: number }>('SELECT status, kind, count(*) AS n FROM outbox GROUP BY status, kind');
  }

  /** Rows waiting to be delivered (pending or being sent), per platform, with the creation time of the oldest. */
  async backlog(): Promise<{ platform: string; depth: number; oldestCreatedAt: number }[]> {
    const rows = await this.db.query<{ platform: string; n: number; oldest: number }>(
      "SELECT platform, count(*) AS n, min(created_at) AS oldest FROM outbox WHERE status IN ('pending', 'sending') GROUP BY platform ORDER BY platform",
    );
    return rows.map((r) => ({ platform: r.platform, depth: r.n, oldestCreatedAt: r.oldest }));
  }

  /** The message id of the first alert about an incident in a channel, or undefined. */
  async threadOf(platform: string, channelId: string, incidentId: string): Promise<string | undefined> {
    return (await this.db.one<{ message_id: string }>('SELECT message_id FROM alert_threads WHERE platform = ? AND channel_id = ? AND incident_id = ?', [platform, channelId, incidentId]))
      ?.message_id;
  }
}

function toOutbox(r: Raw): OutboxRow {
  return {
    id: r.id as number,
    subscriptionId: r.subscription_id as number,
    platform: r.platform as 'discord' | 'slack',
    channelId: r.channel_id as string,
    postId: r.post_id as string | null,
    incidentId: r.incident_id as string | null,
    kind: r.kind as OutboxKind,
    status: r.status as OutboxStatus,
    text: r.text as string | null,
    roleId: r.role_id as string | null,
    attempts: r.attempts as number,
    nextAttemptAt: r.next_attempt_at as number,
    idempotencyKey: r.idempotency_key as string,
    messageId: r.message_id as string | null,
    threadOf: r.thread_of as string | null,
    digestId: r.digest_id as number | null,
    error: r.error as string | null,
    createdAt: r.created_at as number,
    sentAt: r.sent_at as number | null,
    claimedAt: (r.claimed_at as number | null) ?? null,
    recoveryChecks: (r.recovery_checks as number | null) ?? 0,
    claimToken: (r.claim_token as string | null) ?? null,
  };
}

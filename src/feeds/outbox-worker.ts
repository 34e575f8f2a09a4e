import { truncateWords } from '../core/text.js';
import type { Logger } from '../logger.js';
import type { OutboxRow } from '../store/repos/outbox.js';
import type { Storage } from '../store/storage.js';
import { feedLabel } from './pipeline.js';
import { AlertSendError, type AlertPost, type AlertSender, type AlertTarget, type OutgoingMessage } from './types.js';
import { createRunLoop } from './run-loop.js';
import { channelLeaseKey, createSendLeases } from './outbox-leases.js';
import type { ChannelGate } from '../store/replica-gates.js';

/** Slack allows about one message per second per channel (chat.postMessage, "Rate limits": special tier). */
export const SLACK_MIN_INTERVAL_MS = 1000;
/** More alerts than this for one channel within FOLD_WINDOW_MS are folded into one digest message. */
export const FOLD_THRESHOLD = 10;
/** The window FOLD_THRESHOLD counts over (10 minutes). */
export const FOLD_WINDOW_MS = 10 * 60_000;
/** First retry delay after a retryable failure; doubles per attempt up to RETRY_MAX_MS. */
export const RETRY_BASE_MS = 5_000;
/** Longest wait between two attempts. */
export const RETRY_MAX_MS = 15 * 60_000;
/** Attempts before a row is given up as failed (about four hours of backoff). */
export const MAX_ATTEMPTS = 20;
/**
 * Checks of an interrupted send that may fail to tell whether it was posted before it is sent again. Each check can
 * cost up to 25 conversations.history calls, a method Slack limits to 1 a minute for apps outside the Marketplace, so
 * the checks are spaced out with the retry backoff (or the platform's Retry-After) and then stop.
 */
export const MAX_RECOVERY_CHECKS = 5;
/** Longest summary an alert carries: an alert is read at a glance; the link has the rest. */
export const ALERT_SUMMARY_CHARS = 400;

/** Options for createOutboxWorker. */
export interface OutboxWorkerOptions {
  storage: Storage;
  /** This replica's name, recorded with each row it claims (PostgreSQL: with a lease of `leaseMs`). */
  holder?: string;
  /**
   * How long a claimed row stays this replica's without renewal (PostgreSQL; default 30 s, the channel leases' length).
   * The lease, with those of the channels being sent to, is renewed every third of it while the send runs, so a
   * slow send keeps its row, and a dead replica's rows are taken for interrupted within this time.
   */
  leaseMs?: number;
  /** One sender per platform; rows for a platform without a sender wait. */
  senders: readonly AlertSender[];
  logger?: Logger;
  /** Clock (epoch milliseconds). */
  now?: () => number;
  slackMinIntervalMs?: number;
  foldThreshold?: number;
  foldWindowMs?: number;
  retryBaseMs?: number;
  retryMaxMs?: number;
  maxAttempts?: number;
  /** Failed checks of an interrupted send before it is sent again (default MAX_RECOVERY_CHECKS). */
  maxRecoveryChecks?: number;
  /** Sends in flight at once (different channels; one channel never has two). */
  maxConcurrent?: number;
  /** Longest sleep of the loop between two looks at the outbox. */
  idleMs?: number;
  /** Told the outcome of every send attempt (metrics); optional. */
  observer?: DeliveryObserver;
  /** Several replicas on one database: each channel's alerts are delivered by the replica holding its lease. */
  channels?: ChannelGate;
}

/** What a send attempt came to: delivered, to be tried again, or given up. */
export type DeliveryOutcome = 'sent' | 'retry' | 'failed';

/** What watches deliveries from outside (metrics): called once per attempt, after its row is updated; must not throw. */
export interface DeliveryObserver {
  delivered(platform: string, outcome: DeliveryOutcome): void;
}

/** The delivery loop: sends due outbox rows exactly once per (channel, post), surviving crashes. */
export interface OutboxWorker {
  /** Resolves rows left `sending` by a crash, then keeps delivering until stop(). */
  start(): Promise<void>;
  /** Stops the loop and waits for sends in flight. */
  stop(): Promise<void>;
  /** Wakes the loop now (new rows were queued). */
  kick(): void;
  /** Resolves interrupted sends (rows `sending` that this process is not sending); returns how many were resolved. */
  recover(): Promise<number>;
  /** One round: recovery, folding, then at most one send per eligible channel; returns the rows it sent. */
  runOnce(): Promise<number>;
  /** Runs rounds until nothing is due or `timeoutMs` passes (tests); returns the rows sent. */
  drain(timeoutMs?: number): Promise<number>;
  /** Adds (or replaces) the sender of a platform, e.g. once its adapter exists; its waiting rows go out at the next round. */
  addSender(sender: AlertSender): void;
}

/** Returns an outbox worker over the store (not started). */
export function createOutboxWorker(options: OutboxWorkerOptions): OutboxWorker {
  const storage = options.storage;
  const leaseMs = options.leaseMs ?? 30_000;
  const now = options.now ?? Date.now;
  const log = options.logger;
  const senders = new Map(options.senders.map((s) => [s.platform, s]));
  const slackGap = options.slackMinIntervalMs ?? SLACK_MIN_INTERVAL_MS;
  const foldThreshold = options.foldThreshold ?? FOLD_THRESHOLD;
  const foldWindow = options.foldWindowMs ?? FOLD_WINDOW_MS;
  const retryBase = options.retryBaseMs ?? RETRY_BASE_MS;
  const retryMax = options.retryMaxMs ?? RETRY_MAX_MS;
  const maxAttempts = options.maxAttempts ?? MAX_ATTEMPTS;
  const maxRecoveryChecks = options.maxRecoveryChecks ?? MAX_RECOVERY_CHECKS;
  const maxConcurrent = options.maxConcurrent ?? 4;
  const idleMs = options.idleMs ?? 1000;

  /** A failing observer must never turn a delivered row into a retry (that would send it twice). */
  const observe = (platform: string, outcome: DeliveryOutcome) => {
    try {
      options.observer?.delivered(platform, outcome);
    } catch (err) {
      log?.warn({ err: (err as Error).message }, 'delivery observer failed');
    }
  };
  const inFlight = new Map<number, Promise<boolean>>();
  const sendLeases = createSendLeases({ storage, holder: options.holder, leaseMs, now, channels: options.channels, logger: log });
  const busyChannels = new Set<string>();
  /** Earliest time a channel may get its next message (Slack pacing, 429 Retry-After). */
  const heldUntil = new Map<string, number>();
  const warnedPlatforms = new Set<string>();
  let running: Promise<number> | undefined;

  const channelKey = (r: Pick<OutboxRow, 'platform' | 'channelId'>) => `${r.platform}\u0000${r.channelId}`;

  async function recover(ours: (row: OutboxRow) => boolean = () => true): Promise<number> {
    let resolved = 0;
    // Only rows whose lease ran out: a row another replica is still sending has its lease renewed.
    for (const row of await storage.outbox.interrupted(now())) {
      if (inFlight.has(row.id) || !ours(row)) continue;
      // A check that could not tell put the next one off (next_attempt_at is otherwise unused while a row is sending).
      if (row.recoveryChecks > 0 && row.nextAttemptAt > now()) continue;
      const sender = senders.get(row.platform);
      if (!sender) continue;
      try {
        // The message, if posted, is no older than the claim (a row may have waited in the queue for hours: searching
        // from then reads a busy channel's whole day), and a follow-up sits in the thread chosen at the claim.
        const near = { since: row.claimedAt ?? row.createdAt, ...(row.threadOf ? { threadOf: row.threadOf } : {}) };
        const found = await sender.findSent(row.channelId, row.idempotencyKey, await targetOf(row), near);
        if (found) {
          await storage.outbox.markSent(row, found.messageId, now());
          log?.info({ outbox: row.id, channel: row.channelId }, 'interrupted send had been delivered; marked sent');
        } else {
          // Not on the platform: send again with the same key, so a late copy of the first attempt is deduplicated.
          if (!(await storage.outbox.requeue(row.id, now()))) continue; // its sender renewed the lease meanwhile: alive
          log?.info({ outbox: row.id, channel: row.channelId }, 'interrupted send not delivered; sending again with the same key');
        }
        resolved++;
      } catch (err) {
        if (await unresolvable(row, err)) resolved++;
      }
    }
    return resolved;
  }

  /**
   * A check of an interrupted send failed (the platform could not tell, or refused): the next check waits like a
   * retry, and after maxRecoveryChecks the row is sent again. Sending again risks a duplicate (the key still lets
   * Discord's nonce or a later findSent catch it); giving up would lose the alert silently, and an alert about an
   * incident missed costs more than one read twice. Returns whether the row was put back to pending.
   */
  async function unresolvable(row: OutboxRow, err: unknown): Promise<boolean> {
    const message = (err as Error)?.message ?? String(err);
    const checks = row.recoveryChecks + 1;
    if (checks >= maxRecoveryChecks) {
      if (!(await storage.outbox.requeue(row.id, now()))) return false;
      log?.warn(
        { outbox: row.id, platform: row.platform, channel: row.channelId, checks, err: message },
        'cannot tell whether an interrupted send was posted; sending it again, a duplicate is possible',
      );
      return true;
    }
    const retryAfter = err instanceof AlertSendError ? (err.retryAfterMs ?? 0) : 0;
    const wait = Math.max(Math.min(retryMax, retryBase * 2 ** (checks - 1)), retryAfter);
    await storage.outbox.deferRecovery(row, now() + wait, message);
    log?.warn({ outbox: row.id, channel: row.channelId, checks, retryInMs: wait, err: message }, 'cannot check an interrupted send yet; will retry');
    return false;
  }

  /** Whose subscription a row serves (a sender for many workspaces picks that workspace's credentials). */
  async function targetOf(row: OutboxRow): Promise<AlertTarget | undefined> {
    const sub = await storage.subscriptions.get(row.subscriptionId);
    return sub ? { tenant: sub.tenant, ...(sub.workspaceId ? { workspaceId: sub.workspaceId } : {}) } : undefined;
  }

  async function fold(due: readonly OutboxRow[]): Promise<void> {
    const byChannel = new Map<string, OutboxRow[]>();
    for (const r of due) {
      if (r.kind !== 'alert') continue;
      const k = channelKey(r);
      byChannel.set(k, [...(byChannel.get(k) ?? []), r]);
    }
    const t = now();
    for (const rows of byChannel.values()) {
      const first = rows[0]!;
      const capacity = Math.max(0, foldThreshold - await storage.outbox.recentAlertCount(first.platform, first.channelId, t - foldWindow));
      if (rows.length <= capacity) continue;
      const extra = [...rows].sort((a, b) => a.id - b.id).slice(capacity);
      const digest = await storage.outbox.foldIntoDigest(extra, t);
      log?.info({ channel: first.channelId, folded: extra.length, digest }, 'alert burst folded into a digest');
    }
  }

  async function buildPost(postId: string): Promise<AlertPost | undefined> {
    const post = await storage.posts.get(postId);
    if (!post) return undefined;
    const feed = await storage.feeds.get(post.feedId);
    return {
      postId: post.id,
      incidentId: post.incidentId,
      title: post.title,
      url: post.url ?? undefined,
      source: feed ? feedLabel(feed) : 'feed',
      published: post.published ?? undefined,
      summary: truncateWords(post.summary, ALERT_SUMMARY_CHARS),
    };
  }

  /** Returns the message for a row and its thread parent, or a reason it cannot be sent. */
  async function messageFor(row: OutboxRow): Promise<{ message: OutgoingMessage; threadOf: string | null } | { error: string }> {
    if (row.kind === 'notice') return { message: { kind: 'notice', text: row.text ?? '' }, threadOf: null };
    if (row.kind === 'digest') {
      const posts: AlertPost[] = [];
      for (const r of await storage.outbox.foldedInto(row.id)) {
        const post = r.postId ? await buildPost(r.postId) : undefined;
        if (post) posts.push(post);
      }
      if (posts.length === 0) return { error: 'digest has no posts left' };
      return { message: { kind: 'digest', posts, roleId: row.roleId ?? undefined }, threadOf: null };
    }
    const post = row.postId ? await buildPost(row.postId) : undefined;
    if (!post) return { error: `post ${row.postId} is missing` };
    // Decided once, when the row goes to `sending`, so a resend after a crash uses the same parent.
    const threadOf = row.threadOf ?? (row.incidentId ? await storage.outbox.threadOf(row.platform, row.channelId, row.incidentId) : undefined) ?? null;
    return { message: { kind: 'alert', post, roleId: row.roleId ?? undefined, threadOf: threadOf ?? undefined }, threadOf };
  }

  async function deliver(row: OutboxRow, sender: AlertSender): Promise<boolean> {
    let built = await messageFor(row);
    if ('error' in built) {
      await storage.outbox.markFailed(row.id, built.error);
      observe(row.platform, 'failed');
      log?.error({ outbox: row.id, channel: row.channelId, error: built.error }, 'alert cannot be built; given up');
      return false;
    }
    // `sending` is committed before the platform call: after a crash the row is checked with findSent, never lost.
    const lease = options.holder ? { holder: options.holder, ms: leaseMs, now: now() } : undefined;
    const claimToken = await storage.outbox.claim(row.id, built.threadOf, lease, now());
    if (!claimToken) return false;
    if (lease) sendLeases.claimed(row.id, lease.now + leaseMs);
    if (row.kind === 'digest') {
      // Read again now that it is claimed: a late send of a folded row may have taken that row out before the claim.
      const again = await messageFor(row);
      if ('error' in again) {
        await storage.outbox.markFailed(row.id, again.error, claimToken);
        observe(row.platform, 'failed');
        log?.warn({ outbox: row.id, channel: row.channelId, error: again.error }, 'digest has nothing left to send; given up');
        return false;
      }
      built = again;
    }
    const key = channelKey(row);
    try {
      const target = await targetOf(row);
      // Last moment to stay out: once the platform call starts, the message may be posted whatever happens next.
      if (sendLeases.lost(row.id)) {
        const released = await storage.outbox.release(row.id, claimToken, now()).catch(() => false);
        log?.warn({ outbox: row.id, channel: row.channelId, released }, 'lease of a claimed row lost or expired before its send; not sending it');
        return false;
      }
      const { messageId } = await sender.send(row.channelId, built.message, row.idempotencyKey, target);
      if (!(await storage.outbox.markSent({ ...row, threadOf: built.threadOf, claimToken }, messageId, now()))) {
        log?.warn({ outbox: row.id, channel: row.channelId, messageId }, 'sent after the row was claimed again elsewhere; the alert may appear twice');
      }
      observe(row.platform, 'sent');
      return true;
    } catch (err) {
      const e = err instanceof AlertSendError ? err : new AlertSendError((err as Error)?.message ?? String(err), true);
      const attempts = row.attempts + 1;
      if (!e.retryable || attempts >= maxAttempts) {
        await storage.outbox.markFailed(row.id, e.message, claimToken);
        observe(row.platform, 'failed');
        log?.error({ outbox: row.id, platform: row.platform, channel: row.channelId, attempts, error: e.message }, 'alert delivery failed for good');
        return false;
      }
      const backoff = Math.min(retryMax, retryBase * 2 ** (attempts - 1));
      const wait = Math.max(backoff, e.retryAfterMs ?? 0);
      if (e.retryAfterMs) heldUntil.set(key, Math.max(heldUntil.get(key) ?? 0, now() + e.retryAfterMs));
      await storage.outbox.markRetry(row.id, now() + wait, e.message, claimToken);
      observe(row.platform, 'retry');
      log?.warn({ outbox: row.id, channel: row.channelId, attempts, retryInMs: wait, error: e.message }, 'alert delivery failed; will retry');
      return false;
    } finally {
      if (row.platform === 'slack' && slackGap > 0) heldUntil.set(key, Math.max(heldUntil.get(key) ?? 0, now() + slackGap));
    }
  }

  async function round(): Promise<number> {
    // With several replicas this one handles only the channels whose lease it holds: their pace, their digests and
    // their interrupted sends (a row `sending` there and not in flight here lost its sender) are then its own.
    const gate = options.channels;
    const mine = gate ? await gate.claim([...(await storage.outbox.due(now())), ...(await storage.outbox.interrupted(now()))].map(channelLeaseKey)) : undefined;
    const ours = (r: OutboxRow) => !mine || mine.has(channelLeaseKey(r));
    await recover(ours);
    let due = (await storage.outbox.due(now())).filter(ours);
    if (due.some((r) => r.kind === 'alert')) {
      await fold(due);
      due = (await storage.outbox.due(now())).filter(ours);
    }
    const t = now();
    const started: Promise<boolean>[] = [];
    for (const row of due) {
      if (inFlight.size >= maxConcurrent) break;
      const key = channelKey(row);
      if (busyChannels.has(key) || (heldUntil.get(key) ?? 0) > t) continue;
      const sender = senders.get(row.platform);
      if (!sender) {
        if (!warnedPlatforms.has(row.platform)) log?.warn({ platform: row.platform }, 'alerts queued for a platform that is not connected; they wait');
        warnedPlatforms.add(row.platform);
        continue;
      }
      busyChannels.add(key);
      const p = deliver(row, sender)
        .catch((err: unknown) => {
          log?.error({ outbox: row.id, err: (err as Error).message }, 'outbox worker error');
          return false;
        })
        .finally(() => {
          busyChannels.delete(key);
          inFlight.delete(row.id);
          sendLeases.remove(row.id);
        });
      inFlight.set(row.id, p);
      sendLeases.add(row);
      started.push(p);
    }
    const results = await Promise.all(started);
    return results.filter(Boolean).length;
  }

  function runOnce(): Promise<number> {
    // Rounds never overlap: the loop and a test (or kick) share one at a time.
    const next = (running ?? Promise.resolve(0)).then(() => round());
    running = next.catch(() => 0);
    return next;
  }

  /** Milliseconds until something may be sendable (next due row or a channel hold), bounded by idleMs. */
  async function sleepFor(): Promise<number> {
    const t = now();
    let at = (await storage.outbox.nextDue()) ?? t + idleMs;
    for (const until of heldUntil.values()) if (until > t) at = Math.min(Math.max(at, t), until);
    // Rows due in channels other replicas deliver stay due here: look again at a gentler pace than our own sends.
    return Math.max(options.channels ? 200 : 10, Math.min(idleMs, at - t));
  }

  async function drain(timeoutMs = 10_000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    let sent = 0;
    for (;;) {
      sent += await runOnce();
      const pending = await storage.outbox.nextDue();
      if (pending === undefined && (await storage.outbox.byStatus('sending')).length === 0) return sent;
      if (Date.now() > deadline) return sent;
      const wait = Math.min(await sleepFor(), Math.max(0, deadline - Date.now()));
      await new Promise((r) => setTimeout(r, wait));
    }
  }

  const loop = createRunLoop({
    round: runOnce,
    sleepFor,
    afterErrorMs: idleMs,
    onError: (err) => log?.error({ err: (err as Error).message }, 'outbox round failed'),
  });

  return {
    async start() {
      loop.start();
    },
    async stop() {
      await loop.stop();
      await Promise.allSettled([...inFlight.values()]);
      await sendLeases.settled();
    },
    kick() {
      loop.wake();
    },
    recover,
    runOnce,
    drain,
    addSender(sender) {
      senders.set(sender.platform, sender);
      warnedPlatforms.delete(sender.platform);
    },
  };
}

import { randomUUID } from 'node:crypto';
import type Database from 'better-sqlite3';
import { OPERATOR_TENANT, RefusedError, tenantOf, type FeedSpec, type FeedStatus, type Subscription, type TenantId } from '../core/feed-model.js';
import { redactText, redactUrl } from '../core/redact.js';
import type { Store } from './store.js';
import { TenantStore, type OwnerSource } from './tenant-store.js';

/** One row of the feeds table, with times as epoch milliseconds. */
export interface FeedRow {
  id: number;
  url: string;
  name: string | null;
  intervalSeconds: number | null;
  etag: string | null;
  lastModified: string | null;
  bodyHash: string | null;
  nextPollAt: number | null;
  lastSuccessAt: number | null;
  lastError: string | null;
  lastErrorAt: number | null;
  consecutiveFailures: number;
  failing: boolean;
  failingNotified: boolean;
  seeded: boolean;
  itemsSeen: number;
  polls: number;
  notModified: number;
  removed: boolean;
  addedBy: string | null;
  createdAt: number;
  /** New items recorded as seen but not stored, over all polls (over the per-poll limit, too old, unreadable). */
  itemsSkipped: number;
  /** ... in the last poll that found new items, and why. */
  lastSkipped: number;
  lastSkipReason: string | null;
}

/** A stored post (one feed item that was new when first seen). */
export interface PostRow {
  id: string;
  feedId: number;
  incidentId: string;
  url: string | null;
  urlKey: string | null;
  title: string;
  published: string | null;
  summary: string;
  createdAt: number;
}

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

/** Fields a poll outcome writes back to its feed (undefined = leave as is). */
export interface FeedPollUpdate {
  name?: string;
  etag?: string | null;
  lastModified?: string | null;
  bodyHash?: string | null;
  nextPollAt?: number;
  lastSuccessAt?: number;
  lastError?: string | null;
  lastErrorAt?: number | null;
  consecutiveFailures?: number;
  failing?: boolean;
  failingNotified?: boolean;
  seeded?: boolean;
  /** Added to the counters. */
  addPolls?: number;
  addNotModified?: number;
  addItemsSeen?: number;
  addItemsSkipped?: number;
  lastSkipped?: number;
  lastSkipReason?: string | null;
}

/** Who a feed is added for: the tenant, how (FEEDS_FILE, the operator's CLI, chat), and the tenant's name for it. */
export interface FeedOwnerInput {
  tenant: TenantId;
  source: OwnerSource;
  name?: string;
}

/** What a subscription needs; the tenant defaults to the platform's workspace (or the operator when there is none). */
export interface SubscriptionInput {
  tenant?: TenantId;
  platform: 'discord' | 'slack';
  channelId: string;
  workspaceId?: string;
  filter: string;
  roleId?: string;
  createdBy?: string;
}

/** Returns a fresh idempotency key: 24 hex characters (92 random bits), under Discord's 25-character nonce limit. */
export function newIdempotencyKey(): string {
  // randomUUID draws from a cached entropy pool: a 15,000-alert poll pays microseconds, not a syscall per key.
  const u = randomUUID().replace(/-/g, '');
  return u.slice(0, 12) + u.slice(13, 25);
}

/** Returns `ms` as an ISO 8601 string, or undefined for null. */
export function isoOrUndefined(ms: number | null | undefined): string | undefined {
  return ms === null || ms === undefined ? undefined : new Date(ms).toISOString();
}

type Raw = Record<string, unknown>;

/** SQL condition: an alert about the post `ranked.id` is pending or being sent, alone or folded into such a digest. */
const OUTBOX_WAITING = `SELECT 1 FROM outbox o WHERE o.post_id = ranked.id AND (o.status IN ('pending', 'sending')
  OR (o.status = 'folded' AND EXISTS (SELECT 1 FROM outbox d WHERE d.id = o.digest_id AND d.status IN ('pending', 'sending'))))`;

const FEED_COLUMNS: Record<keyof FeedPollUpdate, string> = {
  name: 'name',
  etag: 'etag',
  lastModified: 'last_modified',
  bodyHash: 'body_hash',
  nextPollAt: 'next_poll_at',
  lastSuccessAt: 'last_success_at',
  lastError: 'last_error',
  lastErrorAt: 'last_error_at',
  consecutiveFailures: 'consecutive_failures',
  failing: 'failing',
  failingNotified: 'failing_notified',
  seeded: 'seeded',
  addPolls: 'polls',
  addNotModified: 'not_modified',
  addItemsSeen: 'items_seen',
  addItemsSkipped: 'items_skipped',
  lastSkipped: 'last_skipped',
  lastSkipReason: 'last_skip_reason',
};

/**
 * Feeds, posts, subscriptions, outbox and alert threads, over the core store's connection so that a poll's posts,
 * incidents and outbox rows commit in one transaction. Every method is synchronous (better-sqlite3).
 */
export class FeedStore {
  /** The core store this one shares a connection (and transactions) with. */
  readonly store: Store;
  /** Feed owners, private records and the audit log, on the same connection. */
  readonly tenancy: TenantStore;
  private readonly db: Database.Database;
  private readonly s;
  private readonly updates = new Map<string, Database.Statement>();

  constructor(store: Store) {
    this.store = store;
    this.db = store.db;
    this.tenancy = TenantStore.of(store);
    const db = this.db;
    this.s = {
      feedById: db.prepare<[number], Raw>('SELECT * FROM feeds WHERE id = ?'),
      feedByUrl: db.prepare<[string], Raw>('SELECT * FROM feeds WHERE url = ?'),
      feeds: db.prepare<[], Raw>('SELECT * FROM feeds WHERE removed = 0 ORDER BY id'),
      feedsOf: db.prepare<[string], Raw>(
        `SELECT f.* FROM feeds f WHERE f.removed = 0 AND EXISTS (
           SELECT 1 FROM feed_owners o WHERE o.feed_id = f.id AND (o.tenant = 'operator' OR o.tenant = ?)) ORDER BY f.id`,
      ),
      dueFeeds: db.prepare<[number], Raw>(
        'SELECT * FROM feeds WHERE removed = 0 AND (next_poll_at IS NULL OR next_poll_at <= ?) ORDER BY coalesce(next_poll_at, 0), id',
      ),
      nextDue: db.prepare<[], { at: number | null; never: number }>(
        'SELECT min(coalesce(next_poll_at, 0)) AS at, count(*) AS never FROM feeds WHERE removed = 0',
      ),
      insertFeed: db.prepare<[string, string | null, number | null, string | null, number]>(
        'INSERT INTO feeds (url, name, interval_seconds, added_by, created_at) VALUES (?, ?, ?, ?, ?)',
      ),
      // A re-added feed starts over as unseeded: items published while it was removed are stored, not alerted.
      reviveFeed: db.prepare<[string | null, number | null, string | null, number]>(
        `UPDATE feeds SET removed = 0, name = coalesce(?, name), interval_seconds = ?, added_by = coalesce(?, added_by),
           seeded = 0, next_poll_at = NULL, consecutive_failures = 0, failing = 0, failing_notified = 0,
           etag = NULL, last_modified = NULL, body_hash = NULL
         WHERE id = ?`,
      ),
      removeFeed: db.prepare<[number]>('UPDATE feeds SET removed = 1 WHERE id = ? AND removed = 0'),
      hasItem: db.prepare<[number, string], { one: 1 }>('SELECT 1 AS one FROM feed_items WHERE feed_id = ? AND item_key = ?'),
      itemKeys: db.prepare<[number], { item_key: string }>('SELECT item_key FROM feed_items WHERE feed_id = ?'),
      insertItem: db.prepare<[number, string, string | null, number]>(
        'INSERT OR IGNORE INTO feed_items (feed_id, item_key, post_id, first_seen) VALUES (?, ?, ?, ?)',
      ),
      insertPost: db.prepare<[string, number, string, string | null, string | null, string, string | null, string, number]>(
        `INSERT INTO posts (id, feed_id, incident_id, url, url_key, title, published, summary, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      postById: db.prepare<[string], Raw>('SELECT * FROM posts WHERE id = ?'),
      // Private records are never attached to (their audience is one feed's owners), so they are skipped here.
      incidentByUrlKeyElsewhere: db.prepare<[string, number], { incident_id: string }>(
        `SELECT p.incident_id FROM posts p WHERE p.url_key = ? AND p.feed_id != ?
           AND NOT EXISTS (SELECT 1 FROM private_records r WHERE r.incident_id = p.incident_id) LIMIT 1`,
      ),
      postsPublishedSince: db.prepare<[string], Raw>('SELECT * FROM posts WHERE published >= ? ORDER BY published'),
      linkedSources: db.prepare<[], { id: string; url: string | null }>(
        `SELECT i.id AS id, json_extract(s.value, '$.url') AS url FROM incidents i, json_each(i.data, '$.sources') s
         WHERE i.origin NOT LIKE 'feed:%'`,
      ),
      originOf: db.prepare<[string], { origin: string }>('SELECT origin FROM incidents WHERE id = ?'),
      countPosts: db.prepare<[], { n: number }>('SELECT count(*) AS n FROM posts'),
      countFeedPosts: db.prepare<[number], { n: number }>('SELECT count(*) AS n FROM posts WHERE feed_id = ?'),
      allFeedIds: db.prepare<[], { id: number }>('SELECT id FROM feeds ORDER BY id'),
      // Posts past the retention or beyond the newest `cap`, oldest first, except those an alert still waits for
      // (pending or being sent, alone or folded into a digest that is).
      prunablePosts: db.prepare<[number, string, number, number], { id: string; incident_id: string }>(
        `WITH ranked AS (
           SELECT id, incident_id, coalesce(published, strftime('%Y-%m-%dT%H:%M:%fZ', created_at / 1000.0, 'unixepoch')) AS at,
                  row_number() OVER (ORDER BY coalesce(published, strftime('%Y-%m-%dT%H:%M:%fZ', created_at / 1000.0, 'unixepoch')) DESC, created_at DESC, id) AS rank
           FROM posts WHERE feed_id = ?
         )
         SELECT id, incident_id FROM ranked
         WHERE (at < ? OR rank > ?) AND NOT EXISTS (${OUTBOX_WAITING})
         ORDER BY at, id LIMIT ?`,
      ),
      postSpan: db.prepare<[number], { n: number; oldest: string | null }>(
        `SELECT count(*) AS n, min(coalesce(published, strftime('%Y-%m-%dT%H:%M:%fZ', created_at / 1000.0, 'unixepoch'))) AS oldest
         FROM posts WHERE feed_id = ?`,
      ),
      postWaiting: db.prepare<[string], { one: 1 }>(`SELECT 1 AS one FROM posts ranked WHERE ranked.id = ? AND EXISTS (${OUTBOX_WAITING})`),
      deletePostOutbox: db.prepare<[string]>('DELETE FROM outbox WHERE post_id = ?'),
      unlinkItems: db.prepare<[string]>('UPDATE feed_items SET post_id = NULL WHERE post_id = ?'),
      deletePost: db.prepare<[string]>('DELETE FROM posts WHERE id = ?'),
      postsOfIncident: db.prepare<[string], { one: 1 }>('SELECT 1 AS one FROM posts WHERE incident_id = ? LIMIT 1'),
      deleteFeedIncident: db.prepare<[string]>("DELETE FROM incidents WHERE id = ? AND origin LIKE 'feed:%'"),
      deleteThreads: db.prepare<[string]>('DELETE FROM alert_threads WHERE incident_id = ?'),
      // Keys recorded without a post (skipped items, pruned posts): the first-seen time of the newest `keep`-th, then the
      // keys seen before a cutoff, oldest first (both read the partial index feed_items_unlinked, no sort).
      unlinkedKeyAt: db.prepare<[number, number], { first_seen: number }>(
        'SELECT first_seen FROM feed_items WHERE feed_id = ? AND post_id IS NULL ORDER BY first_seen DESC LIMIT 1 OFFSET ?',
      ),
      unlinkedKeysBefore: db.prepare<[number, number, number, number], { item_key: string }>(
        'SELECT item_key FROM feed_items WHERE feed_id = ? AND post_id IS NULL AND first_seen < ? ORDER BY first_seen LIMIT ? OFFSET ?',
      ),
      deleteKey: db.prepare<[number, string]>('DELETE FROM feed_items WHERE feed_id = ? AND item_key = ? AND post_id IS NULL'),
      subInsert: db.prepare<[string, string, string, string | null, string, string | null, string | null, number]>(
        `INSERT INTO subscriptions (tenant, platform, channel_id, workspace_id, filter, role_id, created_by, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (platform, channel_id, filter) DO UPDATE SET role_id = excluded.role_id`,
      ),
      subByKey: db.prepare<[string, string, string], Raw>('SELECT * FROM subscriptions WHERE platform = ? AND channel_id = ? AND filter = ?'),
      subById: db.prepare<[number], Raw>('SELECT * FROM subscriptions WHERE id = ?'),
      subsOfChannel: db.prepare<[string, string], Raw>('SELECT * FROM subscriptions WHERE platform = ? AND channel_id = ? ORDER BY id'),
      subsAll: db.prepare<[], Raw>('SELECT * FROM subscriptions ORDER BY id'),
      // A tenant's subscriptions see operator feeds and the tenant's own feeds: nothing of other tenants.
      subsSeeing: db.prepare<[number], Raw>(
        `SELECT s.* FROM subscriptions s WHERE EXISTS (
           SELECT 1 FROM feed_owners o WHERE o.feed_id = ? AND (o.tenant = 'operator' OR o.tenant = s.tenant)) ORDER BY s.id`,
      ),
      subDelete: db.prepare<[number, string, string]>('DELETE FROM subscriptions WHERE id = ? AND platform = ? AND channel_id = ?'),
      outInsert: db.prepare<[number, string, string, string | null, string | null, string, string | null, string | null, number, string, number]>(
        `INSERT OR IGNORE INTO outbox (subscription_id, platform, channel_id, post_id, incident_id, kind, status, text, role_id,
           next_attempt_at, idempotency_key, created_at)
         VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?, ?)`,
      ),
      outById: db.prepare<[number], Raw>('SELECT * FROM outbox WHERE id = ?'),
      outDue: db.prepare<[number, number], Raw>(
        "SELECT * FROM outbox WHERE status = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?",
      ),
      outByStatus: db.prepare<[string], Raw>('SELECT * FROM outbox WHERE status = ? ORDER BY id'),
      outNextDue: db.prepare<[], { at: number | null }>("SELECT min(next_attempt_at) AS at FROM outbox WHERE status = 'pending'"),
      outSending: db.prepare<[string | null, number]>(
        "UPDATE outbox SET status = 'sending', thread_of = ? WHERE id = ? AND status = 'pending'",
      ),
      outSent: db.prepare<[string, number, number]>(
        "UPDATE outbox SET status = 'sent', message_id = ?, sent_at = ?, error = NULL WHERE id = ? AND status = 'sending'",
      ),
      outFoldedSent: db.prepare<[number, number]>("UPDATE outbox SET sent_at = ? WHERE digest_id = ? AND status = 'folded'"),
      outRetry: db.prepare<[number, string, number]>(
        "UPDATE outbox SET status = 'pending', attempts = attempts + 1, next_attempt_at = ?, error = ? WHERE id = ?",
      ),
      outRequeue: db.prepare<[number, number]>("UPDATE outbox SET status = 'pending', next_attempt_at = ? WHERE id = ? AND status = 'sending'"),
      outFailed: db.prepare<[string, number]>("UPDATE outbox SET status = 'failed', attempts = attempts + 1, error = ? WHERE id = ?"),
      outFold: db.prepare<[number, number]>("UPDATE outbox SET status = 'folded', digest_id = ? WHERE id = ? AND status = 'pending'"),
      outFoldedInto: db.prepare<[number], Raw>("SELECT * FROM outbox WHERE digest_id = ? AND status = 'folded' ORDER BY id"),
      outPendingDigest: db.prepare<[string, string], Raw>(
        "SELECT * FROM outbox WHERE platform = ? AND channel_id = ? AND kind = 'digest' AND status = 'pending' ORDER BY id LIMIT 1",
      ),
      // Alerts that reached (or are reaching) the channel inside the fold window, individually or in a digest.
      outRecentAlerts: db.prepare<[string, string, number], { n: number }>(
        `SELECT count(*) AS n FROM outbox WHERE platform = ? AND channel_id = ? AND kind = 'alert'
           AND (status = 'sending' OR (status = 'sent' AND sent_at >= ?))`,
      ),
      outCounts: db.prepare<[], { status: string; kind: string; n: number }>('SELECT status, kind, count(*) AS n FROM outbox GROUP BY status, kind'),
      outBacklog: db.prepare<[], { platform: string; n: number; oldest: number }>(
        "SELECT platform, count(*) AS n, min(created_at) AS oldest FROM outbox WHERE status IN ('pending', 'sending') GROUP BY platform ORDER BY platform",
      ),
      threadGet: db.prepare<[string, string, string], { message_id: string }>(
        'SELECT message_id FROM alert_threads WHERE platform = ? AND channel_id = ? AND incident_id = ?',
      ),
      threadSet: db.prepare<[string, string, string, string, number]>(
        'INSERT OR IGNORE INTO alert_threads (platform, channel_id, incident_id, message_id, created_at) VALUES (?, ?, ?, ?, ?)',
      ),
    };
  }

  /** Runs `fn` in one transaction (a savepoint when nested) and returns its result. */
  transaction<T>(fn: () => T): T {
    return this.store.runInTransaction(fn);
  }

  // ---- feeds

  /** The feed with this id (removed ones included), or undefined. */
  getFeed(id: number): FeedRow | undefined {
    const r = this.s.feedById.get(id);
    return r ? toFeed(r) : undefined;
  }

  /** The feed with exactly this URL (removed ones included), or undefined. */
  getFeedByUrl(url: string): FeedRow | undefined {
    const r = this.s.feedByUrl.get(url);
    return r ? toFeed(r) : undefined;
  }

  /** Active feeds (not removed), oldest first. */
  listFeeds(): FeedRow[] {
    return this.s.feeds.all().map(toFeed);
  }

  /** Active feeds whose next poll is due at `now` (never-polled ones first). */
  dueFeeds(now: number): FeedRow[] {
    return this.s.dueFeeds.all(now).map(toFeed);
  }

  /**
   * Adds a feed for an owner (default: the operator, as the CLI does), or brings back one no one owned any more;
   * returns the row, whether it became watched (new or revived) and whether this owner is new. One row per URL is
   * fetched once, whoever owns it. A tenant's name goes on its ownership only; the operator's names the feed.
   */
  addFeed(spec: FeedSpec, now: number, addedBy?: string, owner: FeedOwnerInput = { tenant: OPERATOR_TENANT, source: 'cli' }): { feed: FeedRow; added: boolean; owned: boolean } {
    return this.transaction(() => {
      const operator = owner.tenant === OPERATOR_TENANT;
      const feedName = operator ? (owner.name ?? spec.name ?? null) : null;
      let feed = this.getFeedByUrl(spec.url);
      let added = false;
      if (!feed) {
        const id = Number(this.s.insertFeed.run(spec.url, feedName, spec.intervalSeconds ?? null, addedBy ?? null, now).lastInsertRowid);
        feed = this.getFeed(id)!;
        added = true;
      } else if (feed.removed) {
        this.s.reviveFeed.run(feedName, spec.intervalSeconds ?? feed.intervalSeconds, addedBy ?? null, feed.id);
        added = true;
      } else if (operator && (feedName || spec.intervalSeconds !== undefined)) {
        this.db.prepare('UPDATE feeds SET name = coalesce(?, name), interval_seconds = coalesce(?, interval_seconds) WHERE id = ?').run(feedName, spec.intervalSeconds ?? null, feed.id);
      }
      const had = this.tenancy.owner(feed.id, owner.tenant);
      this.tenancy.setOwner({
        feedId: feed.id,
        tenant: owner.tenant,
        source: had && had.source === 'file' && owner.source === 'cli' ? 'file' : owner.source,
        name: operator ? null : (owner.name ?? spec.name ?? null),
        addedBy: had?.addedBy ?? addedBy ?? null,
        addedAt: had?.addedAt ?? now,
      });
      return { feed: this.getFeed(feed.id)!, added, owned: !had };
    });
  }

  /**
   * Makes the operator's FEEDS_FILE ownership match the list: listed feeds become (or stay) operator feeds, and feeds
   * the file no longer lists stop being FEEDS_FILE feeds (and stop being polled when no one else owns them). Returns
   * how many became FEEDS_FILE feeds and how many stopped being ones.
   */
  syncOperatorFeeds(specs: readonly FeedSpec[], now: number): { added: number; dropped: number; droppedUrls: string[] } {
    return this.transaction(() => {
      const listed = new Set<number>();
      let added = 0;
      for (const spec of specs) {
        const before = this.getFeedByUrl(spec.url);
        const was = before ? this.tenancy.owner(before.id, OPERATOR_TENANT) : undefined;
        // The file is the truth for its feeds: an operator feed the CLI added becomes a FEEDS_FILE one once listed.
        const { feed } = this.addFeed(spec, now, 'FEEDS_FILE', { tenant: OPERATOR_TENANT, source: 'file', name: spec.name });
        if (was?.source !== 'file') added++;
        listed.add(feed.id);
      }
      const droppedUrls: string[] = [];
      for (const o of this.tenancy.ownedBy(OPERATOR_TENANT)) {
        if (o.source !== 'file' || listed.has(o.feedId)) continue;
        this.tenancy.removeOwner(o.feedId, OPERATOR_TENANT);
        if (this.tenancy.ownerCount(o.feedId) === 0) this.s.removeFeed.run(o.feedId);
        droppedUrls.push(this.getFeed(o.feedId)?.url ?? String(o.feedId));
      }
      return { added, dropped: droppedUrls.length, droppedUrls };
    });
  }

  /**
   * Ends one tenant's ownership of a feed; the feed stops being polled when no one owns it any more (its posts and
   * items stay, so re-adding it does not re-alert). Returns whether the tenant owned it and whether the feed is still watched.
   */
  releaseFeed(id: number, tenant: TenantId): { released: boolean; stillWatched: boolean } {
    return this.transaction(() => {
      const released = this.tenancy.removeOwner(id, tenant);
      const stillWatched = this.tenancy.ownerCount(id) > 0;
      if (!stillWatched) this.s.removeFeed.run(id);
      return { released, stillWatched };
    });
  }

  /** Stops a feed for everyone: every ownership ends and it is no longer polled; returns whether it was active. */
  removeFeed(id: number): boolean {
    return this.transaction(() => {
      this.tenancy.removeOwners(id);
      return this.s.removeFeed.run(id).changes > 0;
    });
  }

  /** Writes a poll's outcome to the feed row. */
  updateFeed(id: number, update: FeedPollUpdate): void {
    const sets: string[] = [];
    const values: unknown[] = [];
    for (const [field, column] of Object.entries(FEED_COLUMNS) as [keyof FeedPollUpdate, string][]) {
      const v = update[field];
      if (v === undefined) continue;
      if (field.startsWith('add')) {
        sets.push(`${column} = ${column} + ?`);
      } else {
        sets.push(`${column} = ?`);
      }
      values.push(typeof v === 'boolean' ? (v ? 1 : 0) : v);
    }
    if (sets.length === 0) return;
    values.push(id);
    const sql = `UPDATE feeds SET ${sets.join(', ')} WHERE id = ?`;
    // A handful of field combinations recur (every slice of an ingest writes its counters): prepared once each.
    let stmt = this.updates.get(sql);
    if (!stmt) this.updates.set(sql, (stmt = this.db.prepare(sql)));
    stmt.run(...values);
  }

  /** The earliest next_poll_at among active feeds (0 when one was never scheduled), or undefined when there are none. */
  nextPollAt(): number | undefined {
    const r = this.s.nextDue.get();
    if (!r || r.never === 0) return undefined;
    return r.at ?? 0;
  }

  /**
   * Returns the status of a feed as `viewer` sees it: the URL and last error with credentials redacted, the viewer's
   * own name for it, and whether it is an operator feed or the viewer's (the operator also sees the owning tenants).
   */
  feedStatus(feed: FeedRow, viewer: TenantId = OPERATOR_TENANT): FeedStatus {
    const owners = this.tenancy.ownersOf(feed.id);
    const operator = owners.find((o) => o.tenant === OPERATOR_TENANT);
    const own = owners.find((o) => o.tenant === viewer);
    const tenants = owners.filter((o) => o.tenant !== OPERATOR_TENANT);
    const status: FeedStatus = {
      id: feed.id,
      url: redactUrl(feed.url),
      // The operator, who owns no name for a tenant's feed, sees the first tenant's.
      name: own?.name ?? feed.name ?? (viewer === OPERATOR_TENANT ? tenants.find((o) => o.name)?.name : undefined) ?? undefined,
      scope: operator ? 'operator' : 'tenant',
      lastSuccessAt: isoOrUndefined(feed.lastSuccessAt),
      lastError: feed.lastError ? redactText(feed.lastError) : undefined,
      lastErrorAt: isoOrUndefined(feed.lastErrorAt),
      nextPollAt: isoOrUndefined(feed.nextPollAt),
      itemsSeen: feed.itemsSeen,
      polls: feed.polls,
      notModifiedRate: feed.polls > 0 ? feed.notModified / feed.polls : 0,
      consecutiveFailures: feed.consecutiveFailures,
      failing: feed.failing,
      itemsSkipped: feed.itemsSkipped,
      lastSkipped: feed.lastSkipped,
      ...(feed.lastSkipReason ? { lastSkipReason: feed.lastSkipReason } : {}),
    };
    if (operator) status.source = operator.source === 'file' ? 'file' : 'cli';
    const by = viewer === OPERATOR_TENANT && !operator ? tenants[0] : own;
    if (by?.addedBy) status.addedBy = by.addedBy;
    if (by) status.addedAt = new Date(by.addedAt).toISOString();
    if (viewer === OPERATOR_TENANT && tenants.length) status.tenants = tenants.map((o) => o.tenant);
    return status;
  }

  /** Active feeds a tenant sees: operator feeds and its own (the operator: every active feed; undefined: operator feeds). */
  feedsVisibleTo(tenant: TenantId | undefined): FeedRow[] {
    if (tenant === OPERATOR_TENANT) return this.listFeeds();
    return this.s.feedsOf.all(tenant ?? OPERATOR_TENANT).map(toFeed);
  }

  /** Whether a post of this feed may join this record: public posts join public records only; private posts join nothing. */
  mayAttach(feedId: number, incidentId: string): boolean {
    return this.tenancy.isOperatorFeed(feedId) && this.tenancy.privateFeedOf(incidentId) === undefined;
  }

  // ---- items and posts

  /** Whether this feed already has an item with this key. */
  hasItem(feedId: number, key: string): boolean {
    return this.s.hasItem.get(feedId, key) !== undefined;
  }

  /** Every item key seen in a feed. */
  itemKeys(feedId: number): Set<string> {
    const out = new Set<string>();
    for (const r of this.s.itemKeys.iterate(feedId)) out.add(r.item_key);
    return out;
  }

  /** Records an item key (ignored when already present). */
  insertItem(feedId: number, key: string, postId: string | null, now: number): void {
    this.s.insertItem.run(feedId, key, postId, now);
  }

  /**
   * Stores a post. A post that made its own record (record id = post id) from a feed no operator owns makes that
   * record private to the feed's owners: other tenants never see it in answers, search, lists or suggestions.
   */
  insertPost(p: PostRow): void {
    this.s.insertPost.run(p.id, p.feedId, p.incidentId, p.url, p.urlKey, p.title, p.published, p.summary, p.createdAt);
    if (p.incidentId === p.id && !this.tenancy.isOperatorFeed(p.feedId)) this.tenancy.markPrivate(p.incidentId, p.feedId);
  }

  /** One post, or undefined. */
  getPost(id: string): PostRow | undefined {
    const r = this.s.postById.get(id);
    return r ? toPost(r) : undefined;
  }

  /**
   * The incident of a post of another feed stored with this normalised link (every such post shares it), or
   * undefined; always undefined for a feed no operator owns, whose posts never join another record.
   */
  incidentByUrlKeyElsewhere(urlKey: string, feedId: number): string | undefined {
    if (!this.tenancy.isOperatorFeed(feedId)) return undefined;
    return this.s.incidentByUrlKeyElsewhere.get(urlKey, feedId)?.incident_id;
  }

  /** Posts published on or after this ISO date (for the story index at start). */
  postsPublishedSince(iso: string): PostRow[] {
    return this.s.postsPublishedSince.all(iso).map(toPost);
  }

  /** (incident id, source url) for every stored record that did not come from a feed, for same-link detection. */
  nonFeedSourceLinks(): { id: string; url: string }[] {
    return this.s.linkedSources.all().filter((r): r is { id: string; url: string } => typeof r.url === 'string');
  }

  /** The origin of a stored incident (its last import), or undefined when it is not in the store. */
  incidentOrigin(id: string): string | undefined {
    return this.s.originOf.get(id)?.origin;
  }

  /** Number of stored posts (of one feed when `feedId` is given). */
  countPosts(feedId?: number): number {
    return feedId === undefined ? this.s.countPosts.get()!.n : this.s.countFeedPosts.get(feedId)!.n;
  }

  // ---- retention

  /** Ids of every feed, removed ones included (their posts age out too). */
  allFeedIds(): number[] {
    return this.s.allFeedIds.all().map((r) => r.id);
  }

  /**
   * Up to `limit` posts of a feed to prune, oldest first: published (else stored) before `cutoffIso`, or beyond the
   * newest `cap`. Posts an alert still waits for (pending or being sent, alone or in a digest) are never listed.
   */
  prunablePosts(feedId: number, cutoffIso: string, cap: number, limit: number): { id: string; incidentId: string }[] {
    // Most calls find nothing to do: answer those from a count, without ranking every post of the feed.
    const span = this.s.postSpan.get(feedId)!;
    if (span.n <= cap && (span.oldest === null || span.oldest >= cutoffIso)) return [];
    return this.s.prunablePosts.all(feedId, cutoffIso, cap, limit).map((r) => ({ id: r.id, incidentId: r.incident_id }));
  }

  /**
   * Deletes a post with its delivered outbox rows, keeping its item key (without the post) so the item is still known;
   * the incident the post created goes too once no other post tells its story (records not created by a feed stay).
   * Returns the id of the incident deleted, if any; does nothing when an alert now waits for the post.
   */
  prunePost(id: string): { pruned: boolean; incidentId?: string } {
    return this.transaction(() => {
      const post = this.getPost(id);
      if (!post || this.s.postWaiting.get(id)) return { pruned: false };
      this.s.deletePostOutbox.run(id);
      this.s.unlinkItems.run(id);
      this.s.deletePost.run(id);
      const inc = post.incidentId;
      if (inc.startsWith('post:') && !this.s.postsOfIncident.get(inc) && this.s.deleteFeedIncident.run(inc).changes > 0) {
        this.s.deleteThreads.run(inc);
        return { pruned: true, incidentId: inc };
      }
      return { pruned: true };
    });
  }

  /**
   * Returns the first-seen time before which a feed's keys without a post may go: `cutoffMs`, or later when more than
   * `keep` such keys were seen since (keys seen at the same moment as the `keep`-th newest all stay).
   */
  keyPruneCutoff(feedId: number, cutoffMs: number, keep: number): number {
    const at = this.s.unlinkedKeyAt.get(feedId, keep)?.first_seen;
    return at === undefined ? cutoffMs : Math.max(cutoffMs, at);
  }

  /** A page of a feed's item keys recorded without a post and first seen before `beforeMs`, oldest first. */
  unlinkedKeysBefore(feedId: number, beforeMs: number, limit: number, offset = 0): string[] {
    return this.s.unlinkedKeysBefore.all(feedId, beforeMs, limit, offset).map((r) => r.item_key);
  }

  /** Forgets an item key recorded without a post; returns whether one was deleted. */
  deleteItemKey(feedId: number, key: string): boolean {
    return this.s.deleteKey.run(feedId, key).changes > 0;
  }

  // ---- subscriptions

  /**
   * Creates a subscription (or returns the tenant's one in the channel with the same filter, its role updated).
   * Throws RefusedError when another tenant has that filter in the channel (a channel shared between workspaces).
   */
  subscribe(input: SubscriptionInput, now: number): Subscription {
    const tenant = input.tenant ?? tenantOf(input.platform, input.workspaceId) ?? OPERATOR_TENANT;
    return this.transaction(() => {
      const existing = this.s.subByKey.get(input.platform, input.channelId, input.filter);
      if (existing && existing.tenant !== tenant) throw new RefusedError('This channel already has a subscription with that filter, made from another workspace.');
      this.s.subInsert.run(tenant, input.platform, input.channelId, input.workspaceId ?? null, input.filter, input.roleId ?? null, input.createdBy ?? null, now);
      return toSub(this.s.subByKey.get(input.platform, input.channelId, input.filter)!);
    });
  }

  /** One subscription by id, or undefined. */
  getSubscription(id: number): Subscription | undefined {
    const r = this.s.subById.get(id);
    return r ? toSub(r) : undefined;
  }

  /** A channel's subscriptions, oldest first; with `tenants`, only those of these tenants. */
  listSubscriptions(platform: 'discord' | 'slack', channelId: string, tenants?: readonly TenantId[]): Subscription[] {
    const all = this.s.subsOfChannel.all(platform, channelId).map(toSub);
    return tenants ? all.filter((s) => tenants.includes(s.tenant)) : all;
  }

  /** Subscriptions whose tenant can see this feed (every one for an operator feed, else its owners' only), oldest first. */
  subscriptionsSeeing(feedId: number): Subscription[] {
    return this.s.subsSeeing.all(feedId).map(toSub);
  }

  /** Every subscription, oldest first. */
  allSubscriptions(): Subscription[] {
    return this.s.subsAll.all().map(toSub);
  }

  /** Removes one subscription of the channel (or all of them when id is undefined); pending alerts go with it. Returns how many. */
  unsubscribe(platform: 'discord' | 'slack', channelId: string, id?: number): number {
    return this.removeSubscriptions(platform, channelId, id).length;
  }

  /**
   * Removes one subscription of the channel (or all of them when id is undefined), only the tenant's when `tenant` is
   * given; pending alerts go with it. Returns the removed subscriptions.
   */
  removeSubscriptions(platform: 'discord' | 'slack', channelId: string, id?: number, tenant?: TenantId): Subscription[] {
    return this.transaction(() => {
      const doomed = this.listSubscriptions(platform, channelId, tenant === undefined ? undefined : [tenant]).filter((s) => id === undefined || s.id === id);
      for (const s of doomed) this.s.subDelete.run(s.id, platform, channelId);
      return doomed;
    });
  }

  // ---- outbox

  /** Queues a row unless one exists for the same (subscription, post) or (channel, post); returns the new id or undefined. */
  enqueue(input: OutboxInput): number | undefined {
    const info = this.s.outInsert.run(
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
    );
    return info.changes > 0 ? Number(info.lastInsertRowid) : undefined;
  }

  /** One outbox row, or undefined. */
  getOutbox(id: number): OutboxRow | undefined {
    const r = this.s.outById.get(id);
    return r ? toOutbox(r) : undefined;
  }

  /** Pending rows due at `now`, oldest due first. */
  dueOutbox(now: number, limit = 500): OutboxRow[] {
    return this.s.outDue.all(now, limit).map(toOutbox);
  }

  /** Rows in one state, by id. */
  outboxByStatus(status: OutboxStatus): OutboxRow[] {
    return this.s.outByStatus.all(status).map(toOutbox);
  }

  /** When the next pending row is due, or undefined when none is pending. */
  nextOutboxDue(): number | undefined {
    return this.s.outNextDue.get()?.at ?? undefined;
  }

  /** Marks a pending row `sending` with its thread parent; returns false when another worker took it. */
  markSending(id: number, threadOf: string | null): boolean {
    return this.s.outSending.run(threadOf, id).changes > 0;
  }

  /** Marks a sending row sent (and its folded rows, for a digest) and remembers the incident's first alert in the channel. */
  markSent(row: OutboxRow, messageId: string, now: number): boolean {
    return this.transaction(() => {
      const changed = this.s.outSent.run(messageId, now, row.id).changes > 0;
      if (!changed) return false;
      if (row.kind === 'digest') this.s.outFoldedSent.run(now, row.id);
      if (row.kind === 'alert' && row.incidentId) this.s.threadSet.run(row.platform, row.channelId, row.incidentId, messageId, now);
      return true;
    });
  }

  /** Puts a row back to pending for another attempt at `at`. */
  markRetry(id: number, at: number, error: string): void {
    this.s.outRetry.run(at, error, id);
  }

  /** Puts a `sending` row back to pending without counting an attempt (an interrupted send found not delivered). */
  requeue(id: number, at: number): void {
    this.s.outRequeue.run(at, id);
  }

  /** Marks a row failed for good. */
  markFailed(id: number, error: string): void {
    this.s.outFailed.run(error, id);
  }

  /** Folds pending alert rows into a digest row (the channel's pending digest, or a new one); returns the digest id. */
  foldIntoDigest(rows: readonly OutboxRow[], now: number): number | undefined {
    if (rows.length === 0) return undefined;
    const first = rows[0]!;
    return this.transaction(() => {
      let digestId = this.s.outPendingDigest.get(first.platform, first.channelId)?.id as number | undefined;
      if (digestId === undefined) {
        digestId = this.enqueue({
          subscriptionId: first.subscriptionId,
          platform: first.platform,
          channelId: first.channelId,
          kind: 'digest',
          roleId: rows.find((r) => r.roleId)?.roleId ?? undefined,
          nextAttemptAt: now,
          createdAt: now,
        });
      }
      for (const r of rows) this.s.outFold.run(digestId!, r.id);
      return digestId;
    });
  }

  /** The rows a digest carries. */
  foldedInto(digestId: number): OutboxRow[] {
    return this.s.outFoldedInto.all(digestId).map(toOutbox);
  }

  /** Alerts of a channel that were sent since `since` or are being sent now. */
  recentAlertCount(platform: string, channelId: string, since: number): number {
    return this.s.outRecentAlerts.get(platform, channelId, since)!.n;
  }

  /** Row counts by status and kind (for status output and tests). */
  outboxCounts(): { status: OutboxStatus; kind: OutboxKind; n: number }[] {
    return this.s.outCounts.all() as { status: OutboxStatus; kind: OutboxKind; n: number }[];
  }

  /** Rows waiting to be delivered (pending or being sent), per platform, with the creation time of the oldest. */
  outboxBacklog(): { platform: string; depth: number; oldestCreatedAt: number }[] {
    return this.s.outBacklog.all().map((r) => ({ platform: r.platform, depth: r.n, oldestCreatedAt: r.oldest }));
  }

  // ---- alert threads

  /** The message id of the first alert about an incident in a channel, or undefined. */
  threadOf(platform: string, channelId: string, incidentId: string): string | undefined {
    return this.s.threadGet.get(platform, channelId, incidentId)?.message_id;
  }
}

function toFeed(r: Raw): FeedRow {
  return {
    id: r.id as number,
    url: r.url as string,
    name: r.name as string | null,
    intervalSeconds: r.interval_seconds as number | null,
    etag: r.etag as string | null,
    lastModified: r.last_modified as string | null,
    bodyHash: r.body_hash as string | null,
    nextPollAt: r.next_poll_at as number | null,
    lastSuccessAt: r.last_success_at as number | null,
    lastError: r.last_error as string | null,
    lastErrorAt: r.last_error_at as number | null,
    consecutiveFailures: r.consecutive_failures as number,
    failing: r.failing === 1,
    failingNotified: r.failing_notified === 1,
    seeded: r.seeded === 1,
    itemsSeen: r.items_seen as number,
    polls: r.polls as number,
    notModified: r.not_modified as number,
    removed: r.removed === 1,
    addedBy: r.added_by as string | null,
    createdAt: r.created_at as number,
    itemsSkipped: (r.items_skipped as number | undefined) ?? 0,
    lastSkipped: (r.last_skipped as number | undefined) ?? 0,
    lastSkipReason: (r.last_skip_reason as string | null | undefined) ?? null,
  };
}

function toPost(r: Raw): PostRow {
  return {
    id: r.id as string,
    feedId: r.feed_id as number,
    incidentId: r.incident_id as string,
    url: r.url as string | null,
    urlKey: r.url_key as string | null,
    title: r.title as string,
    published: r.published as string | null,
    summary: r.summary as string,
    createdAt: r.created_at as number,
  };
}

function toSub(r: Raw): Subscription {
  return {
    id: r.id as number,
    tenant: r.tenant as string,
    platform: r.platform as 'discord' | 'slack',
    channelId: r.channel_id as string,
    workspaceId: (r.workspace_id as string | null) ?? undefined,
    filter: r.filter as string,
    roleId: (r.role_id as string | null) ?? undefined,
    createdBy: (r.created_by as string | null) ?? undefined,
    createdAt: new Date(r.created_at as number).toISOString(),
  };
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
  };
}

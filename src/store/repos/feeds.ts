import { OPERATOR_TENANT, type FeedSpec, type FeedStatus, type TenantId } from '../../core/feed-model.js';
import { redactText, redactUrl } from '../../core/redact.js';
import type { Db, SqlValue } from '../db.js';
import { insertRows } from './sql.js';
import type { OwnerSource, TenantsRepo } from './tenants.js';

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

/** Returns `ms` as an ISO 8601 string, or undefined for null. */
export function isoOrUndefined(ms: number | null | undefined): string | undefined {
  return ms === null || ms === undefined ? undefined : new Date(ms).toISOString();
}

type Raw = Record<string, unknown>;

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

/** Keys checked per query by knownKeys: well under SQLite's 32,766 bound parameters and PostgreSQL's 65,535. */
const KEYS_PER_QUERY = 500;

/** Feeds (who owns them, when they are due, what a poll found) and the item keys seen in each. */
export class FeedsRepo {
  constructor(
    private readonly db: Db,
    private readonly tenants: TenantsRepo,
  ) {}

  /** The feed with this id (removed ones included), or undefined. */
  async get(id: number): Promise<FeedRow | undefined> {
    const r = await this.db.one<Raw>('SELECT * FROM feeds WHERE id = ?', [id]);
    return r ? toFeed(r) : undefined;
  }

  /** The feed with exactly this URL (removed ones included), or undefined. */
  async getByUrl(url: string): Promise<FeedRow | undefined> {
    const r = await this.db.one<Raw>('SELECT * FROM feeds WHERE url = ?', [url]);
    return r ? toFeed(r) : undefined;
  }

  /** Active feeds (not removed), oldest first. */
  async list(): Promise<FeedRow[]> {
    return (await this.db.query<Raw>('SELECT * FROM feeds WHERE removed = 0 ORDER BY id')).map(toFeed);
  }

  /** Active feeds whose next poll is due at `now` (never-polled ones first). */
  async due(now: number): Promise<FeedRow[]> {
    const rows = await this.db.query<Raw>(
      'SELECT * FROM feeds WHERE removed = 0 AND (next_poll_at IS NULL OR next_poll_at <= ?) ORDER BY coalesce(next_poll_at, 0), id',
      [now],
    );
    return rows.map(toFeed);
  }

  /** Ids of every feed, removed ones included (their posts age out too). */
  async allIds(): Promise<number[]> {
    return (await this.db.query<{ id: number }>('SELECT id FROM feeds ORDER BY id')).map((r) => r.id);
  }

  /**
   * Adds a feed for an owner (default: the operator, as the CLI does), or brings back one no one owned any more;
   * returns the row, whether it became watched (new or revived) and whether this owner is new. One row per URL is
   * fetched once, whoever owns it. A tenant's name goes on its ownership only; the operator's names the feed.
   */
  add(spec: FeedSpec, now: number, addedBy?: string, owner: FeedOwnerInput = { tenant: OPERATOR_TENANT, source: 'cli' }): Promise<{ feed: FeedRow; added: boolean; owned: boolean }> {
    return this.db.transaction(async () => {
      const operator = owner.tenant === OPERATOR_TENANT;
      const feedName = operator ? (owner.name ?? spec.name ?? null) : null;
      let feed = await this.getByUrl(spec.url);
      let added = false;
      if (!feed) {
        // Replicas starting together reconcile one feed list: the one that loses the race finds the winner's row.
        const { lastId } = await this.db.run(
          'INSERT INTO feeds (url, name, interval_seconds, added_by, created_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (url) DO NOTHING RETURNING id',
          [spec.url, feedName, spec.intervalSeconds ?? null, addedBy ?? null, now],
        );
        added = lastId !== undefined;
        feed = (added ? await this.get(lastId!) : await this.getByUrl(spec.url))!;
      }
      if (!added && feed.removed) {
        // A re-added feed starts over as unseeded: items published while it was removed are stored, not alerted.
        await this.db.run(
          `UPDATE feeds SET removed = 0, name = coalesce(?, name), interval_seconds = ?, added_by = coalesce(?, added_by),
             seeded = 0, next_poll_at = NULL, consecutive_failures = 0, failing = 0, failing_notified = 0,
             etag = NULL, last_modified = NULL, body_hash = NULL
           WHERE id = ?`,
          [feedName, spec.intervalSeconds ?? feed.intervalSeconds, addedBy ?? null, feed.id],
        );
        added = true;
      } else if (!added && operator && (feedName || spec.intervalSeconds !== undefined)) {
        await this.db.run('UPDATE feeds SET name = coalesce(?, name), interval_seconds = coalesce(?, interval_seconds) WHERE id = ?', [
          feedName,
          spec.intervalSeconds ?? null,
          feed.id,
        ]);
      }
      const had = await this.tenants.owner(feed.id, owner.tenant);
      await this.tenants.setOwner({
        feedId: feed.id,
        tenant: owner.tenant,
        source: had && had.source === 'file' && owner.source === 'cli' ? 'file' : owner.source,
        name: operator ? null : (owner.name ?? spec.name ?? null),
        addedBy: had?.addedBy ?? addedBy ?? null,
        addedAt: had?.addedAt ?? now,
      });
      return { feed: (await this.get(feed.id))!, added, owned: !had };
    });
  }

  /**
   * Makes the operator's FEEDS_FILE ownership match the list: listed feeds become (or stay) operator feeds, and feeds
   * the file no longer lists stop being FEEDS_FILE feeds (and stop being polled when no one else owns them). Returns
   * how many became FEEDS_FILE feeds and how many stopped being ones.
   */
  syncOperatorFeeds(specs: readonly FeedSpec[], now: number): Promise<{ added: number; dropped: number; droppedUrls: string[] }> {
    return this.db.transaction(async () => {
      const listed = new Set<number>();
      let added = 0;
      for (const spec of specs) {
        const before = await this.getByUrl(spec.url);
        const was = before ? await this.tenants.owner(before.id, OPERATOR_TENANT) : undefined;
        // The file is the truth for its feeds: an operator feed the CLI added becomes a FEEDS_FILE one once listed.
        const { feed } = await this.add(spec, now, 'FEEDS_FILE', { tenant: OPERATOR_TENANT, source: 'file', name: spec.name });
        if (was?.source !== 'file') added++;
        listed.add(feed.id);
      }
      const droppedUrls: string[] = [];
      for (const o of await this.tenants.ownedBy(OPERATOR_TENANT)) {
        if (o.source !== 'file' || listed.has(o.feedId)) continue;
        await this.tenants.removeOwner(o.feedId, OPERATOR_TENANT);
        if ((await this.tenants.ownerCount(o.feedId)) === 0) await this.markRemoved(o.feedId);
        droppedUrls.push((await this.get(o.feedId))?.url ?? String(o.feedId));
      }
      return { added, dropped: droppedUrls.length, droppedUrls };
    });
  }

  /**
   * Ends one tenant's ownership of a feed; the feed stops being polled when no one owns it any more (its posts and
   * items stay, so re-adding it does not re-alert). Returns whether the tenant owned it and whether the feed is still watched.
   */
  release(id: number, tenant: TenantId): Promise<{ released: boolean; stillWatched: boolean }> {
    return this.db.transaction(async () => {
      const released = await this.tenants.removeOwner(id, tenant);
      const stillWatched = (await this.tenants.ownerCount(id)) > 0;
      if (!stillWatched) await this.markRemoved(id);
      return { released, stillWatched };
    });
  }

  /** Stops a feed for everyone: every ownership ends and it is no longer polled; returns whether it was active. */
  remove(id: number): Promise<boolean> {
    return this.db.transaction(async () => {
      await this.tenants.removeOwners(id);
      return this.markRemoved(id);
    });
  }

  private async markRemoved(id: number): Promise<boolean> {
    return (await this.db.run('UPDATE feeds SET removed = 1 WHERE id = ? AND removed = 0', [id])).changes > 0;
  }

  /** Writes a poll's outcome to the feed row. */
  async update(id: number, update: FeedPollUpdate): Promise<void> {
    const sets: string[] = [];
    const values: SqlValue[] = [];
    for (const [field, column] of Object.entries(FEED_COLUMNS) as [keyof FeedPollUpdate, string][]) {
      const v = update[field];
      if (v === undefined) continue;
      sets.push(field.startsWith('add') ? `${column} = ${column} + ?` : `${column} = ?`);
      values.push(typeof v === 'boolean' ? (v ? 1 : 0) : v);
    }
    if (sets.length === 0) return;
    values.push(id);
    // A handful of field combinations recur (every slice of an ingest writes its counters): each is prepared once.
    await this.db.run(`UPDATE feeds SET ${sets.join(', ')} WHERE id = ?`, values);
  }

  /** The earliest next_poll_at among active feeds (0 when one was never scheduled), or undefined when there are none. */
  async nextPollAt(): Promise<number | undefined> {
    const r = await this.db.one<{ at: number | null; never: number }>(
      'SELECT min(coalesce(next_poll_at, 0)) AS at, count(*) AS never FROM feeds WHERE removed = 0',
    );
    if (!r || r.never === 0) return undefined;
    return r.at ?? 0;
  }

  /**
   * Returns the status of a feed as `viewer` sees it: the URL and last error with credentials redacted, the viewer's
   * own name for it, and whether it is an operator feed or the viewer's (the operator also sees the owning tenants).
   */
  async status(feed: FeedRow, viewer: TenantId = OPERATOR_TENANT): Promise<FeedStatus> {
    const owners = await this.tenants.ownersOf(feed.id);
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
  async visibleTo(tenant: TenantId | undefined): Promise<FeedRow[]> {
    if (tenant === OPERATOR_TENANT) return this.list();
    const rows = await this.db.query<Raw>(
      `SELECT f.* FROM feeds f WHERE f.removed = 0 AND EXISTS (
         SELECT 1 FROM feed_owners o WHERE o.feed_id = f.id AND (o.tenant = 'operator' OR o.tenant = ?)) ORDER BY f.id`,
      [tenant ?? OPERATOR_TENANT],
    );
    return rows.map(toFeed);
  }

  /** Whether a post of this feed may join this record: public posts join public records only; private posts join nothing. */
  async mayAttach(feedId: number, incidentId: string): Promise<boolean> {
    return (await this.tenants.isOperatorFeed(feedId)) && (await this.tenants.privateFeedOf(incidentId)) === undefined;
  }

  // ---- item keys

  /** Whether this feed already has an item with this key. */
  async hasItem(feedId: number, key: string): Promise<boolean> {
    return (await this.db.one('SELECT 1 AS one FROM feed_items WHERE feed_id = ? AND item_key = ?', [feedId, key])) !== undefined;
  }

  /** Which of these keys the feed has seen (one query per few hundred keys, not one per key). */
  async knownKeys(feedId: number, keys: readonly string[]): Promise<Set<string>> {
    const out = new Set<string>();
    for (let at = 0; at < keys.length; at += KEYS_PER_QUERY) {
      const chunk = keys.slice(at, at + KEYS_PER_QUERY);
      const rows = await this.db.query<{ item_key: string }>(
        `SELECT item_key FROM feed_items WHERE feed_id = ? AND item_key IN (${chunk.map(() => '?').join(', ')})`,
        [feedId, ...chunk],
      );
      for (const r of rows) out.add(r.item_key);
    }
    return out;
  }

  /** Every item key seen in a feed. */
  async itemKeys(feedId: number): Promise<Set<string>> {
    return new Set((await this.db.query<{ item_key: string }>('SELECT item_key FROM feed_items WHERE feed_id = ?', [feedId])).map((r) => r.item_key));
  }

  /** Records an item key (ignored when already present). */
  async insertItem(feedId: number, key: string, postId: string | null, now: number): Promise<void> {
    await this.db.run('INSERT INTO feed_items (feed_id, item_key, post_id, first_seen) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING', [feedId, key, postId, now]);
  }

  /** Records item keys, each with its post or null (those already present are left alone), a few hundred per statement. */
  async insertItems(feedId: number, items: readonly { key: string; postId: string | null }[], now: number): Promise<void> {
    await insertRows(this.db, 'INSERT INTO feed_items (feed_id, item_key, post_id, first_seen)', items.map((i) => [feedId, i.key, i.postId, now]), 'ON CONFLICT DO NOTHING');
  }

  /**
   * Returns the first-seen time before which a feed's keys without a post may go: `cutoffMs`, or later when more than
   * `keep` such keys were seen since (keys seen at the same moment as the `keep`-th newest all stay).
   */
  async keyPruneCutoff(feedId: number, cutoffMs: number, keep: number): Promise<number> {
    // Keys recorded without a post (skipped items, pruned posts) are read through the partial index feed_items_unlinked.
    const at = (
      await this.db.one<{ first_seen: number }>(
        'SELECT first_seen FROM feed_items WHERE feed_id = ? AND post_id IS NULL ORDER BY first_seen DESC LIMIT 1 OFFSET ?',
        [feedId, keep],
      )
    )?.first_seen;
    return at === undefined ? cutoffMs : Math.max(cutoffMs, at);
  }

  /** A page of a feed's item keys recorded without a post and first seen before `beforeMs`, oldest first. */
  async unlinkedKeysBefore(feedId: number, beforeMs: number, limit: number, offset = 0): Promise<string[]> {
    const rows = await this.db.query<{ item_key: string }>(
      'SELECT item_key FROM feed_items WHERE feed_id = ? AND post_id IS NULL AND first_seen < ? ORDER BY first_seen LIMIT ? OFFSET ?',
      [feedId, beforeMs, limit, offset],
    );
    return rows.map((r) => r.item_key);
  }

  /** Forgets an item key recorded without a post; returns whether one was deleted. */
  async deleteItemKey(feedId: number, key: string): Promise<boolean> {
    return (await this.db.run('DELETE FROM feed_items WHERE feed_id = ? AND item_key = ? AND post_id IS NULL', [feedId, key])).changes > 0;
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

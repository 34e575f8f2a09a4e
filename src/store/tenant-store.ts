import type Database from 'better-sqlite3';
import { OPERATOR_TENANT, type AuditAction, type AuditEntry, type TenantId } from '../core/feed-model.js';
import type { Store } from './store.js';

/** How a tenant came to own a feed: FEEDS_FILE, the operator's CLI or console, or a chat command. */
export type OwnerSource = 'file' | 'cli' | 'chat';

/** One owner of a feed. */
export interface FeedOwner {
  feedId: number;
  tenant: TenantId;
  source: OwnerSource;
  /** The owner's own name for the feed. */
  name: string | null;
  addedBy: string | null;
  addedAt: number;
}

/** What an audit row needs; the time is given by the caller's clock. */
export interface AuditInput {
  tenant: TenantId;
  platform: string;
  userId: string;
  action: AuditAction;
  feedId?: number;
  subscriptionId?: number;
  channelId?: string;
  detail?: string;
}

type Raw = Record<string, unknown>;

/** One TenantStore per open store: the private-record cache must be the one every writer updates. */
const perStore = new WeakMap<Store, TenantStore>();

/**
 * Tenancy over the core store's connection: who owns each feed, which records are private to a feed's owners, and
 * the audit log. Every method is synchronous (better-sqlite3).
 */
export class TenantStore {
  private readonly db: Database.Database;
  private readonly s;
  /** incident id -> feed id of every private record; loaded on first use, then kept current by markPrivate. */
  private privateRecords: Map<string, number> | undefined;

  /** Returns the tenant store of this store (one per store, so every writer shares the private-record cache). */
  static of(store: Store): TenantStore {
    let t = perStore.get(store);
    if (!t) perStore.set(store, (t = new TenantStore(store)));
    return t;
  }

  private constructor(store: Store) {
    this.db = store.db;
    const db = this.db;
    this.s = {
      owners: db.prepare<[number], Raw>('SELECT * FROM feed_owners WHERE feed_id = ? ORDER BY added_at, tenant'),
      owner: db.prepare<[number, string], Raw>('SELECT * FROM feed_owners WHERE feed_id = ? AND tenant = ?'),
      ownedBy: db.prepare<[string], Raw>('SELECT * FROM feed_owners WHERE tenant = ? ORDER BY feed_id'),
      allOwners: db.prepare<[], Raw>('SELECT * FROM feed_owners ORDER BY feed_id, added_at'),
      upsertOwner: db.prepare<[number, string, string, string | null, string | null, number]>(
        `INSERT INTO feed_owners (feed_id, tenant, source, name, added_by, added_at) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (feed_id, tenant) DO UPDATE SET source = excluded.source, name = coalesce(excluded.name, name)`,
      ),
      rename: db.prepare<[string | null, number, string]>('UPDATE feed_owners SET name = ? WHERE feed_id = ? AND tenant = ?'),
      deleteOwner: db.prepare<[number, string]>('DELETE FROM feed_owners WHERE feed_id = ? AND tenant = ?'),
      deleteOwners: db.prepare<[number]>('DELETE FROM feed_owners WHERE feed_id = ?'),
      countOwners: db.prepare<[number], { n: number }>('SELECT count(*) AS n FROM feed_owners WHERE feed_id = ?'),
      countChatFeeds: db.prepare<[string], { n: number }>("SELECT count(*) AS n FROM feed_owners WHERE tenant = ? AND source = 'chat'"),
      isOperatorFeed: db.prepare<[number], { one: 1 }>("SELECT 1 AS one FROM feed_owners WHERE feed_id = ? AND tenant = 'operator'"),
      privateAll: db.prepare<[], { incident_id: string; feed_id: number }>('SELECT incident_id, feed_id FROM private_records'),
      privateInsert: db.prepare<[string, number]>('INSERT OR IGNORE INTO private_records (incident_id, feed_id) VALUES (?, ?)'),
      privateOne: db.prepare<[string], { feed_id: number }>('SELECT feed_id FROM private_records WHERE incident_id = ?'),
      auditInsert: db.prepare<[number, string, string, string, string, number | null, number | null, string | null, string | null]>(
        `INSERT INTO audit_log (at, tenant, platform, user_id, action, feed_id, subscription_id, channel_id, detail)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      auditAll: db.prepare<[number], Raw>('SELECT * FROM audit_log ORDER BY id DESC LIMIT ?'),
      auditOf: db.prepare<[string, number], Raw>('SELECT * FROM audit_log WHERE tenant = ? ORDER BY id DESC LIMIT ?'),
    };
  }

  // ---- feed owners

  /** The owners of a feed, first owner first. */
  ownersOf(feedId: number): FeedOwner[] {
    return this.s.owners.all(feedId).map(toOwner);
  }

  /** This tenant's ownership of a feed, or undefined. */
  owner(feedId: number, tenant: TenantId): FeedOwner | undefined {
    const r = this.s.owner.get(feedId, tenant);
    return r ? toOwner(r) : undefined;
  }

  /** Every feed this tenant owns. */
  ownedBy(tenant: TenantId): FeedOwner[] {
    return this.s.ownedBy.all(tenant).map(toOwner);
  }

  /** Every ownership row (the operator's view of the feed list). */
  allOwners(): FeedOwner[] {
    return this.s.allOwners.all().map(toOwner);
  }

  /** Adds (or updates the source and name of) a tenant's ownership of a feed. */
  setOwner(owner: FeedOwner): void {
    this.s.upsertOwner.run(owner.feedId, owner.tenant, owner.source, owner.name, owner.addedBy, owner.addedAt);
  }

  /** Sets a tenant's own name for a feed. */
  renameOwner(feedId: number, tenant: TenantId, name: string | null): void {
    this.s.rename.run(name, feedId, tenant);
  }

  /** Removes one tenant's ownership; returns whether it had one. */
  removeOwner(feedId: number, tenant: TenantId): boolean {
    return this.s.deleteOwner.run(feedId, tenant).changes > 0;
  }

  /** Removes every ownership of a feed (the operator removing it for everyone). */
  removeOwners(feedId: number): number {
    return this.s.deleteOwners.run(feedId).changes;
  }

  /** How many tenants (the operator included) own the feed. */
  ownerCount(feedId: number): number {
    return this.s.countOwners.get(feedId)!.n;
  }

  /** How many feeds a tenant added from chat (what FEEDS_PER_TENANT counts). */
  chatFeedCount(tenant: TenantId): number {
    return this.s.countChatFeeds.get(tenant)!.n;
  }

  /** Whether the operator owns the feed (FEEDS_FILE or the CLI): its posts are for every tenant. */
  isOperatorFeed(feedId: number): boolean {
    return this.s.isOperatorFeed.get(feedId) !== undefined;
  }

  // ---- private records

  private privateMap(): Map<string, number> {
    if (!this.privateRecords) {
      const map = new Map<string, number>();
      for (const r of this.s.privateAll.iterate()) map.set(r.incident_id, r.feed_id);
      this.privateRecords = map;
    }
    return this.privateRecords;
  }

  /** Records that a record was made from a post of a feed no operator owns: only that feed's owners see it. */
  markPrivate(incidentId: string, feedId: number): void {
    this.s.privateInsert.run(incidentId, feedId);
    this.privateRecords?.set(incidentId, feedId);
  }

  /** The feed whose owners alone see this record, or undefined for a record everyone sees. */
  privateFeedOf(incidentId: string): number | undefined {
    if (this.privateRecords) return this.privateRecords.get(incidentId);
    return this.s.privateOne.get(incidentId)?.feed_id;
  }

  /**
   * Returns which record ids a tenant may see: every record but the private ones of feeds it does not own. The
   * operator sees everything; no tenant (a DM) sees only what everyone sees. Undefined means "every record" (no
   * private records exist, or the operator asks), so callers skip filtering altogether.
   */
  visibility(tenant: TenantId | undefined): ((id: string) => boolean) | undefined {
    if (tenant === OPERATOR_TENANT) return undefined;
    const map = this.privateMap();
    if (map.size === 0) return undefined;
    const owned = new Set(tenant ? this.ownedBy(tenant).map((o) => o.feedId) : []);
    return (id) => {
      const feed = map.get(id);
      return feed === undefined || owned.has(feed);
    };
  }

  // ---- audit

  /** Appends a row to the audit log. */
  audit(entry: AuditInput, now: number): void {
    this.s.auditInsert.run(
      now,
      entry.tenant,
      entry.platform,
      entry.userId,
      entry.action,
      entry.feedId ?? null,
      entry.subscriptionId ?? null,
      entry.channelId ?? null,
      entry.detail ?? null,
    );
  }

  /** The audit log, newest first, optionally of one tenant. */
  auditLog(filter: { tenant?: TenantId; limit?: number } = {}): AuditEntry[] {
    const limit = filter.limit ?? 1000;
    const rows = filter.tenant ? this.s.auditOf.all(filter.tenant, limit) : this.s.auditAll.all(limit);
    return rows.map(toAudit);
  }
}

function toOwner(r: Raw): FeedOwner {
  return {
    feedId: r.feed_id as number,
    tenant: r.tenant as string,
    source: r.source as OwnerSource,
    name: r.name as string | null,
    addedBy: r.added_by as string | null,
    addedAt: r.added_at as number,
  };
}

function toAudit(r: Raw): AuditEntry {
  const out: AuditEntry = {
    id: r.id as number,
    at: new Date(r.at as number).toISOString(),
    tenant: r.tenant as string,
    platform: r.platform as string,
    userId: r.user_id as string,
    action: r.action as AuditAction,
  };
  if (r.feed_id !== null) out.feedId = r.feed_id as number;
  if (r.subscription_id !== null) out.subscriptionId = r.subscription_id as number;
  if (r.channel_id !== null) out.channelId = r.channel_id as string;
  if (r.detail !== null) out.detail = r.detail as string;
  return out;
}

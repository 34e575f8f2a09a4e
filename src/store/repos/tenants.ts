import { OPERATOR_TENANT, type AuditAction, type AuditEntry, type TenantId } from '../../core/feed-model.js';
import type { Db } from '../db.js';
import { inJsonArray, insertRows } from './sql.js';

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

/**
 * Tenancy: who owns each feed, which records are private to a feed's owners, and the audit log. Writes and the checks
 * the pipeline makes go to the database; `visibility` answers synchronously (the adapters ask it for every answer) from
 * a snapshot of private records and owners that `load` fills and this repository's writes keep current.
 */
export class TenantsRepo {
  /** incident id -> feed id of every private record. */
  private privateRecords = new Map<string, number>();
  /** tenant -> ids of the feeds it owns. */
  private owned = new Map<TenantId, Set<number>>();

  constructor(private readonly db: Db) {}

  /** Loads the snapshot `visibility` reads (call once after opening, and again when another process changed owners). */
  async load(): Promise<void> {
    const privateRecords = new Map<string, number>();
    for (const r of await this.db.query<{ incident_id: string; feed_id: number }>('SELECT incident_id, feed_id FROM private_records')) {
      privateRecords.set(r.incident_id, r.feed_id);
    }
    const owned = new Map<TenantId, Set<number>>();
    for (const r of await this.db.query<{ tenant: string; feed_id: number }>('SELECT tenant, feed_id FROM feed_owners')) {
      let set = owned.get(r.tenant);
      if (!set) owned.set(r.tenant, (set = new Set()));
      set.add(r.feed_id);
    }
    this.privateRecords = privateRecords;
    this.owned = owned;
  }

  // ---- feed owners

  /** The owners of a feed, first owner first. */
  async ownersOf(feedId: number): Promise<FeedOwner[]> {
    return (await this.db.query<Raw>('SELECT * FROM feed_owners WHERE feed_id = ? ORDER BY added_at, tenant', [feedId])).map(toOwner);
  }

  /** This tenant's ownership of a feed, or undefined. */
  async owner(feedId: number, tenant: TenantId): Promise<FeedOwner | undefined> {
    const r = await this.db.one<Raw>('SELECT * FROM feed_owners WHERE feed_id = ? AND tenant = ?', [feedId, tenant]);
    return r ? toOwner(r) : undefined;
  }

  /** Every feed this tenant owns. */
  async ownedBy(tenant: TenantId): Promise<FeedOwner[]> {
    return (await this.db.query<Raw>('SELECT * FROM feed_owners WHERE tenant = ? ORDER BY feed_id', [tenant])).map(toOwner);
  }

  /** Every ownership row (the operator's view of the feed list). */
  async allOwners(): Promise<FeedOwner[]> {
    return (await this.db.query<Raw>('SELECT * FROM feed_owners ORDER BY feed_id, added_at')).map(toOwner);
  }

  /** Adds (or updates the source and name of) a tenant's ownership of a feed. */
  async setOwner(owner: FeedOwner): Promise<void> {
    await this.db.run(
      `INSERT INTO feed_owners (feed_id, tenant, source, name, added_by, added_at) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (feed_id, tenant) DO UPDATE SET source = excluded.source, name = coalesce(excluded.name, feed_owners.name)`,
      [owner.feedId, owner.tenant, owner.source, owner.name, owner.addedBy, owner.addedAt],
    );
    let set = this.owned.get(owner.tenant);
    if (!set) this.owned.set(owner.tenant, (set = new Set()));
    set.add(owner.feedId);
  }

  /** Sets a tenant's own name for a feed. */
  async renameOwner(feedId: number, tenant: TenantId, name: string | null): Promise<void> {
    await this.db.run('UPDATE feed_owners SET name = ? WHERE feed_id = ? AND tenant = ?', [name, feedId, tenant]);
  }

  /** Removes one tenant's ownership; returns whether it had one. */
  async removeOwner(feedId: number, tenant: TenantId): Promise<boolean> {
    this.owned.get(tenant)?.delete(feedId);
    return (await this.db.run('DELETE FROM feed_owners WHERE feed_id = ? AND tenant = ?', [feedId, tenant])).changes > 0;
  }

  /** Removes every ownership of a feed (the operator removing it for everyone). */
  async removeOwners(feedId: number): Promise<number> {
    for (const set of this.owned.values()) set.delete(feedId);
    return (await this.db.run('DELETE FROM feed_owners WHERE feed_id = ?', [feedId])).changes;
  }

  /** How many tenants (the operator included) own the feed. */
  async ownerCount(feedId: number): Promise<number> {
    return (await this.db.one<{ n: number }>('SELECT count(*) AS n FROM feed_owners WHERE feed_id = ?', [feedId]))!.n;
  }

  /** How many feeds a tenant added from chat (what FEEDS_PER_TENANT counts). */
  async chatFeedCount(tenant: TenantId): Promise<number> {
    return (await this.db.one<{ n: number }>("SELECT count(*) AS n FROM feed_owners WHERE tenant = ? AND source = 'chat'", [tenant]))!.n;
  }

  /** Whether the operator owns the feed (FEEDS_FILE or the CLI): its posts are for every tenant. */
  async isOperatorFeed(feedId: number): Promise<boolean> {
    return (await this.db.one("SELECT 1 AS one FROM feed_owners WHERE feed_id = ? AND tenant = 'operator'", [feedId])) !== undefined;
  }

  // ---- private records

  /** Records that a record was made from a post of a feed no operator owns: only that feed's owners see it. */
  async markPrivate(incidentId: string, feedId: number): Promise<void> {
    await this.db.run('INSERT INTO private_records (incident_id, feed_id) VALUES (?, ?) ON CONFLICT DO NOTHING', [incidentId, feedId]);
    if (!this.privateRecords.has(incidentId)) this.privateRecords.set(incidentId, feedId);
  }

  /** Records markPrivate for several records, a few hundred per statement. */
  async markPrivateMany(records: readonly { incidentId: string; feedId: number }[]): Promise<void> {
    if (records.length === 0) return;
    await insertRows(this.db, 'INSERT INTO private_records (incident_id, feed_id)', records.map((r) => [r.incidentId, r.feedId]), 'ON CONFLICT DO NOTHING');
    for (const r of records) if (!this.privateRecords.has(r.incidentId)) this.privateRecords.set(r.incidentId, r.feedId);
  }

  /**
   * Brings the snapshot `visibility` reads up to date for records another process wrote (another replica's feed made
   * them): which of these ids are private, and who owns their feeds. Call before serving those records, so a private
   * one is never shown to every tenant in between.
   */
  async learnPrivate(incidentIds: readonly string[]): Promise<void> {
    const found = await this.privateFeedsOf(incidentIds);
    if (found.size === 0) return;
    for (const [id, feed] of found) if (!this.privateRecords.has(id)) this.privateRecords.set(id, feed);
    const feeds = [...new Set(found.values())];
    // Compared as text: the list arrives as JSON text on either engine.
    const rows = await this.db.query<{ tenant: string; feed_id: number }>(`SELECT tenant, feed_id FROM feed_owners WHERE CAST(feed_id AS TEXT) ${inJsonArray(this.db)}`, [
      JSON.stringify(feeds.map(String)),
    ]);
    for (const r of rows) {
      let set = this.owned.get(r.tenant);
      if (!set) this.owned.set(r.tenant, (set = new Set()));
      set.add(Number(r.feed_id));
    }
  }

  /** privateFeedOf for several records in one query: record id -> feed, for the private ones only. */
  async privateFeedsOf(incidentIds: readonly string[]): Promise<Map<string, number>> {
    if (incidentIds.length === 0) return new Map();
    const rows = await this.db.query<{ incident_id: string; feed_id: number }>(`SELECT incident_id, feed_id FROM private_records WHERE incident_id ${inJsonArray(this.db)}`, [JSON.stringify([...new Set(incidentIds)])]);
    return new Map(rows.map((r) => [r.incident_id, Number(r.feed_id)]));
  }

  /** The feed whose owners alone see this record, or undefined for a record everyone sees. */
  async privateFeedOf(incidentId: string): Promise<number | undefined> {
    return (await this.db.one<{ feed_id: number }>('SELECT feed_id FROM private_records WHERE incident_id = ?', [incidentId]))?.feed_id;
  }

  /**
   * Returns which record ids a tenant may see: every record but the private ones of feeds it does not own. The
   * operator sees everything; no tenant (a DM) sees only what everyone sees. Undefined means "every record" (no
   * private records exist, or the operator asks), so callers skip filtering altogether.
   */
  visibility(tenant: TenantId | undefined): ((id: string) => boolean) | undefined {
    if (tenant === OPERATOR_TENANT) return undefined;
    const map = this.privateRecords;
    if (map.size === 0) return undefined;
    const owned = new Set(tenant ? (this.owned.get(tenant) ?? []) : []);
    return (id) => {
      const feed = map.get(id);
      return feed === undefined || owned.has(feed);
    };
  }

  // ---- audit

  /** Appends a row to the audit log. */
  async audit(entry: AuditInput, now: number): Promise<void> {
    await this.db.run(
      `INSERT INTO audit_log (at, tenant, platform, user_id, action, feed_id, subscription_id, channel_id, detail)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [now, entry.tenant, entry.platform, entry.userId, entry.action, entry.feedId ?? null, entry.subscriptionId ?? null, entry.channelId ?? null, entry.detail ?? null],
    );
  }

  /** The audit log, newest first, optionally of one tenant. */
  async auditLog(filter: { tenant?: TenantId; limit?: number } = {}): Promise<AuditEntry[]> {
    const limit = filter.limit ?? 1000;
    const rows = filter.tenant
      ? await this.db.query<Raw>('SELECT * FROM audit_log WHERE tenant = ? ORDER BY id DESC LIMIT ?', [filter.tenant, limit])
      : await this.db.query<Raw>('SELECT * FROM audit_log ORDER BY id DESC LIMIT ?', [limit]);
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

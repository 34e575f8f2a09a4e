import { OPERATOR_TENANT, RefusedError, tenantOf, type Subscription, type TenantId } from '../../core/feed-model.js';
import type { Db } from '../db.js';

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

type Raw = Record<string, unknown>;

/** Channel subscriptions to feed alerts, each with its filter and the tenant that made it. */
export class SubscriptionsRepo {
  constructor(private readonly db: Db) {}

  /**
   * Creates a subscription (or returns the tenant's one in the channel with the same filter, its role updated).
   * Throws RefusedError when another tenant has that filter in the channel (a channel shared between workspaces).
   */
  subscribe(input: SubscriptionInput, now: number): Promise<Subscription> {
    const tenant = input.tenant ?? tenantOf(input.platform, input.workspaceId) ?? OPERATOR_TENANT;
    return this.db.transaction(async () => {
      const existing = await this.byKey(input.platform, input.channelId, input.filter);
      if (existing && existing.tenant !== tenant) throw new RefusedError('This channel already has a subscription with that filter, made from another workspace.');
      await this.db.run(
        `INSERT INTO subscriptions (tenant, platform, channel_id, workspace_id, filter, role_id, created_by, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (platform, channel_id, filter) DO UPDATE SET role_id = excluded.role_id`,
        [tenant, input.platform, input.channelId, input.workspaceId ?? null, input.filter, input.roleId ?? null, input.createdBy ?? null, now],
      );
      return (await this.byKey(input.platform, input.channelId, input.filter))!;
    });
  }

  private async byKey(platform: string, channelId: string, filter: string): Promise<Subscription | undefined> {
    const r = await this.db.one<Raw>('SELECT * FROM subscriptions WHERE platform = ? AND channel_id = ? AND filter = ?', [platform, channelId, filter]);
    return r ? toSub(r) : undefined;
  }

  /** One subscription by id, or undefined. */
  async get(id: number): Promise<Subscription | undefined> {
    const r = await this.db.one<Raw>('SELECT * FROM subscriptions WHERE id = ?', [id]);
    return r ? toSub(r) : undefined;
  }

  /** A channel's subscriptions, oldest first; with `tenants`, only those of these tenants. */
  async list(platform: 'discord' | 'slack', channelId: string, tenants?: readonly TenantId[]): Promise<Subscription[]> {
    const all = (await this.db.query<Raw>('SELECT * FROM subscriptions WHERE platform = ? AND channel_id = ? ORDER BY id', [platform, channelId])).map(toSub);
    return tenants ? all.filter((s) => tenants.includes(s.tenant)) : all;
  }

  /** Subscriptions whose tenant can see this feed (every one for an operator feed, else its owners' only), oldest first. */
  async seeing(feedId: number): Promise<Subscription[]> {
    // A tenant's subscriptions see operator feeds and the tenant's own feeds: nothing of other tenants.
    const rows = await this.db.query<Raw>(
      `SELECT s.* FROM subscriptions s WHERE EXISTS (
         SELECT 1 FROM feed_owners o WHERE o.feed_id = ? AND (o.tenant = 'operator' OR o.tenant = s.tenant)) ORDER BY s.id`,
      [feedId],
    );
    return rows.map(toSub);
  }

  /** Every subscription, oldest first. */
  async all(): Promise<Subscription[]> {
    return (await this.db.query<Raw>('SELECT * FROM subscriptions ORDER BY id')).map(toSub);
  }

  /** Removes one subscription of the channel (or all of them when id is undefined); pending alerts go with it. Returns how many. */
  async unsubscribe(platform: 'discord' | 'slack', channelId: string, id?: number): Promise<number> {
    return (await this.remove(platform, channelId, id)).length;
  }

  /**
   * Removes one subscription of the channel (or all of them when id is undefined), only the tenant's when `tenant` is
   * given; pending alerts go with it. Returns the removed subscriptions.
   */
  remove(platform: 'discord' | 'slack', channelId: string, id?: number, tenant?: TenantId): Promise<Subscription[]> {
    return this.db.transaction(async () => {
      const doomed = (await this.list(platform, channelId, tenant === undefined ? undefined : [tenant])).filter((s) => id === undefined || s.id === id);
      for (const s of doomed) await this.db.run('DELETE FROM subscriptions WHERE id = ? AND platform = ? AND channel_id = ?', [s.id, platform, channelId]);
      return doomed;
    });
  }
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

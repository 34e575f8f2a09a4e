import {
  isOperator,
  OPERATOR_TENANT,
  RefusedError,
  type Actor,
  type AddFeedResult,
  type AlertsService,
  type AuditAction,
  type FeedSpec,
  type FeedStatus,
  type ManagementLimits,
  type RemoveFeedResult,
  type Subscription,
} from '../core/feed-model.js';
import { redactText, redactUrl } from '../core/redact.js';
import type { Logger } from '../logger.js';
import type { FeedRow } from '../store/repos/feeds.js';
import type { Storage } from '../store/storage.js';
import { normalizeFilter, parseFilter } from './match.js';
import { assertFeedUrlAllowed } from './ssrf.js';

/** Checks a feed URL against the SSRF rules (F1's assertFeedUrlAllowed); throws an Error saying why it is refused. */
export type FeedUrlCheck = (url: string, options: { allowPrivate: boolean }) => unknown;

/** Longest interval a feed may ask for (one day, the backoff cap). */
const MAX_INTERVAL_SECONDS = 86_400;
/** Longest feed name kept. */
const MAX_NAME_CHARS = 100;
/** The window MANAGE_COMMANDS_PER_MINUTE counts over. */
const RATE_WINDOW_MS = 60_000;

/** Defaults of the limits (FEEDS_PER_TENANT, SUBSCRIPTIONS_PER_CHANNEL, MANAGE_COMMANDS_PER_MINUTE). */
export const DEFAULT_LIMITS: ManagementLimits = { feedsPerTenant: 20, subscriptionsPerChannel: 25, manageCommandsPerMinute: 10 };

/** The actor of the operator's own commands from the CLI. */
export const CLI_ACTOR: Actor = { tenant: OPERATOR_TENANT, platform: 'cli', userId: 'cli' };

/** Options for createAlertsService. */
export interface AlertsServiceOptions {
  storage: Storage;
  /** ALLOW_PRIVATE_FEED_URLS. */
  allowPrivate: boolean;
  /** Tenant limits (default DEFAULT_LIMITS). */
  limits?: Partial<ManagementLimits>;
  /** SSRF check (default: assertFeedUrlAllowed from ssrf.ts). */
  checkUrl?: FeedUrlCheck;
  now?: () => number;
  logger?: Logger;
  /** Called after a feed became watched (the poller looks at it at once). */
  onFeedAdded?: (feedId: number) => void;
}

/** Management commands per tenant and user in the last minute: a sliding window kept in memory. */
class RateLimiter {
  private readonly hits = new Map<string, number[]>();

  constructor(private readonly perMinute: number) {}

  /** Counts one command; returns 0 when allowed, else the seconds until the oldest one leaves the window. */
  take(key: string, now: number): number {
    const recent = (this.hits.get(key) ?? []).filter((t) => t > now - RATE_WINDOW_MS);
    if (recent.length >= this.perMinute) {
      this.hits.set(key, recent);
      return Math.max(1, Math.ceil((recent[0]! + RATE_WINDOW_MS - now) / 1000));
    }
    recent.push(now);
    this.hits.set(key, recent);
    // Users who stopped long ago are forgotten, so the map stays the size of the last minute's users.
    if (this.hits.size > 10_000) for (const [k, times] of this.hits) if (times.every((t) => t <= now - RATE_WINDOW_MS)) this.hits.delete(k);
    return 0;
  }
}

/** Returns the AlertsService over the store: tenants' feeds and subscriptions, their limits and the audit log. */
export function createAlertsService(options: AlertsServiceOptions): AlertsService {
  const storage = options.storage;
  const tenancy = storage.tenants;
  const now = options.now ?? Date.now;
  const checkUrl = options.checkUrl ?? assertFeedUrlAllowed;
  const limits: ManagementLimits = { ...DEFAULT_LIMITS, ...options.limits };
  const rate = new RateLimiter(limits.manageCommandsPerMinute);
  const log = options.logger;

  const audit = (actor: Actor, action: AuditAction, details: { feedId?: number; subscriptionId?: number; channelId?: string; detail?: string }) =>
    tenancy.audit({ tenant: actor.tenant, platform: actor.platform, userId: actor.userId, action, ...details }, now());

  /** The active feed a tenant refers to by id or URL, among those it sees. */
  async function findVisible(tenant: string, target: string): Promise<FeedRow | undefined> {
    const key = target.trim().replace(/^<(.*)>$/, '$1').replace(/^#(?=\d+$)/, '');
    const visible = await storage.feeds.visibleTo(tenant);
    if (/^\d+$/.test(key)) return visible.find((f) => f.id === Number(key));
    let href = key;
    try {
      href = new URL(key).href;
    } catch {
      // not a URL: compared as typed
    }
    return visible.find((f) => f.url === key || f.url === href || redactUrl(f.url) === key);
  }

  return {
    limits,

    takeManagementSlot(actor) {
      if (isOperator(actor)) return 0;
      return rate.take(`${actor.tenant}\u0000${actor.userId}`, now());
    },

    async subscribe(actor, input): Promise<Subscription> {
      if (!input.channelId?.trim()) throw new RefusedError('A subscription needs a channel.');
      const parsed = parseFilter(normalizeFilter(input.filter ?? '')); // throws FilterError with the fix
      const channelId = input.channelId.trim();
      const mine = await storage.subscriptions.list(input.platform, channelId, [actor.tenant]);
      const same = mine.find((s) => s.filter.toLowerCase() === parsed.text.toLowerCase());
      if (!same && !isOperator(actor) && mine.length >= limits.subscriptionsPerChannel) {
        throw new RefusedError(`This channel has ${mine.length} subscriptions, the most allowed (${limits.subscriptionsPerChannel}); remove one first.`);
      }
      const sub = await storage.subscriptions.subscribe(
        { tenant: actor.tenant, platform: input.platform, channelId, workspaceId: input.workspaceId, filter: same?.filter ?? parsed.text, roleId: input.roleId, createdBy: actor.userId },
        now(),
      );
      await audit(actor, 'subscribe', { subscriptionId: sub.id, channelId, detail: sub.filter ? `filter: ${sub.filter}` : 'every new post' });
      log?.info({ tenant: actor.tenant, platform: sub.platform, channel: sub.channelId, filter: sub.filter, subscription: sub.id }, 'alert subscription saved');
      return sub;
    },

    listSubscriptions(tenant, platform, channelId) {
      return storage.subscriptions.list(platform, channelId, tenant === OPERATOR_TENANT ? undefined : [tenant, OPERATOR_TENANT]);
    },

    async unsubscribe(actor, platform, channelId, id) {
      const removed = await storage.subscriptions.remove(platform, channelId, id, isOperator(actor) ? undefined : actor.tenant);
      for (const sub of removed) await audit(actor, 'unsubscribe', { subscriptionId: sub.id, channelId, detail: sub.filter ? `filter: ${sub.filter}` : 'every new post' });
      if (removed.length) log?.info({ tenant: actor.tenant, platform, channel: channelId, removed: removed.length }, 'alert subscriptions removed');
      return removed.length;
    },

    async listFeeds(tenant) {
      const out = [];
      for (const f of await storage.feeds.visibleTo(tenant)) out.push(await storage.feeds.status(f, tenant ?? ''));
      return out;
    },

    async addFeed(actor, spec): Promise<AddFeedResult> {
      const url = (spec.url ?? '').trim();
      let parsed: URL;
      try {
        parsed = new URL(url);
      } catch {
        throw new RefusedError(`"${redactText(url).slice(0, 200)}" is not a URL; give the feed's full address, e.g. https://example.com/feed.xml`);
      }
      if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new RefusedError(`Only http(s) feed URLs are watched (got ${parsed.protocol}).`);
      if (spec.intervalSeconds !== undefined && (!Number.isInteger(spec.intervalSeconds) || spec.intervalSeconds < 1 || spec.intervalSeconds > MAX_INTERVAL_SECONDS)) {
        throw new RefusedError(`The interval must be a whole number of seconds from 1 to ${MAX_INTERVAL_SECONDS}.`);
      }
      const name = spec.name?.replace(/\s+/g, ' ').trim().slice(0, MAX_NAME_CHARS) || undefined;
      const operator = isOperator(actor);
      const existing = await storage.feeds.getByUrl(parsed.href);
      if (existing && !existing.removed) {
        const own = await tenancy.owner(existing.id, actor.tenant);
        if (!operator && (await tenancy.isOperatorFeed(existing.id))) {
          // An operator feed already reaches this tenant; its name and interval are FEEDS_FILE's (or the operator's).
          const status = await storage.feeds.status(existing, actor.tenant);
          throw new RefusedError(
            `#${existing.id} ${status.name ?? redactUrl(existing.url)} is an operator feed, watched for every server and workspace; it is set in FEEDS_FILE and cannot be changed from chat.`,
          );
        }
        if (own) {
          if (!name || (own.name ?? existing.name) === name) return { feed: await storage.feeds.status(existing, actor.tenant), outcome: 'unchanged' };
          if (operator) await storage.feeds.add({ url: existing.url, name }, now(), actor.userId);
          else await tenancy.renameOwner(existing.id, actor.tenant, name);
          await audit(actor, 'feed-rename', { feedId: existing.id, detail: `${redactUrl(existing.url)} as "${name}"` });
          return { feed: await storage.feeds.status((await storage.feeds.get(existing.id))!, actor.tenant), outcome: 'renamed' };
        }
      }
      if (!operator && (await tenancy.chatFeedCount(actor.tenant)) >= limits.feedsPerTenant) {
        throw new RefusedError(`This server or workspace watches ${limits.feedsPerTenant} feeds of its own, the most allowed; remove one first.`);
      }
      await checkUrl(parsed.href, { allowPrivate: options.allowPrivate });
      const { feed, added } = await storage.feeds.add({ url: parsed.href, name, intervalSeconds: operator ? spec.intervalSeconds : undefined }, now(), actor.userId, {
        tenant: actor.tenant,
        source: operator ? 'cli' : 'chat',
        name,
      });
      await audit(actor, 'feed-add', { feedId: feed.id, detail: `${redactUrl(feed.url)}${name ? ` as "${name}"` : ''}` });
      log?.info({ tenant: actor.tenant, feed: redactUrl(feed.url), id: feed.id, polled: added }, 'feed added');
      if (added) options.onFeedAdded?.(feed.id);
      return { feed: await storage.feeds.status(feed, actor.tenant), outcome: 'added' };
    },

    async removeFeed(actor, idOrUrl): Promise<RemoveFeedResult> {
      const feed = await findVisible(actor.tenant, idOrUrl);
      if (!feed) return { status: 'not-found' };
      const status = await storage.feeds.status(feed, actor.tenant);
      const operatorOwner = await tenancy.owner(feed.id, OPERATOR_TENANT);
      let stillWatched: boolean;
      if (isOperator(actor)) {
        // FEEDS_FILE is the truth for its feeds: removing one here would last only until the next start.
        if (operatorOwner?.source === 'file') return { status: 'operator-feed', feed: status };
        // The operator removes its own feed, or (moderation) a tenant's feed for every tenant that owns it.
        if (operatorOwner) stillWatched = (await storage.feeds.release(feed.id, OPERATOR_TENANT)).stillWatched;
        else stillWatched = !(await storage.feeds.remove(feed.id));
      } else {
        if (operatorOwner) return { status: 'operator-feed', feed: status };
        stillWatched = (await storage.feeds.release(feed.id, actor.tenant)).stillWatched;
      }
      await audit(actor, 'feed-remove', { feedId: feed.id, detail: `${redactUrl(feed.url)}${status.name ? ` (${status.name})` : ''}` });
      log?.info({ tenant: actor.tenant, feed: redactUrl(feed.url), id: feed.id, stillWatched }, 'feed removed');
      return { status: 'removed', feed: status, stillWatched };
    },

    audit(filter) {
      return tenancy.auditLog(filter);
    },

    async removeTenant(actor) {
      if (isOperator(actor)) throw new RefusedError('The operator is not a tenant that can leave.');
      const removed = await storage.db.transaction(async () => {
        const subscriptions = (await storage.subscriptions.all()).filter((s) => s.tenant === actor.tenant);
        for (const sub of subscriptions) {
          // Deleting the subscription deletes its outbox rows (ON DELETE CASCADE): its pending alerts stop too.
          await storage.subscriptions.remove(sub.platform, sub.channelId, sub.id, actor.tenant);
          await audit(actor, 'unsubscribe', { subscriptionId: sub.id, channelId: sub.channelId, detail: sub.filter ? `filter: ${sub.filter}` : 'every new post' });
        }
        const owned = await tenancy.ownedBy(actor.tenant);
        for (const owner of owned) {
          const feed = await storage.feeds.get(owner.feedId);
          await storage.feeds.release(owner.feedId, actor.tenant);
          await audit(actor, 'feed-remove', { feedId: owner.feedId, detail: `${feed ? redactUrl(feed.url) : `#${owner.feedId}`}${owner.name ? ` (${owner.name})` : ''}` });
        }
        return { subscriptions: subscriptions.length, feeds: owned.length };
      });
      log?.info({ tenant: actor.tenant, by: actor.userId, ...removed }, 'tenant removed: its subscriptions and feeds are gone');
      return removed;
    },
  };
}

/** The actor of the configured alert channels (DISCORD_ALERT_CHANNEL_IDS, SLACK_ALERT_CHANNEL_IDS). */
function configActor(variable: string): Actor {
  return { tenant: OPERATOR_TENANT, platform: 'config', userId: variable };
}

/** Subscribes the configured channels (DISCORD_ALERT_CHANNEL_IDS, SLACK_ALERT_CHANNEL_IDS) to operator feeds; returns how many were new. */
export async function subscribeConfiguredChannels(alerts: AlertsService, channels: { discordAlertChannels: readonly string[]; slackAlertChannels: readonly string[] }): Promise<number> {
  let n = 0;
  const ensure = async (platform: 'discord' | 'slack', channelId: string, variable: string) => {
    // A channel's own everything-subscription (with its role) is left as it is.
    if ((await alerts.listSubscriptions(OPERATOR_TENANT, platform, channelId)).some((s) => s.filter === '')) return;
    try {
      await alerts.subscribe(configActor(variable), { platform, channelId, filter: '' });
      n++;
    } catch {
      // Another tenant already subscribed the channel to everything: it gets every operator post already.
    }
  };
  for (const channelId of channels.discordAlertChannels) await ensure('discord', channelId, 'DISCORD_ALERT_CHANNEL_IDS');
  for (const channelId of channels.slackAlertChannels) await ensure('slack', channelId, 'SLACK_ALERT_CHANNEL_IDS');
  return n;
}

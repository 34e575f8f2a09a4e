import { DEFAULT_LIMITS } from '../../src/feeds/alerts-service.js';
import type { AlertsService, FeedSpec, FeedStatus, Subscription } from '../../src/feeds/types.js';

/** One call the fake received, for assertions on what a command asked for. */
export interface AlertsCall {
  method: keyof AlertsService;
  args: unknown[];
}

/**
 * An in-memory AlertsService for command and adapter tests (one tenant's view; the real service's tenancy is tested
 * against the store): records calls; `addFeed` refuses non-http(s) and "bad" hosts.
 */
export interface FakeAlertsService extends AlertsService {
  readonly subscriptions: Subscription[];
  readonly feeds: FeedStatus[];
  readonly calls: AlertsCall[];
}

/** Returns a fake alerts service, optionally with feeds already watched. */
export function createFakeAlertsService(initialFeeds: Partial<FeedStatus>[] = []): FakeAlertsService {
  const subscriptions: Subscription[] = [];
  const feeds: FeedStatus[] = [];
  const calls: AlertsCall[] = [];
  let nextSub = 1;
  let nextFeed = 1;
  const feedOf = (spec: Partial<FeedStatus> & { url: string }): FeedStatus => ({
    id: nextFeed++,
    itemsSeen: 0,
    polls: 0,
    notModifiedRate: 0,
    consecutiveFailures: 0,
    failing: false,
    scope: 'tenant',
    ...spec,
  });
  for (const f of initialFeeds) feeds.push(feedOf({ url: `https://feeds.example.com/${nextFeed}.xml`, ...f }));

  return {
    subscriptions,
    feeds,
    calls,
    limits: DEFAULT_LIMITS,
    takeManagementSlot(actor) {
      calls.push({ method: 'takeManagementSlot', args: [actor] });
      return 0;
    },
    async subscribe(actor, input) {
      calls.push({ method: 'subscribe', args: [input, actor] });
      const sub: Subscription = { id: nextSub++, tenant: actor.tenant, ...input, createdBy: actor.userId, createdAt: '2026-11-25T12:00:00.000Z' };
      if (sub.roleId === undefined) delete sub.roleId;
      subscriptions.push(sub);
      return sub;
    },
    async listSubscriptions(tenant, platform, channelId) {
      calls.push({ method: 'listSubscriptions', args: [tenant, platform, channelId] });
      return subscriptions.filter((s) => s.platform === platform && s.channelId === channelId && (s.tenant === tenant || s.tenant === 'operator'));
    },
    async unsubscribe(actor, platform, channelId, id) {
      calls.push({ method: 'unsubscribe', args: [actor, platform, channelId, id] });
      let removed = 0;
      for (let i = subscriptions.length - 1; i >= 0; i--) {
        const s = subscriptions[i];
        if (s.platform === platform && s.channelId === channelId && s.tenant === actor.tenant && (id === undefined || s.id === id)) {
          subscriptions.splice(i, 1);
          removed += 1;
        }
      }
      return removed;
    },
    async listFeeds(tenant) {
      calls.push({ method: 'listFeeds', args: [tenant] });
      return feeds;
    },
    async addFeed(actor, spec: FeedSpec) {
      calls.push({ method: 'addFeed', args: [spec, actor] });
      const url = new URL(spec.url);
      if (url.hostname.endsWith('.bad') || url.hostname === '127.0.0.1') throw new Error(`${url.hostname} resolves to a private address`);
      const existing = feeds.find((f) => f.url === spec.url);
      if (existing) return { feed: existing, outcome: 'unchanged' };
      const feed = feedOf({ url: spec.url, ...(spec.name ? { name: spec.name } : {}), addedBy: actor.userId });
      feeds.push(feed);
      return { feed, outcome: 'added' };
    },
    async removeFeed(actor, idOrUrl) {
      calls.push({ method: 'removeFeed', args: [idOrUrl, actor] });
      const at = feeds.findIndex((f) => String(f.id) === idOrUrl || f.url === idOrUrl);
      if (at < 0) return { status: 'not-found' };
      const feed = feeds[at]!;
      if (feed.scope === 'operator' && actor.tenant !== 'operator') return { status: 'operator-feed', feed };
      feeds.splice(at, 1);
      return { status: 'removed', feed, stillWatched: false };
    },
    async audit() {
      return [];
    },
    async removeTenant(actor) {
      calls.push({ method: 'removeTenant', args: [actor] });
      const before = subscriptions.length;
      for (let i = subscriptions.length - 1; i >= 0; i--) if (subscriptions[i].tenant === actor.tenant) subscriptions.splice(i, 1);
      return { subscriptions: before - subscriptions.length, feeds: 0 };
    },
  };
}

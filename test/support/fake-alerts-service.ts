import type { AlertsService, FeedSpec, FeedStatus, Subscription } from '../../src/feeds/types.js';

/** One call the fake received, for assertions on what a command asked for. */
export interface AlertsCall {
  method: keyof AlertsService;
  args: unknown[];
}

/** An in-memory AlertsService for command and adapter tests: records calls; `addFeed` refuses non-http(s) and "bad" hosts. */
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
    ...spec,
  });
  for (const f of initialFeeds) feeds.push(feedOf({ url: `https://feeds.example.com/${nextFeed}.xml`, ...f }));

  return {
    subscriptions,
    feeds,
    calls,
    subscribe(input) {
      calls.push({ method: 'subscribe', args: [input] });
      const sub: Subscription = { id: nextSub++, ...input, createdAt: '2026-11-25T12:00:00.000Z' };
      if (sub.roleId === undefined) delete sub.roleId;
      subscriptions.push(sub);
      return sub;
    },
    listSubscriptions(platform, channelId) {
      calls.push({ method: 'listSubscriptions', args: [platform, channelId] });
      return subscriptions.filter((s) => s.platform === platform && s.channelId === channelId);
    },
    unsubscribe(platform, channelId, id) {
      calls.push({ method: 'unsubscribe', args: [platform, channelId, id] });
      let removed = 0;
      for (let i = subscriptions.length - 1; i >= 0; i--) {
        const s = subscriptions[i];
        if (s.platform === platform && s.channelId === channelId && (id === undefined || s.id === id)) {
          subscriptions.splice(i, 1);
          removed += 1;
        }
      }
      return removed;
    },
    listFeeds() {
      calls.push({ method: 'listFeeds', args: [] });
      return feeds;
    },
    async addFeed(spec: FeedSpec) {
      calls.push({ method: 'addFeed', args: [spec] });
      const url = new URL(spec.url);
      if (url.hostname.endsWith('.bad') || url.hostname === '127.0.0.1') throw new Error(`${url.hostname} resolves to a private address`);
      const feed = feedOf({ url: spec.url, ...(spec.name ? { name: spec.name } : {}) });
      feeds.push(feed);
      return feed;
    },
    removeFeed(idOrUrl) {
      calls.push({ method: 'removeFeed', args: [idOrUrl] });
      const at = feeds.findIndex((f) => String(f.id) === idOrUrl || f.url === idOrUrl);
      if (at < 0) return false;
      feeds.splice(at, 1);
      return true;
    },
  };
}

import type { Logger } from '../logger.js';
import type { FeedStore } from '../store/feed-store.js';
import { normalizeFilter, parseFilter } from './match.js';
import { assertFeedUrlAllowed } from './ssrf.js';
import type { AlertsService, FeedSpec, FeedStatus, Subscription } from './types.js';

/** Checks a feed URL against the SSRF rules (F1's assertFeedUrlAllowed); throws an Error saying why it is refused. */
export type FeedUrlCheck = (url: string, options: { allowPrivate: boolean }) => unknown;

/** Longest interval a feed may ask for (one day, the backoff cap). */
const MAX_INTERVAL_SECONDS = 86_400;

/** Options for createAlertsService. */
export interface AlertsServiceOptions {
  feeds: FeedStore;
  /** ALLOW_PRIVATE_FEED_URLS. */
  allowPrivate: boolean;
  /** SSRF check (default: assertFeedUrlAllowed from ssrf.ts). */
  checkUrl?: FeedUrlCheck;
  now?: () => number;
  logger?: Logger;
  /** Called after a feed was added (the poller looks at it at once). */
  onFeedAdded?: (feedId: number) => void;
}

/** Returns the AlertsService over the store: subscriptions per channel and the watched feeds. */
export function createAlertsService(options: AlertsServiceOptions): AlertsService {
  const feeds = options.feeds;
  const now = options.now ?? Date.now;
  const checkUrl = options.checkUrl ?? assertFeedUrlAllowed;

  return {
    subscribe(input): Subscription {
      if (!input.channelId?.trim()) throw new Error('A subscription needs a channel.');
      const filter = normalizeFilter(input.filter ?? '');
      parseFilter(filter); // throws FilterError with the fix
      const sub = feeds.subscribe({ ...input, channelId: input.channelId.trim(), filter }, now());
      options.logger?.info({ platform: sub.platform, channel: sub.channelId, filter: sub.filter, subscription: sub.id }, 'alert subscription saved');
      return sub;
    },
    listSubscriptions(platform, channelId) {
      return feeds.listSubscriptions(platform, channelId);
    },
    unsubscribe(platform, channelId, id) {
      return feeds.unsubscribe(platform, channelId, id);
    },
    listFeeds(): FeedStatus[] {
      return feeds.listFeeds().map((f) => feeds.feedStatus(f));
    },
    async addFeed(spec: FeedSpec): Promise<FeedStatus> {
      const url = (spec.url ?? '').trim();
      let parsed: URL;
      try {
        parsed = new URL(url);
      } catch {
        throw new Error(`"${url.slice(0, 200)}" is not a URL; give the feed's full address, e.g. https://example.com/feed.xml`);
      }
      if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error(`Only http(s) feed URLs are watched (got ${parsed.protocol}).`);
      if (spec.intervalSeconds !== undefined && (!Number.isInteger(spec.intervalSeconds) || spec.intervalSeconds < 1 || spec.intervalSeconds > MAX_INTERVAL_SECONDS)) {
        throw new Error(`The interval must be a whole number of seconds from 1 to ${MAX_INTERVAL_SECONDS}.`);
      }
      await checkUrl(parsed.href, { allowPrivate: options.allowPrivate });
      const name = spec.name?.replace(/\s+/g, ' ').trim().slice(0, 100) || undefined;
      const { feed, added } = feeds.addFeed({ url: parsed.href, name, intervalSeconds: spec.intervalSeconds }, now(), 'admin');
      if (added) {
        options.logger?.info({ feed: feed.url, id: feed.id }, 'feed added');
        options.onFeedAdded?.(feed.id);
      }
      return feeds.feedStatus(feed);
    },
    removeFeed(idOrUrl: string): boolean {
      const key = idOrUrl.trim();
      let feed = /^\d+$/.test(key) ? feeds.getFeed(Number(key)) : feeds.getFeedByUrl(key);
      if (!feed && !/^\d+$/.test(key)) {
        try {
          feed = feeds.getFeedByUrl(new URL(key).href);
        } catch {
          feed = undefined;
        }
      }
      if (!feed) return false;
      const removed = feeds.removeFeed(feed.id);
      if (removed) options.logger?.info({ feed: feed.url, id: feed.id }, 'feed removed');
      return removed;
    },
  };
}

/** Subscribes the configured channels (DISCORD_ALERT_CHANNEL_IDS, SLACK_ALERT_CHANNEL_IDS) to everything; returns how many were new. */
export function subscribeConfiguredChannels(alerts: AlertsService, channels: { discordAlertChannels: readonly string[]; slackAlertChannels: readonly string[] }): number {
  let n = 0;
  const ensure = (platform: 'discord' | 'slack', channelId: string, createdBy: string) => {
    // An admin's own everything-subscription in that channel (with its role) is left as it is.
    if (alerts.listSubscriptions(platform, channelId).some((s) => s.filter === '')) return;
    alerts.subscribe({ platform, channelId, filter: '', createdBy });
    n++;
  };
  for (const channelId of channels.discordAlertChannels) ensure('discord', channelId, 'DISCORD_ALERT_CHANNEL_IDS');
  for (const channelId of channels.slackAlertChannels) ensure('slack', channelId, 'SLACK_ALERT_CHANNEL_IDS');
  return n;
}

/**
 * The seams of the feed pipeline: fetch -> parse -> identify new posts -> store + index + outbox -> deliver.
 * Platform code lives only at the delivery edge (AlertSender implementations in the adapters).
 */

/** Feed document formats we read (detected from content, never from extension or Content-Type). */
export type FeedFormat = 'rss' | 'atom' | 'rdf' | 'json';

/** One item of a parsed feed, normalised: plain text, absolute http(s) links, ISO 8601 UTC dates. */
export interface FeedItem {
  /** Identity within its feed: resolved guid, else link, else a hash of title and date. */
  key: string;
  /** The guid/id as given, resolved against xml:base and the feed URL when relative. */
  guid?: string;
  /** Absolute http(s) link to the post. */
  link?: string;
  /** Plain-text title (HTML removed); never empty (falls back to the summary's start or the link). */
  title: string;
  /** Plain-text summary (HTML converted to clean text), at most about 2,000 characters. */
  summary: string;
  /** Publication date, ISO 8601 in UTC, when the feed gives a parseable one. */
  published?: string;
  /** Last update date, ISO 8601 in UTC. */
  updated?: string;
  /** Author names. */
  authors: string[];
  /** Category / tag terms. */
  categories: string[];
}

/** A parsed feed document. */
export interface ParsedFeed {
  format: FeedFormat;
  /** Feed title (plain text). */
  title?: string;
  /** The site's link (absolute). */
  link?: string;
  /** Items in document order, duplicates (same key) removed. */
  items: FeedItem[];
  /** Items that could not be read (the rest of the document was), with the reason to log. */
  skipped?: SkippedFeedItem[];
}

/** An item the parser could not read: its key when its identity was readable, and why. */
export interface SkippedFeedItem {
  key?: string;
  reason: string;
  /** How many items this entry stands for (default 1). */
  count?: number;
}

/** Options for one conditional GET of a feed. */
export interface FetchOptions {
  etag?: string;
  lastModified?: string;
  /** Whole-request timeout (default 15,000 ms). */
  timeoutMs?: number;
  /** Cap on the decompressed body (default 10 MB). */
  maxBytes?: number;
  /** Redirects followed at most (default 5), each re-checked by the SSRF guard. */
  maxRedirects?: number;
  /** User-Agent header (default names the bot). */
  userAgent?: string;
  /** Allow loopback/private/link-local targets (ALLOW_PRIVATE_FEED_URLS; tests). */
  allowPrivate?: boolean;
}

/** What a fetch returned: a body, or "not modified" (304). */
export type FetchResult =
  | {
      status: 'ok';
      httpStatus: number;
      body: Buffer;
      contentType?: string;
      etag?: string;
      lastModified?: string;
      /** Cache-Control max-age, when given: the poller waits at least this long. */
      maxAgeSeconds?: number;
      finalUrl: string;
    }
  | { status: 'not-modified'; httpStatus: 304; etag?: string; lastModified?: string; maxAgeSeconds?: number; finalUrl: string };

/** A feed to watch, as configured (FEEDS_FILE, data/feeds.json, chat or CLI). */
export interface FeedSpec {
  url: string;
  name?: string;
  intervalSeconds?: number;
}

/** A channel subscription to alerts. */
export interface Subscription {
  id: number;
  platform: 'discord' | 'slack';
  channelId: string;
  /** Discord guild id or Slack team id, when known. */
  workspaceId?: string;
  /** Filter in the search syntax (keywords, `tag:`, `feed:`); empty = everything. */
  filter: string;
  /** Role to mention (Discord role id); only when the subscription names one. */
  roleId?: string;
  createdBy?: string;
  createdAt: string;
}

/** A new post as an alert shows it. */
export interface AlertPost {
  postId: string;
  /** The incident the post belongs to (a new one, or a known one it was attached to). */
  incidentId: string;
  /** Plain-text title. */
  title: string;
  /** http(s) link to the post. */
  url?: string;
  /** Feed or publisher name. */
  source: string;
  /** ISO 8601 date. */
  published?: string;
  /** Short plain-text summary. */
  summary: string;
}

/** What the outbox worker asks a platform to post. */
export type OutgoingMessage =
  | { kind: 'alert'; post: AlertPost; roleId?: string; /** platform message id of the first alert about this incident in this channel: reply in its thread */ threadOf?: string }
  | { kind: 'digest'; posts: AlertPost[]; roleId?: string }
  | { kind: 'notice'; text: string };

/** Thrown by an AlertSender: whether to retry, and when. */
export class AlertSendError extends Error {
  override name = 'AlertSendError';
  constructor(
    message: string,
    /** Retry later (429, 5xx, network); false = permanent (unknown channel, no access). */
    readonly retryable: boolean,
    /** Wait at least this long before retrying (429 Retry-After). */
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

/** A platform's delivery edge: posts one message to a channel; implemented by each adapter. */
export interface AlertSender {
  readonly platform: 'discord' | 'slack';
  /**
   * Posts the message and resolves with the platform's message id once the platform accepted it.
   * `idempotencyKey` travels with the message (Discord nonce, Slack metadata) so a send interrupted by a crash can
   * be found afterwards. Throws AlertSendError.
   */
  send(channelId: string, message: OutgoingMessage, idempotencyKey: string): Promise<{ messageId: string }>;
  /** Returns the message already posted with this key, if any (checked for sends in flight at a crash). */
  findSent(channelId: string, idempotencyKey: string): Promise<{ messageId: string } | undefined>;
}

/** Per-feed status for `/feeds status` and `cli feeds status`. */
export interface FeedStatus {
  id: number;
  url: string;
  name?: string;
  lastSuccessAt?: string;
  lastError?: string;
  lastErrorAt?: string;
  nextPollAt?: string;
  itemsSeen: number;
  polls: number;
  /** Share of polls answered 304 Not Modified (0-1). */
  notModifiedRate: number;
  consecutiveFailures: number;
  failing: boolean;
  /** New items skipped (not stored, never alerted) over all polls: over FEED_MAX_ITEMS_PER_POLL, too old, unreadable. */
  itemsSkipped?: number;
  /** ... in the last poll that found new items, and why. */
  lastSkipped?: number;
  lastSkipReason?: string;
}

/** What chat commands use to manage feeds and subscriptions (implemented over the store). */
export interface AlertsService {
  subscribe(input: { platform: 'discord' | 'slack'; channelId: string; workspaceId?: string; filter: string; roleId?: string; createdBy?: string }): Subscription;
  listSubscriptions(platform: 'discord' | 'slack', channelId: string): Subscription[];
  /** Removes by subscription id (or all of the channel's when id is undefined); returns how many were removed. */
  unsubscribe(platform: 'discord' | 'slack', channelId: string, id?: number): number;
  listFeeds(): FeedStatus[];
  /** Adds a feed after the SSRF check; throws an Error whose message says what is wrong. */
  addFeed(spec: FeedSpec): Promise<FeedStatus>;
  /** Removes by id or URL; returns whether one was removed. */
  removeFeed(idOrUrl: string): boolean;
}

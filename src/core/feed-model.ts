/**
 * The feed model shared by the store, the feed watcher and the commands: the seams of the feed pipeline (fetch ->
 * parse -> identify new posts -> store + index + outbox -> deliver), tenants, and the AlertsService the commands use.
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
  /** Accept header (default: feed types first). */
  accept?: string;
  /** Called as the body arrives: bytes received on the wire, and Content-Length when the server sent one. */
  onProgress?: (received: number, total: number | undefined) => void;
  /** Aborts the fetch (a stopping bot); it then fails like a timeout. */
  signal?: AbortSignal;
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
  /** The tenant it belongs to: its filters see operator feeds and this tenant's own feeds, nothing else. */
  tenant: TenantId;
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

/** Whose alert a message is: the subscription's tenant and workspace, so a sender serving many workspaces picks its credentials. */
export interface AlertTarget {
  tenant: TenantId;
  /** Discord guild id or Slack team id, when the subscription recorded one. */
  workspaceId?: string;
}

/** A platform's delivery edge: posts one message to a channel; implemented by each adapter. */
export interface AlertSender {
  readonly platform: 'discord' | 'slack';
  /**
   * Posts the message and resolves with the platform's message id once the platform accepted it.
   * `idempotencyKey` travels with the message (Discord nonce, Slack metadata) so a send interrupted by a crash can
   * be found afterwards. `target` says whose subscription it is (a Slack app installed in many workspaces posts
   * with that workspace's token). Throws AlertSendError.
   */
  send(channelId: string, message: OutgoingMessage, idempotencyKey: string, target?: AlertTarget): Promise<{ messageId: string }>;
  /**
   * Returns the message already posted with this key, if any (checked for sends in flight at a crash). `near` says
   * where to look: the message cannot be older than `since`, and a follow-up is a reply in the thread `threadOf`.
   */
  findSent(channelId: string, idempotencyKey: string, target?: AlertTarget, near?: SentNear): Promise<{ messageId: string } | undefined>;
}

/** Where an alert's message can be, if it was posted: not before `since` (epoch ms), in the thread `threadOf` if any. */
export interface SentNear {
  since: number;
  threadOf?: string;
}


// ---- tenants

/**
 * Who owns feeds, subscriptions and audit rows: `discord:<guild id>`, `slack:<team id>`, or `operator` (the console
 * and the CLI, and the feeds of FEEDS_FILE). One public instance serves many tenants; none sees another's feeds.
 */
export type TenantId = string;

/** The local operator's tenant: the console, the CLI, FEEDS_FILE and the configured alert channels. */
export const OPERATOR_TENANT: TenantId = 'operator';

/** Returns the tenant of a Discord guild or a Slack team, or undefined when there is none (a DM). */
export function tenantOf(platform: 'discord' | 'slack', workspaceId: string | undefined): TenantId | undefined {
  return workspaceId ? `${platform}:${workspaceId}` : undefined;
}

/** Who makes a change: the tenant it is made for, and the platform user id the audit log records. */
export interface Actor {
  tenant: TenantId;
  /** Where the change came from: discord, slack, console, cli, or config (FEEDS_FILE, *_ALERT_CHANNEL_IDS). */
  platform: string;
  /** The platform user id (Discord user id, Slack user id), or what stands for the operator ("cli", "console", a variable name). */
  userId: string;
}

/** Returns whether this actor is the operator (no quotas, every feed). */
export function isOperator(actor: Pick<Actor, 'tenant'>): boolean {
  return actor.tenant === OPERATOR_TENANT;
}

/** Per-feed status for `/feeds status` and `cli feeds status`; the URL is already redacted (no credentials). */
export interface FeedStatus {
  id: number;
  /** The feed URL with credentials redacted; safe to show anywhere. */
  url: string;
  /** The viewing tenant's name for the feed, else the operator's, else the feed's own title. */
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
  /** `operator`: for every tenant, read-only from chat; `tenant`: the viewing tenant's own feed (or, for the operator, some tenant's). */
  scope?: 'operator' | 'tenant';
  /** For operator feeds: listed in FEEDS_FILE (`file`), or added with the CLI or console (`cli`). */
  source?: 'file' | 'cli';
  /** Who added it for the viewing tenant (platform user id), and when (ISO 8601). */
  addedBy?: string;
  addedAt?: string;
  /** The operator's view only: the tenants that own the feed. */
  tenants?: TenantId[];
}

/** One row of the audit log: who changed which feed or subscription, for which tenant, when. */
export interface AuditEntry {
  id: number;
  /** ISO 8601. */
  at: string;
  tenant: TenantId;
  platform: string;
  userId: string;
  action: AuditAction;
  feedId?: number;
  subscriptionId?: number;
  channelId?: string;
  /** What was changed, for reading: a redacted URL and name, or a filter. */
  detail?: string;
}

/** What the audit log records. */
export type AuditAction = 'feed-add' | 'feed-rename' | 'feed-remove' | 'subscribe' | 'unsubscribe';

/**
 * Thrown when a management request is refused for a reason the user can act on (a limit, an operator feed, a bad
 * URL or filter); its message is written for the user and is safe to show (no credentials).
 */
export class RefusedError extends Error {
  override name = 'RefusedError';
}

/** The limits every tenant works within (the operator has none). */
export interface ManagementLimits {
  /** FEEDS_PER_TENANT. */
  feedsPerTenant: number;
  /** SUBSCRIPTIONS_PER_CHANNEL. */
  subscriptionsPerChannel: number;
  /** MANAGE_COMMANDS_PER_MINUTE: feed and subscription changes per user per minute. */
  manageCommandsPerMinute: number;
}

/** What removing a feed did. */
export type RemoveFeedResult =
  | { status: 'removed'; feed: FeedStatus; stillWatched: boolean }
  | { status: 'not-found' }
  /** An operator feed asked to be removed from chat, or a FEEDS_FILE feed from the CLI: its list is FEEDS_FILE. */
  | { status: 'operator-feed'; feed: FeedStatus };

/** What adding a feed did. */
export interface AddFeedResult {
  feed: FeedStatus;
  /** `added`: new for this tenant; `renamed`: the tenant already had it, under another name; `unchanged`: already there. */
  outcome: 'added' | 'renamed' | 'unchanged';
}

/** What chat commands and the CLI use to manage feeds and subscriptions (implemented over the store). */
export interface AlertsService {
  /** The limits tenants work within. */
  readonly limits: ManagementLimits;
  /**
   * Counts one management command of this actor; returns 0 when it may go on, else the seconds to wait
   * (MANAGE_COMMANDS_PER_MINUTE per tenant and user; the operator is not limited).
   */
  takeManagementSlot(actor: Actor): number;
  /** Subscribes a channel for the actor's tenant; throws RefusedError (bad filter, too many). */
  subscribe(actor: Actor, input: { platform: 'discord' | 'slack'; channelId: string; workspaceId?: string; filter: string; roleId?: string }): Promise<Subscription>;
  /** A channel's subscriptions that this tenant may see: its own and the operator's (configured channels). */
  listSubscriptions(tenant: TenantId, platform: 'discord' | 'slack', channelId: string): Promise<Subscription[]>;
  /** Removes the tenant's subscription by id (or all of its subscriptions in the channel when id is undefined); returns how many. */
  unsubscribe(actor: Actor, platform: 'discord' | 'slack', channelId: string, id?: number): Promise<number>;
  /** The feeds a tenant sees: operator feeds and its own (the operator sees every feed; no tenant: operator feeds only). */
  listFeeds(tenant?: TenantId): Promise<FeedStatus[]>;
  /** Adds a feed for the actor's tenant after the SSRF check; throws RefusedError saying what is wrong. */
  addFeed(actor: Actor, spec: FeedSpec): Promise<AddFeedResult>;
  /** Removes the actor's tenant's ownership of a feed, by id or URL (the operator: any feed not listed in FEEDS_FILE). */
  removeFeed(actor: Actor, idOrUrl: string): Promise<RemoveFeedResult>;
  /** The audit log, newest first. */
  audit(filter?: { tenant?: TenantId; limit?: number }): Promise<AuditEntry[]>;
  /**
   * A tenant left (a Slack workspace uninstalled the app): every subscription of the tenant goes, with its pending
   * alerts, and so does its ownership of each feed (a feed no one else owns stops being polled). The audit log
   * records each removal as the actor's and keeps the tenant's history. Returns how many of each were removed.
   */
  removeTenant(actor: Actor): Promise<{ subscriptions: number; feeds: number }>;
}

/** Returns, for a tenant (undefined: a DM, no tenant), which record ids it may see; undefined means every record. */
export type VisibilityFor = (tenant: TenantId | undefined) => ((id: string) => boolean) | undefined;

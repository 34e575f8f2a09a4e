import { webApi } from '@slack/bolt';
import { AlertSendError, type AlertSender, type AlertTarget, type OutgoingMessage, type SentNear } from '../../feeds/types.js';
import { alertToBlocks } from './render.js';
import { describeSlackError, slackErrorCode } from './slack-errors.js';

/** `metadata.event_type` of every alert message: findSent looks for it (with the key in `event_payload.key`). */
export const ALERT_EVENT_TYPE = 'incident_bot_alert';

/** Messages of the channel's history findSent reads (one conversations.history page). */
export const FIND_HISTORY_LIMIT = 100;

/** Alert threads findSent also reads (newest replies first): follow-ups are thread replies, absent from the history. */
export const FIND_THREADS_MAX = 10;

/** Messages per page when findSent reads everything since a time (the most conversations.history returns at once). */
export const FIND_PAGE_LIMIT = 200;

/** Pages findSent reads since a time before it gives up saying it cannot tell (5,000 messages in one channel). */
export const FIND_PAGES_MAX = 25;

/** How far Slack's clock may be behind ours: findSent looks this much before the time it is given. */
const CLOCK_SLACK_MS = 60_000;

/** Wait before retrying after an auth or scope problem: it needs an operator, and hammering Slack will not help. */
const CONFIG_RETRY_MS = 60_000;

/** Platform errors about this channel or this message: retrying cannot help. */
const PERMANENT_ERRORS = new Set([
  'channel_not_found',
  'not_in_channel',
  'is_archived',
  'msg_too_long',
  'no_text',
  'invalid_blocks',
  'invalid_metadata_format',
  'invalid_metadata_schema',
  'metadata_too_large',
  'metadata_must_be_sent_from_app',
  'restricted_action',
  'restricted_action_read_only_channel',
  'restricted_action_thread_only_channel',
  'restricted_action_non_threadable_channel',
  'cannot_reply_to_message',
  'team_access_not_granted',
  'too_many_attachments',
  'invalid_arguments',
]);

/** Platform errors about the deployment (token, scopes): retried slowly, so no alert is lost while someone fixes it. */
const CONFIG_ERRORS = new Set(['not_authed', 'invalid_auth', 'account_inactive', 'token_revoked', 'token_expired', 'missing_scope', 'no_permission', 'org_login_required']);

/** Most workspaces whose Web API client the sender keeps (the least recently used goes first). */
const MAX_WORKSPACE_CLIENTS = 1000;

/**
 * What the Slack alert sender needs: the one bot token (a single workspace), or how to find each workspace's token
 * (OAuth distribution), and the Web API client options (API URL, logger).
 */
export interface SlackAlertSenderOptions {
  /** Bot token (xoxb-...) of the one workspace (SLACK_BOT_TOKEN). */
  botToken?: string;
  /** OAuth distribution: the workspace and bot token for an alert's subscription; throws AlertSendError when there is none. */
  tokenFor?: (target: AlertTarget | undefined) => Promise<{ teamId: string; token: string }>;
  /** Web API options (slackApiUrl, logger, timeout...); retries and rate-limit handling are set by the sender. */
  clientOptions?: webApi.WebClientOptions;
}

/** A Slack AlertSender, with its Web API client exposed for diagnostics. */
export interface SlackAlertSender extends AlertSender {
  readonly platform: 'slack';
  /** The single workspace's client; undefined under OAuth distribution, where each workspace has its own. */
  readonly client: webApi.WebClient | undefined;
  /** Drops a workspace's client (it uninstalled the app); its next alert, if any, looks the token up again. */
  forget(teamId: string): void;
}

/**
 * Returns the AlertSendError for a failed Web API call: 429 retryable after Retry-After; channel_not_found,
 * not_in_channel, is_archived and other errors about the channel or message permanent; token and scope errors
 * retryable after a minute; Slack's own failures (fatal_error, internal_error, HTTP 5xx) and network errors retryable.
 */
export function toAlertSendError(error: unknown, channelId: string, method = 'chat.postMessage'): AlertSendError {
  if (error instanceof AlertSendError) return error;
  const e = error as { code?: string; retryAfter?: number; statusCode?: number } | undefined;
  const what = describeSlackError(error, { method, channel: channelId });
  if (e?.code === webApi.ErrorCode.RateLimitedError) {
    return new AlertSendError(what, true, Math.max(1, e.retryAfter ?? 1) * 1000);
  }
  const code = slackErrorCode(error);
  if (code) {
    if (PERMANENT_ERRORS.has(code)) return new AlertSendError(what, false);
    if (CONFIG_ERRORS.has(code)) return new AlertSendError(what, true, CONFIG_RETRY_MS);
    // ratelimited (as a platform error), fatal_error, internal_error, service_unavailable, request_timeout, and
    // codes Slack adds later: not known to be about this message, so kept.
    return new AlertSendError(what, true);
  }
  if (e?.code === webApi.ErrorCode.HTTPError && e.statusCode !== undefined && e.statusCode < 500 && e.statusCode !== 429) {
    // A 4xx from the HTTP layer means a wrong SLACK_API_URL or a proxy: the deployment's problem, not the alert's.
    return new AlertSendError(what, true, CONFIG_RETRY_MS);
  }
  return new AlertSendError(what, true);
}

/** Returns whether a failure leaves it unknown whether Slack posted the message (the request may have arrived). */
function outcomeUnknown(error: unknown): boolean {
  const e = error as { code?: string; statusCode?: number } | undefined;
  return e?.code === webApi.ErrorCode.RequestError || (e?.code === webApi.ErrorCode.HTTPError && (e.statusCode ?? 0) >= 500);
}

interface HistoryMessage {
  ts?: string;
  reply_count?: number;
  latest_reply?: string;
  metadata?: { event_type?: string; event_payload?: Record<string, unknown> };
}

function isAlert(message: HistoryMessage): boolean {
  return message.metadata?.event_type === ALERT_EVENT_TYPE;
}

function hasKey(message: HistoryMessage, key: string): boolean {
  return isAlert(message) && message.metadata?.event_payload?.key === key;
}

/**
 * Returns a sender that posts alerts with chat.postMessage: Block Kit with a text fallback, link unfurling off
 * (feed links would otherwise expand into previews nobody asked for), follow-ups in the first alert's thread, and
 * the idempotency key in the message's metadata. Its client neither retries nor waits out 429s
 * (`rejectRateLimitedCalls`): the outbox worker owns retrying and Slack's 1 message/s per channel pacing.
 *
 * findSent matches the key in the messages' metadata (conversations.history / conversations.replies with
 * include_all_metadata, scopes channels:history / groups:history). Told where the message can be (the outbox knows when
 * the alert was claimed and which thread it answers), it reads every message since then, in that thread or at the top
 * of the channel; otherwise the newest FIND_HISTORY_LIMIT messages and the threads of the newest alerts. Slack limits both methods to 1 call a minute and 15 messages for commercially distributed
 * apps outside the Marketplace (May 2025); self-hosted internal apps keep the usual limits.
 *
 * With `tokenFor` (OAuth distribution) every call, findSent's included, uses the token of the workspace whose
 * subscription the alert serves: a workspace's token can reach only its own channels, and one workspace leaving
 * must not stop another's alerts.
 */
export function createSlackAlertSender(options: SlackAlertSenderOptions): SlackAlertSender {
  if (!options.botToken && !options.tokenFor) throw new TypeError('createSlackAlertSender needs botToken or tokenFor');
  const newClient = (token: string) => new webApi.WebClient(token, { ...options.clientOptions, retryConfig: { retries: 0 }, rejectRateLimitedCalls: true });
  const single = options.botToken ? newClient(options.botToken) : undefined;
  /** OAuth distribution: each workspace's client, by team id, least recently used first. */
  const perTeam = new Map<string, { token: string; client: webApi.WebClient }>();

  /** Returns the client for an alert's subscription: the one client, or its workspace's (with that workspace's token). */
  async function clientFor(target: AlertTarget | undefined): Promise<webApi.WebClient> {
    if (single) return single;
    const { teamId, token } = await options.tokenFor!(target);
    let entry = perTeam.get(teamId);
    perTeam.delete(teamId);
    // A re-install or a refreshed token replaces the client.
    if (!entry || entry.token !== token) entry = { token, client: newClient(token) };
    perTeam.set(teamId, entry);
    if (perTeam.size > MAX_WORKSPACE_CLIENTS) perTeam.delete(perTeam.keys().next().value!);
    return entry.client;
  }

  /**
   * Reads every message of the channel (or of one thread) posted since `near.since`, page by page, for the key: the
   * newest page alone would miss an alert buried under a busy channel's later messages, and resending it would post it
   * twice. More than FIND_PAGES_MAX pages: throws (unknown, not "not sent").
   */
  async function findSince(client: webApi.WebClient, channelId: string, idempotencyKey: string, near: SentNear): Promise<{ messageId: string } | undefined> {
    const oldest = (Math.max(0, near.since - CLOCK_SLACK_MS) / 1000).toFixed(6);
    const method = near.threadOf ? 'conversations.replies' : 'conversations.history';
    let cursor: string | undefined;
    for (let page = 0; page < FIND_PAGES_MAX; page++) {
      let messages: HistoryMessage[];
      try {
        const args = { channel: channelId, oldest, limit: FIND_PAGE_LIMIT, include_all_metadata: true, ...(cursor ? { cursor } : {}) };
        const res = near.threadOf ? await client.conversations.replies({ ...args, ts: near.threadOf }) : await client.conversations.history(args);
        messages = (res.messages ?? []) as HistoryMessage[];
        cursor = res.has_more ? res.response_metadata?.next_cursor || undefined : undefined;
      } catch (error) {
        throw toAlertSendError(error, channelId, method);
      }
      const found = messages.find((m) => m.ts !== near.threadOf && hasKey(m, idempotencyKey));
      if (found?.ts) return { messageId: found.ts };
      if (!cursor) return undefined;
    }
    throw new AlertSendError(`more than ${FIND_PAGES_MAX * FIND_PAGE_LIMIT} messages in channel ${channelId} since the alert was claimed: cannot tell whether it was posted`, true);
  }

  async function findSent(channelId: string, idempotencyKey: string, target?: AlertTarget, near?: SentNear): Promise<{ messageId: string } | undefined> {
    const client = await clientFor(target);
    if (near) return findSince(client, channelId, idempotencyKey, near);
    let messages: HistoryMessage[];
    try {
      const history = await client.conversations.history({ channel: channelId, limit: FIND_HISTORY_LIMIT, include_all_metadata: true });
      messages = (history.messages ?? []) as HistoryMessage[];
    } catch (error) {
      // Unknown is not "not sent": the caller must not resend on a guess.
      throw toAlertSendError(error, channelId, 'conversations.history');
    }
    const top = messages.find((m) => hasKey(m, idempotencyKey));
    if (top?.ts) return { messageId: top.ts };
    const threads = messages
      .filter((m) => isAlert(m) && (m.reply_count ?? 0) > 0 && m.ts)
      .sort((a, b) => Number(b.latest_reply ?? b.ts) - Number(a.latest_reply ?? a.ts))
      .slice(0, FIND_THREADS_MAX);
    for (const parent of threads) {
      try {
        const replies = await client.conversations.replies({ channel: channelId, ts: parent.ts!, limit: 200, include_all_metadata: true });
        const found = ((replies.messages ?? []) as HistoryMessage[]).find((m) => m.ts !== parent.ts && hasKey(m, idempotencyKey));
        if (found?.ts) return { messageId: found.ts };
      } catch (error) {
        throw toAlertSendError(error, channelId, 'conversations.replies');
      }
    }
    return undefined;
  }

  return {
    platform: 'slack',
    client: single,
    findSent,
    forget: (teamId) => void perTeam.delete(teamId),
    async send(channelId: string, message: OutgoingMessage, idempotencyKey: string, target?: AlertTarget) {
      const client = await clientFor(target);
      const { blocks, text } = alertToBlocks(message);
      const threadTs = message.kind === 'alert' && message.threadOf ? message.threadOf : undefined;
      const startedAt = Date.now();
      try {
        const result = await client.chat.postMessage({
          channel: channelId,
          blocks,
          text,
          metadata: { event_type: ALERT_EVENT_TYPE, event_payload: { key: idempotencyKey } },
          unfurl_links: false,
          unfurl_media: false,
          ...(threadTs ? { thread_ts: threadTs } : {}),
        });
        if (!result.ts) throw new AlertSendError(`Slack accepted chat.postMessage in channel ${channelId} but returned no ts`, true);
        return { messageId: result.ts };
      } catch (error) {
        if (outcomeUnknown(error)) {
          // The post may have gone through before the failure: look before the worker retries, so it is not doubled.
          const sent = await findSent(channelId, idempotencyKey, target, { since: startedAt, ...(threadTs ? { threadOf: threadTs } : {}) }).catch(() => undefined);
          if (sent) return sent;
        }
        throw toAlertSendError(error, channelId);
      }
    },
  };
}

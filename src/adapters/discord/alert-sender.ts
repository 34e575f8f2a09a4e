import { createHash } from 'node:crypto';
import { DiscordAPIError, HTTPError, RateLimitError, REST, Routes, type APIMessage } from 'discord.js';
import { AlertSendError, type AlertSender, type OutgoingMessage } from '../../feeds/types.js';
import { alertToMessage, messageLimitViolations } from './render.js';

/** Discord's cap on a message nonce (https://discord.com/developers/docs/resources/message#create-message). */
export const NONCE_MAX = 25;

/** How long to wait before retrying after a 401 or an unexplained 429: long enough not to hammer Discord. */
const AUTH_RETRY_MS = 60_000;
const DEFAULT_RATE_LIMIT_MS = 1_000;

/** What the Discord alert sender needs: the bot token and where the API is. */
export interface DiscordAlertSenderOptions {
  /** Bot token (DISCORD_TOKEN). */
  token: string;
  /** API root without version (DISCORD_API_URL), default Discord's own. */
  apiUrl?: string;
  /** Milliseconds one request may take before it is aborted (then reported as retryable); default 10,000. */
  timeoutMs?: number;
}

/** A Discord AlertSender, with its REST client exposed for diagnostics. */
export interface DiscordAlertSender extends AlertSender {
  readonly platform: 'discord';
  readonly rest: REST;
}

/**
 * Returns the nonce for an idempotency key: the first 25 hex digits (100 bits) of its SHA-256, since keys are
 * longer than Discord's 25-character nonce limit and only need to stay distinct per channel.
 */
export function nonceFor(idempotencyKey: string): string {
  return createHash('sha256').update(idempotencyKey).digest('hex').slice(0, NONCE_MAX);
}

/**
 * Returns the AlertSendError for a failed request: 429 retryable after its Retry-After, 5xx and network failures
 * retryable, 401 retryable after a minute (a bad token is the deployment's problem, not the alert's: keep it until
 * the token is fixed), 403/404 (Missing Access, Unknown Channel) and other 4xx (a message Discord refuses) permanent.
 */
export function toAlertSendError(error: unknown, channelId: string): AlertSendError {
  if (error instanceof AlertSendError) return error;
  if (error instanceof RateLimitError) {
    const wait = Math.max(error.retryAfter, error.timeToReset, error.sublimitTimeout ?? 0);
    return new AlertSendError(`Discord rate limit on ${error.route} (${error.global ? 'global' : error.scope})`, true, wait > 0 ? wait : DEFAULT_RATE_LIMIT_MS);
  }
  if (error instanceof DiscordAPIError || error instanceof HTTPError) {
    const status = error.status;
    const code = error instanceof DiscordAPIError ? ` (code ${error.code}: ${error.message})` : '';
    const what = `Discord answered ${status} posting to channel ${channelId}${code}`;
    if (status === 429) return new AlertSendError(what, true, retryAfterOf(error) ?? DEFAULT_RATE_LIMIT_MS);
    if (status >= 500) return new AlertSendError(what, true);
    if (status === 401) return new AlertSendError(`${what}: check DISCORD_TOKEN`, true, AUTH_RETRY_MS);
    if (status === 403) return new AlertSendError(`${what}: the bot cannot post there (needs View Channel, Send Messages and Embed Links)`, false);
    if (status === 404) return new AlertSendError(`${what}: the channel is gone or the bot was removed from the server`, false);
    return new AlertSendError(what, false);
  }
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return new AlertSendError(`Could not reach Discord posting to channel ${channelId}: ${message}`, true);
}

function retryAfterOf(error: DiscordAPIError | HTTPError): number | undefined {
  const body = error instanceof DiscordAPIError ? (error.rawError as { retry_after?: unknown }) : undefined;
  const seconds = typeof body?.retry_after === 'number' ? body.retry_after : undefined;
  return seconds !== undefined ? Math.ceil(seconds * 1000) : undefined;
}

/**
 * Returns a sender that posts alerts with `POST /channels/{id}/messages`. It has its own REST client that neither
 * waits out 429s nor retries (`rejectOnRateLimit`, `retries: 0`): the outbox worker owns waiting and retrying, and
 * a REST client sleeping inside a send would hold the worker's slot and hide the Retry-After from it.
 *
 * Idempotency: every send carries `nonce` = nonceFor(key) with `enforce_nonce: true`, so Discord returns the message
 * already created with that nonce instead of posting it again. That is why `findSent` returns undefined: a send
 * that was in flight at a crash is simply sent again, and Discord deduplicates it. Discord offers no way to look a
 * message up by nonce (message lists do not return it), and enforces nonces only for a few minutes, so a resend
 * much later than that could post twice; the worker resends in-flight messages first thing after a restart.
 */
export function createDiscordAlertSender(options: DiscordAlertSenderOptions): DiscordAlertSender {
  const rest = new REST({
    api: options.apiUrl ?? 'https://discord.com/api',
    retries: 0,
    timeout: options.timeoutMs ?? 10_000,
    rejectOnRateLimit: () => true,
  }).setToken(options.token);

  return {
    platform: 'discord',
    rest,
    async send(channelId: string, message: OutgoingMessage, idempotencyKey: string) {
      const body = alertToMessage(message);
      const problems = messageLimitViolations({ content: body.content, embeds: body.embeds, components: [] });
      // A renderer bug would be refused with a 400 on every retry: say so plainly instead.
      if (problems.length) throw new AlertSendError(`alert message breaks Discord limits: ${problems.join('; ')}`, false);
      const post = async (payload: typeof body) =>
        (await rest.post(Routes.channelMessages(channelId), { body: { ...payload, nonce: nonceFor(idempotencyKey), enforce_nonce: true } })) as APIMessage;
      try {
        return { messageId: (await post(body)).id };
      } catch (error) {
        if (body.message_reference && error instanceof DiscordAPIError && error.status === 403) {
          // Replying needs Read Message History as well as Send Messages; without it the follow-up still goes out,
          // as a plain message (nothing was created, so the same nonce is free).
          try {
            return { messageId: (await post({ ...body, message_reference: undefined })).id };
          } catch (retryError) {
            throw toAlertSendError(retryError, channelId);
          }
        }
        throw toAlertSendError(error, channelId);
      }
    },
    async findSent() {
      // See above: enforce_nonce makes the resend itself idempotent, and Discord cannot find a message by nonce.
      return undefined;
    },
  };
}

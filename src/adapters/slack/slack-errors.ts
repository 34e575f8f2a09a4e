/** Slack error codes we can explain, with what the operator should do about each. */
const PLATFORM_ERROR_HELP: Record<string, string> = {
  channel_not_found: 'the channel does not exist or the bot cannot see it; for a private channel, invite the bot with /invite @incident-bot',
  not_in_channel: 'the bot is not a member of the channel: invite it with /invite @incident-bot',
  is_archived: 'the channel is archived',
  msg_too_long: 'the message is too long (a renderer limit is wrong: please report it)',
  invalid_blocks: 'Slack refused the blocks (a renderer limit is wrong: please report it)',
  missing_scope: 'the app lacks a scope: reinstall it from slack/manifest.json',
  not_authed: 'no token was sent: check SLACK_BOT_TOKEN',
  invalid_auth: 'the token was refused: check SLACK_BOT_TOKEN',
  account_inactive: 'the token belongs to a deleted user or an uninstalled app: reinstall the app and update SLACK_BOT_TOKEN',
  token_revoked: 'the token was revoked: reinstall the app and update SLACK_BOT_TOKEN',
  ratelimited: 'rate limited by Slack',
};

/** Where a failed call was going, for the log line. */
export interface SlackCallTarget {
  /** Web API method or "response_url". */
  method: string;
  /** Channel id, when known. */
  channel?: string;
}

/** Returns the Slack error code of a Web API failure (e.g. "channel_not_found"), or undefined for other errors. */
export function slackErrorCode(error: unknown): string | undefined {
  const e = error as { code?: string; data?: { error?: unknown } } | undefined;
  return e?.code === 'slack_webapi_platform_error' && typeof e.data?.error === 'string' ? e.data.error : undefined;
}

/** Returns one log line saying which call failed, Slack's error code, and what to do about it. */
export function describeSlackError(error: unknown, target: SlackCallTarget): string {
  const where = `${target.method}${target.channel ? ` in channel ${target.channel}` : ''}`;
  const code = slackErrorCode(error);
  if (code) return `Slack refused ${where}: ${code}${PLATFORM_ERROR_HELP[code] ? ` (${PLATFORM_ERROR_HELP[code]})` : ''}`;
  const e = error as { code?: string; statusCode?: number; message?: string } | undefined;
  if (e?.code === 'slack_webapi_rate_limited_error') return `Slack rate-limited ${where} and the call was not retried`;
  if (e?.code === 'slack_webapi_http_error') return `Slack answered ${where} with HTTP ${e.statusCode ?? '?'}`;
  if (e?.code === 'slack_webapi_request_error') {
    // @slack/web-api waits out a 429's Retry-After, then throws a plain Error that its own catch wraps as a request
    // error; when the retries are used up, that is what reaches us.
    if (/rate limit was exceeded/i.test(e.message ?? '')) return `Slack rate-limited ${where} (HTTP 429) and the retries ran out`;
    return `Could not reach Slack for ${where}: ${e.message ?? 'network error'}`;
  }
  if (e?.code === 'slack_bolt_respond_error') {
    return `Slack refused ${where} with HTTP ${e.statusCode ?? '?'} (a response_url expires after 30 minutes and 5 uses)`;
  }
  return `Failed ${where}: ${e?.message ?? String(error)}`;
}

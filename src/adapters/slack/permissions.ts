import type { webApi } from '@slack/bolt';
import type { SlackLogger } from './reply.js';
import { describeSlackError } from './slack-errors.js';

/** Where a Slack command was typed and by whom, and the client to check permissions with. */
export interface SlackWhere {
  /** A Web API client with the bot token (Bolt's `client`). */
  client: webApi.WebClient;
  channelId: string;
  teamId?: string;
  userId: string;
}

/** What users.info says about the caller, as far as managing goes. */
type AdminCheck = 'admin' | 'member' | 'guest';

async function adminCheck(where: SlackWhere, logger: SlackLogger): Promise<AdminCheck> {
  try {
    const { user } = await where.client.users.info({ user: where.userId });
    if (!user || user.deleted) return 'member';
    // Guests never manage anything, not even channels they made.
    if (user.is_restricted || user.is_ultra_restricted) return 'guest';
    if (user.is_admin || user.is_owner || user.is_primary_owner) return 'admin';
    if (user.enterprise_user?.is_admin || user.enterprise_user?.is_owner) return 'admin';
  } catch (error) {
    logger.warn(`Slack: could not check whether ${where.userId} is a workspace admin: ${describeSlackError(error, { method: 'users.info' })}`);
  }
  return 'member';
}

/**
 * Returns whether the user may add and remove the workspace's feeds: a workspace admin or owner (users.info, scope
 * users:read; on Enterprise Grid also an org admin or owner), or a user the operator listed in SLACK_ADMIN_USER_IDS.
 * A failed call counts as "no" (fail closed) and is logged.
 */
export async function canManageWorkspaceFeeds(where: SlackWhere, adminUserIds: ReadonlySet<string>, logger: SlackLogger): Promise<boolean> {
  if (adminUserIds.has(where.userId)) return true;
  return (await adminCheck(where, logger)) === 'admin';
}

/**
 * Returns whether the user may manage this channel's alert subscriptions: whoever may manage the workspace's feeds,
 * or the channel's creator (conversations.info, scopes channels:read and groups:read), for that channel only.
 * Slack's "Channel Manager" role cannot be used: the Web API does not expose it to apps, so the creator is the
 * closest a bot can check. A failed call counts as "no" (fail closed) and is logged.
 */
export async function canManageChannel(where: SlackWhere, adminUserIds: ReadonlySet<string>, logger: SlackLogger): Promise<boolean> {
  if (adminUserIds.has(where.userId)) return true;
  const check = await adminCheck(where, logger);
  if (check === 'admin') return true;
  if (check === 'guest') return false;
  try {
    const { channel } = await where.client.conversations.info({ channel: where.channelId });
    if (channel?.creator && channel.creator === where.userId) return true;
  } catch (error) {
    logger.warn(`Slack: could not check who created the channel: ${describeSlackError(error, { method: 'conversations.info', channel: where.channelId })}`);
  }
  return false;
}

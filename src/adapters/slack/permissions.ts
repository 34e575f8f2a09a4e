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

/**
 * Returns whether the user may manage alerts and feeds in the channel: a workspace admin or owner (users.info,
 * scope users:read; on Enterprise Grid also an org admin or owner), or the channel's creator (conversations.info,
 * scopes channels:read and groups:read). Slack's "Channel Manager" role cannot be used: the Web API does not expose
 * it to apps, so the creator is the closest a bot can check. A failed call counts as "no" (fail closed) and is logged.
 */
export async function canManageChannel(where: SlackWhere, logger: SlackLogger): Promise<boolean> {
  try {
    const { user } = await where.client.users.info({ user: where.userId });
    if (user && !user.deleted && !user.is_restricted && !user.is_ultra_restricted) {
      if (user.is_admin || user.is_owner || user.is_primary_owner) return true;
      if (user.enterprise_user?.is_admin || user.enterprise_user?.is_owner) return true;
    }
    if (user?.is_restricted || user?.is_ultra_restricted) return false; // guests never manage, even channels they made
  } catch (error) {
    logger.warn(`Slack: could not check whether ${where.userId} is a workspace admin: ${describeSlackError(error, { method: 'users.info' })}`);
  }
  try {
    const { channel } = await where.client.conversations.info({ channel: where.channelId });
    if (channel?.creator && channel.creator === where.userId) return true;
  } catch (error) {
    logger.warn(`Slack: could not check who created the channel: ${describeSlackError(error, { method: 'conversations.info', channel: where.channelId })}`);
  }
  return false;
}

import { managePermissionNeeded, routeText } from '../../../commands/index.js';
import type { ChannelContext, Command, Reply } from '../../../commands/types.js';
import { tenantOf, type AlertsService, type VisibilityFor } from '../../core/feed-model.js';
import type { IncidentService } from '../../core/incident-service.js';
import { canManageChannel, canManageWorkspaceFeeds, type SlackWhere } from './permissions.js';
import {
  answerToBlocks,
  errorToBlocks,
  noticeToBlocks,
  helpToBlocks,
  listToBlocks,
  SLACK_LIMITS,
  type HelpRenderOptions,
  type SlackMessage,
} from './render.js';

/** action_id of the "Share in channel" button under an ephemeral answer. */
export const SHARE_ACTION_ID = 'share_in_channel';

/** Longest command text the share button carries (re-run on click); longer requests are answered without the button. */
export const SHARE_VALUE_MAX = 1000;

/** The minimal logger the Slack adapter writes to, one string per call (console and pino both fit). */
export interface SlackLogger {
  info(...msg: unknown[]): void;
  warn(...msg: unknown[]): void;
  error(...msg: unknown[]): void;
  debug?(...msg: unknown[]): void;
}

/** What listeners need to answer: the incident service, the command list, help rendering and a logger. */
export interface SlackReplyDeps {
  service: IncidentService;
  commands: readonly Command[];
  logger: SlackLogger;
  help?: HelpRenderOptions;
  /** Feeds and subscriptions for `/incident alerts|feeds ...`, when the feed watcher runs. */
  alerts?: AlertsService;
  /** SLACK_ADMIN_USER_IDS: may manage feeds (and every channel's alerts) besides the workspace's admins and owners. */
  adminUserIds?: ReadonlySet<string>;
  /** Which records each workspace may see (posts of other tenants' feeds are hidden); absent: every record. */
  visibilityFor?: VisibilityFor;
}

/** Shown when a command throws: the user learns it failed, the log gets the details. */
const FAILURE_MESSAGE = 'Something went wrong while answering that. Please try again, or ask for `help`.';

/**
 * Returns the reply to a line of free text (slash command text or a mention); empty text means help; never throws.
 * `where` (channel, user, a client) gives commands their channel and tenant (the workspace); the caller's manage
 * permission is checked with the API only for commands that need it (see managePermissionNeeded), so questions cost
 * no extra calls. A share click has only the team: its answer is still limited to what that workspace may see.
 */
export async function runCommandText(text: string, deps: SlackReplyDeps, where?: SlackWhere | { teamId?: string }): Promise<Reply> {
  const routed = routeText(text.trim() || 'help');
  try {
    let channel: ChannelContext | undefined;
    const tenant = tenantOf('slack', where?.teamId);
    if (where && 'client' in where) {
      const need = deps.alerts !== undefined ? managePermissionNeeded(routed.command, routed.input) : undefined;
      const admins = deps.adminUserIds ?? new Set<string>();
      channel = {
        platform: 'slack',
        channelId: where.channelId,
        workspaceId: where.teamId,
        userId: where.userId,
        tenant,
        canManageFeeds: need === 'feeds' ? await canManageWorkspaceFeeds(where, admins, deps.logger) : false,
        canManageChannel: need === 'channel' ? await canManageChannel(where, admins, deps.logger) : false,
      };
    }
    const canSee = deps.visibilityFor?.(tenant);
    return await routed.command.handle(routed.input, { incidents: deps.service, commands: deps.commands, channel, alerts: deps.alerts, canSee });
  } catch (error) {
    // One string: pino keeps only the first argument of a call.
    const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
    deps.logger.error(`Slack: command "${routed.command.definition.name}" failed for text ${JSON.stringify(text.slice(0, 200))}: ${detail}`);
    return { type: 'error', message: FAILURE_MESSAGE };
  }
}

/** Returns the Block Kit message for any command reply. */
export function replyToMessage(reply: Reply, help: HelpRenderOptions = {}): SlackMessage {
  switch (reply.type) {
    case 'answer':
      return answerToBlocks(reply.answer);
    case 'list':
      return listToBlocks(reply.list);
    case 'help':
      return helpToBlocks(reply.help, help);
    case 'message':
      return noticeToBlocks(reply.title, reply.lines);
    case 'error':
      return errorToBlocks(reply.message);
  }
}

/** Returns whether a reply is worth sharing with the channel (an answer that found something, or a non-empty list). */
export function isShareable(reply: Reply): boolean {
  if (reply.type === 'answer') return reply.answer.status !== 'not-found';
  if (reply.type === 'list') return reply.list.items.length > 0;
  return false;
}

/** Returns the message with a "Share in channel" button carrying the command text, or unchanged when the text is too long. */
export function withShareButton(message: SlackMessage, commandText: string): SlackMessage {
  if (commandText.length > Math.min(SHARE_VALUE_MAX, SLACK_LIMITS.buttonValue)) return message;
  const blocks = message.blocks.slice(0, SLACK_LIMITS.blocks - 1);
  blocks.push({
    type: 'actions',
    elements: [
      {
        type: 'button',
        action_id: SHARE_ACTION_ID,
        text: { type: 'plain_text', text: 'Share in channel' },
        value: commandText,
      },
    ],
  });
  return { blocks, text: message.text };
}

/** Returns the message with a "Shared by @user" line, for an answer reposted visibly. */
export function withSharedBy(message: SlackMessage, userId: string): SlackMessage {
  // Only a well-formed user id becomes a mention; anything else is dropped rather than escaped into the message.
  if (!/^[UW][A-Z0-9]{2,}$/.test(userId)) return message;
  const blocks = message.blocks.slice(0, SLACK_LIMITS.blocks - 1);
  blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: `Shared by <@${userId}>` }] });
  return { blocks, text: message.text };
}

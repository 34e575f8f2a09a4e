import { managePermissionNeeded, routeText, type RoutedText } from '../../../commands/index.js';
import type { ChannelContext, Command, Reply } from '../../../commands/types.js';
import type { ConversationStore } from '../../core/conversation.js';
import { tenantOf, type AlertsService, type VisibilityFor } from '../../core/feed-model.js';
import type { IncidentService } from '../../core/incident-service.js';
import { firstPage, listPageOf, pagedCommandInput, pagedCommandOf, pagedCommandText, type PageContext, type PagedCommand } from '../paging.js';
import { listPageToBlocks, moreValue } from './lists.js';
import { canManageChannel, canManageWorkspaceFeeds, type SlackWhere } from './permissions.js';
import { answerToBlocks, errorToBlocks, noticeToBlocks, helpToBlocks, SLACK_LIMITS, type HelpRenderOptions, type SlackMessage } from './render.js';

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
  /** Where each thread's (or each user's, for slash commands) conversation context lives; absent: no memory between turns. */
  conversations?: ConversationStore;
}

/** Where a command runs when there is no client to check permissions with (a button click): ids only. */
export interface SlackPlace {
  teamId?: string;
  channelId?: string;
  userId?: string;
}

/** How a command runs beyond its text: the page to show and the conversation it belongs to. */
export interface RunOptions {
  /** The cursor of the page to show (a More click); absent for the first page. */
  cursor?: string;
  /** The conversation key (threadConversation or userConversation); absent: no memory between turns. */
  conversation?: string;
}

/**
 * Returns the conversation of a thread: `slack:<team>:<channel>:<thread ts>`. A mention is answered in a thread, and
 * everyone in that thread sees the answers, so a follow-up there resolves against the thread's last answer.
 */
export function threadConversation(teamId: string | undefined, channelId: string, threadTs: string): string {
  return `slack:${teamId ?? '-'}:${channelId}:${threadTs}`;
}

/**
 * Returns the conversation of a user's slash commands in a channel: `slack:<team>:<channel>:user:<user>`. Slash
 * command answers are ephemeral (only the caller sees them), so one user's follow-up must not resolve against an
 * answer another user got in the same channel.
 */
export function userConversation(teamId: string | undefined, channelId: string, userId: string): string {
  return `slack:${teamId ?? '-'}:${channelId}:user:${userId}`;
}

/** Shown when a command throws: the user learns it failed, the log gets the details. */
const FAILURE_MESSAGE = 'Something went wrong while answering that. Please try again, or ask for `help`.';

/**
 * Returns the reply to a line of free text (slash command text or a mention); empty text means help; never throws.
 * `where` (channel, user, a client) gives commands their channel and tenant (the workspace); the caller's manage
 * permission is checked with the API only for commands that need it (see managePermissionNeeded), so questions cost
 * no extra calls. A click has only ids: its answer is still limited to what that workspace may see.
 */
export async function runCommandText(text: string, deps: SlackReplyDeps, where?: SlackWhere | SlackPlace, options: RunOptions = {}): Promise<Reply> {
  return runRouted(routeText(text.trim() || 'help'), text, deps, where, options);
}

/** Returns the reply to a list's command asked again for the page at `cursor` (a More or share click); never throws. */
export async function runPagedCommand(command: PagedCommand, cursor: string | undefined, deps: SlackReplyDeps, where: SlackPlace, options: RunOptions = {}): Promise<Reply> {
  const { name, input } = pagedCommandInput(command, cursor);
  const found = deps.commands.find((c) => c.definition.name === name);
  if (!found) return { type: 'error', message: FAILURE_MESSAGE };
  return runRouted({ command: found, input }, pagedCommandText(command), deps, where, options);
}

/** Returns the list command a line of text runs (what a More button asks again), or undefined when its replies do not page. */
export function pagedCommandOfText(text: string): PagedCommand | undefined {
  const routed = routeText(text.trim() || 'help');
  return pagedCommandOf(routed.command.definition.name, routed.input);
}

async function runRouted(routed: RoutedText, text: string, deps: SlackReplyDeps, where: SlackWhere | SlackPlace | undefined, options: RunOptions): Promise<Reply> {
  try {
    let channel: ChannelContext | undefined;
    const tenant = tenantOf('slack', where?.teamId);
    const conversation = options.conversation ? { conversation: options.conversation } : {};
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
        ...conversation,
      };
    } else if (options.conversation) {
      // A click: no client to check permissions with, so nothing managed; the conversation still carries on.
      channel = { platform: 'slack', channelId: where?.channelId, workspaceId: where?.teamId, userId: where?.userId, tenant, canManageFeeds: false, canManageChannel: false, ...conversation };
    }
    const canSee = deps.visibilityFor?.(tenant);
    const input = options.cursor ? { ...routed.input, cursor: options.cursor } : routed.input;
    return await routed.command.handle(input, { incidents: deps.service, commands: deps.commands, channel, alerts: deps.alerts, canSee, conversations: deps.conversations });
  } catch (error) {
    // One string: pino keeps only the first argument of a call.
    const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
    deps.logger.error(`Slack: command "${routed.command.definition.name}" failed for text ${JSON.stringify(text.slice(0, 200))}: ${detail}`);
    return { type: 'error', message: FAILURE_MESSAGE };
  }
}

/**
 * Returns the Block Kit message for any command reply; `page` says how a list reply was asked for (its command, first
 * item and cursor), so that its More button asks the same question again.
 */
export function replyToMessage(reply: Reply, help: HelpRenderOptions = {}, page: PageContext = firstPage()): SlackMessage {
  switch (reply.type) {
    case 'answer':
      return answerToBlocks(reply.answer, page);
    case 'list':
      return listPageToBlocks(listPageOf(reply.list), page);
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

/**
 * Returns the message with a "Share in channel" button carrying the command text (or, for a later page of a list, the
 * page to share, as a More button carries it), or unchanged when that is too long. The button joins a More row when
 * there is one.
 */
export function withShareButton(message: SlackMessage, commandText: string, page: PageContext = firstPage()): SlackMessage {
  const value = page.start > 1 && page.command && page.cursor ? moreValue({ command: page.command, cursor: page.cursor, start: page.start }) : commandText;
  if (!value || value.length > Math.min(SHARE_VALUE_MAX, SLACK_LIMITS.buttonValue)) return message;
  const button = {
    type: 'button' as const,
    action_id: SHARE_ACTION_ID,
    text: { type: 'plain_text' as const, text: 'Share in channel' },
    value,
  };
  const blocks = message.blocks.slice(0, SLACK_LIMITS.blocks);
  const last = blocks[blocks.length - 1];
  if (last?.type === 'actions' && last.elements.length < SLACK_LIMITS.actionsElements) {
    blocks[blocks.length - 1] = { ...last, elements: [...last.elements, button] };
    return { blocks, text: message.text };
  }
  const kept = blocks.slice(0, SLACK_LIMITS.blocks - 1);
  kept.push({ type: 'actions', elements: [button] });
  return { blocks: kept, text: message.text };
}

/** Returns the message with a "Shared by @user" line, for an answer reposted visibly. */
export function withSharedBy(message: SlackMessage, userId: string): SlackMessage {
  // Only a well-formed user id becomes a mention; anything else is dropped rather than escaped into the message.
  if (!/^[UW][A-Z0-9]{2,}$/.test(userId)) return message;
  const blocks = message.blocks.slice(0, SLACK_LIMITS.blocks - 1);
  blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: `Shared by <@${userId}>` }] });
  return { blocks, text: message.text };
}

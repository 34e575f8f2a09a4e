import type { AllMiddlewareArgs, App, BlockAction, ButtonAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import { firstPage, pagedCommandText, type PageContext } from '../../paging.js';
import { MORE_ACTION_ID, parseMoreValue } from '../lists.js';
import {
  isShareable,
  pagedCommandOfText,
  replyToMessage,
  runCommandText,
  runPagedCommand,
  SHARE_ACTION_ID,
  threadConversation,
  userConversation,
  withSharedBy,
  withShareButton,
  type SlackPlace,
  type SlackReplyDeps,
} from '../reply.js';
import { describeSlackError } from '../slack-errors.js';

type ButtonArgs = SlackActionMiddlewareArgs<BlockAction<ButtonAction>> & AllMiddlewareArgs;

/** What the user sees when a More button's value is not one we can page (an older bot's, or damaged). */
export const STALE_MORE_TEXT = 'This list can no longer be paged; ask again with /incident or a mention.';

/** Returns where a click happened: the team, channel and user, as ids (a click has no client to check permissions). */
function placeOf(body: BlockAction<ButtonAction>): SlackPlace {
  return { teamId: body.team?.id ?? body.user.team_id, channelId: body.channel?.id ?? body.container?.channel_id, userId: body.user.id };
}

/**
 * Returns the conversation a click belongs to: the thread its message is in (a mention's answer), else the clicking
 * user's own in that channel (a slash command's ephemeral answer, or a message shared to the channel).
 */
export function clickConversation(body: BlockAction<ButtonAction>): string | undefined {
  const place = placeOf(body);
  if (!place.channelId) return undefined;
  const threadTs = body.container?.thread_ts ?? body.message?.thread_ts;
  if (typeof threadTs === 'string' && threadTs) return threadConversation(place.teamId, place.channelId, threadTs);
  return userConversation(place.teamId, place.channelId, body.user.id);
}

/**
 * Returns the "Share in channel" callback: the command in the button's value (or, for a later page of a list, that
 * page) is run again and its answer posted visibly through the response_url, which also deletes the ephemeral
 * original. The response_url works in channels the bot has not joined, where chat.postMessage would fail with
 * not_in_channel.
 */
export function createShareButtonCallback(deps: SlackReplyDeps) {
  return async function shareButtonCallback({ ack, action, body, respond }: ButtonArgs): Promise<void> {
    await ack();
    const text = action.value ?? '';
    // The click's workspace bounds what the re-run may show, as the original command's did; the sharer's conversation
    // resolves a follow-up ("who was behind it?") as it was resolved for them.
    const place = placeOf(body);
    const options = { conversation: clickConversation(body) };
    const paged = parseMoreValue(text);
    const reply = paged ? await runPagedCommand(paged.command, paged.cursor, deps, place, options) : await runCommandText(text, deps, place, options);
    const page: PageContext = paged ? { command: paged.command, start: paged.start, cursor: paged.cursor } : firstPage(pagedCommandOfText(text));
    try {
      if (reply.type === 'error') {
        await respond({ response_type: 'ephemeral', replace_original: false, ...replyToMessage(reply, deps.help) });
        return;
      }
      const message = withSharedBy(replyToMessage(reply, deps.help, page), body.user.id);
      await respond({ response_type: 'in_channel', delete_original: true, ...message, unfurl_links: false, unfurl_media: false });
    } catch (error) {
      deps.logger.error(describeSlackError(error, { method: 'response_url for the share button', channel: body.channel?.id }));
    }
  };
}

/**
 * Returns the "More" callback: the list's command in the button's value is asked again with the next page's cursor,
 * and the page replaces the message through the response_url. Replacing rather than posting keeps one message per
 * question (as Discord's Prev/Next do), leaves no older More buttons behind to post the same page twice, adds nothing
 * to the channel's ~1 message/s budget, and works for ephemeral slash-command answers, which only the response_url can
 * change, and in channels the bot has not joined.
 */
export function createMoreButtonCallback(deps: SlackReplyDeps) {
  return async function moreButtonCallback({ ack, action, body, respond }: ButtonArgs): Promise<void> {
    await ack();
    const request = parseMoreValue(action.value);
    try {
      if (!request) {
        deps.logger.warn(`Slack: a More button with a value that is not ours: ${JSON.stringify(String(action.value ?? '').slice(0, 100))}`);
        await respond({ response_type: 'ephemeral', replace_original: false, text: STALE_MORE_TEXT });
        return;
      }
      const reply = await runPagedCommand(request.command, request.cursor, deps, placeOf(body), { conversation: clickConversation(body) });
      const page: PageContext = { command: request.command, start: request.start, cursor: request.cursor };
      if (reply.type === 'error') {
        await respond({ response_type: 'ephemeral', replace_original: false, ...replyToMessage(reply, deps.help) });
        return;
      }
      let message = replyToMessage(reply, deps.help, page);
      // An ephemeral answer keeps its share button, now sharing this page.
      if (body.container?.is_ephemeral === true && isShareable(reply)) message = withShareButton(message, pagedCommandText(request.command), page);
      await respond({ replace_original: true, ...message, unfurl_links: false, unfurl_media: false });
    } catch (error) {
      deps.logger.error(describeSlackError(error, { method: 'response_url for the More button', channel: body.channel?.id }));
    }
  };
}

/** Registers the button listeners: share in channel, and More under lists. */
export function register(app: App, deps: SlackReplyDeps): void {
  app.action<BlockAction<ButtonAction>>({ type: 'block_actions', action_id: SHARE_ACTION_ID }, createShareButtonCallback(deps));
  app.action<BlockAction<ButtonAction>>({ type: 'block_actions', action_id: MORE_ACTION_ID }, createMoreButtonCallback(deps));
}

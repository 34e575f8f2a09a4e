import type { AllMiddlewareArgs, App, BlockAction, ButtonAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import { replyToMessage, runCommandText, SHARE_ACTION_ID, withSharedBy, type SlackReplyDeps } from '../reply.js';
import { describeSlackError } from '../slack-errors.js';

/**
 * Returns the "Share in channel" callback: the command in the button's value is run again and its answer posted
 * visibly through the response_url, which also deletes the ephemeral original. The response_url works in channels
 * the bot has not joined, where chat.postMessage would fail with not_in_channel.
 */
export function createShareButtonCallback(deps: SlackReplyDeps) {
  return async function shareButtonCallback({ ack, action, body, respond }: SlackActionMiddlewareArgs<BlockAction<ButtonAction>> & AllMiddlewareArgs): Promise<void> {
    await ack();
    const text = action.value ?? '';
    // The click's workspace bounds what the re-run may show, as the original command's did.
    const reply = await runCommandText(text, deps, { teamId: body.team?.id ?? body.user.team_id });
    try {
      if (reply.type === 'error') {
        await respond({ response_type: 'ephemeral', replace_original: false, ...replyToMessage(reply, deps.help) });
        return;
      }
      const message = withSharedBy(replyToMessage(reply, deps.help), body.user.id);
      await respond({ response_type: 'in_channel', delete_original: true, ...message, unfurl_links: false, unfurl_media: false });
    } catch (error) {
      deps.logger.error(describeSlackError(error, { method: 'response_url for the share button', channel: body.channel?.id }));
    }
  };
}

/** Registers the share button's action listener. */
export function register(app: App, deps: SlackReplyDeps): void {
  app.action<BlockAction<ButtonAction>>({ type: 'block_actions', action_id: SHARE_ACTION_ID }, createShareButtonCallback(deps));
}

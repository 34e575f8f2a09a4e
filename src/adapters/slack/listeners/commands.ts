import type { AllMiddlewareArgs, App, SlackCommandMiddlewareArgs } from '@slack/bolt';
import { slashCommandOf } from '../manifest.js';
import { slackTextToPlain } from '../mention.js';
import { firstPage } from '../../paging.js';
import { isShareable, pagedCommandOfText, replyToMessage, runCommandText, userConversation, withShareButton, type SlackReplyDeps } from '../reply.js';
import { describeSlackError } from '../slack-errors.js';

/** Returns the `/incident <text>` callback: ack at once (Slack's 3-second rule), then an ephemeral answer with a share button. */
export function createIncidentCommandCallback(deps: SlackReplyDeps) {
  return async function incidentCommandCallback({ ack, command, respond, client }: SlackCommandMiddlewareArgs & AllMiddlewareArgs): Promise<void> {
    await ack();
    // Slack escapes &, < and > in command text as in messages.
    const text = slackTextToPlain(command.text ?? '');
    const conversation = userConversation(command.team_id, command.channel_id, command.user_id);
    const where = { client, channelId: command.channel_id, teamId: command.team_id, userId: command.user_id };
    const reply = await runCommandText(text, deps, where, { conversation });
    const page = firstPage(pagedCommandOfText(text));
    let message = replyToMessage(reply, deps.help, page);
    if (isShareable(reply)) message = withShareButton(message, text, page);
    try {
      await respond({ response_type: 'ephemeral', ...message, unfurl_links: false, unfurl_media: false });
    } catch (error) {
      deps.logger.error(describeSlackError(error, { method: `response_url for ${command.command}`, channel: command.channel_id }));
    }
  };
}

/** Registers the slash command listener (named after the first command, e.g. "/incident"). */
export function register(app: App, deps: SlackReplyDeps): void {
  app.command(slashCommandOf(deps.commands), createIncidentCommandCallback(deps));
}

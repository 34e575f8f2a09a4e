import type { AllMiddlewareArgs, App, RespondArguments, SlackCommandMiddlewareArgs } from '@slack/bolt';
import { slashCommandOf } from '../manifest.js';
import { slackTextToPlain } from '../mention.js';
import { firstPage } from '../../paging.js';
import { isShareable, pagedCommandOfText, replyToMessage, runCommandText, userConversation, withShareButton, type SlackReplyDeps } from '../reply.js';
import { describeSlackError } from '../slack-errors.js';

type CommandArgs = SlackCommandMiddlewareArgs & AllMiddlewareArgs;

/**
 * How long a slash command's answer may take and still go out in the acknowledgement; a slower one is acknowledged
 * empty and answered through the response_url. Slack wants the acknowledgement within 3 s of sending, a span that also
 * holds the trip to us and Bolt's authorization before the listener runs (Bolt itself answers 404 after 3,001 ms
 * without one); 2 s leaves a second for those. An answer in the acknowledgement is one HTTP response: a replica that
 * dies before sending it never acknowledged, so the command can be sent again (to another replica) and is still
 * answered once, where an empty acknowledgement followed by a death loses the answer (Slack never resends an
 * acknowledged command).
 */
export const ACK_ANSWER_BUDGET_MS = 2000;

/** Returns the ephemeral answer to a slash command, with a share button when it is worth sharing. */
async function answerCommand({ command, client }: CommandArgs, deps: SlackReplyDeps): Promise<RespondArguments> {
  // Slack escapes &, < and > in command text as in messages.
  const text = slackTextToPlain(command.text ?? '');
  const conversation = userConversation(command.team_id, command.channel_id, command.user_id);
  const where = { client, channelId: command.channel_id, teamId: command.team_id, userId: command.user_id };
  const reply = await runCommandText(text, deps, where, { conversation });
  const page = firstPage(pagedCommandOfText(text));
  let message = replyToMessage(reply, deps.help, page);
  if (isShareable(reply)) message = withShareButton(message, text, page);
  return { response_type: 'ephemeral', ...message, unfurl_links: false, unfurl_media: false };
}

/** Returns a timer that resolves `expired` with undefined after `ms`, and a way to stop it. */
function budget(ms: number): { expired: Promise<undefined>; clear(): void } {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<undefined>((resolve) => {
    timer = setTimeout(resolve, ms, undefined);
  });
  return { expired, clear: () => clearTimeout(timer) };
}

/**
 * Returns the `/incident <text>` callback: the ephemeral answer (with a share button) in the acknowledgement when it is
 * ready within ACK_ANSWER_BUDGET_MS, else an empty acknowledgement (Slack's 3-second rule) and the answer through the
 * response_url once ready. Either way it is sent once.
 */
export function createIncidentCommandCallback(deps: SlackReplyDeps) {
  return async function incidentCommandCallback(args: CommandArgs): Promise<void> {
    const { ack, command, respond } = args;
    // Started before the work, so that the budget covers all of it.
    const deadline = budget(ACK_ANSWER_BUDGET_MS);
    const answer = answerCommand(args, deps);
    let ready: RespondArguments | undefined;
    try {
      ready = await Promise.race([answer, deadline.expired]);
    } finally {
      deadline.clear();
    }
    if (ready) {
      await ack(ready);
      return;
    }
    await ack();
    try {
      await respond(await answer);
    } catch (error) {
      deps.logger.error(describeSlackError(error, { method: `response_url for ${command.command}`, channel: command.channel_id }));
    }
  };
}

/** Registers the slash command listener (named after the first command, e.g. "/incident"). */
export function register(app: App, deps: SlackReplyDeps): void {
  app.command(slashCommandOf(deps.commands), createIncidentCommandCallback(deps));
}

import type { AllMiddlewareArgs, App, SlackEventMiddlewareArgs } from '@slack/bolt';
import { RecentKeys } from '../event-dedupe.js';
import { mentionToQuery } from '../mention.js';
import { firstPage } from '../../paging.js';
import { pagedCommandOfText, replyToMessage, runCommandText, threadConversation, type SlackReplyDeps } from '../reply.js';
import { describeSlackError } from '../slack-errors.js';

/** What the mention listener needs beyond the reply deps: the memory of events already answered. */
export interface MentionDeps extends SlackReplyDeps {
  /** Event ids (and channel:ts keys) already handled; a redelivered event is skipped. */
  recent: RecentKeys;
}

/**
 * Returns the app_mention callback: the question (mention stripped) answered in a thread on the mentioning message,
 * or in its thread when the mention is itself a reply. Bolt acks events before listeners run.
 */
export function createAppMentionCallback(deps: MentionDeps) {
  return async function appMentionCallback({ event, body, context, client }: SlackEventMiddlewareArgs<'app_mention'> & AllMiddlewareArgs): Promise<void> {
    // Slack redelivers with the same event_id when an ack was late; channel:ts catches the same message by another route.
    if (deps.recent.seen(body.event_id, `${event.channel}:${event.ts}`)) {
      deps.logger.debug?.(`Slack: event ${body.event_id} already answered, skipped`);
      return;
    }
    const query = mentionToQuery(event.text ?? '', context.botUserId);
    const where = event.user ? { client, channelId: event.channel, teamId: body.team_id, userId: event.user } : { channelId: event.channel, teamId: body.team_id };
    // The answer goes into the mention's thread, and that thread is the conversation its follow-ups belong to.
    const threadTs = event.thread_ts ?? event.ts;
    const reply = await runCommandText(query, deps, where, { conversation: threadConversation(body.team_id, event.channel, threadTs) });
    const message = replyToMessage(reply, deps.help, firstPage(pagedCommandOfText(query)));
    try {
      await client.chat.postMessage({
        channel: event.channel,
        thread_ts: threadTs,
        ...message,
        unfurl_links: false,
        unfurl_media: false,
      });
    } catch (error) {
      deps.logger.error(describeSlackError(error, { method: 'chat.postMessage', channel: event.channel }));
    }
  };
}

/** Registers the app_mention listener. `message` events get no listener: a mention arriving as both is answered once. */
export function register(app: App, deps: MentionDeps): void {
  app.event('app_mention', createAppMentionCallback(deps));
}

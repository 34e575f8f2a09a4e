/**
 * Returns plain text from Slack's message or slash-command text: mentions dropped, channel references kept as
 * #name, links reduced to their labels, and Slack's escaping undone (`&amp;`, `&lt;`, `&gt;`).
 */
export function slackTextToPlain(text: string): string {
  return text
    .replace(/<[@!][^>]*>/g, ' ') // users, user groups, @here/@channel: not part of a question
    .replace(/<#[A-Z0-9]+\|([^>]*)>/g, '#$1')
    .replace(/<#[A-Z0-9]+>/g, ' ')
    .replace(/<(?:mailto:)?[^>|]+\|([^>]*)>/g, '$1')
    .replace(/<(?:mailto:)?([^>]+)>/g, '$1')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ')
    .trim();
}

/**
 * Returns the question in an app_mention's text: the bot's mention removed, then as slackTextToPlain
 * ("<@U0BOT> what happened with &lt;Sky ECC&gt;?" -> "what happened with <Sky ECC>?").
 */
export function mentionToQuery(text: string, botUserId?: string): string {
  const withoutBot = botUserId
    ? text.replace(new RegExp(`<@${escapeRegExp(botUserId)}(?:\\|[^>]*)?>`, 'g'), ' ')
    : // Without auth.test's user id, the leading mention is the one that addressed us.
      text.replace(/^\s*<@[UW][A-Z0-9]+(?:\|[^>]*)?>/, ' ');
  return slackTextToPlain(withoutBot);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

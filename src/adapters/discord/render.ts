import {
  ButtonStyle,
  ComponentType,
  type APIActionRowComponent,
  type APIButtonComponentWithCustomId,
  type APIComponentInMessageActionRow,
  type APIEmbed,
  type APIEmbedField,
  type APISelectMenuOption,
  type RESTAPIMessageReference,
  type APIAllowedMentions,
} from 'discord.js';
import type { AlertPost, OutgoingMessage } from '../../feeds/types.js';
import type { Answer, AnswerSource, IncidentList, IncidentRef } from '../../core/answer-model.js';
import type { IncidentKind } from '../../core/incident.js';
import type { HelpReply, Reply } from '../../../commands/types.js';
import {
  DISCORD_LIMITS,
  KIND_LABELS,
  MORE_RESERVE,
  REPLY_COLOURS,
  clipMarkdown,
  clipText,
  embedLength,
  fitMarkdown,
  fitTotal,
  joinWhole,
  maskedLink,
  safeUrl,
  type DiscordMessage,
} from './format.js';
import { comparisonToEmbed, listPageToEmbed, listPageToMessage } from './lists.js';
import { firstPage, listPageOf, type PageContext } from '../paging.js';

export {
  DISCORD_LIMITS,
  clipText,
  embedLength,
  escapeMarkdown,
  fitMarkdown,
  messageLimitViolations,
  REPLY_COLOURS,
  safeUrl,
  type DiscordMessage,
} from './format.js';

/** Embed colour per record kind, so a group or a CVE is told from an incident at a glance. */
export const KIND_COLOURS: Readonly<Record<IncidentKind, number>> = {
  incident: 0xe74c3c,
  group: 0x9b59b6,
  software: 0x3498db,
  vulnerability: 0xe67e22,
};


/** Prefixes of component custom ids: `pick:<id>` replaces the message with that record, `ask:<query>` answers a suggestion. */
export const CUSTOM_ID = { pick: 'pick:', ask: 'ask:' } as const;

// Budgets below the hard limits, so that the parts of one embed always add up to less than embedTotal
// and the description (what the reader came for) keeps the rest.
const FACT_VALUE_BUDGET = 300;
const SOURCE_TITLE_BUDGET = 100;
const RELATED_BUDGET = 512;
const FOOTER_BUDGET = 200;
const BLURB_BUDGET = 160;

function sourceLine(source: AnswerSource): string {
  // A source line must fit in the Sources field with its publisher and date; a longer link is shown unlinked.
  const head = maskedLink(source.title, source.url, SOURCE_TITLE_BUDGET, DISCORD_LIMITS.embedFieldValue - 100);
  const meta = [source.publisher, source.published].filter((s): s is string => Boolean(s && s.trim()));
  const tail = meta.length ? ` — ${fitMarkdown(meta.join(', '), 80)}` : '';
  return `• ${head}${tail}`;
}

function refLine(ref: IncidentRef): string {
  const when = ref.date ? ` (${fitMarkdown(ref.date, 40)})` : '';
  return `• ${maskedLink(ref.title, ref.url, SOURCE_TITLE_BUDGET)}${when}`;
}

function footerFor(ref: IncidentRef): string {
  return clipText([KIND_LABELS[ref.kind], ref.date ?? 'date unknown', ref.id].join(' · '), FOOTER_BUDGET);
}

/**
 * Returns the embed for an answer: for a found record its title linked to the best source, the summary, key facts,
 * sources ("+N more") and related records, coloured by kind; for ambiguous and not-found queries the candidates or
 * suggestions; a list as its first page, a comparison as two columns. Every limit in DISCORD_LIMITS holds whatever the
 * data.
 */
export function answerToEmbed(answer: Answer): APIEmbed {
  if (answer.status === 'list') return listPageToEmbed(listPageOf(answer), firstPage());
  if (answer.status === 'comparison' && answer.comparison) return comparisonToEmbed({ ...answer, comparison: answer.comparison });
  if (answer.status === 'ambiguous' && answer.candidates.length > 0) return candidatesEmbed(answer);
  if (answer.status === 'not-found' || !answer.incident) return notFoundEmbed(answer);
  const incident = answer.incident;
  const url = safeUrl(incident.url ?? answer.sources.find((s) => safeUrl(s.url))?.url);
  const fields: APIEmbedField[] = [];
  for (const fact of answer.facts) {
    const value = fitMarkdown(fact.value, FACT_VALUE_BUDGET);
    if (!value) continue;
    fields.push({ name: fitMarkdown(fact.label, DISCORD_LIMITS.embedFieldName), value, inline: fact.value.length <= 60 });
  }
  const sources = answer.sources.map(sourceLine);
  if (sources.length) fields.push({ name: 'Sources', value: joinWhole(sources, DISCORD_LIMITS.embedFieldValue) });
  const related = answer.related.map(refLine);
  if (related.length) fields.push({ name: 'Related', value: joinWhole(related, RELATED_BUDGET) });
  const kept = fields.slice(0, DISCORD_LIMITS.embedFields);

  const embed: APIEmbed = {
    title: fitMarkdown(incident.title, DISCORD_LIMITS.embedTitle),
    color: KIND_COLOURS[incident.kind] ?? KIND_COLOURS.incident,
    fields: kept,
    footer: { text: footerFor(incident) },
  };
  if (url) embed.url = url;
  const others = embedLength(embed);
  const budget = Math.min(DISCORD_LIMITS.embedDescription, DISCORD_LIMITS.embedTotal - others);
  const parts: string[] = [];
  if (answer.quote) {
    const source = answer.quote.source;
    const cite = source ? ` — ${maskedLink(source.title, source.url, SOURCE_TITLE_BUDGET)}` : '';
    parts.push(`> “${fitMarkdown(answer.quote.text, Math.max(40, Math.floor(budget / 2) - cite.length))}”${cite}`);
  }
  const used = parts.reduce((n, p) => n + p.length + 2, 0);
  const summary = fitMarkdown(answer.summary, Math.max(0, budget - used));
  if (summary) parts.push(summary);
  const description = parts.join('\n\n');
  if (description) embed.description = description.length <= budget ? description : clipMarkdown(description, budget);
  return fitTotal(embed);
}

function candidatesEmbed(answer: Answer): APIEmbed {
  const lines = answer.candidates.slice(0, DISCORD_LIMITS.selectOptions).map((c, i) => {
    const when = c.date ? ` · ${fitMarkdown(c.date, 40)}` : '';
    const blurb = c.blurb ? `\n${fitMarkdown(c.blurb, BLURB_BUDGET)}` : '';
    return `**${i + 1}.** ${fitMarkdown(c.title, SOURCE_TITLE_BUDGET)}${when}${blurb}`;
  });
  const head = `Several records match “${fitMarkdown(answer.query, 200)}”. Pick one:`;
  return fitTotal({
    title: 'Which one do you mean?',
    description: joinWhole([head, ...lines], DISCORD_LIMITS.embedDescription),
    color: REPLY_COLOURS.ambiguous,
  });
}

/** Characters of a data hint in a not-found embed: two or three sentences, well inside the description limit. */
const HINT_BUDGET = 600;

function notFoundEmbed(answer: Answer): APIEmbed {
  const query = answer.query.trim() ? `“${fitMarkdown(answer.query, 200)}”` : 'that';
  const lines = [`I found no incident matching ${query}.`];
  if (answer.suggestions.length) {
    lines.push('Did you mean:');
    lines.push(...answer.suggestions.map((s) => `• ${fitMarkdown(s, SOURCE_TITLE_BUDGET)}`));
  } else {
    lines.push('Try a name, an alias or a CVE id, or `/incidents search`.');
  }
  if (answer.hint) lines.push('', fitMarkdown(answer.hint, HINT_BUDGET));
  return fitTotal({
    title: 'Nothing found',
    description: joinWhole(lines, DISCORD_LIMITS.embedDescription),
    color: REPLY_COLOURS.notFound,
  });
}

/** Returns the embed for a list of incidents (`incidents recent|search`), as the first page of a list. */
export function listToEmbed(list: IncidentList): APIEmbed {
  return listPageToEmbed(listPageOf(list), firstPage());
}

/** Returns the embed for help: one field per command (usage as the name, description and examples as the value). */
export function helpToEmbed(help: HelpReply): APIEmbed {
  const fields = help.entries.slice(0, DISCORD_LIMITS.embedFields).map((e) => ({
    name: fitMarkdown(`/${e.usage.replace(/^\//, '')}`, DISCORD_LIMITS.embedFieldName),
    value: fitMarkdown([e.description, e.help].filter(Boolean).join('\n'), DISCORD_LIMITS.embedFieldValue) || '—',
  }));
  return fitTotal({
    title: fitMarkdown(help.title || 'Help', DISCORD_LIMITS.embedTitle),
    color: REPLY_COLOURS.help,
    fields,
  });
}

/** Returns buttons (up to 5) or a select menu (up to 25) to pick one of the ambiguous candidates. */
export function candidatesToComponents(candidates: readonly IncidentRef[]): APIActionRowComponent<APIComponentInMessageActionRow>[] {
  const usable = candidates.filter((c) => (CUSTOM_ID.pick + c.id).length <= DISCORD_LIMITS.customId);
  if (usable.length === 0) return [];
  if (usable.length <= DISCORD_LIMITS.buttonsPerRow) {
    const buttons: APIButtonComponentWithCustomId[] = usable.map((c) => ({
      type: ComponentType.Button,
      style: ButtonStyle.Primary,
      custom_id: CUSTOM_ID.pick + c.id,
      label: clipText(c.title, DISCORD_LIMITS.buttonLabel) || c.id.slice(0, DISCORD_LIMITS.buttonLabel),
    }));
    return [{ type: ComponentType.ActionRow, components: buttons }];
  }
  const options: APISelectMenuOption[] = usable.slice(0, DISCORD_LIMITS.selectOptions).map((c) => {
    const option: APISelectMenuOption = {
      label: clipText(c.title, DISCORD_LIMITS.selectOptionLabel) || c.id,
      value: c.id,
    };
    const description = clipText([c.date, c.blurb].filter(Boolean).join(' · '), DISCORD_LIMITS.selectOptionDescription);
    if (description) option.description = description;
    return option;
  });
  return [
    {
      type: ComponentType.ActionRow,
      components: [{ type: ComponentType.StringSelect, custom_id: CUSTOM_ID.pick, placeholder: 'Pick a record', options }],
    },
  ];
}

/** Returns buttons that ask again with a "did you mean" suggestion (those that fit in a custom id). */
export function suggestionsToComponents(suggestions: readonly string[]): APIActionRowComponent<APIComponentInMessageActionRow>[] {
  const buttons: APIButtonComponentWithCustomId[] = suggestions
    .filter((s) => s.trim() && (CUSTOM_ID.ask + s).length <= DISCORD_LIMITS.customId)
    .slice(0, DISCORD_LIMITS.buttonsPerRow)
    .map((s) => ({
      type: ComponentType.Button,
      style: ButtonStyle.Secondary,
      custom_id: CUSTOM_ID.ask + s,
      label: clipText(s, DISCORD_LIMITS.buttonLabel),
    }));
  return buttons.length ? [{ type: ComponentType.ActionRow, components: buttons }] : [];
}

/**
 * Returns the whole message for an answer: embed plus pickers (not-found is ephemeral); a list as the page `page` says,
 * with its Prev/Next buttons.
 */
export function answerToMessage(answer: Answer, page: PageContext = firstPage()): DiscordMessage {
  if (answer.status === 'list') return withEmptyPrivate(listPageToMessage(listPageOf(answer), page), answer);
  if (answer.status === 'comparison' && answer.comparison) {
    return { embeds: [comparisonToEmbed({ ...answer, comparison: answer.comparison })], components: [], ephemeral: false };
  }
  const embeds = [answerToEmbed(answer)];
  if (answer.status === 'ambiguous' && answer.candidates.length > 0) {
    return { embeds, components: candidatesToComponents(answer.candidates), ephemeral: false };
  }
  if (answer.status === 'not-found' || !answer.incident) {
    return { embeds, components: suggestionsToComponents(answer.suggestions), ephemeral: true };
  }
  return { embeds, components: [], ephemeral: false };
}

/** An empty first page is a not-found: only the asker sees it, as for not-found answers. */
function withEmptyPrivate(message: DiscordMessage, answer: Answer): DiscordMessage {
  return (answer.items?.length ?? 0) === 0 && message.components.length === 0 ? { ...message, ephemeral: true } : message;
}

/** Returns a short ephemeral text message; the text is ours, so only mention syntax is neutralised. */
export function errorToMessage(message: string): DiscordMessage {
  const safe = message.replace(/[@<]/g, '\\$&');
  return { content: clipText(safe, DISCORD_LIMITS.messageContent), embeds: [], components: [], ephemeral: true };
}

/**
 * Returns the Discord message for any command reply; `page` says how a list reply was asked for (its command, first
 * item and cursor), so that its Prev/Next buttons ask the same question again.
 */
export function replyToMessage(reply: Reply, page: PageContext = firstPage()): DiscordMessage {
  switch (reply.type) {
    case 'answer':
      return answerToMessage(reply.answer, page);
    case 'list':
      return listPageToMessage(listPageOf(reply.list), page);
    case 'help':
      return { embeds: [helpToEmbed(reply.help)], components: [], ephemeral: true };
    case 'message':
      return { embeds: [noticeToEmbed(reply.title, reply.lines)], components: [], ephemeral: true };
    case 'error':
      return errorToMessage(reply.message);
  }
}

/** Returns a titled notice (subscriptions, feed status) as an embed; lines come from data, so they are escaped. */
export function noticeToEmbed(title: string, lines: readonly string[]): APIEmbed {
  return {
    title: fitMarkdown(title, DISCORD_LIMITS.embedTitle),
    description: fitMarkdown(lines.join('\n') || ' ', DISCORD_LIMITS.embedDescription),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Alerts (channel posts made by the outbox worker, not replies to a command)

/** Embed colours of alert messages. */
export const ALERT_COLOURS = { alert: 0xe67e22, digest: 0x3498db } as const;

/** Posts a digest lists by name; the rest are counted ("…and M more"). */
export const DIGEST_MAX_POSTS = 20;

// Short on purpose: an alert is a pointer to the post, and a channel may get many of them.
const ALERT_SUMMARY_BUDGET = 700;
const ALERT_FOOTER_BUDGET = 200;
const DIGEST_TITLE_BUDGET = 120;
// A snowflake: the only role and message ids we put into mention syntax or a message reference.
const SNOWFLAKE = /^\d{17,20}$/;

/** The JSON body of `POST /channels/{id}/messages` for an alert, without the sender's nonce. */
export interface DiscordAlertBody {
  content?: string;
  embeds: APIEmbed[];
  /** Never `parse`: only the subscription's role, when it names one, may be pinged. */
  allowed_mentions: APIAllowedMentions;
  /** Set for follow-ups: a reply to the channel's first alert about the same incident. */
  message_reference?: RESTAPIMessageReference;
}

/** Returns an ISO timestamp Discord accepts for `embed.timestamp` (it refuses unparseable ones with a 400), or undefined. */
function embedTimestamp(iso: string | undefined): string | undefined {
  if (!iso) return undefined;
  const t = Date.parse(iso);
  if (Number.isNaN(t) || t < 0 || t > Date.parse('9999-12-31T23:59:59Z')) return undefined;
  return new Date(t).toISOString();
}

function shortDay(iso: string | undefined): string | undefined {
  return embedTimestamp(iso)?.slice(0, 10);
}

function alertEmbed(post: AlertPost): APIEmbed {
  const when = embedTimestamp(post.published);
  const embed: APIEmbed = {
    title: fitMarkdown(post.title, DISCORD_LIMITS.embedTitle) || 'New post',
    color: ALERT_COLOURS.alert,
    // Footers show text as is (no markdown, no mentions): clipped, not escaped. The date goes in `timestamp`, which
    // every client shows in the reader's own time zone; a date Discord would refuse is written out instead.
    footer: { text: clipText([post.source, when ? '' : (post.published ?? '')].filter(Boolean).join(' · ') || 'feed', ALERT_FOOTER_BUDGET) },
  };
  const url = safeUrl(post.url);
  if (url) embed.url = url;
  if (when) embed.timestamp = when;
  const summary = fitMarkdown(post.summary, ALERT_SUMMARY_BUDGET);
  if (summary) embed.description = summary;
  return embed;
}

function digestLine(post: AlertPost): string {
  const meta = [post.source, shortDay(post.published)].filter((v): v is string => Boolean(v && v.trim()));
  return `• ${maskedLink(post.title, post.url, DIGEST_TITLE_BUDGET)}${meta.length ? ` — ${fitMarkdown(meta.join(', '), 80)}` : ''}`;
}

function digestEmbed(posts: readonly AlertPost[]): APIEmbed {
  const shown = posts.slice(0, DIGEST_MAX_POSTS);
  const unlisted = posts.length - shown.length;
  let counted = false;
  const more = (n: number) => {
    counted = true;
    return `…and ${n + unlisted} more`;
  };
  const budget = DISCORD_LIMITS.embedDescription - (unlisted > 0 ? MORE_RESERVE : 0);
  let description = joinWhole(shown.map(digestLine), budget, more);
  if (unlisted > 0 && !counted) description += `\n${more(0)}`;
  const sources = [...new Set(posts.map((p) => p.source).filter(Boolean))];
  return fitTotal({
    title: `${posts.length} new post${posts.length === 1 ? '' : 's'}`,
    description: description || '—',
    color: ALERT_COLOURS.digest,
    footer: { text: clipText(sources.length ? `From ${sources.join(', ')}` : 'Feed digest', ALERT_FOOTER_BUDGET) },
  });
}

/**
 * Returns the channel message for an alert, a digest or a notice: one embed with the post's title linked to its
 * http(s) URL, source, date and a short summary; a digest lists up to DIGEST_MAX_POSTS posts and counts the rest;
 * a notice is plain text. Feed text is escaped, so it cannot ping or form masked links, and `allowed_mentions`
 * lets through only the subscription's role (content `<@&roleId>`), when it names one.
 */
export function alertToMessage(message: OutgoingMessage): DiscordAlertBody {
  if (message.kind === 'notice') {
    return { content: fitMarkdown(message.text, DISCORD_LIMITS.messageContent) || 'Notice', embeds: [], allowed_mentions: { parse: [] } };
  }
  const embeds = message.kind === 'alert' ? [alertEmbed(message.post)] : [digestEmbed(message.posts)];
  const roleId = message.roleId && SNOWFLAKE.test(message.roleId) ? message.roleId : undefined;
  const body: DiscordAlertBody = roleId
    ? { content: `<@&${roleId}>`, embeds, allowed_mentions: { parse: [], roles: [roleId] } }
    : { embeds, allowed_mentions: { parse: [] } };
  if (message.kind === 'alert' && message.threadOf && SNOWFLAKE.test(message.threadOf)) {
    // A reply to the first alert; if that message was deleted, Discord posts this one as a plain message.
    body.message_reference = { message_id: message.threadOf, fail_if_not_exists: false };
  }
  return body;
}

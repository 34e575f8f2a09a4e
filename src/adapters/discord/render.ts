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

/**
 * Discord's size limits, from https://discord.com/developers/docs/resources/message#embed-object-embed-limits,
 * .../interactions/application-commands#application-command-object-application-command-option-choice-structure and
 * .../components/reference. A message over any of them is rejected with a 400, so every renderer stays inside them.
 */
export const DISCORD_LIMITS = {
  embedTitle: 256,
  embedDescription: 4096,
  embedFields: 25,
  embedFieldName: 256,
  embedFieldValue: 1024,
  embedFooterText: 2048,
  embedAuthorName: 256,
  /** Sum of title, description, field names and values, footer text and author name over all embeds of a message. */
  embedTotal: 6000,
  embedsPerMessage: 10,
  messageContent: 2000,
  autocompleteChoices: 25,
  choiceName: 100,
  choiceValue: 100,
  actionRows: 5,
  buttonsPerRow: 5,
  buttonLabel: 80,
  selectOptions: 25,
  selectOptionLabel: 100,
  selectOptionValue: 100,
  selectOptionDescription: 100,
  customId: 100,
  /** Undocumented: the API rejects longer embed URLs as "not a well formed URL" (observed 2048). */
  embedUrl: 2048,
} as const;

/** Embed colour per record kind, so a group or a CVE is told from an incident at a glance. */
export const KIND_COLOURS: Readonly<Record<IncidentKind, number>> = {
  incident: 0xe74c3c,
  group: 0x9b59b6,
  software: 0x3498db,
  vulnerability: 0xe67e22,
};

/** Colours for replies that are not about one record. */
export const REPLY_COLOURS = { ambiguous: 0xf1c40f, notFound: 0x95a5a6, list: 0x1abc9c, help: 0x5865f2 } as const;

/** Prefixes of component custom ids: `pick:<id>` replaces the message with that record, `ask:<query>` answers a suggestion. */
export const CUSTOM_ID = { pick: 'pick:', ask: 'ask:' } as const;

/** A rendered Discord message: plain API JSON, ready for discord.js reply/update/editReply. */
export interface DiscordMessage {
  content?: string;
  embeds: APIEmbed[];
  components: APIActionRowComponent<APIComponentInMessageActionRow>[];
  /** Whether only the person who asked should see it (errors, not-found). */
  ephemeral: boolean;
}

const KIND_LABELS: Readonly<Record<IncidentKind, string>> = {
  incident: 'Incident',
  group: 'Threat group',
  software: 'Software',
  vulnerability: 'Vulnerability',
};

// Budgets below the hard limits, so that the parts of one embed always add up to less than embedTotal
// and the description (what the reader came for) keeps the rest.
const FACT_VALUE_BUDGET = 300;
const SOURCE_TITLE_BUDGET = 100;
const RELATED_BUDGET = 512;
const FOOTER_BUDGET = 200;
const BLURB_BUDGET = 160;
const MORE_RESERVE = 24;

// Discord autolinks bare URLs before any other markdown rule, so they are kept verbatim (escaping inside one would
// break it); trailing punctuation is not part of the link, as in Discord's own rule.
const BARE_URL = /https?:\/\/[^\s<]+[^<.,:;"')\]\s]/g;
// Inline markdown and mention syntax: emphasis, code, spoilers, masked links, <@mentions>, <t:timestamps>, @everyone.
const INLINE_SPECIAL = /[\\*_~`|[\]<>@]/g;
// Block syntax only counts at the start of a line: headings, -# subtext, quotes, lists.
const LINE_START_SPECIAL = /^(\s*)(#|-|\+|\d+\.)/gm;

/**
 * Returns data text that Discord shows literally: no emphasis, masked links, mentions, headings or quotes. Bare URLs
 * stay clickable, except in a masked link's label (`inLabel`), where a visible URL that differs from the target
 * would mislead: there `://` is escaped so it is shown as text.
 */
export function escapeMarkdown(text: string, inLabel = false): string {
  if (inLabel) return escapePlain(text).replace(/:\/\//g, ':\\/\\/');
  let out = '';
  let last = 0;
  for (const m of text.matchAll(BARE_URL)) {
    out += escapePlain(text.slice(last, m.index));
    out += m[0];
    last = m.index + m[0].length;
  }
  return out + escapePlain(text.slice(last));
}

function escapePlain(text: string): string {
  // `>` (quotes) is already escaped as inline syntax. A backslash only escapes punctuation in Discord (before a
  // digit it would show), so an ordered-list marker is escaped at its dot.
  return text
    .replace(INLINE_SPECIAL, '\\$&')
    .replace(LINE_START_SPECIAL, (_m, space: string, mark: string) => (mark.endsWith('.') ? `${space}${mark.slice(0, -1)}\\.` : `${space}\\${mark}`));
}

/**
 * Returns text cut to at most `max` characters at a word boundary with an ellipsis; a bare URL is dropped whole
 * rather than cut, since half a link would point somewhere else.
 */
export function clipText(text: string, max: number): string {
  const flat = text.trim();
  if (flat.length <= max) return flat;
  if (max <= 1) return '…'.slice(0, Math.max(0, max));
  const room = max - 1;
  let cut = flat.slice(0, room);
  const nextChar = flat[room];
  if (nextChar !== undefined && !/\s/.test(nextChar)) {
    const space = cut.search(/\s\S*$/);
    if (space > room * 0.5) cut = cut.slice(0, space);
  }
  // Never end inside a link: drop a URL that the cut went through.
  for (const m of flat.matchAll(BARE_URL)) {
    const end = m.index + m[0].length;
    if (m.index < cut.length && end > cut.length) {
      cut = cut.slice(0, m.index);
      break;
    }
  }
  return cut.replace(/[\s,;:.\-–—(]+$/, '') + '…';
}

/** Returns data text escaped for Discord markdown and clipped so that the escaped form fits in `max` characters. */
export function fitMarkdown(text: string, max: number, inLabel = false): string {
  let budget = max;
  for (;;) {
    const out = escapeMarkdown(clipText(text, budget), inLabel);
    if (out.length <= max || budget <= 1) return out.length <= max ? out : '…';
    budget -= Math.max(1, out.length - max);
  }
}

/** Returns the URL when Discord accepts it as a link (http or https, well formed, not too long), else undefined. */
export function safeUrl(url: string | undefined): string | undefined {
  if (!url || url.length > DISCORD_LIMITS.embedUrl) return undefined;
  try {
    const parsed = new URL(url);
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return undefined;
    // Parentheses and spaces would end a masked link early: percent-encode them.
    return parsed.href.replace(/\(/g, '%28').replace(/\)/g, '%29').replace(/ /g, '%20');
  } catch {
    return undefined;
  }
}

/**
 * Returns `[text](url)` with the text escaped, or the escaped text alone when the URL is unusable or would make the
 * link longer than `maxTotal` (a whole line must fit in its field, and a link is never cut).
 */
function maskedLink(text: string, url: string | undefined, maxText: number, maxTotal = 500): string {
  const href = safeUrl(url);
  const label = fitMarkdown(text, maxText, href !== undefined) || 'link';
  if (!href || label.length + href.length + 4 > maxTotal) return href ? fitMarkdown(text, maxText) || 'link' : label;
  return `[${label}](${href})`;
}

/** Returns lines joined with newlines, as many whole lines as fit in `max`, then a "+N more" line for the rest. */
function joinWhole(lines: readonly string[], max: number, more: (n: number) => string = (n) => `+${n} more`): string {
  const kept: string[] = [];
  let length = 0;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const rest = lines.length - i - 1;
    const reserve = rest > 0 ? MORE_RESERVE : 0;
    const add = (kept.length ? 1 : 0) + line.length;
    if (length + add + reserve > max) {
      kept.push(more(lines.length - i));
      return kept.join('\n');
    }
    kept.push(line);
    length += add;
  }
  return kept.join('\n');
}

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

/** Returns the number of characters Discord counts toward the 6000-character total of one embed. */
export function embedLength(embed: APIEmbed): number {
  let n = (embed.title?.length ?? 0) + (embed.description?.length ?? 0);
  n += (embed.footer?.text.length ?? 0) + (embed.author?.name.length ?? 0);
  for (const f of embed.fields ?? []) n += f.name.length + f.value.length;
  return n;
}

/** Returns every Discord limit that a message breaks (empty when it would be accepted), for guards and tests. */
export function messageLimitViolations(message: Pick<DiscordMessage, 'content' | 'embeds' | 'components'>): string[] {
  const L = DISCORD_LIMITS;
  const problems: string[] = [];
  if ((message.content?.length ?? 0) > L.messageContent) problems.push(`content ${message.content?.length} > ${L.messageContent}`);
  if (message.embeds.length > L.embedsPerMessage) problems.push(`${message.embeds.length} embeds > ${L.embedsPerMessage}`);
  let total = 0;
  message.embeds.forEach((e, i) => {
    const at = `embed ${i}`;
    if ((e.title?.length ?? 0) > L.embedTitle) problems.push(`${at} title ${e.title?.length} > ${L.embedTitle}`);
    if ((e.description?.length ?? 0) > L.embedDescription) problems.push(`${at} description ${e.description?.length} > ${L.embedDescription}`);
    if ((e.footer?.text.length ?? 0) > L.embedFooterText) problems.push(`${at} footer too long`);
    if ((e.author?.name.length ?? 0) > L.embedAuthorName) problems.push(`${at} author too long`);
    if (e.url !== undefined && safeUrl(e.url) === undefined) problems.push(`${at} url not accepted: ${e.url.slice(0, 80)}`);
    const fields = e.fields ?? [];
    if (fields.length > L.embedFields) problems.push(`${at} ${fields.length} fields > ${L.embedFields}`);
    fields.forEach((f, j) => {
      if (f.name.length === 0 || f.name.length > L.embedFieldName) problems.push(`${at} field ${j} name length ${f.name.length}`);
      if (f.value.length === 0 || f.value.length > L.embedFieldValue) problems.push(`${at} field ${j} value length ${f.value.length}`);
    });
    total += embedLength(e);
  });
  if (total > L.embedTotal) problems.push(`embeds total ${total} > ${L.embedTotal}`);
  if (message.components.length > L.actionRows) problems.push(`${message.components.length} action rows > ${L.actionRows}`);
  for (const row of message.components) {
    if (row.components.length > L.buttonsPerRow) problems.push(`row of ${row.components.length} components > ${L.buttonsPerRow}`);
    for (const c of row.components) {
      if ('custom_id' in c && c.custom_id.length > L.customId) problems.push(`custom_id ${c.custom_id.length} > ${L.customId}`);
      if (c.type === ComponentType.Button && 'label' in c && (c.label?.length ?? 0) > L.buttonLabel) problems.push(`button label too long`);
      if (c.type === ComponentType.StringSelect) {
        if (c.options.length > L.selectOptions) problems.push(`select with ${c.options.length} options > ${L.selectOptions}`);
        for (const o of c.options) {
          if (o.label.length > L.selectOptionLabel || o.value.length > L.selectOptionValue) problems.push('select option too long');
          if ((o.description?.length ?? 0) > L.selectOptionDescription) problems.push('select option description too long');
        }
      }
    }
  }
  return problems;
}

/** Returns the embed shrunk to Discord's total: the description gives way first, then fields from the end. */
function fitTotal(embed: APIEmbed): APIEmbed {
  let over = embedLength(embed) - DISCORD_LIMITS.embedTotal;
  if (over <= 0) return embed;
  const out: APIEmbed = { ...embed, fields: [...(embed.fields ?? [])] };
  if (out.description) {
    const keep = Math.max(0, out.description.length - over);
    out.description = keep > 0 ? clipMarkdown(out.description, keep) : undefined;
    if (!out.description) delete out.description;
    over = embedLength(out) - DISCORD_LIMITS.embedTotal;
  }
  while (over > 0 && out.fields && out.fields.length > 0) {
    out.fields.pop();
    over = embedLength(out) - DISCORD_LIMITS.embedTotal;
  }
  return out;
}

/** Cuts already-rendered markdown to `max` at a line or word boundary, never inside `[..](..)` or after a lone `\`. */
function clipMarkdown(markdown: string, max: number): string {
  if (markdown.length <= max) return markdown;
  let cut = markdown.slice(0, Math.max(0, max - 1));
  const lineEnd = cut.lastIndexOf('\n');
  const space = cut.search(/\s\S*$/);
  if (lineEnd > max * 0.6) cut = cut.slice(0, lineEnd);
  else if (space > max * 0.5) cut = cut.slice(0, space);
  // Drop an unfinished masked link or bare URL, and a dangling escape.
  const open = cut.lastIndexOf('[');
  if (open >= 0 && open > 0 && cut[open - 1] !== '\\' && !/\]\([^)]*\)/.test(cut.slice(open))) cut = cut.slice(0, open);
  const url = cut.search(/https?:\/\/\S*$/);
  if (url >= 0) cut = cut.slice(0, url);
  cut = cut.replace(/\\+$/, (s) => (s.length % 2 ? s.slice(0, -1) : s));
  return cut.replace(/[\s,;:.\-–—(]+$/, '') + '…';
}

function footerFor(ref: IncidentRef): string {
  return clipText([KIND_LABELS[ref.kind], ref.date ?? 'date unknown', ref.id].join(' · '), FOOTER_BUDGET);
}

/**
 * Returns the embed for an answer: for a found record its title linked to the best source, the summary, key facts,
 * sources ("+N more") and related records, coloured by kind; for ambiguous and not-found queries the candidates or
 * suggestions. Every limit in DISCORD_LIMITS holds whatever the data.
 */
export function answerToEmbed(answer: Answer): APIEmbed {
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

/** Returns the embed for a list of incidents: whole numbered entries with date and blurb, "+N more" for the rest. */
export function listToEmbed(list: IncidentList): APIEmbed {
  const lines = list.items.map((item, i) => {
    const when = item.date ? ` · ${fitMarkdown(item.date, 40)}` : '';
    const blurb = item.blurb ? `\n${fitMarkdown(item.blurb, BLURB_BUDGET)}` : '';
    return `**${i + 1}.** ${maskedLink(item.title, item.url, SOURCE_TITLE_BUDGET)}${when}${blurb}`;
  });
  const note = list.note ? fitMarkdown(list.note, 300) : '';
  if (!lines.length && !note) lines.push('Nothing matched.');
  const footer = list.total > list.items.length ? `Showing ${list.items.length} of ${list.total}` : `${list.total} in all`;
  const embed: APIEmbed = {
    title: fitMarkdown(list.title || 'Incidents', DISCORD_LIMITS.embedTitle),
    color: REPLY_COLOURS.list,
    footer: { text: footer },
  };
  const budget = Math.min(DISCORD_LIMITS.embedDescription, DISCORD_LIMITS.embedTotal - embedLength(embed));
  embed.description = joinWhole(note ? [note, ...lines] : lines, budget, (n) => `+${n} more`);
  return fitTotal(embed);
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

/** Returns the whole message for an answer: embed plus pickers; not-found is ephemeral. */
export function answerToMessage(answer: Answer): DiscordMessage {
  const embeds = [answerToEmbed(answer)];
  if (answer.status === 'ambiguous' && answer.candidates.length > 0) {
    return { embeds, components: candidatesToComponents(answer.candidates), ephemeral: false };
  }
  if (answer.status === 'not-found' || !answer.incident) {
    return { embeds, components: suggestionsToComponents(answer.suggestions), ephemeral: true };
  }
  return { embeds, components: [], ephemeral: false };
}

/** Returns a short ephemeral text message; the text is ours, so only mention syntax is neutralised. */
export function errorToMessage(message: string): DiscordMessage {
  const safe = message.replace(/[@<]/g, '\\$&');
  return { content: clipText(safe, DISCORD_LIMITS.messageContent), embeds: [], components: [], ephemeral: true };
}

/** Returns the Discord message for any command reply. */
export function replyToMessage(reply: Reply): DiscordMessage {
  switch (reply.type) {
    case 'answer':
      return answerToMessage(reply.answer);
    case 'list':
      return { embeds: [listToEmbed(reply.list)], components: [], ephemeral: false };
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

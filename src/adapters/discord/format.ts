import { ComponentType, type APIActionRowComponent, type APIComponentInMessageActionRow, type APIEmbed } from 'discord.js';
import type { IncidentKind } from '../../core/incident.js';

// The text side of Discord rendering, shared by every renderer: the platform's limits, escaping data so that it shows
// literally, clipping to a budget, links, and the checks that keep a message acceptable to the API.

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

/** A rendered Discord message: plain API JSON, ready for discord.js reply/update/editReply. */
export interface DiscordMessage {
  content?: string;
  embeds: APIEmbed[];
  components: APIActionRowComponent<APIComponentInMessageActionRow>[];
  /** Whether only the person who asked should see it (errors, not-found). */
  ephemeral: boolean;
}

/** Colours for replies that are not about one record. */
export const REPLY_COLOURS = { ambiguous: 0xf1c40f, notFound: 0x95a5a6, list: 0x1abc9c, help: 0x5865f2, comparison: 0x2ecc71 } as const;

/** Display names of record kinds. */
export const KIND_LABELS: Readonly<Record<IncidentKind, string>> = {
  incident: 'Incident',
  group: 'Threat group',
  software: 'Software',
  vulnerability: 'Vulnerability',
};

/** Room kept for a "+N more" line when lines are cut. */
export const MORE_RESERVE = 24;

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
export function maskedLink(text: string, url: string | undefined, maxText: number, maxTotal = 500): string {
  const href = safeUrl(url);
  const label = fitMarkdown(text, maxText, href !== undefined) || 'link';
  if (!href || label.length + href.length + 4 > maxTotal) return href ? fitMarkdown(text, maxText) || 'link' : label;
  return `[${label}](${href})`;
}

/** Returns lines joined with newlines, as many whole lines as fit in `max`, then a "+N more" line for the rest. */
export function joinWhole(lines: readonly string[], max: number, more: (n: number) => string = (n) => `+${n} more`): string {
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
  const ids = message.components.flatMap((row) => row.components.flatMap((c) => ('custom_id' in c ? [c.custom_id] : [])));
  if (new Set(ids).size !== ids.length) problems.push('custom_id used twice in one message');
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
export function fitTotal(embed: APIEmbed): APIEmbed {
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
export function clipMarkdown(markdown: string, max: number): string {
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

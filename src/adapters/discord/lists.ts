import {
  ButtonStyle,
  ComponentType,
  type APIActionRowComponent,
  type APIButtonComponentWithCustomId,
  type APIComponentInMessageActionRow,
  type APIEmbed,
  type APIEmbedField,
} from 'discord.js';
import type { Answer, ComparedSide, Comparison, IncidentRef } from '../../core/answer-model.js';
import {
  MAX_PAGED_COMMAND_CHARS,
  pageRange,
  pagedCommandText,
  parsePagedCommand,
  type ListPage,
  type PageContext,
  type PagedCommand,
} from '../paging.js';
import {
  DISCORD_LIMITS,
  KIND_LABELS,
  REPLY_COLOURS,
  clipText,
  embedLength,
  fitMarkdown,
  fitTotal,
  joinWhole,
  maskedLink,
  type DiscordMessage,
} from './format.js';

/**
 * Custom ids of the paging buttons. `pg:<n>:<cursor>` shows the page that `cursor` starts, whose first item is number
 * n (an empty cursor: the first page); `pb:<cursor>` shows the page before the one `cursor` starts (found by walking
 * from the first page, since a cursor only leads forward). The question itself travels in the embed's footer, not
 * in the id, which holds 100 characters: a cursor is at most 80, so `pg:` + a 6-digit number + `:` + cursor fits.
 * Disabled buttons carry ids that route nowhere.
 */
export const PAGE_ID = { at: 'pg:', before: 'pb:', prevOff: 'nav:prev', nextOff: 'nav:next' } as const;

/** What a paging button asks for: the page at a cursor (none: the first page), or the page before one. */
export type PageTarget = { kind: 'at'; start: number; cursor?: string } | { kind: 'before'; cursor: string };

/**
 * How much of each item a page shows, richest first: the first level at which every item of the page fits in the
 * description is used, so that a page of 25 long titles still shows all 25 (a Next button goes on from the last one
 * shown, so an item cut from a page could never be reached). `link`: the longest masked link kept.
 */
const LIST_LEVELS = [
  { title: 100, blurb: 140, link: 400, date: 40, intro: 400 },
  { title: 80, blurb: 60, link: 200, date: 30, intro: 200 },
  { title: 60, blurb: 0, link: 120, date: 20, intro: 120 },
  { title: 50, blurb: 0, link: 100, date: 20, intro: 0 },
] as const;

type ListLevel = (typeof LIST_LEVELS)[number];

// Budgets within the hard limits for comparisons.
const SIDE_TITLE_BUDGET = 120;
const FACT_BUDGET = 200;
const SHARED_BUDGET = 300;
// Item numbers in a custom id: a list of a million items is not paged to its end with buttons.
const MAX_START = 999_999;

/** Returns the custom id for a button showing the page at `cursor`, or undefined when it would not fit. */
export function pageAtId(start: number, cursor: string | undefined): string | undefined {
  if (!Number.isInteger(start) || start < 1 || start > MAX_START) return undefined;
  const id = `${PAGE_ID.at}${start}:${cursor ?? ''}`;
  return id.length <= DISCORD_LIMITS.customId ? id : undefined;
}

/** Returns the custom id for a button showing the page before the one `cursor` starts, or undefined when it would not fit. */
export function pageBeforeId(cursor: string): string | undefined {
  const id = `${PAGE_ID.before}${cursor}`;
  return cursor && id.length <= DISCORD_LIMITS.customId ? id : undefined;
}

/** Returns what a paging button's custom id asks for, or undefined when the id is not a paging one. */
export function parsePageId(customId: string): PageTarget | undefined {
  if (customId.startsWith(PAGE_ID.before)) {
    const cursor = customId.slice(PAGE_ID.before.length);
    return cursor ? { kind: 'before', cursor } : undefined;
  }
  if (!customId.startsWith(PAGE_ID.at)) return undefined;
  const m = /^(\d{1,6}):(.*)$/s.exec(customId.slice(PAGE_ID.at.length));
  if (!m) return undefined;
  const start = Number(m[1]);
  if (start < 1) return undefined;
  return m[2] ? { kind: 'at', start, cursor: m[2] } : { kind: 'at', start };
}

// The footer ends with the command that made the list: " · /incident which groups use mimikatz". Footers show text as
// it is (no markdown, no mentions), so the command needs no escaping and comes back exactly as written.
const FOOTER_COMMAND = / · \/(.+)$/s;

/** Returns the footer of a list page: its range, and the command to ask again when the page has neighbours. */
export function listFooter(page: ListPage, ctx: PageContext): string {
  const range = pageRange(page, ctx.start);
  const paged = ctx.command && (ctx.start > 1 || page.cursor);
  const command = paged ? pagedCommandText(ctx.command!) : '';
  return command && command.length <= MAX_PAGED_COMMAND_CHARS ? `${range} · /${command}` : range;
}

/** Returns the command a list message's footer names (what its paging buttons ask again), or undefined. */
export function pagedCommandFromFooter(footer: string | undefined | null): PagedCommand | undefined {
  if (!footer || !/^(?:Showing \d+–\d+ of \d+|\d+ in all) · \//.test(footer)) return undefined;
  const m = FOOTER_COMMAND.exec(footer);
  return m ? parsePagedCommand(m[1]) : undefined;
}

function capitalised(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.charAt(0).toUpperCase() + flat.slice(1);
}

function itemLine(item: IncidentRef, n: number, level: ListLevel): string {
  const meta = [item.date ? fitMarkdown(item.date, level.date) : '', KIND_LABELS[item.kind] ?? ''].filter(Boolean).join(' · ');
  const blurb = level.blurb && item.blurb ? `\n${fitMarkdown(item.blurb.replace(/\s+/g, ' '), level.blurb)}` : '';
  const title = item.title.replace(/\s+/g, ' ');
  return `**${n}.** ${maskedLink(title, item.url, level.title, level.link) || '—'}${meta ? ` · ${meta}` : ''}${blurb}`;
}

/**
 * Returns the embed for one page of a list: numbered items (title linked when there is a URL, date, kind, a short
 * blurb), numbered from the page's first item, and a footer with the range ("Showing 11–20 of 37") and, when the
 * list has other pages, the command that made it.
 */
export function listPageToEmbed(page: ListPage, ctx: PageContext): APIEmbed {
  const embed: APIEmbed = {
    title: fitMarkdown(capitalised(page.title) || 'Incidents', DISCORD_LIMITS.embedTitle),
    color: REPLY_COLOURS.list,
    footer: { text: listFooter(page, ctx) },
  };
  const budget = Math.min(DISCORD_LIMITS.embedDescription, DISCORD_LIMITS.embedTotal - embedLength(embed));
  let description = '';
  for (const level of LIST_LEVELS) {
    const lines = page.items.map((item, i) => itemLine(item, ctx.start + i, level));
    const intro = level.intro && page.intro.trim() ? fitMarkdown(page.intro.replace(/\s+/g, ' '), level.intro) : '';
    if (!lines.length && !intro) lines.push(ctx.start > 1 ? 'No more items.' : 'Nothing matched.');
    const parts = intro && lines.length ? [intro, '', ...lines] : intro ? [intro] : lines;
    // The last level always renders, cutting whole lines ("+N more") should even that not fit.
    description = joinWhole(parts, budget);
    if (parts.join('\n').length <= budget) break;
  }
  embed.description = description;
  return fitTotal(embed);
}

function navButton(label: string, id: string | undefined, offId: string): APIButtonComponentWithCustomId {
  return { type: ComponentType.Button, style: ButtonStyle.Secondary, label, custom_id: id ?? offId, disabled: id === undefined };
}

/**
 * Returns the Prev/Next row of a list page: Prev disabled on the first page, Next disabled on the last; a button whose
 * cursor cannot fit in a custom id is left out (never sent broken), and a page with nothing to page to gets no row.
 */
export function pageButtons(page: ListPage, ctx: PageContext): APIActionRowComponent<APIComponentInMessageActionRow>[] {
  if (!ctx.command || pagedCommandText(ctx.command).length > MAX_PAGED_COMMAND_CHARS) return [];
  const first = ctx.start <= 1;
  const last = !page.cursor;
  if (first && last) return [];
  const buttons: APIButtonComponentWithCustomId[] = [];
  if (first) buttons.push(navButton('◀ Prev', undefined, PAGE_ID.prevOff));
  else if (ctx.cursor && pageBeforeId(ctx.cursor)) buttons.push(navButton('◀ Prev', pageBeforeId(ctx.cursor), PAGE_ID.prevOff));
  if (last) buttons.push(navButton('Next ▶', undefined, PAGE_ID.nextOff));
  else {
    const next = pageAtId(ctx.start + page.items.length, page.cursor);
    if (next) buttons.push(navButton('Next ▶', next, PAGE_ID.nextOff));
  }
  if (!buttons.some((b) => !b.disabled)) return [];
  return [{ type: ComponentType.ActionRow, components: buttons }];
}

/** Returns the whole message for one page of a list: the embed and its Prev/Next buttons. */
export function listPageToMessage(page: ListPage, ctx: PageContext): DiscordMessage {
  return { embeds: [listPageToEmbed(page, ctx)], components: pageButtons(page, ctx), ephemeral: false };
}

function sideField(side: ComparedSide): APIEmbedField {
  const ref = side.ref;
  const head = [KIND_LABELS[ref.kind] ?? '', ref.date ? fitMarkdown(ref.date, 40) : ''];
  // A link that cannot be made (not http(s), too long) comes back as bare text: then there is none.
  const link = maskedLink('source', ref.url, 10);
  if (link.startsWith('[')) head.push(link);
  const facts = side.facts.map((f) => `**${fitMarkdown(f.label, 20)}:** ${fitMarkdown(f.value.replace(/\s+/g, ' '), FACT_BUDGET)}`);
  if (!facts.length && ref.blurb) facts.push(fitMarkdown(ref.blurb.replace(/\s+/g, ' '), FACT_BUDGET));
  return {
    name: fitMarkdown(ref.title.replace(/\s+/g, ' '), SIDE_TITLE_BUDGET) || fitMarkdown(ref.id, SIDE_TITLE_BUDGET) || '—',
    value: joinWhole([head.filter(Boolean).join(' · ') || '—', ...facts], DISCORD_LIMITS.embedFieldValue),
    inline: true,
  };
}

function sharedField(comparison: Comparison): APIEmbedField {
  const lines = comparison.shared
    .filter((s) => s.values.length > 0)
    .map((s) => `**${fitMarkdown(s.label, 20)}:** ${fitMarkdown(s.values.join(', ').replace(/\s+/g, ' '), SHARED_BUDGET)}`);
  return { name: 'Both:', value: lines.length ? joinWhole(lines, DISCORD_LIMITS.embedFieldValue) : 'Nothing in common on record.', inline: false };
}

/**
 * Returns the embed for a comparison: two columns of inline fields (the left record, the right record, each with its
 * kind, date and facts), then "Both:" with what they share; the summary as the description.
 */
export function comparisonToEmbed(answer: Answer & { comparison: Comparison }): APIEmbed {
  const { left, right } = answer.comparison;
  const title = `${clipText(left.ref.title.replace(/\s+/g, ' '), SIDE_TITLE_BUDGET)} vs ${clipText(right.ref.title.replace(/\s+/g, ' '), SIDE_TITLE_BUDGET)}`;
  const embed: APIEmbed = {
    title: fitMarkdown(title, DISCORD_LIMITS.embedTitle),
    color: REPLY_COLOURS.comparison,
    fields: [sideField(left), sideField(right), sharedField(answer.comparison)],
  };
  const budget = Math.min(DISCORD_LIMITS.embedDescription, DISCORD_LIMITS.embedTotal - embedLength(embed), 1000);
  const summary = fitMarkdown(answer.summary.replace(/\s+/g, ' '), Math.max(0, budget));
  if (summary) embed.description = summary;
  return fitTotal(embed);
}

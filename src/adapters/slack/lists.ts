import type { types } from '@slack/bolt';
import type { Answer, ComparedSide, Comparison, IncidentRef } from '../../core/answer-model.js';
import { MAX_PAGED_COMMAND_CHARS, pageRange, pagedCommandText, parsePagedCommand, type ListPage, type PageContext, type PagedCommand } from '../paging.js';
import {
  FALLBACK_CHARS,
  SLACK_LIMITS,
  context,
  firstFitting,
  fitEscaped,
  header,
  joinWithin,
  linkMrkdwn,
  mrkdwn,
  oneLine,
  section,
  type SlackMessage,
} from './format.js';

/** action_id of the "More" button under a list: its click shows the next page of the same question. */
export const MORE_ACTION_ID = 'incident_more';

/**
 * What a "More" button carries in its value (at most 2000 characters; ours stay under 600): the command that made
 * the list as it is typed (`t`), the next page's cursor (`c`) and the number of its first item (`s`).
 */
export interface MoreRequest {
  command: PagedCommand;
  cursor: string;
  start: number;
}

/** Returns a More button's value, or undefined when it would not fit (then there is no button, never a broken one). */
export function moreValue(request: MoreRequest): string | undefined {
  const text = pagedCommandText(request.command);
  if (text.length > MAX_PAGED_COMMAND_CHARS || !request.cursor) return undefined;
  const value = JSON.stringify({ t: text, c: request.cursor, s: request.start });
  return value.length <= SLACK_LIMITS.buttonValue ? value : undefined;
}

/** Returns what a More button's value asks for, or undefined when it is not one of ours. */
export function parseMoreValue(value: string | undefined): MoreRequest | undefined {
  if (!value || !value.startsWith('{')) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    return undefined;
  }
  const { t, c, s } = (parsed ?? {}) as Record<string, unknown>;
  if (typeof t !== 'string' || typeof c !== 'string' || !c || typeof s !== 'number' || !Number.isInteger(s) || s < 1) return undefined;
  const command = parsePagedCommand(t);
  return command ? { command, cursor: c, start: s } : undefined;
}

/** Most list items shown: one section each, leaving blocks for the header, the intro, the footer and a button row. */
const MAX_LIST_ITEMS = SLACK_LIMITS.blocks - 6;

const LIST_LEVELS = [
  { items: MAX_LIST_ITEMS, blurb: 300, title: 150, intro: 600 },
  { items: MAX_LIST_ITEMS, blurb: 100, title: 100, intro: 300 },
  { items: 25, blurb: 0, title: 80, intro: 200 },
  { items: 10, blurb: 0, title: 60, intro: 0 },
] as const;

function itemSection(item: IncidentRef, n: number, level: (typeof LIST_LEVELS)[number]): types.SectionBlock {
  const meta = [item.date ? fitEscaped(oneLine(item.date), 40) : '', item.kind !== 'incident' ? fitEscaped(item.kind, 20) : ''].filter(Boolean);
  const blurb = level.blurb > 0 && item.blurb ? `\n${fitEscaped(oneLine(item.blurb), level.blurb)}` : '';
  return section(`*${n}.* *${linkMrkdwn(item.url, item.title, level.title)}*${meta.map((m) => ` · ${m}`).join('')}${blurb}`);
}

function capitalised(text: string): string {
  const flat = oneLine(text);
  return flat.charAt(0).toUpperCase() + flat.slice(1);
}

/** Returns the "More" row of a page, or undefined on the last page or when the next page cannot be asked for. */
export function moreButton(page: ListPage, ctx: PageContext): types.ActionsBlock | undefined {
  if (!ctx.command || !page.cursor || page.items.length === 0) return undefined;
  const value = moreValue({ command: ctx.command, cursor: page.cursor, start: ctx.start + page.items.length });
  if (!value) return undefined;
  return {
    type: 'actions',
    elements: [{ type: 'button', action_id: MORE_ACTION_ID, text: { type: 'plain_text', text: 'More', emoji: true }, value }],
  };
}

function buildListPage(page: ListPage, ctx: PageContext, level: (typeof LIST_LEVELS)[number]): SlackMessage {
  const blocks: types.KnownBlock[] = [header(capitalised(page.title) || 'Incidents')];
  if (level.intro > 0 && page.intro.trim()) blocks.push(section(fitEscaped(oneLine(page.intro), level.intro)));
  const items = page.items.slice(0, level.items);
  items.forEach((item, i) => blocks.push(itemSection(item, ctx.start + i, level)));
  if (items.length === 0 && !page.intro.trim()) blocks.push(section(ctx.start > 1 ? 'No more items.' : 'Nothing found.'));
  const shownPage = { ...page, items };
  const footer = [pageRange(shownPage, ctx.start)];
  if (items.length < page.items.length) footer.push(`${page.items.length - items.length} more on this page not shown`);
  if (items.length > 0 || page.total > 0) blocks.push(context([footer.join(' · ')]));
  const more = moreButton(page, ctx);
  if (more) blocks.push(more);

  const titles = items.slice(0, 5).map((i) => oneLine(i.title));
  const range = ctx.start === 1 ? `${items.length} of ${page.total}` : `${ctx.start}–${ctx.start + items.length - 1} of ${page.total}`;
  const summary = items.length === 0 ? oneLine(page.intro) || 'Nothing found.' : `${range}: ${titles.join('; ')}`;
  return { blocks, text: fitEscaped(`${oneLine(page.title)}: ${summary}`, FALLBACK_CHARS) || 'Incidents' };
}

/**
 * Returns the Block Kit message for one page of a list: a header, the intro, numbered items (linked title, date, kind
 * when not an incident, blurb) numbered from the page's first item, "Showing 11–20 of 37", and a "More" button when
 * there is a next page; within SLACK_LIMITS whatever the data.
 */
export function listPageToBlocks(page: ListPage, ctx: PageContext): SlackMessage {
  return firstFitting(LIST_LEVELS.length, (level) => buildListPage(page, ctx, LIST_LEVELS[level]));
}

const COMPARISON_LEVELS = [
  { summary: 1500, fact: 600, title: 150, shared: 1500 },
  { summary: 600, fact: 250, title: 100, shared: 600 },
  { summary: 200, fact: 100, title: 80, shared: 200 },
] as const;

function sideSection(side: ComparedSide, level: (typeof COMPARISON_LEVELS)[number]): types.SectionBlock {
  const ref = side.ref;
  const meta = [ref.kind !== 'incident' ? fitEscaped(ref.kind, 20) : '', ref.date ? fitEscaped(oneLine(ref.date), 40) : ''].filter(Boolean);
  const text = `*${linkMrkdwn(ref.url, ref.title, level.title)}*${meta.map((m) => ` · ${m}`).join('')}`;
  const fields = side.facts.slice(0, SLACK_LIMITS.sectionFields).map((fact) => {
    const label = `*${fitEscaped(fact.label, 40)}*\n`;
    return mrkdwn(label + (fitEscaped(oneLine(fact.value), Math.min(level.fact, SLACK_LIMITS.fieldText) - label.length) || '—'));
  });
  const block: types.SectionBlock = { type: 'section', text: mrkdwn(text) };
  if (fields.length) block.fields = fields;
  else if (ref.blurb) block.text = mrkdwn(`${text}\n${fitEscaped(oneLine(ref.blurb), level.fact)}`);
  return block;
}

function sharedLine(comparison: Comparison, max: number): string {
  const parts = comparison.shared
    .filter((s) => s.values.length > 0)
    .map((s) => `${fitEscaped(s.label, 40)}: ${fitEscaped(oneLine(s.values.join(', ')), Math.max(40, Math.floor(max / 3)))}`);
  const { text } = joinWithin(parts, ' · ', max);
  return `*Both:* ${text || 'nothing in common on record'}`;
}

function buildComparison(answer: Answer, comparison: Comparison, level: (typeof COMPARISON_LEVELS)[number]): SlackMessage {
  const { left, right } = comparison;
  // Whole characters (never half a surrogate pair): the header is plain text, and each side gets half of it.
  const half = (title: string) => Array.from(oneLine(title)).slice(0, 70).join('');
  const blocks: types.KnownBlock[] = [header(`${half(left.ref.title)} vs ${half(right.ref.title)}`)];
  if (answer.summary.trim()) blocks.push(section(fitEscaped(oneLine(answer.summary), level.summary)));
  blocks.push(sideSection(left, level), sideSection(right, level));
  blocks.push(section(sharedLine(comparison, level.shared)));
  const text = fitEscaped(oneLine(`${left.ref.title} vs ${right.ref.title}: ${answer.summary}`), FALLBACK_CHARS) || 'Comparison';
  return { blocks, text };
}

/**
 * Returns the Block Kit message for a comparison: the summary, one section per record (linked title, kind, date, its
 * facts as fields) and a "Both:" line with what they share; within SLACK_LIMITS whatever the data.
 */
export function comparisonToBlocks(answer: Answer & { comparison: Comparison }): SlackMessage {
  return firstFitting(COMPARISON_LEVELS.length, (level) => buildComparison(answer, answer.comparison, COMPARISON_LEVELS[level]));
}

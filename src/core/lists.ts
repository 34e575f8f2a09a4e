import type { DateOrder } from './date-order.js';
import type { Graph } from './graph.js';
import type { FeedPosts } from './feed-posts.js';
import type { Incident, IncidentDate, IncidentKind } from './incident.js';
import { dateInRange, type TimeRange } from './time-range.js';
import { foldText } from './text.js';
import { words } from './query.js';

/** Records per page of a list answer: what a chat message shows at a glance, and what Discord's embed fits. */
export const LIST_PAGE_SIZE = 10;
/** Longest cursor (Answer.cursor): a Discord custom_id is 100 characters, and the adapter adds a short prefix. */
export const MAX_CURSOR_CHARS = 80;

/** Looks up a record by id (undefined when unknown or not visible to the caller). */
export type Lookup = (id: string) => Incident | undefined;

/**
 * Returns the records related to `subject` that a list of `target` kind asks for, from the graph: a tool's groups or
 * campaigns, a group's software, campaigns or CVEs, a campaign's group, tools or CVEs, a CVE's users.
 */
export function relatedOfKind(graph: Graph, subject: Incident, target: IncidentKind, lookup: Lookup): string[] {
  const id = subject.id;
  const ofKind = (ids: string[]) => ids.filter((i) => lookup(i)?.kind === target);
  switch (subject.kind) {
    case 'software':
      if (target === 'vulnerability') return ofKind(graph.neighbors(id, 'exploits'));
      return ofKind(graph.neighbors(id, 'uses', 'in'));
    case 'group':
      if (target === 'incident') return ofKind(graph.neighbors(id, 'attributed-to', 'in'));
      if (target === 'software') return ofKind(graph.neighbors(id, 'uses'));
      if (target === 'vulnerability') return ofKind(graph.neighbors(id, 'exploits'));
      return ofKind(graph.neighbors(id, 'related-to', 'both'));
    case 'incident':
      if (target === 'group') return ofKind(graph.neighbors(id, 'attributed-to'));
      if (target === 'software') return ofKind(graph.neighbors(id, 'uses'));
      if (target === 'vulnerability') return ofKind(graph.neighbors(id, 'exploits'));
      return ofKind(graph.neighbors(id, 'related-to', 'both'));
    case 'vulnerability':
      return ofKind(graph.neighbors(id, 'exploits', 'in'));
  }
}

/** Returns the groups the graph places in a country (`attributed-to country:XX`), the ones that say so. */
export function groupsOf(graph: Graph, countryCode: string, lookup: Lookup): string[] {
  return graph.neighbors(`country:${countryCode}`, 'attributed-to', 'in').filter((id) => lookup(id)?.kind === 'group');
}

/** Returns the date of a listed id (a record's, or a feed post's), or nothing when it has none or is unknown. */
export type DateOf = (id: string) => IncidentDate | null | undefined;

/** Returns the date getter of records looked up by id. */
export const recordDates = (lookup: Lookup): DateOf => (id) => lookup(id)?.date;

/** Returns ids ordered newest first by date (undated last, in their given order). */
export function newestFirst(ids: readonly string[], dateOf: DateOf): string[] {
  const rows = ids.map((id, i) => ({ id, i, date: dateOf(id)?.value ?? '' }));
  rows.sort((a, b) => (a.date === b.date ? a.i - b.i : a.date === '' ? 1 : b.date === '' ? -1 : a.date < b.date ? 1 : -1));
  return rows.map((r) => r.id);
}

/** Returns the ids whose date falls in the time range (every id when there is no bounded range). */
export function inRange(ids: readonly string[], range: TimeRange | undefined, dateOf: DateOf): string[] {
  if (!range || (!range.from && !range.to)) return [...ids];
  return ids.filter((id) => dateInRange(dateOf(id), range));
}

/**
 * Returns the feed posts about a subject that the caller may see: those reporting the subject itself or one of the
 * listed records it is linked to (an incident of a group, a story naming it), and those whose title or text names it.
 */
export function postsAbout(posts: FeedPosts, subject: Incident, listed: readonly string[], visible: ((id: string) => boolean) | undefined): string[] {
  const found = new Set([...posts.reporting([subject.id, ...listed]), ...posts.naming([subject.title, ...subject.aliases])]);
  return [...found].filter((id) => !visible || (visible(id) && visible(posts.storyOf(id)!)));
}

/**
 * Returns the records and the feed posts dated in a range, newest first, merged: both lists come newest first, so
 * this costs the length of the two (no sort).
 */
export function withPosts(records: readonly string[], posts: FeedPosts, range: TimeRange | undefined, dateOf: DateOf, visible: ((id: string) => boolean) | undefined): string[] {
  const news = posts.inRange(range, visible && ((id) => visible(id) && visible(posts.storyOf(id)!)));
  if (news.length === 0) return [...records];
  const out: string[] = [];
  let i = 0;
  let j = 0;
  while (i < records.length || j < news.length) {
    const a = i < records.length ? (dateOf(records[i]!)?.value ?? '') : undefined;
    const b = j < news.length ? posts.dateOf(news[j]!)!.value : undefined;
    if (b === undefined || (a !== undefined && a >= b)) out.push(records[i++]!);
    else out.push(news[j++]!);
  }
  return out;
}

/** Returns the dated records of a kind (every kind when absent) in the range, newest first, from the index's date order. */
export function datedInRange(order: DateOrder, kind: IncidentKind | undefined, range: TimeRange | undefined, visible?: (id: string) => boolean): string[] {
  return order.inRange(kind, range, visible);
}

/** Where a list's next page starts, and the record a follow-up list was about (so a later page needs no context). */
export interface ListCursor {
  offset: number;
  subject?: string;
}

/** Returns the cursor text for a page start, or undefined when it would not fit MAX_CURSOR_CHARS. */
export function encodeCursor(c: ListCursor): string | undefined {
  const text = c.subject ? `${c.offset}~${c.subject}` : String(c.offset);
  return text.length <= MAX_CURSOR_CHARS ? text : undefined;
}

/** Returns the cursor a page carried, or undefined when it is not one of ours (then the first page is shown). */
export function decodeCursor(text: string | undefined): ListCursor | undefined {
  const m = /^(\d{1,6})(?:~([a-z][a-z0-9-]*:\S+))?$/.exec(text ?? '');
  return m ? { offset: Number(m[1]), ...(m[2] ? { subject: m[2] } : {}) } : undefined;
}

/** Returns whether the folded text holds the name as whole words ("scattered spider ttp evolution" holds "scattered spider"). */
export function holdsName(text: string, name: string): boolean {
  const n = words(name).join(' ');
  return n.length >= 3 && ` ${words(foldText(text)).join(' ')} `.includes(` ${n} `);
}

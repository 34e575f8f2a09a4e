import { clipIncident, INCIDENT_BOUNDS, parseIncident, type Incident, type IncidentInput } from '../core/incident.js';
import { foldText } from '../core/text.js';
import type { FeedItem } from './types.js';

/**
 * The rules a feed item meets on its way to a post: its tags, CVEs, link and date, which items of a poll are kept, and
 * the record built from it.
 */

/** Most categories kept as tags per post: feeds pad items with dozens of SEO keywords. */
const MAX_CATEGORY_TAGS = 10;
const MAX_TAG_CHARS = 60;
const DAY_MS = 86_400_000;
/** Dates further ahead than this are the fetch time: clocks and time zones are off by hours, never by days. */
export const FUTURE_SLACK_MS = DAY_MS;

/** How much one feed may store: new items per poll, how long posts are kept, and how many per feed. */
export interface FeedBounds {
  /**
   * FEED_MAX_ITEMS_PER_POLL: new items stored per poll; the rest are recorded as seen and skipped, unless they are a
   * backlog (see backlogSplit), left for the next polls.
   */
  maxItemsPerPoll: number;
  /** FEED_RETENTION_DAYS: posts older than this are pruned, and an item dated before it is never stored or alerted. */
  retentionDays: number;
  /** FEED_MAX_POSTS_PER_FEED: the newest this many posts of a feed are kept. */
  maxPostsPerFeed: number;
}

/**
 * The defaults. 200 new items per poll is ten times what the busiest security news feed publishes in a day. 365 days of
 * posts, and at most 10,000 per feed: the busiest default feed publishes about 20 posts a day (7,300 a year), so for
 * real feeds the retention is what binds and the cap only stops a flood.
 */
export const DEFAULT_FEED_BOUNDS: FeedBounds = { maxItemsPerPoll: 200, retentionDays: 365, maxPostsPerFeed: 10_000 };

/**
 * A backlog is taken over several polls only up to this many times FEED_MAX_ITEMS_PER_POLL: more new items than that
 * is a flood, however they are dated.
 */
export const BACKLOG_POLLS_MAX = 10;

/**
 * Returns the new items a poll over the cap stores now and those it leaves for the next polls, or undefined when the
 * document is a flood (then the newest `cap` are stored and the rest recorded as seen). It is a backlog, not a flood,
 * when every new item is dated at or after the feed's newest stored post (`mark`): published while the feed was not
 * polled, as when polls fall behind a busy feed; and when they are at most BACKLOG_POLLS_MAX times the cap. A backlog
 * is taken oldest first: its items stay newer than every post stored, so they are still recognised as such at the next
 * poll, none waits behind newer ones for ever, and channels get them in the order they were published. Undated items,
 * items older than what is stored (re-keyed archives, backdated noise) or no stored post at all: a flood, as before.
 */
export function backlogSplit(ordered: readonly FeedItem[], cap: number, mark: string | undefined): { now: FeedItem[]; later: FeedItem[] } | undefined {
  if (mark === undefined || ordered.length <= cap || ordered.length > cap * BACKLOG_POLLS_MAX) return undefined;
  if (!ordered.every((i) => (dateOf(i) ?? '') >= mark)) return undefined;
  const oldestFirst = [...ordered].reverse();
  return { now: oldestFirst.slice(0, cap), later: oldestFirst.slice(cap) };
}

/** Items of one poll that were recorded as seen but not stored, by reason. */
export interface SkippedCounts {
  /** Over FEED_MAX_ITEMS_PER_POLL (the oldest of the new items). */
  limit: number;
  /** Dated before the retention window. */
  old: number;
  /** No valid record could be built from them. */
  invalid: number;
  /** The parser could not read them (HTML nested too deep, ...). */
  unreadable: number;
}

const CVE = /\bCVE-\d{4}-\d{4,11}\b/gi;

/** Returns the CVE ids a text names (at most 20, upper case). */
export function cvesIn(text: string): string[] {
  return [...new Set([...text.matchAll(CVE)].map((m) => m[0].toUpperCase()))].slice(0, 20);
}

/** Returns a post's tags: the feed's `feed:` tag, then its categories (at most 10, each at most 60 characters). */
export function cleanTags(feedTagValue: string, categories: readonly string[]): string[] {
  const out = [feedTagValue];
  const seen = new Set([foldText(feedTagValue)]);
  for (const c of categories) {
    const t = c.replace(/\s+/g, ' ').trim().slice(0, MAX_TAG_CHARS);
    const f = foldText(t);
    if (!t || seen.has(f)) continue;
    seen.add(f);
    out.push(t);
    if (out.length > MAX_CATEGORY_TAGS) break;
  }
  return out;
}

/** Returns the link when it is http(s) and no longer than a record may hold. */
export function httpLink(url: string | undefined): string | undefined {
  return url && /^https?:\/\//i.test(url) && url.length <= INCIDENT_BOUNDS.sourceUrl ? url : undefined;
}

/** Returns a validated new record, clipped to the schema's bounds, without the link when that is what the schema refuses. */
export function validIncident(input: IncidentInput, label: string): Incident | undefined {
  const clipped = clipIncident(input);
  try {
    return parseIncident(clipped, label);
  } catch {
    try {
      return parseIncident({ ...clipped, sources: (clipped.sources ?? []).map((s) => ({ ...s, url: undefined })) }, label);
    } catch {
      return undefined;
    }
  }
}

/** The item's date, as ISO 8601: published, else updated. */
export function dateOf(item: FeedItem): string | undefined {
  return item.published ?? item.updated;
}

/** Returns the items newest first by date, undated ones after the dated in document order (the sort is stable). */
export function newestFirst(items: readonly FeedItem[]): FeedItem[] {
  return [...items].sort((a, b) => {
    const x = dateOf(a) ?? '';
    const y = dateOf(b) ?? '';
    return x === y ? 0 : x < y ? 1 : -1;
  });
}

/** Returns the item with dates more than FUTURE_SLACK_MS ahead of `now` set to `now` (and whether it changed). */
export function clampDates(item: FeedItem, now: number, nowIso: string): { item: FeedItem; clamped: boolean } {
  const limit = now + FUTURE_SLACK_MS;
  const ahead = (d: string | undefined) => d !== undefined && Date.parse(d) > limit;
  if (!ahead(item.published) && !ahead(item.updated)) return { item, clamped: false };
  const out = { ...item };
  if (ahead(out.published)) out.published = nowIso;
  if (ahead(out.updated)) out.updated = nowIso;
  return { item: out, clamped: true };
}

/** Returns the short text `feeds status` shows for a poll's skipped items. */
export function skipReason(by: SkippedCounts, bounds: FeedBounds): string {
  const parts: string[] = [];
  if (by.limit) parts.push(`${by.limit} over the limit of ${bounds.maxItemsPerPoll} per poll`);
  if (by.old) parts.push(`${by.old} older than ${bounds.retentionDays} days`);
  if (by.unreadable) parts.push(`${by.unreadable} unreadable`);
  if (by.invalid) parts.push(`${by.invalid} without a usable title or text`);
  return parts.join(', ');
}

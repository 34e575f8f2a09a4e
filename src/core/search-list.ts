import type { IncidentList, IncidentRef } from './answer-model.js';
import type { Incident, IncidentKind } from './incident.js';
import type { SearchOptions } from './incident-service.js';
import { foldText, truncateWords } from './text.js';
import type { DateOrder } from './date-order.js';
import { foldedNames, type NameText } from './name-text.js';
import { incidentDateSpan, readDateSpan, readTimeRange } from './time-range.js';

/** What `/incidents search` can be narrowed by, for help text and error replies: the key, its values, what it keeps. */
export const SEARCH_FILTERS = [
  { key: 'tag', value: '<tag>', keeps: 'records carrying the tag (bare or prefixed: tag:ransomware, tag:type:campaign)' },
  { key: 'since', value: '<YYYY[-MM[-DD]]>', keeps: 'records dated on or after the date' },
  { key: 'until', value: '<YYYY[-MM[-DD]]>', keeps: 'records dated on or before the date' },
  { key: 'kind', value: '<incident|group|software|vulnerability|post>', keeps: 'one kind of record (several: kind:group,software)' },
  { key: 'actor', value: '<name>', keeps: 'records attributed to or used by the group (any of its names)' },
  { key: 'vendor', value: '<name>', keeps: 'vulnerabilities and records of the vendor (vendor:ivanti, vendor:palo-alto)' },
] as const;

/** What `kind:` accepts: the record kinds, and `post` for feed posts (records the feed watcher stored). */
export const LIST_KINDS = ['incident', 'group', 'software', 'vulnerability', 'post'] as const;
/** One value of `kind:`. */
export type ListKind = (typeof LIST_KINDS)[number];

/** Search text read: the words left, the filters given, and the first problem with a filter value, when any. */
export interface SearchFilters {
  query: string;
  tag?: string;
  since?: string;
  until?: string;
  kinds?: ListKind[];
  actor?: string;
  vendor?: string;
  /** What is wrong with a filter, said so that the user can fix it. */
  error?: string;
}

const DATE_VALUE = /^\d{4}(-\d{2}(-\d{2})?)?$/;
const FILTER_TOKEN = new RegExp(`(?<![\\w-])(${SEARCH_FILTERS.map((f) => f.key).join('|')}):(\\S*)`, 'gi');

/**
 * Returns the words and filters of search text (`tag:`, `since:`, `until:`, `kind:`, `actor:`, `vendor:`; see
 * SEARCH_FILTERS). A bad value (`since:soon`, `kind:malware`, an empty `actor:`) sets `error`; only keys given are set.
 * `actor:` and `vendor:` take one word: write a multi-word name with hyphens or as one word (`actor:scattered-spider`).
 */
export function parseFilters(text: string): SearchFilters {
  const out: SearchFilters = { query: '', error: undefined };
  const fail = (message: string) => (out.error ??= message);
  const query = text
    .replace(FILTER_TOKEN, (_m, rawKey: string, value: string) => {
      const key = rawKey.toLowerCase();
      if (!value) {
        fail(`${key}: needs a value, e.g. ${key}:${SEARCH_FILTERS.find((f) => f.key === key)!.value}.`);
      } else if (key === 'tag') out.tag = value;
      else if (key === 'since' || key === 'until') {
        if (DATE_VALUE.test(value) && readDateSpan(value)) out[key] = value;
        else fail(`${key}: expects YYYY, YYYY-MM or YYYY-MM-DD (got "${value}").`);
      } else if (key === 'kind') {
        const kinds = value.toLowerCase().split(',').filter(Boolean);
        const bad = kinds.find((k) => !(LIST_KINDS as readonly string[]).includes(k));
        if (bad !== undefined || kinds.length === 0) fail(`kind: expects ${LIST_KINDS.join(', ')} (got "${value}").`);
        else out.kinds = [...new Set([...(out.kinds ?? []), ...(kinds as ListKind[])])];
      } else out[key as 'actor' | 'vendor'] = value.replace(/[-_]+/g, ' ');
      return ' ';
    })
    .replace(/\s+/g, ' ')
    .trim();
  out.query = query;
  for (const key of ['tag', 'since', 'until', 'kinds', 'actor', 'vendor'] as const) if (out[key] === undefined) delete out[key];
  return out;
}

/** Most records a search list ranks and counts: pages go this deep, and `total` says "at least" beyond it. */
export const MAX_LISTED = 1_000;
/**
 * Up to this many filtered records are also checked word by word (names, tags and texts), so a match the ranked
 * search cut off still appears. Above it only names and tags are checked: folding 100k texts per search would hold
 * the event loop too long.
 */
export const FULL_TEXT_SCAN_MAX = 5_000;
/**
 * Up to this many records whose names hold a search word are sorted by date; beyond it, records are walked newest
 * first until the list is full (a word that common fills it fast).
 */
const NAMED_SORT_MAX = 3_000;
/**
 * From this many records on, searches use the one string of every record's names (`SearchListDeps.names`). Below it a
 * test per record costs a few milliseconds, and bench/answers.ts measured searches at 10k slower with the string than
 * without it (p99 of least CPU time ~25 ms against ~16 ms), while at 100k it saves ~10-20 ms per rare word.
 */
export const NAME_TEXT_MIN_RECORDS = 25_000;

/** What a search list needs of the service: the records, the ranked search, and how to show a record. */
export interface SearchListDeps {
  all(): Iterable<Incident>;
  get(id: string): Incident | undefined;
  /** Ranked ids for words, keeping only records `keep` accepts. */
  ranked(words: string, limit: number, keep: (incident: Incident) => boolean): string[];
  /** Returns the group record a name (or alias) names, when there is one. */
  actorNamed(name: string): Incident | undefined;
  refOf(incident: Incident): IncidentRef;
  /** Today, for time phrases in words ("since March"). */
  now?: () => Date;
  /** The dated records newest first (the index's): a search by time reads its range, not every record. */
  byDate?: () => DateOrder;
  /** Every record's folded names in one string (the index's): the records a rare word names are found without a test per record. */
  names?: () => NameText;
}

/** Options for one page: the service's filters, and the cursor of the page to show. */
export interface SearchListOptions extends SearchOptions {
  cursor?: string;
}

/**
 * Returns one page of the records matching search text: the filters (SEARCH_FILTERS, and time phrases in words:
 * "since 2024", "latest") keep records first, and only then are they ranked and cut, so every match is counted and
 * can be paged to. Newest first when the text asks for recency or a time range, or has no words; otherwise best first.
 */
export function searchList(deps: SearchListDeps, text: string, options: SearchListOptions = {}): IncidentList {
  const f = parseFilters(text);
  if (f.error) return { title: `Search: ${truncateWords(text, 200)}`, items: [], total: 0, note: f.error };
  const time = readTimeRange(f.query, deps.now?.() ?? new Date());
  const words = (time ? time.rest : f.query).trim();
  const since = latest(f.since ?? options.since, time?.from);
  const until = earliest(f.until && readDateSpan(f.until)?.to, time?.to);
  const range = { from: since && (readDateSpan(since)?.from ?? since), to: until };
  const tag = f.tag ?? options.tag;
  const kinds = f.kinds ?? options.kinds;
  const actorNames = f.actor ? namesOfActor(deps, f.actor) : undefined;
  const vendor = f.vendor ? foldText(f.vendor) : undefined;

  const bounded = Boolean(range.from || range.to);
  const wantTag = tag ? foldText(tag) : undefined;
  const keep = (i: Incident): boolean => {
    if (options.visible && !options.visible(i.id)) return false;
    if (kinds && !kinds.some((k) => isKind(i, k))) return false;
    if (bounded && !inSpan(i, range)) return false;
    if (!wantTag && !vendor && !actorNames) return true;
    const f = filterFields(i);
    if (wantTag && !f.tags.some((t) => t === wantTag || t.endsWith(`:${wantTag}`))) return false;
    if (vendor && !f.vendors.some((v) => startsWithWords(v, vendor))) return false;
    if (actorNames && !f.actors.some((a) => actorNames.has(a))) return false;
    return true;
  };
  // Where the records a filter may keep are: with a time range, those the date order holds in it (of the one kind
  // asked, when one is); otherwise every record.
  const order = deps.byDate?.();
  const oneKind = kinds?.length === 1 ? (kinds[0] === 'post' ? 'incident' : kinds[0]) : undefined;
  const pool = (): Iterable<Incident> => (order && bounded ? recordsOf(deps, order.inRange(oneKind, range)) : deps.all());

  const byDate = Boolean(time) || bounded || !words;
  let ids: string[];
  if (!words && order) {
    // Newest first straight from the date order, as far as a list goes; records without a date come last, by id.
    ids = order.inRange(oneKind, bounded ? range : undefined, (id) => { const i = deps.get(id); return i !== undefined && keep(i); }, MAX_LISTED);
    if (ids.length < MAX_LISTED && !bounded) ids.push(...[...filter(deps.all(), (i) => !i.date && keep(i))].sort((a, b) => a.id.localeCompare(b.id)).map((i) => i.id));
  } else if (!words) {
    ids = newestFirst([...filter(deps.all(), keep)]).map((i) => i.id);
  } else {
    const ranked = deps.ranked(words, MAX_LISTED, keep);
    const seen = new Set(ranked);
    // A plural finds its singular too ("flaws", "vulns"): each term matches words it starts.
    const terms = foldText(words)
      .split(/[^\p{L}\p{N}]+/u)
      .filter((t) => t.length > 1 && !FILLER.has(t))
      .map((t) => (t.length > 4 && t.endsWith('s') && !t.endsWith('ss') ? t.slice(0, -1) : t));
    const withText = countUpTo(pool(), keep, FULL_TEXT_SCAN_MAX + 1) <= FULL_TEXT_SCAN_MAX;
    const matches = (i: Incident) => !seen.has(i.id) && keep(i) && terms.every((t) => hasWord(haystack(i, withText), t));
    // The word-by-word matches newest first, only as many as can still make the list: a word thousands of records
    // carry ("ransomware") stops the walk early instead of collecting and sorting them all.
    const need = byDate ? MAX_LISTED : MAX_LISTED - ranked.length;
    let literal: Incident[] = [];
    if (terms.length && need > 0) {
      // A word few records' names hold: those records, sorted; a common one: the walk newest first, which stops early.
      const named = !withText && deps.names ? deps.names().withWord(terms.reduce((a, b) => (b.length > a.length ? b : a))) : undefined;
      if (named && named.length <= NAMED_SORT_MAX) literal = newestFirst([...filter(recordsOf(deps, named), matches)]).slice(0, need);
      else literal = order ? newestMatches(deps, order, oneKind, bounded ? range : undefined, matches, need) : newestFirst([...filter(pool(), matches)]);
    }
    ids = byDate ? newestFirst([...ranked.map((id) => deps.get(id)!).filter(Boolean), ...literal]).map((i) => i.id) : [...ranked, ...literal.map((i) => i.id)];
  }
  ids = ids.slice(0, MAX_LISTED);

  const limit = options.limit ?? 10;
  const start = offsetOf(options.cursor, ids.length);
  const items = ids.slice(start, start + limit).flatMap((id) => {
    const incident = deps.get(id);
    return incident ? [deps.refOf(incident)] : [];
  });
  const label = [
    words,
    tag && `tag:${tag}`,
    kinds && `kind:${kinds.join(',')}`,
    f.actor && `actor:${f.actor}`,
    f.vendor && `vendor:${f.vendor}`,
    range.from && `since:${range.from}`,
    range.to && `until:${range.to}`,
  ]
    .filter(Boolean)
    .join(' ');
  const next = start + limit < ids.length ? String(start + limit) : undefined;
  return {
    title: `Search: ${truncateWords(label || text, 200)}`,
    items,
    total: ids.length,
    ...(next ? { cursor: next } : {}),
    note: ids.length === 0 ? noMatchNote(f, actorNames) : undefined,
  };
}

/** Returns the page start a cursor names (0 for none or a cursor that is not ours), never past the end. */
export function offsetOf(cursor: string | undefined, total: number): number {
  if (!cursor || !/^\d{1,7}$/.test(cursor)) return 0;
  const n = Number(cursor);
  return n < total ? n : 0;
}

/** Returns records newest first; undated records last, in id order. */
export function newestFirst(records: Incident[]): Incident[] {
  return records.sort((a, b) => {
    const x = a.date?.value ?? '';
    const y = b.date?.value ?? '';
    return x === y ? a.id.localeCompare(b.id) : x < y ? 1 : -1;
  });
}

/** Words that carry no meaning in a search (they would make the word-by-word check miss everything). */
const FILLER = new Set(['the', 'a', 'an', 'of', 'in', 'on', 'and', 'or', 'for', 'to', 'with', 'by', 'at', 'from', 'about', 'any', 'all']);

function* filter(records: Iterable<Incident>, keep: (i: Incident) => boolean): Generator<Incident> {
  for (const r of records) if (keep(r)) yield r;
}

function latest(a: string | undefined, b: string | undefined): string | undefined {
  const x = a && (readDateSpan(a)?.from ?? a);
  if (!x) return b;
  if (!b) return x;
  return x > b ? x : b;
}

function earliest(a: string | undefined, b: string | undefined): string | undefined {
  if (!a) return b;
  if (!b) return a;
  return a < b ? a : b;
}

function isKind(i: Incident, kind: ListKind): boolean {
  const post = i.id.startsWith('post:');
  if (kind === 'post') return post;
  return i.kind === kind && !post;
}

/** Whether `text` starts with `prefix` at a word boundary ("palo alto networks" starts with "palo alto"). */
function startsWithWords(text: string, prefix: string): boolean {
  return text === prefix || (text.startsWith(prefix) && !/[\p{L}\p{N}]/u.test(text[prefix.length]));
}

/** The folded names of the group `name` names (its title and aliases), or just `name` when no group has it. */
function namesOfActor(deps: SearchListDeps, name: string): Set<string> {
  const group = deps.actorNamed(name);
  const names = new Set([foldText(name)]);
  // Only a group that bears the name (spaces and punctuation aside: "apt 28" is APT28), never a near miss.
  const compact = (n: string) => foldText(n).replace(/[^\p{L}\p{N}]+/gu, '');
  const all = group ? [group.title, ...group.aliases] : [];
  if (all.some((n) => compact(n) === compact(name))) for (const n of all) names.add(foldText(n));
  return names;
}

const ACTOR_TAGS = ['attributed-to:', 'used-by:'];

/** A record's values the filters compare, folded: its tags, vendors (`vendor:`) and actors (tags and entities). */
interface FilterFields {
  tags: string[];
  vendors: string[];
  actors: string[];
}

// Folded once per record object and kept while it lives: filtering 100k records would otherwise fold every tag of
// every record on every search.
const FILTER_FIELDS = new WeakMap<Incident, FilterFields>();
const SPANS = new WeakMap<Incident, { from: string; to: string }>();

function filterFields(i: Incident): FilterFields {
  let f = FILTER_FIELDS.get(i);
  if (f) return f;
  const vendors: string[] = [];
  const actors: string[] = [];
  for (const t of i.tags) {
    const lower = t.toLowerCase();
    if (lower.startsWith('vendor:')) vendors.push(foldText(t.slice(7)));
    const prefix = ACTOR_TAGS.find((p) => lower.startsWith(p));
    if (prefix) actors.push(foldText(t.slice(prefix.length)));
  }
  for (const a of i.entities.actors) actors.push(foldText(a));
  f = { tags: i.tags.map(foldText), vendors, actors };
  FILTER_FIELDS.set(i, f);
  return f;
}

/** Whether a record's date overlaps the range (as `dateInRange`), with the days its date covers worked out once. */
function inSpan(i: Incident, range: { from?: string; to?: string }): boolean {
  if (!i.date) return false;
  let span = SPANS.get(i);
  if (!span) SPANS.set(i, (span = incidentDateSpan(i.date)));
  return !(range.from && span.to < range.from) && !(range.to && span.from > range.to);
}

/** Returns how many records `keep` accepts, counting no further than `max`. */
function countUpTo(records: Iterable<Incident>, keep: (i: Incident) => boolean, max: number): number {
  let n = 0;
  for (const r of records) if (keep(r) && ++n >= max) break;
  return n;
}

/**
 * Returns up to `max` records `matches` accepts, newest first as `newestFirst` orders them: the dated ones from the
 * date order (in the range, when there is one), then, when the list is not full and no range excludes them, the
 * undated ones by id.
 */
function newestMatches(deps: SearchListDeps, order: DateOrder, kind: IncidentKind | undefined, range: { from?: string; to?: string } | undefined, matches: (i: Incident) => boolean, max: number): Incident[] {
  const out = [...recordsOf(deps, order.inRange(kind, range, (id) => { const i = deps.get(id); return i !== undefined && matches(i); }, max))];
  if (out.length >= max || range?.from || range?.to) return out;
  const undated = [...filter(deps.all(), (i) => !i.date && (!kind || i.kind === kind) && matches(i))];
  return [...out, ...undated.sort((a, b) => a.id.localeCompare(b.id))].slice(0, max);
}

function* recordsOf(deps: SearchListDeps, ids: readonly string[]): Generator<Incident> {
  for (const id of ids) {
    const i = deps.get(id);
    if (i) yield i;
  }
}

// Folded names and tags per record, kept while the record object lives: lists over 100k records would otherwise fold
// them again on every search. Texts are folded only for small filtered sets (FULL_TEXT_SCAN_MAX) and not kept.
const NAMES_FOLDED = new WeakMap<Incident, string>();

function haystack(i: Incident, withText: boolean): string {
  let names = NAMES_FOLDED.get(i);
  if (names === undefined) NAMES_FOLDED.set(i, (names = foldedNames(i)));
  return withText ? `${names}${foldText(i.summary).replace(/[^\p{L}\p{N}]+/gu, ' ')} ` : names;
}

/** Whether a folded, space-padded text holds a word starting with `term` ("exploit" finds "exploited"). */
function hasWord(text: string, term: string): boolean {
  return text.includes(` ${term}`);
}

function noMatchNote(f: SearchFilters, actorNames: Set<string> | undefined): string {
  if (f.actor && actorNames && actorNames.size === 1) return `No group is named "${f.actor}", and no record names it as its actor. Check the name, or drop actor:.`;
  return 'No incidents match. Try fewer words, or drop a filter.';
}

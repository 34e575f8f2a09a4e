import * as chrono from 'chrono-node';
import type { IncidentDate } from './incident.js';

/**
 * A time range read from a question or a search filter. `from` and `to` are inclusive calendar dates (`YYYY-MM-DD`,
 * UTC); either may be missing (an open end). `recency` is true when the question asks for the newest first ("latest",
 * "recent"). `matched` is the main phrase as typed (the range, else the recency cue), and `rest` the text with every
 * matched phrase removed, so callers can search on what is left.
 */
export interface TimeRange {
  /** First day of the range, `YYYY-MM-DD`; absent when open at the start. */
  from?: string;
  /** Last day of the range, `YYYY-MM-DD`; absent when open at the end. */
  to?: string;
  /** True when the question asks for the newest first. */
  recency: boolean;
  /** The range phrase as typed ("since March", "in December 2023"), else the recency cue ("latest"). */
  matched: string;
  /** The input with the matched phrases (and a preposition left dangling) removed, spaces collapsed. */
  rest: string;
}

/** A calendar span: the first and last day a date expression covers ("May 2024" covers 2024-05-01..2024-05-31). */
export interface DateSpan {
  /** First day, `YYYY-MM-DD`. */
  from: string;
  /** Last day, `YYYY-MM-DD`. */
  to: string;
  /** Whether the expression named a year; "March" alone does not, so a range can lend it one. */
  hasYear: boolean;
}

/**
 * Words that ask for the newest first. Whole words only, so "newsletter" or "recentre" do not count; "new" alone is
 * left out because it is part of names ("New Romanian Cyber Team") and of "new variant" descriptions.
 */
export const RECENCY_CUES: readonly string[] = [
  'most recent',
  'latest',
  'newest',
  'recent',
  'recently',
  'lately',
  "what's new",
  'whats new',
  'what is new',
  'last few',
  'just added',
  'up to date',
];

/** Prepositions that open a range at a date's first day ("since March"). */
const FROM_WORDS = ['since', 'starting', 'starting from', 'from', 'as of', 'on or after'];
/** Prepositions that open a range the day after a date ends ("after June 2024"). */
const AFTER_WORDS = ['after', 'later than'];
/** Prepositions that close a range at a date's last day ("until May"). */
const UNTIL_WORDS = ['until', 'till', 'through', 'up to', 'up until', 'no later than', 'on or before'];
/** Prepositions that close a range the day before a date starts ("before 2020"). */
const BEFORE_WORDS = ['before', 'prior to', 'earlier than', 'older than'];
/** Words that may stand before a date that is the whole range ("in May 2024"); removed with it. */
const IN_WORDS = ['in', 'during', 'of', 'for', 'on', 'from'];
/** Filter keys (`since:2025`) and the preposition each behaves like. */
const FILTER_KEYS: Record<string, 'since' | 'until' | 'after' | 'before'> = {
  since: 'since',
  from: 'since',
  until: 'until',
  to: 'until',
  after: 'after',
  before: 'before',
};

const MONTHS =
  'jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?';
const ORD = '(?:st|nd|rd|th)?';
/** A year on its own: 1970-2099 and not part of a CVE id, a version or a longer number. */
const YEAR = '(?:19[7-9]\\d|20\\d\\d)';
/**
 * One date expression: an ISO date (2024, 2024-05, 2024-05-07), or a month with an optional day and year ("May 2024",
 * "7 May 2024", "May 7th, 2024", "March"), or a year. Boundaries refuse digits, letters and hyphens around it, so
 * "CVE-2021-34527", "S0154" and "10,000" are never read as dates.
 */
const DATE_EXPR =
  `(?:${YEAR}-[01]\\d(?:-[0-3]\\d)?` +
  `|(?:[0-3]?\\d${ORD}\\s+(?:of\\s+)?)?(?:${MONTHS})\\.?(?:\\s+[0-3]?\\d${ORD}(?![\\d:]))?(?:,?\\s+${YEAR})?` +
  `|${YEAR})`;
/** A date expression with the boundaries every use needs. */
const DATE = `(?<![\\w-])${DATE_EXPR}(?![\\w-])`;

const escapeWords = (words: readonly string[]) =>
  [...words].sort((a, b) => b.length - a.length).map((w) => w.replace(/[.*+?^${}()|[\]\\']/g, '\\$&').replace(/ /g, '\\s+')).join('|');

/** Relative periods chrono-node reads but does not turn into a span: the unit decides the span. */
const RELATIVE = new RegExp(
  `(?<![\\w-])(?:(this|current|the\\s+current)\\s+(week|month|year|quarter)|(last|past|previous|the\\s+last|the\\s+past|over\\s+the\\s+(?:last|past))\\s+(?:(\\d{1,3}|a|one|two|three|four|five|six|seven|eight|nine|ten|twelve|few|couple\\s+of)\\s+)?(days?|weeks?|months?|years?|quarters?)|(today|yesterday|this\\s+week))(?![\\w-])`,
  'i',
);

const SMALL_NUMBERS: Record<string, number> = {
  a: 1, one: 1, two: 2, three: 3, four: 4, five: 5, six: 6, seven: 7, eight: 8, nine: 9, ten: 10, twelve: 12,
  few: 3, 'couple of': 2,
};

const pad = (n: number) => String(n).padStart(2, '0');
/** `YYYY-MM-DD` of a UTC date. */
const isoDay = (d: Date) => `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
const utc = (y: number, m: number, d: number) => new Date(Date.UTC(y, m, d));
const lastDayOfMonth = (y: number, m: number) => utc(y, m + 1, 0).getUTCDate();
const addDays = (day: string, n: number) => {
  const [y, m, d] = day.split('-').map(Number);
  return isoDay(utc(y, m - 1, d + n));
};

/**
 * Returns the span one date expression covers, read against `now` (a month without a year is its latest occurrence
 * that has begun by `now`), or undefined when the text is not a date. Accepts `2024`, `2024-05`, `2024-05-07`, and
 * what chrono-node reads ("May 2024", "7 March", "yesterday").
 */
export function readDateSpan(text: string, now: Date = new Date()): DateSpan | undefined {
  const value = text.trim();
  const iso = /^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$/.exec(value);
  if (iso) {
    const y = Number(iso[1]);
    if (!iso[2]) return { from: `${y}-01-01`, to: `${y}-12-31`, hasYear: true };
    const m = Number(iso[2]) - 1;
    if (m < 0 || m > 11) return undefined;
    if (!iso[3]) return { from: `${y}-${pad(m + 1)}-01`, to: `${y}-${pad(m + 1)}-${pad(lastDayOfMonth(y, m))}`, hasYear: true };
    const d = Number(iso[3]);
    if (d < 1 || d > lastDayOfMonth(y, m)) return undefined;
    return { from: value, to: value, hasYear: true };
  }
  // chrono reads "May 2024" but not a bare month-less year inside words; both halves must be the whole text, so a
  // sentence that merely contains a date is not a date.
  const [result] = chrono.parse(value, { instant: now, timezone: 'UTC' });
  if (!result || result.text.length < value.replace(/\s+/g, ' ').length - 1) return undefined;
  const start = result.start;
  const hasYear = start.isCertain('year');
  const hasMonth = start.isCertain('month');
  const hasDay = start.isCertain('day');
  let y = start.get('year') ?? now.getUTCFullYear();
  const m = (start.get('month') ?? 1) - 1;
  const d = start.get('day') ?? 1;
  if (!hasYear && hasMonth) {
    // The latest occurrence that has begun: in December, "March" is last March, not next.
    y = now.getUTCFullYear();
    if (utc(y, m, hasDay ? d : 1).getTime() > now.getTime()) y -= 1;
  }
  if (hasMonth && !hasDay) return { from: `${y}-${pad(m + 1)}-01`, to: `${y}-${pad(m + 1)}-${pad(lastDayOfMonth(y, m))}`, hasYear };
  if (!hasMonth && hasYear && !hasDay) return { from: `${y}-01-01`, to: `${y}-12-31`, hasYear };
  const day = isoDay(utc(y, m, d));
  return { from: day, to: day, hasYear: true };
}

/** Moves a span without a year to the given year (and the year before when it would start after `before`). */
function inYear(span: DateSpan, year: number, notAfter?: string): DateSpan {
  const shift = (day: string, y: number) => `${y}${day.slice(4)}`;
  let moved = { from: shift(span.from, year), to: shift(span.to, year), hasYear: true };
  if (notAfter && moved.from > notAfter) moved = { from: shift(span.from, year - 1), to: shift(span.to, year - 1), hasYear: true };
  // 29 February of a year that has none: the last day of that February.
  const fix = (day: string) => {
    const [y, m, d] = day.split('-').map(Number);
    return `${y}-${pad(m)}-${pad(Math.min(d, lastDayOfMonth(y, m - 1)))}`;
  };
  return { from: fix(moved.from), to: fix(moved.to), hasYear: true };
}

/** One phrase found in the text: where it is, and the range it gives. */
interface Found {
  index: number;
  text: string;
  from?: string;
  to?: string;
}

/** Returns the range a relative phrase ("this year", "last week", "past 3 months") gives against `now`. */
function relativeRange(match: RegExpExecArray, now: Date): { from?: string; to?: string } {
  const today = isoDay(now);
  const y = now.getUTCFullYear();
  const mo = now.getUTCMonth();
  const [, thisWord, thisUnit, , count, lastUnit, single] = match;
  if (single) {
    const word = single.toLowerCase().replace(/\s+/g, ' ');
    if (word === 'today') return { from: today, to: today };
    if (word === 'yesterday') return { from: addDays(today, -1), to: addDays(today, -1) };
    return { from: addDays(today, -((now.getUTCDay() + 6) % 7)) }; // this week: since Monday
  }
  if (thisWord) {
    const unit = thisUnit.toLowerCase();
    if (unit === 'year') return { from: `${y}-01-01` };
    if (unit === 'quarter') return { from: `${y}-${pad(mo - (mo % 3) + 1)}-01` };
    if (unit === 'month') return { from: `${y}-${pad(mo + 1)}-01` };
    return { from: addDays(today, -((now.getUTCDay() + 6) % 7)) };
  }
  const unit = lastUnit.toLowerCase().replace(/s$/, '');
  if (!count) {
    // "last month" and "last year" name the previous calendar period; "last week" and "past day" mean the days before
    // today, which is what people mean when they ask what happened "last week".
    if (unit === 'year') return { from: `${y - 1}-01-01`, to: `${y - 1}-12-31` };
    if (unit === 'month') {
      const start = utc(y, mo - 1, 1);
      return { from: isoDay(start), to: isoDay(utc(y, mo, 0)) };
    }
    if (unit === 'quarter') {
      const start = utc(y, mo - (mo % 3) - 3, 1);
      return { from: isoDay(start), to: isoDay(utc(y, mo - (mo % 3), 0)) };
    }
    return { from: addDays(today, unit === 'week' ? -7 : -1), to: today };
  }
  const n = /^\d+$/.test(count) ? Number(count) : (SMALL_NUMBERS[count.toLowerCase().replace(/\s+/g, ' ')] ?? 1);
  if (unit === 'day') return { from: addDays(today, -n), to: today };
  if (unit === 'week') return { from: addDays(today, -7 * n), to: today };
  const months = unit === 'month' ? n : unit === 'quarter' ? 3 * n : 12 * n;
  const start = utc(y, mo - months, now.getUTCDate());
  return { from: isoDay(start), to: today };
}

const BETWEEN = new RegExp(
  `(?<![\\w-])(?:between\\s+(${DATE})\\s+and\\s+(${DATE})|(?:from\\s+)?(${DATE})\\s*(?:to|until|till|through|thru|-|–)\\s*(${DATE}))(?![\\w-])`,
  'i',
);
const OPEN = new RegExp(
  `(?<![\\w-])(${escapeWords(FROM_WORDS)}|${escapeWords(AFTER_WORDS)}|${escapeWords(UNTIL_WORDS)}|${escapeWords(BEFORE_WORDS)})\\s+(?:the\\s+(?:start|end|beginning)\\s+of\\s+)?(${DATE})`,
  'i',
);
const FILTER = new RegExp(`(?<![\\w-])(${Object.keys(FILTER_KEYS).join('|')}):(\\S+)`, 'i');
/** A bare date: with a year, anywhere; a month alone only after a word that makes it a time ("in May"), since "may" and "march" are also verbs. */
const BARE = new RegExp(`(?<![\\w-])(?:(${escapeWords(IN_WORDS)})\\s+)?(${DATE})`, 'gi');
const RECENCY = new RegExp(`(?<![\\w-])(?:${escapeWords(RECENCY_CUES)})(?![\\w-])`, 'i');

/** Applies an open-ended preposition to a span: "since" and "after" give `from`, "until" and "before" give `to`. */
function openRange(word: string, span: DateSpan): { from?: string; to?: string } {
  const w = word.toLowerCase().replace(/\s+/g, ' ');
  if (FROM_WORDS.includes(w) || w === 'since') return { from: span.from };
  if (AFTER_WORDS.includes(w) || w === 'after') return { from: addDays(span.to, 1) };
  if (UNTIL_WORDS.includes(w) || w === 'until') return { to: span.to };
  return { to: addDays(span.from, -1) };
}

/** Returns the first range phrase in `text`, trying the most specific shapes first. */
function findRange(text: string, now: Date): Found | undefined {
  const filter = FILTER.exec(text);
  if (filter) {
    const span = readDateSpan(filter[2], now);
    if (span) return { index: filter.index, text: filter[0], ...openRange(FILTER_KEYS[filter[1].toLowerCase()], span) };
  }
  const between = BETWEEN.exec(text);
  if (between) {
    const [a, b] = between[1] !== undefined ? [between[1], between[2]] : [between[3], between[4]];
    let first = readDateSpan(a, now);
    let second = readDateSpan(b, now);
    if (first && second) {
      // "between March and May 2024": the first end borrows the second's year.
      // With no year at all, the second end is its latest occurrence and the first comes before it ("from December to
      // February", asked in June, is the winter just gone).
      if (!first.hasYear) first = inYear(first, Number(second.from.slice(0, 4)), second.from);
      else if (!second.hasYear) {
        second = inYear(second, Number(first.from.slice(0, 4)));
        if (second.to < first.from) second = inYear(second, Number(first.from.slice(0, 4)) + 1);
      }
      if (second.to >= first.from) return { index: between.index, text: between[0], from: first.from, to: second.to };
    }
  }
  const open = OPEN.exec(text);
  if (open) {
    const span = readDateSpan(open[2], now);
    if (span) return { index: open.index, text: open[0], ...openRange(open[1], span) };
  }
  const relative = RELATIVE.exec(text);
  if (relative) return { index: relative.index, text: relative[0], ...relativeRange(relative, now) };
  for (const bare of text.matchAll(BARE)) {
    const [whole, word, date] = bare;
    // A month alone needs its preposition ("in may"), and "for"/"of"/"on" only lead a date that has a year.
    const hasYear = /\d{4}/.test(date);
    if (!hasYear && !(word && ['in', 'during'].includes(word.toLowerCase()))) continue;
    const span = readDateSpan(date, now);
    if (!span) continue;
    return { index: bare.index, text: whole, from: span.from, to: span.to };
  }
  return undefined;
}

/**
 * Reads the time range a question or a search asks for, against `now`: "latest", "recent", "this year", "last week",
 * "in December 2023", "since 2024", "since March", "between March and May 2024", "before 2020", and the filters
 * `since:2025`, `until:2024-05`, `after:`, `before:`. Returns undefined when the text names no time and no recency.
 */
export function readTimeRange(text: string, now: Date = new Date()): TimeRange | undefined {
  const range = findRange(text, now);
  let rest = text;
  if (range) rest = rest.slice(0, range.index) + ' ' + rest.slice(range.index + range.text.length);
  const cue = RECENCY.exec(rest);
  if (cue) rest = rest.slice(0, cue.index) + ' ' + rest.slice(cue.index + cue[0].length);
  if (!range && !cue) return undefined;
  const out: TimeRange = {
    recency: Boolean(cue),
    matched: (range?.text ?? cue?.[0] ?? '').trim(),
    rest: rest.replace(/\s+/g, ' ').replace(/\s+([?.!,;:])/g, '$1').trim(),
  };
  if (range?.from) out.from = range.from;
  if (range?.to) out.to = range.to;
  return out;
}

/** Returns the first and last day an incident date covers ("2024-05" covers 2024-05-01..2024-05-31). */
export function incidentDateSpan(date: IncidentDate): { from: string; to: string } {
  const [y, m, d] = date.value.split('-').map(Number);
  if (date.precision === 'year' || !m) return { from: `${y}-01-01`, to: `${y}-12-31` };
  if (date.precision === 'month' || !d) return { from: `${y}-${pad(m)}-01`, to: `${y}-${pad(m)}-${pad(lastDayOfMonth(y, m - 1))}` };
  return { from: date.value, to: date.value };
}

/**
 * Returns whether a record's date falls in the range: its span must overlap the range, so a record dated "2024" is in
 * "since May 2024" but not in "before 2024". A record without a date is in no bounded range.
 */
export function dateInRange(date: IncidentDate | null | undefined, range: Pick<TimeRange, 'from' | 'to'>): boolean {
  if (!range.from && !range.to) return true;
  if (!date) return false;
  const span = incidentDateSpan(date);
  if (range.from && span.to < range.from) return false;
  if (range.to && span.from > range.to) return false;
  return true;
}

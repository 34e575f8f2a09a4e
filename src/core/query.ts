import type { IncidentKind } from './incident.js';
import { ATTRIBUTION_WORDS, LISTING_WORDS, RELATION_VERBS, TIME_VERBS } from './intents.js';
import { foldText } from './text.js';

/** Longest query we look at: anything beyond is noise for a chat question, and bounds the work per query. */
export const MAX_QUERY_CHARS = 300;
/** Longest word indexed or searched: compact names run to ~60 characters; longer is noise, and fuzzy cost grows with length. */
export const MAX_TERM_CHARS = 64;
/** Most content terms searched per query, so a pasted paragraph cannot make one query expensive. */
export const MAX_QUERY_TERMS = 12;

// Function words of English questions and chat filler: they carry no identity, so they must not count toward
// coverage. The cue words of intents.ts (relation verbs, time verbs...) say how to answer, so they join them.
const FUNCTION_WORDS =
  'a an the of and or to in on for by with at from as is are was were be been being it its this that these those ' +
  'what which who whom whose how when where why did does do done has have had about into onto than then there ' +
  'their they them he she his her we you your our can could would should will shall may might must also any ' +
  'both together known know tell me show give find list please i s t vs via after before during many much new ' +
  'take took taken get got go going went out up off';
const STOP_WORDS = new Set([
  ...FUNCTION_WORDS.split(' '),
  ...RELATION_VERBS,
  ...ATTRIBUTION_WORDS,
  ...TIME_VERBS,
  ...LISTING_WORDS,
]);

// Words that say what kind of record the user wants; soft hints, not filters.
const KIND_WORDS: Record<string, IncidentKind> = {
  campaign: 'incident', campaigns: 'incident', operation: 'incident', incident: 'incident', attack: 'incident',
  takedown: 'incident', breach: 'incident', intrusion: 'incident',
  group: 'group', actor: 'group', actors: 'group', apt: 'group', gang: 'group',
  malware: 'software', tool: 'software', tools: 'software', software: 'software', backdoor: 'software', trojan: 'software',
  vulnerability: 'vulnerability', vulnerabilities: 'vulnerability', vuln: 'vulnerability', vulns: 'vulnerability', flaw: 'vulnerability', bug: 'vulnerability', cve: 'vulnerability',
};

const MONTHS = ['january', 'february', 'march', 'april', 'may', 'june', 'july', 'august', 'september', 'october', 'november', 'december'];
const MONTH_INDEX = new Map<string, number>();
MONTHS.forEach((m, i) => {
  MONTH_INDEX.set(m, i + 1);
  MONTH_INDEX.set(m.slice(0, 3), i + 1);
});
MONTH_INDEX.set('sept', 9);

/** A date the user mentioned: year always, month and day when given. */
export interface QueryDate {
  year: number;
  month?: number;
  day?: number;
}

/** What the answering pipeline needs to know about a query, derived once. */
export interface ParsedQuery {
  /** The query as received, trimmed and bounded. */
  text: string;
  /** Folded words (lower case, accents removed), in order, stop words included. */
  words: string[];
  /** Words that carry meaning (no stop words), bounded to MAX_QUERY_TERMS. */
  terms: string[];
  /** CVE ids mentioned, normalised (`CVE-2017-7269`), from `cve 2017 7269`, `cve-2017-7269`... */
  cves: string[];
  /** Dates mentioned ("November 30, 2023", "4 March 2024", "May 2021", "2021-03"). */
  dates: QueryDate[];
  /** Kind the wording asks for, if any ("group known for...", "which campaign..."). */
  kindHint?: IncidentKind;
  /** The words that gave the kind hint ("tool", "malware", "campaign"): they also name sub-kinds in tags. */
  hintWords: string[];
  /** Whether the kind hint was inferred from phrasing ("who uses") rather than said ("group"). */
  weakHint: boolean;
  /** Whether it reads as a question (question word first, or a question mark). */
  isQuestion: boolean;
  /** Question word that leads it (who, what, when, where, how, which, why), when it is a question. */
  questionWord?: string;
  /** "how many" / "how much": the answer is a number. */
  wantsNumber: boolean;
}

/** Returns the folded words of a text (letters and digits; everything else separates). */
export function words(text: string): string[] {
  return foldText(text).match(/[\p{L}\p{N}]+/gu) ?? [];
}

/** Returns true for words that carry no identity in a question. */
export function isStopWord(word: string): boolean {
  return STOP_WORDS.has(word);
}

/** Returns true for words that say what kind of record is meant ("campaign", "group"), not which one. */
export function isKindWord(word: string): boolean {
  return KIND_WORDS[word] !== undefined;
}

/** Parses a raw query into terms, CVE ids, dates and hints; never throws, whatever the input. */
export function parseQuery(raw: string): ParsedQuery {
  const text = String(raw ?? '').replace(/\s+/g, ' ').trim().slice(0, MAX_QUERY_CHARS);
  const folded = foldText(text);
  const cves = [...new Set([...folded.matchAll(/\bcve[\s_-]*(\d{4})[\s_-]+(\d{4,7})\b/g)].map((m) => `CVE-${m[1]}-${m[2]}`))];
  const withoutCves = folded.replace(/\bcve[\s_-]*\d{4}[\s_-]+\d{4,7}\b/g, ' ');
  const isoDates = [...withoutCves.matchAll(/\b(\d{4})-(\d{2})(?:-(\d{2}))?\b/g)];
  const all = words(text);
  const ws = words(withoutCves.replace(/\b\d{4}-\d{2}(?:-\d{2})?\b/g, ' '));
  const dates = [
    ...isoDates.map((m) => ({ year: Number(m[1]), month: Number(m[2]), day: m[3] ? Number(m[3]) : undefined })),
    ...parseDates(ws),
  ];
  const days = new Set(dates.filter((d) => d.day !== undefined).map((d) => String(d.day)));
  let kindHint: IncidentKind | undefined;
  for (const w of ws) {
    if (KIND_WORDS[w]) {
      kindHint = KIND_WORDS[w];
      break;
    }
  }
  if (!kindHint && cves.length > 0 && ws.length === 0) kindHint = 'vulnerability';
  // "Who uses X?" asks for an actor; a weak hint, since "who took down Sky ECC?" asks about an incident.
  let weakHint = false;
  if (!kindHint && all[0] === 'who' && ws.some((w) => RELATION_VERBS.has(w))) {
    kindHint = 'group';
    weakHint = true;
  }
  const terms = [
    ...new Set(
      ws.filter(
        (w) =>
          w.length <= MAX_TERM_CHARS &&
          !STOP_WORDS.has(w) &&
          !KIND_WORDS[w] &&
          !days.has(w) &&
          !(MONTH_INDEX.has(w) && dates.length > 0),
      ),
    ),
  ].slice(0, MAX_QUERY_TERMS);
  // A query made only of kind words ("takedown", "malware") searches for them instead of finding nothing.
  if (terms.length === 0) terms.push(...new Set(ws.filter((w) => KIND_WORDS[w])));
  const first = all[0];
  const questionWords = ['who', 'what', 'when', 'where', 'which', 'how', 'why', 'whom', 'whose', 'did', 'does', 'is', 'was', 'were', 'are', 'has', 'have'];
  const isQuestion = /\?\s*$/.test(text) || (first !== undefined && questionWords.includes(first) && all.length > 2);
  return {
    text,
    words: all,
    terms,
    cves,
    dates,
    kindHint,
    hintWords: [...new Set(ws.filter((w) => KIND_WORDS[w]))],
    weakHint,
    isQuestion,
    questionWord: isQuestion ? all.find((w) => questionWords.slice(0, 9).includes(w)) : undefined,
    wantsNumber: /\bhow (many|much)\b/.test(folded),
  };
}

function parseDates(ws: string[]): QueryDate[] {
  const out: QueryDate[] = [];
  for (let i = 0; i < ws.length; i++) {
    const month = MONTH_INDEX.get(ws[i]);
    if (!month) continue;
    // "may" is also a verb: only a date when a year or day sits next to it.
    const next = ws[i + 1];
    const prev = ws[i - 1];
    let day: number | undefined;
    let year: number | undefined;
    if (next && /^\d{1,2}$/.test(next) && Number(next) <= 31) {
      day = Number(next);
      if (ws[i + 2] && /^(19|20)\d{2}$/.test(ws[i + 2])) year = Number(ws[i + 2]);
    } else if (next && /^(19|20)\d{2}$/.test(next)) {
      year = Number(next);
    }
    if (prev && /^\d{1,2}$/.test(prev) && Number(prev) <= 31) day = Number(prev);
    if (year) out.push({ year, month, day });
  }
  if (out.length === 0) {
    for (const w of ws) if (/^(19|20)\d{2}$/.test(w)) out.push({ year: Number(w) });
  }
  return out;
}

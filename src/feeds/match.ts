import { RefusedError } from '../core/feed-model.js';
import { compactName, foldText } from '../core/text.js';

/**
 * The one alert-filter grammar, used by the chat commands (to check and store a filter) and by the feed watcher
 * (to match new posts): words, "quoted phrases", -excluded words, `tag:<tag>` and `feed:<name|id>`.
 */

/** A subscription filter, parsed: every part must hold for a post to match. */
export interface ParsedFilter {
  /** The filter as stored: whitespace collapsed, keys in lower case (two filters that differ only so are one). */
  text: string;
  /** Words or quoted phrases (folded, each a word sequence) that must all appear in the title or summary. */
  keywords: string[][];
  /** Words that must not appear. */
  excluded: string[];
  /** Tags that must all be present (`tag:x` matches "x" and "anything:x", as search does). */
  tags: string[];
  /** Feeds the post may come from (`feed:x`, any of them): an exact name (case, spacing and punctuation aside) or an id. */
  feeds: string[];
}

/** What a filter is matched against: one post as the alert would show it. */
export interface MatchTarget {
  title: string;
  summary: string;
  tags: readonly string[];
  feedId?: number;
  feedName?: string;
  feedUrl?: string;
  /** Other names the feed is known by to the subscriber (its tenant's own name for it). */
  feedNames?: readonly string[];
}

/** Thrown for a filter that cannot be understood or is too costly; the message says what is wrong, with an example. */
export class FilterError extends RefusedError {
  override name = 'FilterError';
}

/** Longest filter accepted: a subscription filter is a few words, and it is matched against every new post. */
export const MAX_FILTER_CHARS = 300;
/**
 * Most terms (words, phrases, excluded words, tags, feeds) in one filter. Each term costs one lookup per new post and
 * subscription, so with SUBSCRIPTIONS_PER_CHANNEL this bounds the matching work a channel can ask for.
 */
export const MAX_FILTER_TERMS = 10;
/** Most words in one quoted phrase. */
export const MAX_PHRASE_WORDS = 6;
/** An example shown with every filter error. */
export const FILTER_EXAMPLE = '`lockbit tag:ransomware`, `"remote code execution" feed:cisa`';

/** Counters of the matching work done (tests check that it stays bounded; they cost a few additions). */
export const matchStats = { compiles: 0, termChecks: 0 };

// Function words carry nothing in a filter ("attacks on hospitals" = attacks + hospitals).
const FILTER_STOP_WORDS = new Set('a an the of and or to in on for by with at from as is are was were be it its this that about into'.split(' '));
// Keys that look like search syntax but make no sense for alerts (an alert is about a post that just arrived), or
// that are near misses of the two keys we take: each gets an explanation instead of an "unknown key".
const DATE_KEYS = new Set(['since', 'until', 'before', 'after', 'date', 'from', 'to', 'year']);
const TAG_MISSES = new Set(['tags', 'tagged', 'category', 'categories', 'label', 'topic']);
const FEED_MISSES = new Set(['feeds', 'source', 'sources', 'site', 'publisher', 'url']);
/** Keys kept as words: URLs ("https://…") and CVE ids written "cve:…". */
const WORD_KEYS = new Set(['http', 'https', 'cve']);

/** Returns the filter with its whitespace collapsed. */
export function normalizeFilter(filter: string): string {
  return filter.replace(/\s+/g, ' ').trim();
}

/**
 * Returns the parsed filter, or throws FilterError saying what is wrong and how to write it. Empty text matches
 * everything. `stored: true` parses a filter saved before the term limits existed: it is matched as saved.
 */
export function parseFilter(text: string, options: { stored?: boolean } = {}): ParsedFilter {
  matchStats.compiles++;
  const filter = normalizeFilter(text);
  if (filter.length > MAX_FILTER_CHARS) throw new FilterError(`That filter is ${filter.length} characters long; keep it under ${MAX_FILTER_CHARS}, e.g. ${FILTER_EXAMPLE}.`);
  const out: ParsedFilter = { text: '', keywords: [], excluded: [], tags: [], feeds: [] };
  const canonical: string[] = [];
  // -key:"quoted value" | -key:value | -"quoted phrase" | -word
  const token = /(-)?(?:([a-z][a-z_-]*):(?:"([^"]*)"?|(\S*))|"([^"]*)"?|(\S+))/gi;
  for (const m of filter.matchAll(token)) {
    const [whole, minus, key, quotedValue, value, phrase, word] = m;
    const lowerKey = key?.toLowerCase();
    const v = (quotedValue ?? value ?? '').trim();
    // "lockbit:" (a word and a colon) is a word; only a known key or a key with a value is a filter key.
    const isKey = lowerKey !== undefined && !WORD_KEYS.has(lowerKey) && (v !== '' || lowerKey === 'tag' || lowerKey === 'feed' || DATE_KEYS.has(lowerKey) || TAG_MISSES.has(lowerKey) || FEED_MISSES.has(lowerKey));
    if (isKey) {
      const k = lowerKey!;
      if (k === 'tag' || k === 'feed') {
        if (!v) throw new FilterError(`\`${k}:\` needs a value, e.g. ${k === 'tag' ? '`tag:ransomware`' : '`feed:cisa` or `feed:3`'}.`);
        if (minus) throw new FilterError(`\`-${k}:\` is not supported; use \`${k}:\` to narrow instead, e.g. ${FILTER_EXAMPLE}.`);
        if (k === 'tag') out.tags.push(foldText(v));
        else out.feeds.push(v.replace(/^#(?=\d+$)/, ''));
        canonical.push(`${k}:${quotedValue !== undefined ? `"${v}"` : v}`);
        continue;
      }
      if (DATE_KEYS.has(k)) {
        throw new FilterError(`\`${k}:\` does not apply to alerts: each new post is alerted as it arrives. Filter with words, \`tag:<tag>\` or \`feed:<name|id>\`, e.g. ${FILTER_EXAMPLE}.`);
      }
      if (TAG_MISSES.has(k)) throw new FilterError(`Unknown filter \`${k}:\`; did you mean \`tag:${v || '<tag>'}\`?`);
      if (FEED_MISSES.has(k)) throw new FilterError(`Unknown filter \`${k}:\`; did you mean \`feed:${v || '<name|id>'}\`?`);
      throw new FilterError(`Unknown filter \`${k}:\`. Alert filters are words, "phrases", -words, \`tag:<tag>\` and \`feed:<name|id>\`, e.g. ${FILTER_EXAMPLE}.`);
    }
    // "cve:CVE-2024-1234" is the CVE id itself.
    const raw = phrase ?? word ?? (lowerKey === 'cve' ? v : whole.replace(/^-/, ''));
    const words = filterWords(raw);
    if (words.length === 0) continue;
    if (minus && phrase === undefined) out.excluded.push(...words);
    else {
      if (phrase !== undefined && !options.stored && phrase.trim().split(/\s+/).length > MAX_PHRASE_WORDS) {
        throw new FilterError(`A phrase has at most ${MAX_PHRASE_WORDS} words ("${phrase.slice(0, 60)}" has ${phrase.trim().split(/\s+/).length}); quote a shorter part of it, e.g. ${FILTER_EXAMPLE}.`);
      }
      out.keywords.push(words);
    }
    canonical.push(phrase !== undefined ? `${minus ?? ''}"${phrase}"` : whole);
  }
  const terms = out.keywords.length + out.excluded.length + out.tags.length + out.feeds.length;
  if (!options.stored && terms > MAX_FILTER_TERMS) {
    throw new FilterError(
      `That filter has ${terms} terms; a filter takes at most ${MAX_FILTER_TERMS} (words, "phrases", -words, tag: and feed:), because each one is checked against every new post. ` +
        `Keep the words that matter, or split it over several subscriptions, e.g. ${FILTER_EXAMPLE}.`,
    );
  }
  out.text = canonical.join(' ');
  return out;
}

/** Returns the matching words of a text: folded, function words dropped, a plural "s" removed. */
export function filterWords(text: string): string[] {
  const words = foldText(text).match(/[\p{L}\p{N}]+(?:-[\p{L}\p{N}]+)*/gu) ?? [];
  const out: string[] = [];
  for (const w of words) {
    if (FILTER_STOP_WORDS.has(w)) continue;
    // "cve-2024-1234" stays one word; other hyphenated words also count as their parts.
    out.push(stem(w));
    if (w.includes('-') && !/^cve-/.test(w)) for (const part of w.split('-')) if (part && !FILTER_STOP_WORDS.has(part)) out.push(stem(part));
  }
  return out;
}

function stem(w: string): string {
  return w.length > 3 && w.endsWith('s') && !w.endsWith('ss') ? w.slice(0, -1) : w;
}

/** A post prepared once for matching against many filters. */
export interface PreparedTarget {
  target: MatchTarget;
  words: Set<string>;
  sequence: string[];
  tags: string[];
  /** The feed's names, compacted (case, spacing and punctuation removed), for exact `feed:` matches. */
  feedKeys: string[];
  /** Word sequences of the post by length, built on first use: a phrase check is then one lookup. */
  grams: Map<number, Set<string>>;
}

/** Returns the target with its words and tags folded, for matching against several filters. */
export function prepareTarget(target: MatchTarget): PreparedTarget {
  const sequence = filterWords(`${target.title}\n${target.summary}`);
  return { target, words: new Set(sequence), sequence, tags: target.tags.map(foldText), feedKeys: feedKeysOf(target), grams: new Map() };
}

/** Returns the compact names a feed is known by: its name, its tenant's names, and its host when it has no name. */
function feedKeysOf(target: Pick<MatchTarget, 'feedName' | 'feedUrl' | 'feedNames'>): string[] {
  const names = [target.feedName, ...(target.feedNames ?? [])].filter((n): n is string => Boolean(n?.trim()));
  if (names.length === 0 && target.feedUrl) {
    try {
      names.push(new URL(target.feedUrl).hostname.replace(/^www\./, ''));
    } catch {
      // no host: only the id can name it
    }
  }
  return [...new Set(names.map(compactName).filter(Boolean))];
}

/**
 * Whether `feed:<value>` names this feed: its id, or one of its names exactly (case, spacing and punctuation
 * aside, so `feed:"The Hacker News"` and `feed:the-hacker-news` both work). Never a part of a name: `feed:cisa`
 * does not name "Mercisaurus".
 */
export function feedNameMatches(value: string, feed: { feedId?: number; keys: readonly string[] }): boolean {
  if (/^\d+$/.test(value)) return feed.feedId === Number(value);
  const want = compactName(value);
  return want.length > 0 && feed.keys.includes(want);
}

/** Whether a post matches a parsed filter (an empty filter matches everything); each term costs one lookup. */
export function matchesFilter(filter: ParsedFilter, target: PreparedTarget | MatchTarget): boolean {
  const p = 'sequence' in target ? target : prepareTarget(target);
  for (const want of filter.tags) {
    matchStats.termChecks++;
    if (!p.tags.some((t) => t === want || t.endsWith(`:${want}`))) return false;
  }
  if (filter.feeds.length > 0) {
    matchStats.termChecks += filter.feeds.length;
    if (!filter.feeds.some((f) => feedNameMatches(f, { feedId: p.target.feedId, keys: p.feedKeys }))) return false;
  }
  for (const ex of filter.excluded) {
    matchStats.termChecks++;
    if (p.words.has(ex)) return false;
  }
  for (const kw of filter.keywords) {
    matchStats.termChecks++;
    if (kw.length === 1 ? !p.words.has(kw[0]!) : !hasSequence(p, kw)) return false;
  }
  return true;
}

/** Longest phrase (in filter words, hyphen parts included) looked up in the n-gram sets; longer ones are scanned. */
const MAX_GRAM = 2 * MAX_PHRASE_WORDS;

function hasSequence(p: PreparedTarget, needle: readonly string[]): boolean {
  // Most posts lack one of the phrase's words: that is settled without building any word sequences.
  for (const w of needle) if (!p.words.has(w)) return false;
  const n = needle.length;
  if (n > MAX_GRAM) return containsSequence(p.sequence, needle);
  let set = p.grams.get(n);
  if (!set) {
    set = new Set();
    for (let i = 0; i + n <= p.sequence.length; i++) set.add(p.sequence.slice(i, i + n).join(' '));
    p.grams.set(n, set);
  }
  return set.has(needle.join(' '));
}

function containsSequence(haystack: readonly string[], needle: readonly string[]): boolean {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

/** Whether a filter can let posts of this feed through (no `feed:` part, or one naming it): who hears about the feed's health. */
export function filterAllowsFeed(filter: ParsedFilter, feed: { feedId: number; feedName?: string; feedUrl: string; feedNames?: readonly string[] }): boolean {
  if (filter.feeds.length === 0) return true;
  const keys = feedKeysOf(feed);
  return filter.feeds.some((f) => feedNameMatches(f, { feedId: feed.feedId, keys }));
}

import { compactName, foldText } from '../core/text.js';

/** A subscription filter, parsed: every part must hold for a post to match. */
export interface ParsedFilter {
  /** Words or quoted phrases (folded, each a word sequence) that must all appear in the title or summary. */
  keywords: string[][];
  /** Words that must not appear. */
  excluded: string[];
  /** Tags that must all be present (`tag:x` matches "x" and "anything:x", as search does). */
  tags: string[];
  /** Feeds the post may come from (`feed:x`, any of them): name, host or id. */
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
}

/** Thrown for a filter that cannot be understood; the message says how to write it. */
export class FilterError extends Error {
  override name = 'FilterError';
}

/** Longest filter accepted: a subscription filter is a few words, and it is matched against every new post. */
export const MAX_FILTER_CHARS = 300;

// Function words carry nothing in a filter ("attacks on hospitals" = attacks + hospitals).
const FILTER_STOP_WORDS = new Set('a an the of and or to in on for by with at from as is are was were be it its this that about into'.split(' '));

/** Returns the filter with its whitespace collapsed: the form stored and compared for uniqueness per channel. */
export function normalizeFilter(filter: string): string {
  return filter.replace(/\s+/g, ' ').trim();
}

/** Returns the parsed filter, or throws FilterError saying what is wrong. Empty text matches everything. */
export function parseFilter(text: string): ParsedFilter {
  const filter = normalizeFilter(text);
  if (filter.length > MAX_FILTER_CHARS) throw new FilterError(`A filter is at most ${MAX_FILTER_CHARS} characters.`);
  const out: ParsedFilter = { keywords: [], excluded: [], tags: [], feeds: [] };
  // key:"quoted value" | key:value | "quoted phrase" | -word | word
  const token = /(-)?(?:([a-z]+):(?:"([^"]*)"|(\S*))|"([^"]*)"|(\S+))/gi;
  for (const m of filter.matchAll(token)) {
    const [, minus, key, quotedValue, value, phrase, word] = m;
    if (key !== undefined) {
      const k = key.toLowerCase();
      const v = (quotedValue ?? value ?? '').trim();
      if (k === 'tag' || k === 'feed') {
        if (!v) throw new FilterError(`${k}: needs a value, e.g. ${k === 'tag' ? 'tag:ransomware' : 'feed:cisa'}.`);
        if (minus) throw new FilterError(`-${k}: is not supported; use ${k}: to narrow instead.`);
        (k === 'tag' ? out.tags : out.feeds).push(foldText(v));
        continue;
      }
      if (k === 'since') throw new FilterError('since: does not apply to alerts (every alert is about a new post); use keywords, tag: or feed:.');
      if (k !== 'http' && k !== 'https' && k !== 'cve') throw new FilterError(`Unknown filter "${k}:". Use keywords, tag:<tag> or feed:<feed name or host>.`);
    }
    const raw = phrase ?? word ?? m[0].replace(/^-/, '');
    const words = filterWords(raw);
    if (words.length === 0) continue;
    if (minus && phrase === undefined) out.excluded.push(...words);
    else out.keywords.push(words);
  }
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
  feedKeys: string[];
}

/** Returns the target with its words and tags folded, for matching against several filters. */
export function prepareTarget(target: MatchTarget): PreparedTarget {
  const sequence = filterWords(`${target.title}\n${target.summary}`);
  let host = '';
  try {
    host = target.feedUrl ? new URL(target.feedUrl).hostname.toLowerCase() : '';
  } catch {
    host = '';
  }
  const feedKeys = [target.feedName ? compactName(target.feedName) : '', host, host.replace(/^www\./, '')].filter(Boolean);
  for (const t of target.tags) if (foldText(t).startsWith('feed:')) feedKeys.push(compactName(t.slice(5)));
  return { target, words: new Set(sequence), sequence, tags: target.tags.map(foldText), feedKeys };
}

/** Whether a post matches a parsed filter (an empty filter matches everything). */
export function matchesFilter(filter: ParsedFilter, target: PreparedTarget | MatchTarget): boolean {
  const p = 'sequence' in target ? target : prepareTarget(target);
  for (const want of filter.tags) {
    if (!p.tags.some((t) => t === want || t.endsWith(`:${want}`))) return false;
  }
  if (filter.feeds.length > 0) {
    const ok = filter.feeds.some((f) => {
      if (/^\d+$/.test(f) && p.target.feedId === Number(f)) return true;
      const c = compactName(f);
      return p.feedKeys.some((k) => k === f || (c.length > 0 && compactName(k).includes(c)));
    });
    if (!ok) return false;
  }
  for (const ex of filter.excluded) if (p.words.has(ex)) return false;
  for (const kw of filter.keywords) {
    if (kw.length === 1 ? !p.words.has(kw[0]!) : !containsSequence(p.sequence, kw)) return false;
  }
  return true;
}

function containsSequence(haystack: readonly string[], needle: readonly string[]): boolean {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

/** Whether a filter can let posts of this feed through (no `feed:` part, or one naming it): who hears about the feed's health. */
export function filterAllowsFeed(filter: ParsedFilter, feed: { feedId: number; feedName?: string; feedUrl: string; tags?: readonly string[] }): boolean {
  if (filter.feeds.length === 0) return true;
  return matchesFilter({ ...filter, keywords: [], excluded: [], tags: [] }, prepareTarget({ title: '', summary: '', tags: feed.tags ?? [], ...feed }));
}

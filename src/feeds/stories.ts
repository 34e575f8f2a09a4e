import { isStopWord, words } from '../core/query.js';
import { compactName, foldText } from '../core/text.js';

/** Two posts are the same story when their significant title words overlap at least this much (Jaccard). */
export const STORY_JACCARD = 0.6;
/** ... and their dates are at most this many days apart (coverage of one story trails by a day or two). */
export const STORY_WINDOW_DAYS = 3;
/** Posts older than this (relative to the newest one seen) leave the in-memory story index, bounding its memory. */
export const STORY_RETENTION_DAYS = 14;
/** Most postings examined per shared entity: a name carried by thousands of recent posts says little. */
const STORY_MAX_POSTINGS = 400;
const DAY_MS = 86_400_000;

// Headline filler that says nothing about which story it is.
const NEWS_FILLER = new Set(
  'says said report reports reported warns warn update updated updates latest breaking week weekly today new news via amid over under more than just now'.split(' '),
);

/** Returns a link normalised for same-article detection: no fragment, no tracking parameters, lower-case host, no trailing slash. */
export function urlKey(url: string | undefined): string | undefined {
  if (!url) return undefined;
  try {
    const u = new URL(url);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return undefined;
    u.hash = '';
    for (const k of [...u.searchParams.keys()]) if (/^(utm_|fbclid$|gclid$|mc_|ref$|source$)/i.test(k)) u.searchParams.delete(k);
    const path = u.pathname.replace(/\/+$/, '');
    // http and https copies of one article are the same article.
    return `${u.hostname.toLowerCase().replace(/^www\./, '')}${path}${u.search}`;
  } catch {
    return undefined;
  }
}

/** Returns the significant words of a headline, for story matching. */
export function storyWords(title: string): Set<string> {
  const out = new Set<string>();
  for (const w of words(title)) {
    if (w.length < 2 && !/\d/.test(w)) continue;
    if (isStopWord(w) || NEWS_FILLER.has(w)) continue;
    out.add(w.length > 3 && w.endsWith('s') && !w.endsWith('ss') ? w.slice(0, -1) : w);
  }
  return out;
}

/** Returns the names a headline carries: CVE ids, capitalised or mixed-case words and acronyms (folded). */
export function storyEntities(title: string, extra: readonly string[] = []): Set<string> {
  const out = new Set<string>();
  for (const m of title.matchAll(/\bCVE-\d{4}-\d{4,}\b/gi)) out.add(m[0].toLowerCase());
  for (const m of title.matchAll(/[\p{L}\p{N}][\p{L}\p{N}&.'-]*/gu)) {
    const w = m[0].replace(/['.-]+$/, '');
    if (w.length < 2) continue;
    const f = foldText(w);
    if (isStopWord(f) || NEWS_FILLER.has(f)) continue;
    // Names are written with a capital ("Cisco"), in capitals ("APT29") or mixed ("MOVEit", "LockBit").
    if (/^\p{Lu}/u.test(w) || /\p{Lu}/u.test(w.slice(1)) || (/\d/.test(w) && /\p{L}/u.test(w))) out.add(compactName(w));
  }
  for (const e of extra) {
    const c = compactName(e);
    if (c.length > 2) out.add(c);
  }
  return out;
}

/** A headline prepared for story matching: its significant words, names and numbers. */
export interface StoryKey {
  words: Set<string>;
  entities: Set<string>;
  /** Numbers and CVE ids of the headline: "adds 3 vulnerabilities" and "adds 2 vulnerabilities" are two stories. */
  numbers: string;
}

/** Returns the story key of a headline (computed once per item, used to look up and then to remember it). */
export function storyKey(title: string, extraEntities: readonly string[] = []): StoryKey {
  const words = storyWords(title);
  const numbers = [...words].filter((w) => /^\d+$/.test(w) || /^cve/.test(w)).sort().join(' ');
  return { words, entities: storyEntities(title, extraEntities), numbers };
}

interface StoryEntry {
  incidentId: string;
  words: Set<string>;
  numbers: string;
  day: number;
  feedId?: number;
}

/** Recent stories by name, to attach new coverage of a known story to its incident (memory bounded by retention). */
export class StoryIndex {
  private readonly byEntity = new Map<string, StoryEntry[]>();
  private newestDay = -Infinity;
  private adds = 0;

  /** Remembers a story dated `day` (epoch days), told by feed `feedId` when it came from a feed. */
  add(incidentId: string, story: string | StoryKey, day: number, extraEntities: readonly string[] = [], feedId?: number): void {
    const key = typeof story === 'string' ? storyKey(story, extraEntities) : story;
    if (key.words.size === 0) return;
    const entry: StoryEntry = { incidentId, words: key.words, numbers: key.numbers, day, feedId };
    for (const e of key.entities) {
      let list = this.byEntity.get(e);
      if (!list) this.byEntity.set(e, (list = []));
      list.push(entry);
    }
    if (day > this.newestDay) this.newestDay = day;
    if (++this.adds % 2000 === 0) this.prune();
  }

  /**
   * The incident whose story this headline tells (best overlap at or above STORY_JACCARD, a shared name, the same
   * numbers, close dates), if any. Stories of the same feed are not compared: an outlet does not tell one story
   * twice under two ids, but it does publish look-alike series ("CISA adds 2 known exploited vulnerabilities").
   */
  find(story: string | StoryKey, day: number, feedId?: number): string | undefined {
    const key = typeof story === 'string' ? storyKey(story) : story;
    if (key.words.size < 2) return undefined;
    let best: { id: string; score: number } | undefined;
    let seen: Set<StoryEntry> | undefined;
    for (const e of key.entities) {
      const list = this.byEntity.get(e);
      if (!list) continue;
      for (let i = list.length - 1, n = 0; i >= 0 && n < STORY_MAX_POSTINGS; i--, n++) {
        const entry = list[i]!;
        if (Math.abs(entry.day - day) > STORY_WINDOW_DAYS || (feedId !== undefined && entry.feedId === feedId)) continue;
        if (key.numbers && entry.numbers && key.numbers !== entry.numbers) continue;
        if (key.entities.size > 1) {
          seen ??= new Set();
          if (seen.has(entry)) continue;
          seen.add(entry);
        }
        const score = jaccard(key.words, entry.words);
        if (score >= STORY_JACCARD && (!best || score > best.score)) best = { id: entry.incidentId, score };
      }
    }
    return best?.id;
  }

  /** Forgets the stories of these incidents (their posts were pruned), so the index holds only what the store does. */
  remove(incidentIds: ReadonlySet<string>): void {
    if (incidentIds.size === 0) return;
    for (const [k, list] of this.byEntity) {
      const kept = list.filter((e) => !incidentIds.has(e.incidentId));
      if (kept.length === 0) this.byEntity.delete(k);
      else if (kept.length !== list.length) this.byEntity.set(k, kept);
    }
  }

  /** Number of names indexed (for the bench). */
  get size(): number {
    return this.byEntity.size;
  }

  private prune(): void {
    const cutoff = this.newestDay - STORY_RETENTION_DAYS;
    for (const [k, list] of this.byEntity) {
      const kept = list.filter((e) => e.day >= cutoff);
      if (kept.length === 0) this.byEntity.delete(k);
      else if (kept.length !== list.length) this.byEntity.set(k, kept);
    }
  }
}

function jaccard(a: Set<string>, b: Set<string>): number {
  let shared = 0;
  for (const w of a) if (b.has(w)) shared++;
  return shared / (a.size + b.size - shared);
}

/** Links of known incidents that did not come from feeds (feed posts are looked up in the posts table). */
export class LinkIndex {
  private readonly byKey = new Map<string, string>();

  /** Remembers that this link is a source of that incident. */
  add(url: string | undefined, incidentId: string): void {
    const k = urlKey(url);
    if (k && !this.byKey.has(k)) this.byKey.set(k, incidentId);
  }

  /** The incident with this link among its sources, if any. */
  find(key: string): string | undefined {
    return this.byKey.get(key);
  }
}

/** Returns the day number (days since the epoch) of an ISO date, or undefined. */
export function dayOf(iso: string | undefined): number | undefined {
  if (!iso) return undefined;
  const t = Date.parse(iso.length === 10 ? `${iso}T00:00:00Z` : iso);
  return Number.isNaN(t) ? undefined : Math.floor(t / DAY_MS);
}

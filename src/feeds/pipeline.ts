import { createHash } from 'node:crypto';
import { parseIncident, type Incident, type IncidentInput } from '../core/incident.js';
import type { IncidentService } from '../core/incident-service.js';
import { isStopWord, words } from '../core/query.js';
import { redactUrl } from '../core/redact.js';
import { compactName, foldText } from '../core/text.js';
import type { Logger } from '../logger.js';
import type { FeedPollUpdate, FeedRow, FeedStore, PostRow } from '../store/feed-store.js';
import { matchesFilter, parseFilter, prepareTarget, type ParsedFilter } from './match.js';
import { subscriptionFilters } from './subscriptions.js';
import type { FeedItem, ParsedFeed, Subscription } from './types.js';

/** Two posts are the same story when their significant title words overlap at least this much (Jaccard). */
export const STORY_JACCARD = 0.6;
/** ... and their dates are at most this many days apart (coverage of one story trails by a day or two). */
export const STORY_WINDOW_DAYS = 3;
/** Posts older than this (relative to the newest one seen) leave the in-memory story index, bounding its memory. */
export const STORY_RETENTION_DAYS = 14;
/** Most postings examined per shared entity: a name carried by thousands of recent posts says little. */
const STORY_MAX_POSTINGS = 400;
/** Most categories kept as tags per post: feeds pad items with dozens of SEO keywords. */
const MAX_CATEGORY_TAGS = 10;
const MAX_TAG_CHARS = 60;
const DAY_MS = 86_400_000;

// Headline filler that says nothing about which story it is.
const NEWS_FILLER = new Set(
  'says said report reports reported warns warn update updated updates latest breaking week weekly today new news via amid over under more than just now'.split(' '),
);

/** What ingestFeed needs: the stores, the live index, the clock and the in-memory matching indexes. */
export interface PipelineDeps {
  feeds: FeedStore;
  /** The live index; changed incidents are upserted right after commit so `/incident` answers at once. */
  service?: IncidentService;
  /** Clock (epoch milliseconds). */
  now: () => number;
  /** Newest items alerted on a feed's first poll (FEED_BACKFILL); the rest only seed. */
  backfill: number;
  logger?: Logger;
  stories: StoryIndex;
  links: LinkIndex;
  /** Called after commit when outbox rows were queued (the worker wakes up). */
  onQueued?: (count: number) => void;
}

/** What one ingest did. */
export interface IngestResult {
  /** Items in the document (after in-feed duplicates were dropped). */
  items: number;
  /** Items never seen before in this feed. */
  fresh: number;
  /** Whether this was the feed's first (seeding) poll. */
  seeded: boolean;
  /** Posts stored as new incidents. */
  newIncidents: string[];
  /** Posts attached to an incident already known, as another source. */
  attached: { postId: string; incidentId: string }[];
  /** Outbox rows queued. */
  queued: number;
  /** Items skipped because no valid record could be built from them (logged). */
  skipped: number;
}

/** Returns the id of a feed item's post: a short hash of the feed URL and the item key (stable across restarts). */
export function postIdFor(feedUrl: string, key: string): string {
  return `post:${createHash('sha256').update(`${feedUrl}\n${key}`).digest('hex').slice(0, 16)}`;
}

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

/** Returns a feed's display label: its configured name, else the document's title, else its host. */
export function feedLabel(feed: Pick<FeedRow, 'name' | 'url'>, parsedTitle?: string): string {
  const name = feed.name?.trim() || parsedTitle?.trim();
  if (name) return name;
  try {
    return new URL(feed.url).hostname.replace(/^www\./, '');
  } catch {
    return feed.url;
  }
}

/** Returns the `feed:<slug>` tag of a feed label ("The Hacker News" -> "feed:the-hacker-news"). */
export function feedTag(label: string): string {
  const slug = foldText(label).replace(/[^\p{L}\p{N}.]+/gu, '-').replace(/^-+|-+$/g, '').slice(0, MAX_TAG_CHARS);
  return `feed:${slug || 'unnamed'}`;
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

/** Options for createPipeline. */
export interface PipelineOptions {
  feeds: FeedStore;
  service?: IncidentService;
  now?: () => number;
  backfill?: number;
  logger?: Logger;
  /** Records known besides the store (the bundled corpus): their links and recent stories attach new coverage. */
  incidents?: readonly Incident[];
  onQueued?: (count: number) => void;
}

/** Returns the pipeline's dependencies with its link and story indexes loaded from the store (and `incidents`). */
export function createPipeline(options: PipelineOptions): PipelineDeps {
  const now = options.now ?? Date.now;
  const links = new LinkIndex();
  const stories = new StoryIndex();
  for (const { id, url } of options.feeds.nonFeedSourceLinks()) links.add(url, id);
  const today = Math.floor(now() / DAY_MS);
  const since = new Date((today - STORY_RETENTION_DAYS) * DAY_MS).toISOString().slice(0, 10);
  for (const i of options.incidents ?? []) {
    for (const s of i.sources) links.add(s.url, i.id);
    const day = i.kind === 'incident' && i.date?.precision === 'day' ? dayOf(i.date.value) : undefined;
    if (day !== undefined && day >= today - STORY_RETENTION_DAYS) {
      stories.add(i.id, i.title, day, [...i.entities.actors, ...i.entities.software, ...i.entities.victims]);
    }
  }
  for (const p of options.feeds.postsPublishedSince(since)) stories.add(p.incidentId, p.title, dayOf(p.published ?? undefined) ?? today, [], p.feedId);
  return {
    feeds: options.feeds,
    service: options.service,
    now,
    backfill: options.backfill ?? 0,
    logger: options.logger,
    stories,
    links,
    onQueued: options.onQueued,
  };
}

const CVE = /\bCVE-\d{4}-\d{4,}\b/gi;

function cvesIn(text: string): string[] {
  return [...new Set([...text.matchAll(CVE)].map((m) => m[0].toUpperCase()))].slice(0, 20);
}

function cleanTags(feedTagValue: string, categories: readonly string[]): string[] {
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

function httpLink(url: string | undefined): string | undefined {
  return url && /^https?:\/\//i.test(url) ? url : undefined;
}

/** Returns a validated incident, dropping the link when it is what the schema refuses; undefined when nothing valid is left. */
function validIncident(input: IncidentInput, label: string): Incident | undefined {
  try {
    return parseIncident(input, label);
  } catch {
    try {
      return parseIncident({ ...input, sources: (input.sources ?? []).map((s) => ({ ...s, url: undefined })) }, label);
    } catch {
      return undefined;
    }
  }
}

interface Candidate {
  item: FeedItem;
  post: PostRow;
  tags: string[];
  alert: boolean;
}

/**
 * Stores what is new in one parsed document of a feed and queues its alerts, all in one transaction: item keys,
 * posts, incidents (new, or known ones with the post attached as another source) and outbox rows for every matching
 * subscription. The first poll of a feed only seeds (alerting at most the newest `backfill` items); an item whose key
 * was seen before is never new, whatever changed in it. `feedUpdate` (conditional GET state, counters) is written in
 * the same transaction. After commit the changed incidents go into the live index.
 */
export function ingestFeed(feed: FeedRow, parsed: ParsedFeed, deps: PipelineDeps, feedUpdate: FeedPollUpdate = {}): IngestResult {
  const now = deps.now();
  const label = feedLabel(feed, parsed.title);
  const tag = feedTag(label);
  const seeding = !feed.seeded;
  const result: IngestResult = { items: 0, fresh: 0, seeded: seeding, newIncidents: [], attached: [], queued: 0, skipped: 0 };

  // Items repeated inside one document count once (first occurrence: feeds list newest first).
  const unique: FeedItem[] = [];
  const keys = new Set<string>();
  for (const item of parsed.items) {
    if (!item.key || keys.has(item.key)) continue;
    keys.add(item.key);
    unique.push(item);
  }
  result.items = unique.length;
  const fresh = unique.filter((item) => !deps.feeds.hasItem(feed.id, item.key));
  result.fresh = fresh.length;

  let alertKeys: Set<string>;
  if (!seeding) alertKeys = new Set(fresh.map((i) => i.key));
  else {
    // Backfill: the newest N by date (undated items after dated ones, in document order).
    const byDate = [...fresh].sort((a, b) => (b.published ?? b.updated ?? '').localeCompare(a.published ?? a.updated ?? ''));
    alertKeys = new Set(byDate.slice(0, Math.max(0, deps.backfill)).map((i) => i.key));
  }

  const today = Math.floor(now / DAY_MS);
  const changed = new Map<string, Incident>();
  const newIds = new Set<string>();
  const candidates: Candidate[] = [];
  const skippedKeys: string[] = [];

  for (const item of fresh) {
    const postId = postIdFor(feed.url, item.key);
    const link = httpLink(item.link);
    const key = urlKey(link);
    const published = item.published ?? item.updated;
    const day = dayOf(published) ?? today;
    const dateValue = (published ?? new Date(now).toISOString()).slice(0, 10);
    const summary = item.summary.trim() || item.title;
    const tags = cleanTags(tag, item.categories);
    const source = { url: link, title: item.title, publisher: label, published: published?.slice(0, 10) };

    // Known incident? Same link first (the very article), then the same story told again.
    let incidentId: string | undefined;
    let sameArticle = false;
    // A link names one article only across feeds and below a site's home page: within one feed, items with distinct
    // ids may share a link (podcast episodes pointing at the show, advisories at one index page).
    if (key && /[/?]/.test(key)) {
      incidentId = deps.feeds.incidentByUrlKeyElsewhere(key, feed.id) ?? deps.links.find(key);
      sameArticle = incidentId !== undefined;
    }
    const story = storyKey(item.title);
    incidentId ??= deps.stories.find(story, day, feed.id);
    // Tenancy: a private feed's post joins no record, and a public post never joins a private record.
    if (incidentId && !deps.feeds.mayAttach(feed.id, incidentId)) [incidentId, sameArticle] = [undefined, false];

    let existing: Incident | undefined;
    if (incidentId) existing = changed.get(incidentId) ?? deps.feeds.store.getIncident(incidentId) ?? deps.service?.get(incidentId);
    if (existing) {
      const hasLink = key !== undefined && existing.sources.some((s) => urlKey(s.url) === key);
      sameArticle ||= hasLink;
      const merged = validIncident(
        {
          ...existing,
          sources: hasLink ? existing.sources : [...existing.sources, source],
          tags: [...new Set([...existing.tags, ...tags])],
          entities: { ...existing.entities, cves: [...new Set([...existing.entities.cves, ...cvesIn(`${item.title} ${summary}`)])] },
        },
        `${feed.url} item ${item.key}`,
      );
      if (merged) {
        changed.set(existing.id, merged);
        result.attached.push({ postId, incidentId: existing.id });
      } else existing = undefined;
    }
    if (!existing) {
      const incident = validIncident(
        {
          id: postId,
          kind: 'incident',
          title: item.title,
          date: /^\d{4}-\d{2}-\d{2}$/.test(dateValue) ? { value: dateValue, precision: 'day' } : null,
          summary,
          sources: [source],
          tags,
          entities: { actors: [], victims: [], software: [], cves: cvesIn(`${item.title} ${summary}`), countries: [] },
        },
        `${feed.url} item ${item.key}`,
      );
      if (!incident) {
        deps.logger?.warn({ feed: redactUrl(feed.url), key: item.key }, 'feed item skipped: no valid record can be built from it');
        skippedKeys.push(item.key);
        continue;
      }
      changed.set(incident.id, incident);
      newIds.add(incident.id);
      incidentId = incident.id;
      // Indexed at once so a later item of this document can attach to it (a rolled-back entry only costs a lookup miss).
      deps.stories.add(incidentId, story, day, [], feed.id);
    }
    const finalId = existing ? existing.id : incidentId!;
    candidates.push({
      item,
      tags: [...new Set([...tags, ...(changed.get(finalId)?.tags ?? [])])],
      // The very same article reached through another feed is no news to the channels.
      alert: alertKeys.has(item.key) && !sameArticle,
      post: {
        id: postId,
        feedId: feed.id,
        incidentId: finalId,
        url: link ?? null,
        urlKey: key ?? null,
        title: item.title,
        published: published ?? null,
        summary,
        createdAt: now,
      },
    });
  }
  result.skipped = skippedKeys.length;

  // Only subscriptions whose tenant sees this feed, with filters compiled once (not at every poll).
  const filters = subscriptionFilters(deps.feeds, feed.id, deps.logger);

  deps.feeds.transaction(() => {
    for (const c of candidates) {
      deps.feeds.insertPost(c.post);
      deps.feeds.insertItem(feed.id, c.item.key, c.post.id, now);
    }
    for (const k of skippedKeys) deps.feeds.insertItem(feed.id, k, null, now);
    const created = [...changed.values()].filter((i) => newIds.has(i.id));
    if (created.length) deps.feeds.store.importIncidents(created, { origin: `feed:${feed.id}`, format: 'feed' });
    // An attached incident keeps its origin, so removing its first source's records does not take the others along.
    const byOrigin = new Map<string, Incident[]>();
    for (const i of changed.values()) {
      if (newIds.has(i.id)) continue;
      const origin = deps.feeds.incidentOrigin(i.id) ?? `feed:${feed.id}`;
      byOrigin.set(origin, [...(byOrigin.get(origin) ?? []), i]);
    }
    for (const [origin, list] of byOrigin) deps.feeds.store.importIncidents(list, { origin, format: 'feed' });
    for (const c of candidates) {
      if (!c.alert) continue;
      const target = prepareTarget({ title: c.post.title, summary: c.post.summary, tags: c.tags, feedId: feed.id, feedName: label, feedUrl: feed.url });
      for (const [, sub] of channelsMatching(filters, target)) {
        const id = deps.feeds.enqueue({
          subscriptionId: sub.id,
          platform: sub.platform,
          channelId: sub.channelId,
          postId: c.post.id,
          incidentId: c.post.incidentId,
          kind: 'alert',
          roleId: sub.roleId,
          nextAttemptAt: now,
          createdAt: now,
        });
        if (id !== undefined) result.queued++;
      }
    }
    deps.feeds.updateFeed(feed.id, {
      ...feedUpdate,
      seeded: true,
      addItemsSeen: (feedUpdate.addItemsSeen ?? 0) + fresh.length,
      name: feed.name ? undefined : parsed.title?.trim() || undefined,
    });
  });

  result.newIncidents = [...newIds];
  if (changed.size && deps.service) deps.service.upsert([...changed.values()]);
  if (result.queued > 0) deps.onQueued?.(result.queued);
  return result;
}

/** Returns each subscription with its parsed filter; a stored filter that no longer parses is logged and skipped. */
export function compileFilters(subs: readonly Subscription[], logger?: Logger): { sub: Subscription; filter: ParsedFilter }[] {
  const out: { sub: Subscription; filter: ParsedFilter }[] = [];
  for (const sub of subs) {
    try {
      out.push({ sub, filter: parseFilter(sub.filter, { stored: true }) });
    } catch (err) {
      logger?.warn({ subscription: sub.id, filter: sub.filter, err: (err as Error).message }, 'subscription filter skipped');
    }
  }
  return out;
}

/**
 * Returns, per channel, the subscription an alert goes out under: one alert per post per channel however many of the
 * channel's filters match; a matching subscription that names a role wins, so the role is mentioned.
 */
export function channelsMatching(filters: readonly { sub: Subscription; filter: ParsedFilter }[], target: ReturnType<typeof prepareTarget>): Map<string, Subscription> {
  const out = new Map<string, Subscription>();
  for (const { sub, filter } of filters) {
    if (!matchesFilter(filter, target)) continue;
    const k = `${sub.platform}\u0000${sub.channelId}`;
    const current = out.get(k);
    if (!current || (!current.roleId && sub.roleId)) out.set(k, sub);
  }
  return out;
}

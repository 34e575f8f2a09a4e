import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { INCIDENT_BOUNDS, SourceSchema, type Incident, type Source } from '../core/incident.js';
import type { IncidentService } from '../core/incident-service.js';
import type { StoryPost } from '../core/relations.js';
import { redactUrl } from '../core/redact.js';
import { foldText } from '../core/text.js';
import type { Logger } from '../logger.js';
import type { FeedPollUpdate, FeedRow } from '../store/repos/feeds.js';
import type { OutboxInput } from '../store/repos/outbox.js';
import type { PostRow } from '../store/repos/posts.js';
import type { Storage } from '../store/storage.js';
import { matchesFilter, parseFilter, prepareTarget, type ParsedFilter } from './match.js';
import { backlogSplit, clampDates, cleanTags, cvesIn, dateOf, DEFAULT_FEED_BOUNDS, httpLink, newestFirst, skipReason, validIncident, type FeedBounds, type SkippedCounts } from './post-rules.js';
import { pruneSteps, type PruneResult } from './retention.js';
import { Slicer } from './slices.js';
import { subscriptionFilters } from './subscriptions.js';
import { dayOf, LinkIndex, STORY_RETENTION_DAYS, StoryIndex, storyKey, urlKey } from './stories.js';
import type { FeedItem, ParsedFeed, Subscription } from './types.js';

export { DEFAULT_FEED_BOUNDS, FUTURE_SLACK_MS, type FeedBounds, type SkippedCounts } from './post-rules.js';
export {
  dayOf,
  LinkIndex,
  STORY_JACCARD,
  STORY_RETENTION_DAYS,
  STORY_WINDOW_DAYS,
  StoryIndex,
  storyEntities,
  storyKey,
  storyWords,
  urlKey,
  type StoryKey,
} from './stories.js';

const MAX_TAG_CHARS = 60;
const DAY_MS = 86_400_000;
/**
 * Work between two yields of ingestFeedAsync (ms). Each slice is a transaction whose commit costs a few ms of its own:
 * measured on 15,000 new items, 10 ms slices ingest at half the speed of one transaction, 25 ms ones at 2/3, 50 ms
 * ones at 85%. 20 ms keeps the event-loop delay p99 around 50 ms during a flood (the bench's figures), well inside
 * the 100 ms an interaction may wait.
 */
export const SLICE_MS = 20;
/** Skipped item keys recorded per transaction: a few multi-row statements, a few milliseconds on either engine. */
const SKIPPED_KEYS_PER_SLICE = 1_000;

/** What ingestFeed needs: the stores, the live index, the clock and the in-memory matching indexes. */
export interface PipelineDeps {
  storage: Storage;
  /** The live index; changed incidents are upserted right after commit so `/incident` answers at once. */
  service?: IncidentService;
  /** Clock (epoch milliseconds). */
  now: () => number;
  /** Newest items alerted on a feed's first poll (FEED_BACKFILL); the rest only seed. */
  backfill: number;
  bounds: FeedBounds;
  /** Work between two yields to the event loop in ingestFeedAsync (milliseconds). */
  sliceMs: number;
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
  /** New items not stored (the sum of skippedBy), each logged. */
  skipped: number;
  /** New items of a backlog over FEED_MAX_ITEMS_PER_POLL left for the next polls (not recorded as seen). */
  deferred: number;
  skippedBy: SkippedCounts;
  /** Items whose date was more than a day ahead, taken as published at the fetch time. */
  clamped: number;
  /** What the retention pruning after the ingest removed. */
  pruned: PruneResult;
}

/** Returns the id of a feed item's post: a short hash of the feed URL and the item key (stable across restarts). */
export function postIdFor(feedUrl: string, key: string): string {
  return `post:${createHash('sha256').update(`${feedUrl}\n${key}`).digest('hex').slice(0, 16)}`;
}

/** Returns a feed's display label: its configured name, else the document's title, else its host. */
export function feedLabel(feed: Pick<FeedRow, 'name' | 'url'>, parsedTitle?: string): string {
  const name = feed.name?.trim() || parsedTitle?.trim();
  if (name) return name;
  try {
    return new URL(feed.url).hostname.replace(/^www\./, '');
  } catch {
    return redactUrl(feed.url);
  }
}

/** Returns the `feed:<slug>` tag of a feed label ("The Hacker News" -> "feed:the-hacker-news"). */
export function feedTag(label: string): string {
  const slug = foldText(label).replace(/[^\p{L}\p{N}.]+/gu, '-').replace(/^-+|-+$/g, '').slice(0, MAX_TAG_CHARS);
  return `feed:${slug || 'unnamed'}`;
}

/** Options for createPipeline. */
export interface PipelineOptions {
  storage: Storage;
  service?: IncidentService;
  now?: () => number;
  backfill?: number;
  /** Per-feed bounds (default DEFAULT_FEED_BOUNDS). */
  bounds?: Partial<FeedBounds>;
  /** Work between yields in ingestFeedAsync, in milliseconds (default SLICE_MS). */
  sliceMs?: number;
  logger?: Logger;
  /** Records known besides the store (the bundled corpus): their links and recent stories attach new coverage. */
  incidents?: readonly Incident[];
  onQueued?: (count: number) => void;
}

/** Returns the pipeline's dependencies with its link and story indexes loaded from the store (and `incidents`). */
export async function createPipeline(options: PipelineOptions): Promise<PipelineDeps> {
  const now = options.now ?? Date.now;
  const links = new LinkIndex();
  const stories = new StoryIndex();
  for (const { id, url } of await options.storage.posts.nonFeedSourceLinks()) links.add(url, id);
  const today = Math.floor(now() / DAY_MS);
  const since = new Date((today - STORY_RETENTION_DAYS) * DAY_MS).toISOString().slice(0, 10);
  for (const i of options.incidents ?? []) {
    for (const s of i.sources) links.add(s.url, i.id);
    const day = i.kind === 'incident' && i.date?.precision === 'day' ? dayOf(i.date.value) : undefined;
    if (day !== undefined && day >= today - STORY_RETENTION_DAYS && day <= today + 1) {
      stories.add(i.id, i.title, day, [...i.entities.actors, ...i.entities.software, ...i.entities.victims]);
    }
  }
  for (const p of await options.storage.posts.publishedSince(since)) {
    // A date far ahead (stored before such dates were clamped) would make every real story look old.
    const day = Math.min(dayOf(p.published ?? undefined) ?? today, today + 1);
    stories.add(p.incidentId, p.title, day, [], p.feedId);
  }
  return {
    storage: options.storage,
    service: options.service,
    now,
    backfill: options.backfill ?? 0,
    bounds: {
      maxItemsPerPoll: options.bounds?.maxItemsPerPoll ?? DEFAULT_FEED_BOUNDS.maxItemsPerPoll,
      retentionDays: options.bounds?.retentionDays ?? DEFAULT_FEED_BOUNDS.retentionDays,
      maxPostsPerFeed: options.bounds?.maxPostsPerFeed ?? DEFAULT_FEED_BOUNDS.maxPostsPerFeed,
    },
    sliceMs: options.sliceMs ?? SLICE_MS,
    logger: options.logger,
    stories,
    links,
    onQueued: options.onQueued,
  };
}

/**
 * Stores what is new in one parsed document of a feed and queues its alerts, then prunes the feed's posts past the
 * retention or the cap. The first poll of a feed only seeds (alerting at most the newest `backfill` items); an item
 * whose key was seen before is never new, whatever changed in it. At most `bounds.maxItemsPerPoll` new items are stored
 * (the newest); the rest, and items dated before the retention window, are recorded as seen and never alerted. A
 * backlog over the cap (backlogSplit: every new item published since the newest post, as when polls fall behind) is
 * stored oldest first, the cap's worth per poll, and the rest are left unrecorded for the next polls.
 *
 * The work is done in slices of about `sliceMs`, each one transaction (item keys, posts, incidents, outbox rows
 * together), so a crash between slices loses and repeats nothing: the items of committed slices are known, the others
 * are new on the next poll. Skipped keys are recorded first, so the next poll picks the same items to store.
 * `feedUpdate` (conditional GET state, counters) is written once every item is in. Changed incidents go into the
 * live index after each slice.
 */
export async function ingestFeed(feed: FeedRow, parsed: ParsedFeed, deps: PipelineDeps, feedUpdate: FeedPollUpdate = {}): Promise<IngestResult> {
  const slicer = new Slicer(deps.sliceMs);
  return ingestSteps(feed, parsed, deps, feedUpdate, slicer);
}

/** Returns what ingestFeed returns, yielding to the event loop between slices (the poller's path: answers never wait long). */
export function ingestFeedAsync(feed: FeedRow, parsed: ParsedFeed, deps: PipelineDeps, feedUpdate: FeedPollUpdate = {}): Promise<IngestResult> {
  return ingestSteps(feed, parsed, deps, feedUpdate, new Slicer(deps.sliceMs, true));
}

async function ingestSteps(feed: FeedRow, parsed: ParsedFeed, deps: PipelineDeps, feedUpdate: FeedPollUpdate, slicer: Slicer): Promise<IngestResult> {
  const now = deps.now();
  const nowIso = new Date(now).toISOString();
  const label = feedLabel(feed, parsed.title);
  const tag = feedTag(label);
  const seeding = !feed.seeded;
  const { bounds, storage, logger } = deps;
  const skippedBy: SkippedCounts = { limit: 0, old: 0, invalid: 0, unreadable: 0 };
  const result: IngestResult = {
    items: 0,
    fresh: 0,
    seeded: seeding,
    newIncidents: [],
    attached: [],
    queued: 0,
    skipped: 0,
    deferred: 0,
    skippedBy,
    clamped: 0,
    pruned: { posts: 0, incidents: 0, keys: 0 },
  };
  // Items repeated inside one document count once (first occurrence: feeds list newest first). A date more than a
  // day ahead is the fetch time: it must not pin a post to the top of the newest incidents.
  const unique: FeedItem[] = [];
  const keys = new Set<string>();
  for (const raw of parsed.items) {
    if (!raw.key || keys.has(raw.key)) continue;
    keys.add(raw.key);
    const { item, clamped } = clampDates(raw, now, nowIso);
    if (clamped) result.clamped++;
    unique.push(item);
    if (slicer.spent()) await slicer.pause();
  }
  result.items = unique.length;
  // One query per few hundred keys: a 15,000-item document is checked in a few dozen round trips, not 15,000.
  const known = await storage.feeds.knownKeys(feed.id, [...keys, ...(parsed.skipped ?? []).flatMap((s) => (s.key && !keys.has(s.key) ? [s.key] : []))]);
  const fresh: FeedItem[] = [];
  for (const item of unique) {
    if (!known.has(item.key)) fresh.push(item);
    if (slicer.spent()) await slicer.pause();
  }
  result.fresh = fresh.length;

  // Unreadable items: their keys (when readable) are recorded so each is logged once, not at every poll.
  const unreadableKeys: string[] = [];
  for (const s of parsed.skipped ?? []) {
    const fresher = !s.key || (!keys.has(s.key) && !known.has(s.key));
    if (!fresher) continue;
    if (s.key) {
      keys.add(s.key);
      unreadableKeys.push(s.key);
    }
    skippedBy.unreadable += s.count ?? 1;
    if (skippedBy.unreadable <= 10) logger?.warn({ feed: redactUrl(feed.url), key: s.key, reason: s.reason }, `feed ${label}: item skipped, unreadable`);
  }

  // Which new items are stored: those dated inside the retention window, newest first, at most maxItemsPerPoll.
  const cutoffIso = new Date(now - bounds.retentionDays * DAY_MS).toISOString();
  const inWindow = (i: FeedItem) => {
    const d = dateOf(i);
    return d === undefined || d >= cutoffIso;
  };
  const old = fresh.filter((i) => !inWindow(i));
  const ordered = newestFirst(fresh.filter(inWindow));
  await slicer.pause();
  const cap = Math.max(0, bounds.maxItemsPerPoll);
  // Over the cap: a backlog (polls fell behind a busy feed) is taken over the next polls; a flood keeps the newest.
  const backlog = !seeding && ordered.length > cap ? backlogSplit(ordered, cap, await storage.posts.newestPublished(feed.id)) : undefined;
  const kept = backlog ? backlog.now : ordered.slice(0, cap);
  const overLimit = backlog ? [] : ordered.slice(kept.length);
  result.deferred = backlog?.later.length ?? 0;
  if (backlog) {
    logger?.info(
      { feed: redactUrl(feed.url), fresh: fresh.length, stored: kept.length, deferred: result.deferred },
      `feed ${label}: ${result.deferred} new items over the limit of ${bounds.maxItemsPerPoll} per poll, all published since the newest post, left for the next polls`,
    );
  }
  skippedBy.old = old.length;
  skippedBy.limit = overLimit.length;
  if (overLimit.length) {
    logger?.warn(
      { feed: redactUrl(feed.url), fresh: fresh.length, stored: kept.length, skipped: overLimit.length },
      `feed ${label}: ${overLimit.length} new items over the limit of ${bounds.maxItemsPerPoll} per poll skipped (FEED_MAX_ITEMS_PER_POLL)`,
    );
  }
  if (old.length) logger?.info({ feed: redactUrl(feed.url), skipped: old.length }, `feed ${label}: ${old.length} new items older than ${bounds.retentionDays} days skipped`);

  // A first poll alerts the newest `backfill` items of the document: chosen from the whole document, not only from
  // what is still unseen, so a first poll interrupted by a crash and run again picks the same ones.
  const alertKeys = seeding
    ? new Set(newestFirst(unique.filter(inWindow)).slice(0, Math.max(0, deps.backfill)).map((i) => i.key))
    : new Set(kept.map((i) => i.key));

  // Skipped keys first, so that after a crash the next poll stores the same newest items.
  const skippedKeys = [...overLimit.map((i) => i.key), ...old.map((i) => i.key), ...unreadableKeys];
  for (let at = 0; at < skippedKeys.length; at += SKIPPED_KEYS_PER_SLICE) {
    const chunk = skippedKeys.slice(at, at + SKIPPED_KEYS_PER_SLICE);
    await storage.db.transaction(async () => {
      await storage.feeds.insertItems(feed.id, chunk.map((key) => ({ key, postId: null })), now);
      await storage.feeds.update(feed.id, { addItemsSeen: chunk.length, addItemsSkipped: chunk.length });
    });
    await slicer.pause();
  }

  // Only subscriptions whose tenant sees this feed, with filters compiled once (not at every poll).
  const filters = await subscriptionFilters(storage, feed.id, logger);
  const today = Math.floor(now / DAY_MS);
  // What one stored item costs the event loop in all (its record validated and written, then indexed after the commit,
  // which the loop's own clock does not see): a slice takes only as many items as fit in its budget. Time spent
  // waiting for the database is not counted: on PostgreSQL it is network time, when answers run, and counting it made
  // slices of a few items, each paying its round trips again.
  let perItemMs = 0.5;
  for (let at = 0; at < kept.length; ) {
    // Per slice: incidents read here are read again in the next slice, so coverage another feed attached meanwhile
    // is never overwritten.
    const changed = new Map<string, Incident>();
    const created = new Set<string>();
    let queued = 0;
    let storyPosts: StoryPost[] = [];
    const sliceStart = performance.eventLoopUtilization();
    const start = at;
    const most = Math.max(1, Math.floor(deps.sliceMs / perItemMs));
    await storage.db.transaction(async () => {
      let invalid = 0;
      // Reads and writes go in batches: on PostgreSQL each statement is a network round trip, so a slice asks once
      // for the links and privacy it may need and writes its posts, keys and alerts in a few multi-row statements.
      const operatorFeed = await storage.tenants.isOperatorFeed(feed.id);
      const chunk = kept.slice(at, at + most);
      const linked = await storage.posts.incidentsByUrlKeysElsewhere(chunk.flatMap((i) => (urlKey(httpLink(i.link)) ?? '').match(/^.*[/?].*$/) ?? []), feed.id, operatorFeed);
      const known = new Set([...linked.values(), ...chunk.flatMap((i) => deps.links.find(urlKey(httpLink(i.link)) ?? '') ?? [])]);
      const privateOf = operatorFeed ? await storage.tenants.privateFeedsOf([...known]) : new Map<string, number>();
      const mayAttach = async (id: string) => {
        if (!operatorFeed) return false;
        // Records made in this slice are the feed's own; others found only through a story are asked for one by one.
        if (!known.has(id) && !created.has(id)) {
          const feedOf = await storage.tenants.privateFeedOf(id);
          if (feedOf !== undefined) privateOf.set(id, feedOf);
          known.add(id);
        }
        return !privateOf.has(id);
      };
      const posts: PostRow[] = [];
      const itemKeys: { key: string; postId: string | null }[] = [];
      const alerts: OutboxInput[] = [];
      do {
        const item = kept[at]!;
        const postId = postIdFor(feed.url, item.key);
        const link = httpLink(item.link);
        const key = urlKey(link);
        const published = dateOf(item);
        const day = dayOf(published) ?? today;
        const summary = item.summary.trim() || item.title;
        const tags = cleanTags(tag, item.categories);
        const source: Source = { url: link, title: item.title.slice(0, INCIDENT_BOUNDS.sourceTitle), publisher: label.slice(0, INCIDENT_BOUNDS.publisher), published: published?.slice(0, 10) };

        // Known incident? Same link first (the very article), then the same story told again. A link names one article
        // only across feeds and below a site's home page: within one feed, items with distinct ids may share a link
        // (podcast episodes pointing at the show, advisories at one index page).
        let incidentId: string | undefined;
        let sameArticle = false;
        if (key && /[/?]/.test(key)) {
          incidentId = linked.get(key) ?? deps.links.find(key);
          sameArticle = incidentId !== undefined;
        }
        const story = storyKey(item.title);
        incidentId ??= deps.stories.find(story, day, feed.id);
        // Tenancy: a private feed's post joins no record, and a public post never joins a private record.
        if (incidentId && !(await mayAttach(incidentId))) [incidentId, sameArticle] = [undefined, false];
        const existing = incidentId ? (changed.get(incidentId) ?? await storage.incidents.get(incidentId) ?? deps.service?.get(incidentId)) : undefined;

        let incident: Incident;
        if (existing) {
          // A post never rewrites a record it does not own (a curated or imported record, another feed's story): at
          // most it adds its link as one more source. Title, text, tags and entities stay as they are.
          const hasLink = key !== undefined && existing.sources.some((s) => urlKey(s.url) === key);
          sameArticle ||= hasLink;
          incident = existing;
          if (!hasLink && link && existing.sources.length < INCIDENT_BOUNDS.sources && SourceSchema.safeParse(source).success) {
            incident = { ...existing, sources: [...existing.sources, source] };
            changed.set(existing.id, incident);
          }
          result.attached.push({ postId, incidentId: existing.id });
        } else {
          const valid = validIncident(
            {
              id: postId,
              kind: 'incident',
              title: item.title,
              date: published ? { value: published.slice(0, 10), precision: 'day' } : { value: nowIso.slice(0, 10), precision: 'day' },
              summary,
              sources: [source],
              tags,
              entities: { actors: [], victims: [], software: [], cves: cvesIn(`${item.title} ${summary}`), countries: [] },
            },
            `${redactUrl(feed.url)} item ${item.key}`,
          );
          if (!valid) {
            logger?.warn({ feed: redactUrl(feed.url), key: item.key }, `feed ${label}: item skipped, no valid record can be built from it`);
            itemKeys.push({ key: item.key, postId: null });
            invalid++;
            continue;
          }
          incident = valid;
          changed.set(incident.id, incident);
          created.add(incident.id);
          result.newIncidents.push(incident.id);
          // Indexed at once so a later item of this document can attach to it (a rolled-back entry only costs a lookup miss).
          deps.stories.add(incident.id, story, day, [], feed.id);
        }

        const post: PostRow = {
          id: postId,
          feedId: feed.id,
          incidentId: incident.id,
          url: link ?? null,
          urlKey: key ?? null,
          title: item.title,
          published: published ?? null,
          summary,
          createdAt: now,
        };
        posts.push(post);
        itemKeys.push({ key: item.key, postId });
        // The very same article reached through another feed is no news to the channels.
        if (!alertKeys.has(item.key) || sameArticle) continue;
        const target = prepareTarget({ title: post.title, summary: post.summary, tags: [...new Set([...tags, ...incident.tags])], feedId: feed.id, feedName: label, feedUrl: feed.url });
        for (const [, sub] of channelsMatching(filters, target)) {
          alerts.push({
            subscriptionId: sub.id,
            platform: sub.platform,
            channelId: sub.channelId,
            postId,
            incidentId: incident.id,
            kind: 'alert',
            roleId: sub.roleId,
            nextAttemptAt: now,
            createdAt: now,
          });
        }
      } while (++at < kept.length && at - start < most && !slicer.spent());

      // Posts first: item keys and alerts refer to them.
      await storage.posts.insertMany(posts, operatorFeed);
      storyPosts = posts.filter((p) => p.incidentId !== p.id).map((p) => ({ postId: p.id, incidentId: p.incidentId, title: p.title, url: p.url, published: p.published, createdAt: p.createdAt, summary: p.summary }));
      await storage.feeds.insertItems(feed.id, itemKeys, now);
      queued = await storage.outbox.enqueueMany(alerts);

      if (created.size) await storage.incidents.import([...created].map((id) => changed.get(id)!), { origin: `feed:${feed.id}`, format: 'feed' });
      // An attached incident keeps its origin, so removing its first source's records does not take the others along.
      const byOrigin = new Map<string, Incident[]>();
      const origins = await storage.posts.incidentOrigins([...changed.keys()].filter((id) => !created.has(id)));
      for (const i of changed.values()) {
        if (created.has(i.id)) continue;
        const origin = origins.get(i.id) ?? `feed:${feed.id}`;
        byOrigin.set(origin, [...(byOrigin.get(origin) ?? []), i]);
      }
      for (const [origin, list] of byOrigin) await storage.incidents.import(list, { origin, format: 'feed' });
      await storage.feeds.update(feed.id, { addItemsSeen: at - start, ...(invalid ? { addItemsSkipped: invalid } : {}) });
      skippedBy.invalid += invalid;
    });
    result.queued += queued;
    if (changed.size && deps.service) deps.service.upsert([...changed.values()]);
    // Posts that told a known story made no record: the live index holds them beside it, for lists of what is new.
    if (storyPosts.length) deps.service?.addPosts?.(storyPosts);
    if (queued > 0) deps.onQueued?.(queued);
    perItemMs = (perItemMs + performance.eventLoopUtilization(sliceStart).active / (at - start)) / 2;
    await slicer.pause();
  }

  result.skipped = skippedBy.limit + skippedBy.old + skippedBy.invalid + skippedBy.unreadable;
  const found = result.fresh > 0 || skippedBy.unreadable > 0;
  await storage.feeds.update(feed.id, {
    ...feedUpdate,
    // Items left for the next polls are in this very document: the next poll must read it again, not take a 304 or the
    // same bytes for "nothing new".
    ...(result.deferred ? { etag: null, lastModified: null, bodyHash: null } : {}),
    seeded: true,
    name: feed.name ? undefined : parsed.title?.trim() || undefined,
    ...(found ? { lastSkipped: result.skipped, lastSkipReason: skipReason(skippedBy, bounds) || null } : {}),
    // Unreadable items without a key are not recorded: they are counted at every poll that still carries them.
    ...(skippedBy.unreadable > unreadableKeys.length ? { addItemsSkipped: skippedBy.unreadable - unreadableKeys.length } : {}),
  });

  result.pruned = await pruneSteps(feed.id, deps, now, slicer, keys);
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

import type { Incident } from '../core/incident.js';
import type { IncidentService } from '../core/incident-service.js';
import { redactUrl } from '../core/redact.js';
import { foldText } from '../core/text.js';
import type { Logger } from '../logger.js';
import type { FeedPollUpdate, FeedRow } from '../store/repos/feeds.js';
import type { Storage } from '../store/storage.js';
import { recordSkipped, selectItems } from './ingest-items.js';
import { storeItems } from './ingest-slice.js';
import { DEFAULT_FEED_BOUNDS, skipReason, type FeedBounds, type SkippedCounts } from './post-rules.js';
import { pruneSteps, type PruneResult } from './retention.js';
import { Slicer } from './slices.js';
import { dayOf, LinkIndex, STORY_RETENTION_DAYS, StoryIndex } from './stories.js';
import type { ParsedFeed } from './types.js';

export { postIdFor } from './ingest-slice.js';
export { channelsMatching, compileFilters } from './subscriptions.js';
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
  const label = feedLabel(feed, parsed.title);
  const tag = feedTag(label);
  const seeding = !feed.seeded;
  const { bounds, storage } = deps;
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
  const selection = await selectItems(feed, parsed, deps, label, now, slicer, result);
  // Skipped keys first, so that after a crash the next poll stores the same newest items.
  await recordSkipped(feed.id, selection.skippedKeys, deps, now, slicer);
  await storeItems(selection.kept, { feed, deps, label, tag, now, alertKeys: selection.alertKeys, result }, slicer);

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
    ...(skippedBy.unreadable > selection.unreadableRecorded ? { addItemsSkipped: skippedBy.unreadable - selection.unreadableRecorded } : {}),
  });

  result.pruned = await pruneSteps(feed.id, deps, now, slicer, selection.keys);
  return result;
}

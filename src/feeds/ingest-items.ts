import { redactUrl } from '../core/redact.js';
import type { FeedRow } from '../store/repos/feeds.js';
import type { IngestResult, PipelineDeps } from './pipeline.js';
import { backlogSplit, clampDates, dateOf, newestFirst } from './post-rules.js';
import type { Slicer } from './slices.js';
import type { FeedItem, ParsedFeed } from './types.js';

const DAY_MS = 86_400_000;
/** Skipped item keys recorded per transaction: a few multi-row statements, a few milliseconds on either engine. */
const SKIPPED_KEYS_PER_SLICE = 1_000;

/** Which items of one document are stored and alerted, and which are recorded as seen without being stored. */
export interface ItemSelection {
  /** Every key of the document, readable items and unreadable ones alike (retention keeps them known). */
  keys: Set<string>;
  /** The new items to store now, in the order they are stored. */
  kept: FeedItem[];
  /** Keys of the items alerted when stored. */
  alertKeys: Set<string>;
  /** Keys of new items recorded as seen but never stored (over the limit, too old, unreadable). */
  skippedKeys: string[];
  /** How many of the unreadable items were recorded by key (those without a key are counted at every poll). */
  unreadableRecorded: number;
}

/**
 * Returns which items of a parsed document are new and which of them are stored, alerted or skipped, filling the
 * counts of `result` (items, fresh, clamped, deferred, skippedBy) and logging what is skipped.
 */
export async function selectItems(feed: FeedRow, parsed: ParsedFeed, deps: PipelineDeps, label: string, now: number, slicer: Slicer, result: IngestResult): Promise<ItemSelection> {
  const nowIso = new Date(now).toISOString();
  const seeding = !feed.seeded;
  const { bounds, storage, logger } = deps;
  const skippedBy = result.skippedBy;
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
  const skippedKeys = [...overLimit.map((i) => i.key), ...old.map((i) => i.key), ...unreadableKeys];
  return { keys, kept, alertKeys, skippedKeys, unreadableRecorded: unreadableKeys.length };
}

/** Records skipped item keys as seen (with no post), a bounded number per transaction; resolves once all are in. */
export async function recordSkipped(feedId: number, skippedKeys: readonly string[], deps: PipelineDeps, now: number, slicer: Slicer): Promise<void> {
  const { storage } = deps;
  for (let at = 0; at < skippedKeys.length; at += SKIPPED_KEYS_PER_SLICE) {
    const chunk = skippedKeys.slice(at, at + SKIPPED_KEYS_PER_SLICE);
    await storage.db.transaction(async () => {
      await storage.feeds.insertItems(feedId, chunk.map((key) => ({ key, postId: null })), now);
      await storage.feeds.update(feedId, { addItemsSeen: chunk.length, addItemsSkipped: chunk.length });
    });
    await slicer.pause();
  }
}

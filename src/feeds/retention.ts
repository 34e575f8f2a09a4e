import type { PipelineDeps } from './pipeline.js';
import { Slicer } from './slices.js';

const DAY_MS = 86_400_000;
/** Posts listed per pruning query (each query ranks the feed's posts once). */
const PRUNE_BATCH = 2_000;
/**
 * Item keys recorded without a post (skipped items, pruned posts) kept per feed beyond those in the current document.
 * A key is what tells a re-listed item from a new one; keys in the document are always kept.
 */
export const MAX_SKIPPED_KEYS = 10_000;

/** What one pruning removed. */
export interface PruneResult {
  posts: number;
  /** Feed-created incidents removed with their last post (from the store, the live index and the story index). */
  incidents: number;
  /** Item keys forgotten. */
  keys: number;
}

/**
 * Prunes one feed in slices: posts past FEED_RETENTION_DAYS or beyond FEED_MAX_POSTS_PER_FEED (oldest first, never one
 * an alert still waits for), the incidents only they told, and item keys without a post that are old or too many.
 * Keys of `documentKeys` (the items the feed lists now) are always kept, so pruning never makes a listed item look
 * new again; an item that comes back later is still never alerted when its date is older than the retention.
 */
export async function pruneSteps(feedId: number, deps: PipelineDeps, now: number, slicer: Slicer, documentKeys?: ReadonlySet<string>): Promise<PruneResult> {
  const { storage, bounds } = deps;
  const cutoffMs = now - bounds.retentionDays * DAY_MS;
  const cutoffIso = new Date(cutoffMs).toISOString();
  const result: PruneResult = { posts: 0, incidents: 0, keys: 0 };
  const removed = new Set<string>();

  for (;;) {
    const batch = await storage.posts.prunable(feedId, cutoffIso, bounds.maxPostsPerFeed, PRUNE_BATCH);
    let pruned = 0;
    for (let at = 0; at < batch.length; ) {
      const gone: string[] = [];
      const posts: string[] = [];
      await storage.db.transaction(async () => {
        do {
          const r = await storage.posts.prune(batch[at]!.id);
          if (r.pruned) {
            pruned++;
            posts.push(batch[at]!.id);
          }
          if (r.incidentId) gone.push(r.incidentId);
        } while (++at < batch.length && !slicer.spent());
      });
      // The live index forgets the records only these posts told, and the posts it held beside the stories they told.
      if (gone.length || posts.length) deps.service?.remove([...gone, ...posts]);
      for (const id of gone) removed.add(id);
      await slicer.pause();
    }
    result.posts += pruned;
    // A short batch was the last; a batch where nothing could go (alerts became pending meanwhile) ends it too.
    if (batch.length < PRUNE_BATCH || pruned === 0) break;
  }
  if (removed.size) {
    deps.stories.remove(removed);
    result.incidents = removed.size;
  }

  if (documentKeys) {
    const before = await storage.feeds.keyPruneCutoff(feedId, cutoffMs, MAX_SKIPPED_KEYS);
    let offset = 0;
    for (;;) {
      const page = await storage.feeds.unlinkedKeysBefore(feedId, before, PRUNE_BATCH, offset);
      for (let at = 0; at < page.length; ) {
        await storage.db.transaction(async () => {
          do {
            const k = page[at]!;
            if (documentKeys.has(k)) offset++;
            else if (await storage.feeds.deleteItemKey(feedId, k)) result.keys++;
          } while (++at < page.length && !slicer.spent());
        });
        await slicer.pause();
      }
      if (page.length < PRUNE_BATCH) break;
    }
  }
  if (result.posts || result.keys) {
    deps.logger?.info({ feedId, ...result }, 'feed pruned: posts past the retention or the cap, and old item keys');
  }
  return result;
}

/** Returns what pruneSteps returns, yielding to the event loop between slices (the poller's periodic sweep). */
export function pruneFeed(feedId: number, deps: PipelineDeps): Promise<PruneResult> {
  return pruneSteps(feedId, deps, deps.now(), new Slicer(deps.sliceMs, true));
}

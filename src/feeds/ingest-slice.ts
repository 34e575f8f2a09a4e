import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { INCIDENT_BOUNDS, SourceSchema, type Incident, type Source } from '../core/incident.js';
import type { StoryPost } from '../core/relations.js';
import { redactUrl } from '../core/redact.js';
import type { FeedRow } from '../store/repos/feeds.js';
import type { OutboxInput } from '../store/repos/outbox.js';
import type { PostRow } from '../store/repos/posts.js';
import { prepareTarget } from './match.js';
import type { IngestResult, PipelineDeps } from './pipeline.js';
import { cleanTags, cvesIn, dateOf, httpLink, validIncident } from './post-rules.js';
import type { Slicer } from './slices.js';
import { dayOf, storyKey, urlKey } from './stories.js';
import { channelsMatching, subscriptionFilters, type SubscriptionFilter } from './subscriptions.js';
import type { FeedItem } from './types.js';

const DAY_MS = 86_400_000;

/** Returns the id of a feed item's post: a short hash of the feed URL and the item key (stable across restarts). */
export function postIdFor(feedUrl: string, key: string): string {
  return `post:${createHash('sha256').update(`${feedUrl}\n${key}`).digest('hex').slice(0, 16)}`;
}

/** What storing the items of one document needs besides the pipeline: the feed, its label and tag, the clock, what to alert. */
export interface StoreContext {
  feed: FeedRow;
  deps: PipelineDeps;
  /** The feed's display label (feedLabel) and its `feed:` tag (feedTag). */
  label: string;
  tag: string;
  /** The ingest's clock reading (epoch milliseconds), the same for every item. */
  now: number;
  /** Keys of the items alerted when stored. */
  alertKeys: Set<string>;
  /** Filled as items are stored: new and attached records, queued alerts, invalid items. */
  result: IngestResult;
}

/** What one committed slice changed: records new or given a source, posts that told a known story, alerts queued. */
interface SliceOutcome {
  /** Index in `kept` of the first item the slice did not take. */
  end: number;
  changed: Map<string, Incident>;
  storyPosts: StoryPost[];
  queued: number;
}

/**
 * Stores `kept` (posts, new or attached records, item keys, alerts) in slices of about `deps.sliceMs`, each one
 * transaction; after each commit the live index takes the changed records and the outbox worker is woken.
 */
export async function storeItems(kept: readonly FeedItem[], ctx: StoreContext, slicer: Slicer): Promise<void> {
  const { feed, deps } = ctx;
  // Only subscriptions whose tenant sees this feed, with filters compiled once (not at every poll).
  const filters = await subscriptionFilters(deps.storage, feed.id, deps.logger);
  // What one stored item costs the event loop in all (its record validated and written, then indexed after the commit,
  // which the loop's own clock does not see): a slice takes only as many items as fit in its budget. Time spent
  // waiting for the database is not counted: on PostgreSQL it is network time, when answers run, and counting it made
  // slices of a few items, each paying its round trips again.
  let perItemMs = 0.5;
  for (let at = 0; at < kept.length; ) {
    const sliceStart = performance.eventLoopUtilization();
    const start = at;
    const most = Math.max(1, Math.floor(deps.sliceMs / perItemMs));
    const { end, changed, storyPosts, queued } = await storeSlice(kept, start, most, filters, ctx, slicer);
    at = end;
    ctx.result.queued += queued;
    if (changed.size && deps.service) deps.service.upsert([...changed.values()]);
    // Posts that told a known story made no record: the live index holds them beside it, for lists of what is new.
    if (storyPosts.length) deps.service?.addPosts?.(storyPosts);
    if (queued > 0) deps.onQueued?.(queued);
    perItemMs = (perItemMs + performance.eventLoopUtilization(sliceStart).active / (at - start)) / 2;
    await slicer.pause();
  }
}

/** Stores items of `kept` from `start` in one transaction, at most `most` and until the slice's time is spent. */
async function storeSlice(kept: readonly FeedItem[], start: number, most: number, filters: readonly SubscriptionFilter[], ctx: StoreContext, slicer: Slicer): Promise<SliceOutcome> {
  const { feed, deps, label, tag, now, alertKeys, result } = ctx;
  const { storage, logger } = deps;
  const nowIso = new Date(now).toISOString();
  const today = Math.floor(now / DAY_MS);
  // Per slice: incidents read here are read again in the next slice, so coverage another feed attached meanwhile
  // is never overwritten.
  const changed = new Map<string, Incident>();
  const created = new Set<string>();
  let queued = 0;
  let storyPosts: StoryPost[] = [];
  let at = start;
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
      alerts.push(...alertsFor(post, [...new Set([...tags, ...incident.tags])], filters, ctx));
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
    result.skippedBy.invalid += invalid;
  });
  return { end: at, changed, storyPosts, queued };
}

/** Returns the outbox rows alerting a stored post: one per channel whose subscriptions' filters match it. */
function alertsFor(post: PostRow, tags: string[], filters: readonly SubscriptionFilter[], ctx: StoreContext): OutboxInput[] {
  const { feed, label, now } = ctx;
  const target = prepareTarget({ title: post.title, summary: post.summary, tags, feedId: feed.id, feedName: label, feedUrl: feed.url });
  const alerts: OutboxInput[] = [];
  for (const [, sub] of channelsMatching(filters, target)) {
    alerts.push({
      subscriptionId: sub.id,
      platform: sub.platform,
      channelId: sub.channelId,
      postId: post.id,
      incidentId: post.incidentId,
      kind: 'alert',
      roleId: sub.roleId,
      nextAttemptAt: now,
      createdAt: now,
    });
  }
  return alerts;
}

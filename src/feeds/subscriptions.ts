import type { Subscription } from '../core/feed-model.js';
import { compactName } from '../core/text.js';
import type { Logger } from '../logger.js';
import type { Storage } from '../store/storage.js';
import { feedNameMatches, matchesFilter, parseFilter, type ParsedFilter, type prepareTarget } from './match.js';

/** A subscription with its filter, ready to match posts of one feed. */
export interface SubscriptionFilter {
  sub: Subscription;
  filter: ParsedFilter;
}

interface Compiled {
  text: string;
  filter: ParsedFilter | null;
}

/** Compiled filters by subscription id, per store: a filter is parsed once, not at every poll. */
const caches = new WeakMap<Storage, Map<number, Compiled>>();
/** Past this many cached filters (removed subscriptions pile up), the cache starts over. */
const MAX_CACHED = 20_000;

/** Returns a subscription's filter, parsed once per filter text; null (logged once) when a stored filter no longer parses. */
export function compiledFilter(storage: Storage, sub: Subscription, logger?: Logger): ParsedFilter | null {
  let cache = caches.get(storage);
  if (!cache) caches.set(storage, (cache = new Map()));
  const hit = cache.get(sub.id);
  if (hit && hit.text === sub.filter) return hit.filter;
  if (cache.size >= MAX_CACHED) cache.clear();
  let filter: ParsedFilter | null = null;
  try {
    // Filters saved before the term limits are matched as saved: each term is one lookup, and 300 characters bound them.
    filter = parseFilter(sub.filter, { stored: true });
  } catch (err) {
    logger?.warn({ subscription: sub.id, filter: sub.filter, err: (err as Error).message }, 'subscription filter skipped');
  }
  cache.set(sub.id, { text: sub.filter, filter });
  return filter;
}

/**
 * Returns the subscriptions that may hear about posts of this feed, each with its filter: only those whose tenant
 * sees the feed (every tenant for an operator feed, else the feed's owners), and whose `feed:` terms name this feed
 * as that tenant knows it. The `feed:` part is settled here, so matching a post checks only its words and tags.
 */
export async function subscriptionFilters(storage: Storage, feedId: number, logger?: Logger): Promise<SubscriptionFilter[]> {
  const feed = await storage.feeds.get(feedId);
  if (!feed) return [];
  const ownerNames = new Map((await storage.tenants.ownersOf(feedId)).map((o) => [o.tenant, o.name]));
  let host = '';
  try {
    host = new URL(feed.url).hostname.replace(/^www\./, '');
  } catch {
    host = '';
  }
  const keysFor = (tenant: string): string[] =>
    [feed.name, ownerNames.get(tenant), feed.name ? undefined : host].filter((n): n is string => Boolean(n?.trim())).map(compactName);
  const out: SubscriptionFilter[] = [];
  for (const sub of await storage.subscriptions.seeing(feedId)) {
    const filter = compiledFilter(storage, sub, logger);
    if (!filter) continue;
    if (filter.feeds.length === 0) {
      out.push({ sub, filter });
      continue;
    }
    const keys = keysFor(sub.tenant);
    if (!filter.feeds.some((f) => feedNameMatches(f, { feedId, keys }))) continue;
    out.push({ sub, filter: { ...filter, feeds: [] } });
  }
  return out;
}

/** Returns each subscription with its parsed filter; a stored filter that no longer parses is logged and skipped. */
export function compileFilters(subs: readonly Subscription[], logger?: Logger): SubscriptionFilter[] {
  const out: SubscriptionFilter[] = [];
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
export function channelsMatching(filters: readonly SubscriptionFilter[], target: ReturnType<typeof prepareTarget>): Map<string, Subscription> {
  const out = new Map<string, Subscription>();
  for (const { sub, filter } of filters) {
    if (!matchesFilter(filter, target)) continue;
    const k = `${sub.platform}\u0000${sub.channelId}`;
    const current = out.get(k);
    if (!current || (!current.roleId && sub.roleId)) out.set(k, sub);
  }
  return out;
}

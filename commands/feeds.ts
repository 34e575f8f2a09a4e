import type { FeedStatus } from '../src/feeds/types.js';
import { FEEDS_DISABLED, refuseManagement, typed } from './alerts.js';
import type { Command, CommandContext, Reply } from './types.js';

/** Subcommands that change the feed list: only channel managers may run them (list and status are for everyone). */
export const FEEDS_MANAGED_SUBCOMMANDS: ReadonlySet<string> = new Set(['add', 'remove']);

/** Most feeds one reply shows: a chat message stays readable (and within Discord's 4096 and Slack's 3000 characters). */
export const MAX_FEEDS_SHOWN = 15;

/** Longest feed name accepted from chat. */
const MAX_NAME_LENGTH = 100;

/** Returns an ISO date as "2026-11-25 12:48 UTC", or "never" / the raw text when it is absent or not a date. */
export function shortDate(iso: string | undefined): string {
  if (!iso) return 'never';
  const t = Date.parse(iso);
  return Number.isNaN(t) ? iso : `${new Date(t).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

function feedName(feed: FeedStatus): string {
  return feed.name?.trim() || hostOf(feed.url);
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}

function moreLine(shown: number, total: number, cli: 'list' | 'status'): string[] {
  return total > shown ? [`…and ${total - shown} more (all of them: npm run cli -- feeds ${cli}).`] : [];
}

/** Returns a feed as one list line: id, name, URL, and a failing mark. */
export function feedLine(feed: FeedStatus): string {
  return `#${feed.id} ${feedName(feed)} — ${feed.url}${feed.failing ? ' (failing)' : ''}`;
}

/** Returns a feed's status as two lines: name and URL, then last success, next poll, items seen and the 304 rate. */
export function feedStatusLines(feed: FeedStatus): string[] {
  const rate = feed.polls > 0 ? `${Math.round(feed.notModifiedRate * 100)}% not modified` : 'not polled yet';
  const details = [`last success ${shortDate(feed.lastSuccessAt)}`, `next poll ${shortDate(feed.nextPollAt)}`, `${feed.itemsSeen} items seen`, `${feed.polls} polls, ${rate}`];
  const head = `#${feed.id} ${feedName(feed)} — ${feed.url}`;
  const lines = [head, `   ${details.join(' · ')}`];
  if (feed.itemsSkipped) lines.push(`   skipped, not stored: ${feed.lastSkipped ?? 0} new items in the last poll${feed.lastSkipReason ? ` (${feed.lastSkipReason})` : ''}, ${feed.itemsSkipped} in all`);
  if (feed.lastError) {
    const state = feed.failing ? `FAILING after ${feed.consecutiveFailures} failures` : `${feed.consecutiveFailures} failure${feed.consecutiveFailures === 1 ? '' : 's'} in a row`;
    // Feed errors can quote what a server sent: one line, bounded.
    const error = feed.lastError.replace(/\s+/g, ' ').slice(0, 200);
    lines.push(`   ${feed.consecutiveFailures > 0 ? state + ': ' : 'last error: '}${error} (${shortDate(feed.lastErrorAt)})`);
  }
  return lines;
}

/** Returns the URL when it is an absolute http(s) URL, else undefined (the SSRF checks are the service's). */
function httpUrl(text: string): string | undefined {
  try {
    const url = new URL(text);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : undefined;
  } catch {
    return undefined;
  }
}

async function add(input: { options: Record<string, unknown> }, ctx: CommandContext): Promise<Reply> {
  const raw = String(input.options.url ?? '').trim().replace(/^<(.*)>$/, '$1');
  if (!raw) return { type: 'error', message: `Give the feed's URL, e.g. ${typed(ctx, 'feeds add https://www.cisa.gov/cybersecurity-advisories/all.xml CISA')}.` };
  const url = httpUrl(raw);
  if (!url) return { type: 'error', message: `Feed URLs must be absolute http(s) URLs, e.g. https://example.com/feed.xml (got "${raw.slice(0, 200)}").` };
  const name = String(input.options.name ?? '').replace(/\s+/g, ' ').trim();
  if (name.length > MAX_NAME_LENGTH) return { type: 'error', message: `Keep the feed name under ${MAX_NAME_LENGTH} characters.` };
  if (ctx.alerts!.listFeeds().some((f) => f.url === url)) return { type: 'error', message: `That feed is already watched; ${typed(ctx, 'feeds list')} shows it.` };
  let feed: FeedStatus;
  try {
    feed = await ctx.alerts!.addFeed({ url, ...(name ? { name } : {}) });
  } catch (error) {
    // The service's message says what is wrong (not a feed, private address, unreachable...).
    return { type: 'error', message: `Could not add ${url}: ${error instanceof Error ? error.message : String(error)}` };
  }
  return {
    type: 'message',
    title: `Watching feed #${feed.id}`,
    lines: [
      feedLine(feed),
      'Its first poll only records what is there now; alerts start with the posts published after it.',
      `Stop with ${typed(ctx, `feeds remove ${feed.id}`)}.`,
    ],
  };
}

function remove(input: { options: Record<string, unknown> }, ctx: CommandContext): Reply {
  const target = String(input.options.target ?? '').trim().replace(/^<(.*)>$/, '$1').replace(/^#(?=\d+$)/, '');
  if (!target) return { type: 'error', message: `Give the feed's id or URL, e.g. ${typed(ctx, 'feeds remove 3')}.` };
  const feed = ctx.alerts!.listFeeds().find((f) => String(f.id) === target || f.url === target);
  if (!ctx.alerts!.removeFeed(target)) return { type: 'error', message: `No feed ${/^\d+$/.test(target) ? `#${target}` : target.slice(0, 200)}; ${typed(ctx, 'feeds list')} shows them.` };
  return { type: 'message', title: 'Feed removed', lines: [feed ? `No longer watching ${feedLine(feed)}.` : `No longer watching ${target}.`] };
}

function list(ctx: CommandContext): Reply {
  const feeds = ctx.alerts!.listFeeds();
  if (feeds.length === 0) return { type: 'message', title: 'No feeds watched', lines: [`Add one with ${typed(ctx, 'feeds add <url> [name]')}.`] };
  const shown = feeds.slice(0, MAX_FEEDS_SHOWN);
  return { type: 'message', title: `Watched feeds (${feeds.length})`, lines: [...shown.map(feedLine), ...moreLine(shown.length, feeds.length, 'list')] };
}

function status(ctx: CommandContext): Reply {
  const feeds = ctx.alerts!.listFeeds();
  if (feeds.length === 0) return { type: 'message', title: 'No feeds watched', lines: [`Add one with ${typed(ctx, 'feeds add <url> [name]')}.`] };
  // Failing feeds first: they are what someone running status wants to see.
  const ordered = [...feeds].sort((a, b) => Number(b.failing) - Number(a.failing) || b.consecutiveFailures - a.consecutiveFailures || a.id - b.id);
  const shown = ordered.slice(0, MAX_FEEDS_SHOWN);
  const failing = feeds.filter((f) => f.failing).length;
  const title = `Feed status: ${feeds.length} feed${feeds.length === 1 ? '' : 's'}${failing ? `, ${failing} failing` : ', all healthy'}`;
  return { type: 'message', title, lines: [...shown.flatMap(feedStatusLines), ...moreLine(shown.length, feeds.length, 'status')] };
}

/** `feeds list|status|add|remove`: the watched security-news feeds; adding and removing is for channel managers. */
export default {
  definition: {
    name: 'feeds',
    description: 'The security-news feeds the bot watches: list, status, add, remove',
    usage: 'feeds list | feeds status | feeds add <url> [name] | feeds remove <id|url>',
    help: [
      'feeds list: the watched feeds. feeds status: last success, last error, next poll, items seen, 304 rate.',
      'feeds add <url> [name] and feeds remove <id|url>: channel managers only; the list is shared by every channel.',
      'Examples: feeds add https://www.bleepingcomputer.com/feed/ BleepingComputer · feeds remove 3 · feeds status',
    ].join('\n'),
    // list comes first: routeText falls back to the first subcommand.
    subcommands: [
      { name: 'list', description: 'The watched feeds', usage: 'feeds list', options: [] },
      { name: 'status', description: 'Per feed: last success and error, next poll, items seen, 304 rate', usage: 'feeds status', options: [] },
      {
        name: 'add',
        description: 'Watch a feed (channel managers)',
        usage: 'feeds add <url> [name]',
        options: [
          { name: 'url', description: 'The feed URL (RSS, Atom, RDF or JSON Feed), http(s)', type: 'string', required: true },
          { name: 'name', description: 'A short name, used in alerts and feed: filters', type: 'string' },
        ],
      },
      {
        name: 'remove',
        description: 'Stop watching a feed (channel managers)',
        usage: 'feeds remove <id|url>',
        options: [{ name: 'target', description: 'Feed id from /feeds list, or its URL', type: 'string', required: true }],
      },
    ],
  },
  async handle(input, ctx) {
    const sub = input.subcommand ?? 'list';
    if (FEEDS_MANAGED_SUBCOMMANDS.has(sub)) {
      const refused = refuseManagement(ctx, 'Feeds');
      if (refused) return refused;
      return sub === 'add' ? add(input, ctx) : remove(input, ctx);
    }
    if (!ctx.alerts) return { type: 'error', message: FEEDS_DISABLED };
    if (sub === 'list') return list(ctx);
    if (sub === 'status') return status(ctx);
    return { type: 'error', message: `Use ${typed(ctx, 'feeds list')}, ${typed(ctx, 'feeds status')}, ${typed(ctx, 'feeds add <url> [name]')} or ${typed(ctx, 'feeds remove <id|url>')}.` };
  },
} satisfies Command;

import { OPERATOR_TENANT, type FeedStatus } from '../src/core/feed-model.js';
import { redactText, redactUrl } from '../src/core/redact.js';
import { FEEDS_DISABLED, actorOf, refuseManagement, refuseTooFast, typed } from './alerts.js';
import type { Command, CommandContext, CommandInput, Reply } from './types.js';

/** Subcommands that change the feed list: only the tenant's managers may run them (list and status are for everyone). */
export const FEEDS_MANAGED_SUBCOMMANDS: ReadonlySet<string> = new Set(['add', 'remove']);

/** Most feeds one chat reply shows: a message stays readable (and within Discord's 4096 and Slack's 3000 characters). */
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

function moreLine(ctx: CommandContext, shown: number, total: number, cli: 'list' | 'status'): string[] {
  if (total <= shown) return [];
  return [ctx.channel?.tenant === OPERATOR_TENANT ? `…and ${total - shown} more (all of them: npm run cli -- feeds ${cli}).` : `…and ${total - shown} more.`];
}

/** Returns where a feed comes from, as the viewer should read it: an operator feed, or who added it for the tenant. */
function origin(feed: FeedStatus, viewer: string | undefined): string {
  if (feed.scope === 'operator') {
    if (viewer === OPERATOR_TENANT) return feed.source === 'file' ? 'FEEDS_FILE' : `operator${feed.tenants?.length ? `, also ${feed.tenants.join(', ')}` : ''}`;
    return 'operator feed, for everyone';
  }
  const by = feed.addedBy ? `added by ${feed.addedBy}` : 'added';
  const when = feed.addedAt ? ` on ${feed.addedAt.slice(0, 10)}` : '';
  if (viewer === OPERATOR_TENANT) return `${feed.tenants?.join(', ') ?? 'no tenant'}: ${by}${when}`;
  return `${by}${when}`;
}

/** Returns a feed as one list line: id, name, redacted URL, where it comes from, and a failing mark. */
export function feedLine(feed: FeedStatus, viewer?: string): string {
  return `#${feed.id} ${feedName(feed)} — ${redactUrl(feed.url)} · ${origin(feed, viewer)}${feed.failing ? ' (failing)' : ''}`;
}

/** Returns a feed's status as two lines: name and URL, then last success, next poll, items seen and the 304 rate. */
export function feedStatusLines(feed: FeedStatus): string[] {
  const rate = feed.polls > 0 ? `${Math.round(feed.notModifiedRate * 100)}% not modified` : 'not polled yet';
  const details = [`last success ${shortDate(feed.lastSuccessAt)}`, `next poll ${shortDate(feed.nextPollAt)}`, `${feed.itemsSeen} items seen`, `${feed.polls} polls, ${rate}`];
  const head = `#${feed.id} ${feedName(feed)} — ${redactUrl(feed.url)}`;
  const lines = [head, `   ${details.join(' · ')}`];
  if (feed.itemsSkipped) lines.push(`   skipped, not stored: ${feed.lastSkipped ?? 0} new items in the last poll${feed.lastSkipReason ? ` (${feed.lastSkipReason})` : ''}, ${feed.itemsSkipped} in all`);
  if (feed.lastError) {
    const state = feed.failing ? `FAILING after ${feed.consecutiveFailures} failures` : `${feed.consecutiveFailures} failure${feed.consecutiveFailures === 1 ? '' : 's'} in a row`;
    // Feed errors can quote what a server sent, and the URL: one line, bounded, without credentials.
    const error = redactText(feed.lastError).replace(/\s+/g, ' ').slice(0, 200);
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

async function add(input: CommandInput, ctx: CommandContext): Promise<Reply> {
  const raw = String(input.options.url ?? '').trim().replace(/^<(.*)>$/, '$1');
  if (!raw) return { type: 'error', message: `Give the feed's URL, e.g. ${typed(ctx, 'feeds add https://www.cisa.gov/cybersecurity-advisories/all.xml CISA')}.` };
  const url = httpUrl(raw);
  if (!url) return { type: 'error', message: `Feed URLs must be absolute http(s) URLs, e.g. https://example.com/feed.xml (got "${redactText(raw).slice(0, 200)}").` };
  const name = String(input.options.name ?? '').replace(/\s+/g, ' ').trim();
  if (name.length > MAX_NAME_LENGTH) return { type: 'error', message: `Keep the feed name under ${MAX_NAME_LENGTH} characters.` };
  // The poll interval is the operator's to set (CLI `--interval`); chat has no such option.
  const interval = ctx.channel?.tenant === OPERATOR_TENANT && input.options.interval !== undefined ? Number(input.options.interval) : undefined;
  let result;
  try {
    result = await ctx.alerts!.addFeed(actorOf(ctx.channel!), { url, ...(name ? { name } : {}), ...(interval !== undefined ? { intervalSeconds: interval } : {}) });
  } catch (error) {
    // The service says what is wrong (not a feed, private address, an operator feed, a limit...); SSRF errors are plain Errors.
    if (error instanceof Error) return { type: 'error', message: `Could not add ${redactUrl(url)}: ${redactText(error.message)}` };
    throw error;
  }
  const viewer = ctx.channel?.tenant;
  const { feed, outcome } = result;
  if (outcome === 'unchanged') return { type: 'error', message: `That feed is already watched here (#${feed.id}); ${typed(ctx, 'feeds list')} shows it.` };
  if (outcome === 'renamed') return { type: 'message', title: `Renamed feed #${feed.id}`, lines: [feedLine(feed, viewer)] };
  return {
    type: 'message',
    title: `Watching feed #${feed.id}`,
    lines: [
      feedLine(feed, viewer),
      viewer === OPERATOR_TENANT
        ? 'It is an operator feed: every server and workspace gets its posts.'
        : 'Only this server or workspace sees it and gets its posts.',
      'Its first poll only records what is there now; alerts start with the posts published after it.',
      `Stop with ${typed(ctx, `feeds remove ${feed.id}`)}.`,
    ],
  };
}

/** Returns the operator feed an add or remove names (by id or URL), when it names one the caller sees. */
async function operatorFeedNamed(input: CommandInput, ctx: CommandContext): Promise<FeedStatus | undefined> {
  const raw = String(input.options.target ?? input.options.url ?? '').trim().replace(/^<(.*)>$/, '$1').replace(/^#(?=\d+$)/, '');
  if (!raw || !ctx.alerts) return undefined;
  const href = httpUrl(raw);
  return (await ctx.alerts.listFeeds(ctx.channel?.tenant)).find((f) => f.scope === 'operator' && (String(f.id) === raw || f.url === redactUrl(href ?? raw)));
}

/** The refusal for changing an operator feed from chat: it names FEEDS_FILE, where the operator sets it. */
function operatorFeedRefusal(feed: FeedStatus, ctx: CommandContext): Reply {
  return {
    type: 'error',
    message: `#${feed.id} ${feedName(feed)} is an operator feed, watched for every server and workspace: it comes from the bot's FEEDS_FILE and cannot be removed or renamed from chat. Leave it out of a channel's alerts with a filter, e.g. ${typed(ctx, 'alerts subscribe feed:<your feed>')}.`,
  };
}

async function remove(input: CommandInput, ctx: CommandContext): Promise<Reply> {
  const target = String(input.options.target ?? '').trim().replace(/^<(.*)>$/, '$1').replace(/^#(?=\d+$)/, '');
  if (!target) return { type: 'error', message: `Give the feed's id or URL, e.g. ${typed(ctx, 'feeds remove 3')}.` };
  const viewer = ctx.channel?.tenant;
  const result = await ctx.alerts!.removeFeed(actorOf(ctx.channel!), target);
  if (result.status === 'not-found') {
    return { type: 'error', message: `No feed ${/^\d+$/.test(target) ? `#${target}` : redactText(target).slice(0, 200)} here; ${typed(ctx, 'feeds list')} shows them.` };
  }
  if (result.status === 'operator-feed') {
    const feed = result.feed;
    if (viewer === OPERATOR_TENANT) {
      return {
        type: 'error',
        message: `#${feed.id} ${feedName(feed)} is listed in FEEDS_FILE, which is re-read at every start: remove it from that file and restart the bot (to change the bundled list, point FEEDS_FILE at your own copy of data/feeds.json).`,
      };
    }
    return operatorFeedRefusal(feed, ctx);
  }
  const lines = [`No longer watching ${feedLine(result.feed, viewer)}.`];
  if (viewer === OPERATOR_TENANT && result.stillWatched) lines.push('Servers or workspaces that added it themselves still have it.');
  return { type: 'message', title: 'Feed removed', lines };
}

function visibleFeeds(ctx: CommandContext): Promise<FeedStatus[]> {
  return ctx.alerts!.listFeeds(ctx.channel?.tenant);
}

async function list(ctx: CommandContext): Promise<Reply> {
  const feeds = await visibleFeeds(ctx);
  if (feeds.length === 0) return { type: 'message', title: 'No feeds watched', lines: [`Add one with ${typed(ctx, 'feeds add <url> [name]')}.`] };
  const shown = ctx.channel?.platform === 'cli' ? feeds : feeds.slice(0, MAX_FEEDS_SHOWN);
  const viewer = ctx.channel?.tenant;
  return { type: 'message', title: `Watched feeds (${feeds.length})`, lines: [...shown.map((f) => feedLine(f, viewer)), ...moreLine(ctx, shown.length, feeds.length, 'list')] };
}

async function status(ctx: CommandContext): Promise<Reply> {
  const feeds = await visibleFeeds(ctx);
  if (feeds.length === 0) return { type: 'message', title: 'No feeds watched', lines: [`Add one with ${typed(ctx, 'feeds add <url> [name]')}.`] };
  // Failing feeds first: they are what someone running status wants to see.
  const ordered = [...feeds].sort((a, b) => Number(b.failing) - Number(a.failing) || b.consecutiveFailures - a.consecutiveFailures || a.id - b.id);
  const shown = ctx.channel?.platform === 'cli' ? ordered : ordered.slice(0, MAX_FEEDS_SHOWN);
  const failing = feeds.filter((f) => f.failing).length;
  const title = `Feed status: ${feeds.length} feed${feeds.length === 1 ? '' : 's'}${failing ? `, ${failing} failing` : ', all healthy'}`;
  return { type: 'message', title, lines: [...shown.flatMap(feedStatusLines), ...moreLine(ctx, shown.length, feeds.length, 'status')] };
}

/** `feeds list|status|add|remove`: operator feeds and this server's or workspace's own; adding and removing is for its managers. */
export default {
  definition: {
    name: 'feeds',
    description: 'The security-news feeds the bot watches: list, status, add, remove',
    usage: 'feeds list | feeds status | feeds add <url> [name] | feeds remove <id|url>',
    help: [
      'feeds list: the operator\'s feeds (for everyone) and this server\'s or workspace\'s own, with who added them.',
      'feeds status: last success, last error, next poll, items seen, 304 rate.',
      'feeds add <url> [name] and feeds remove <id|url>: server managers (Discord: Manage Server; Slack: workspace admins).',
      'A feed added here is seen only here; operator feeds come from the bot\'s FEEDS_FILE and cannot be changed from chat.',
      'Examples: feeds add https://www.bleepingcomputer.com/feed/ BleepingComputer · feeds remove 3 · feeds status',
    ].join('\n'),
    // list comes first: routeText falls back to the first subcommand.
    subcommands: [
      { name: 'list', description: 'The watched feeds', usage: 'feeds list', options: [] },
      { name: 'status', description: 'Per feed: last success and error, next poll, items seen, 304 rate', usage: 'feeds status', options: [] },
      {
        name: 'add',
        description: 'Watch a feed for this server or workspace (its managers)',
        usage: 'feeds add <url> [name]',
        options: [
          { name: 'url', description: 'The feed URL (RSS, Atom, RDF or JSON Feed), http(s)', type: 'string', required: true },
          { name: 'name', description: 'A short name, used in alerts and feed: filters', type: 'string' },
        ],
      },
      {
        name: 'remove',
        description: 'Stop watching a feed of this server or workspace (its managers)',
        usage: 'feeds remove <id|url>',
        options: [{ name: 'target', description: 'Feed id from /feeds list, or its URL', type: 'string', required: true }],
      },
    ],
  },
  async handle(input, ctx) {
    const sub = input.subcommand ?? 'list';
    if (FEEDS_MANAGED_SUBCOMMANDS.has(sub)) {
      const refused = refuseManagement(ctx, 'feeds');
      if (refused) {
        // Whoever asks, an operator feed is FEEDS_FILE's: say so rather than "ask someone with more rights".
        const operatorFeed = ctx.channel?.tenant !== OPERATOR_TENANT ? await operatorFeedNamed(input, ctx) : undefined;
        return operatorFeed ? operatorFeedRefusal(operatorFeed, ctx) : refused;
      }
      const tooFast = refuseTooFast(ctx);
      if (tooFast) return tooFast;
      return sub === 'add' ? add(input, ctx) : remove(input, ctx);
    }
    if (!ctx.alerts) return { type: 'error', message: FEEDS_DISABLED };
    if (sub === 'list') return list(ctx);
    if (sub === 'status') return status(ctx);
    return { type: 'error', message: `Use ${typed(ctx, 'feeds list')}, ${typed(ctx, 'feeds status')}, ${typed(ctx, 'feeds add <url> [name]')} or ${typed(ctx, 'feeds remove <id|url>')}.` };
  },
} satisfies Command;

import type { Subscription } from '../src/feeds/types.js';
import type { ChannelContext, Command, CommandContext, Reply } from './types.js';

/** What the user sees when the feed watcher is not running (no AlertsService in the context). */
export const FEEDS_DISABLED = 'Feeds are not enabled on this bot.';

/** Longest filter accepted: a filter is a few words and tags, and it is shown back in every `alerts list`. */
export const MAX_FILTER_LENGTH = 300;

/** Most subscriptions one channel may hold: each one is matched against every new post. */
export const MAX_SUBSCRIPTIONS_PER_CHANNEL = 25;

// Filter keys that look like search syntax but make no sense for alerts (an alert is about a post that just
// arrived), or that are near misses of the two keys we take; each gets an explanation instead of silently
// becoming a keyword that never matches.
const DATE_KEYS = new Set(['since', 'until', 'before', 'after', 'date', 'from', 'to', 'year']);
const TAG_MISSES = new Set(['tags', 'tagged', 'category', 'categories', 'label', 'topic']);
const FEED_MISSES = new Set(['feeds', 'source', 'sources', 'site', 'publisher', 'url']);
/** A `key:value` token; URLs (`https://…`) and times (`10:30`) are keywords, not filters. */
const KEY_TOKEN = /^([a-z][a-z_-]*):(.*)$/i;
/** A Discord role mention or bare role id (snowflake), as the role option or typed text gives it. */
const ROLE_TOKEN = /^(?:<@&(\d{17,20})>|(\d{17,20}))$/;

/** The parts of a valid alert filter, or the reason it is not valid. */
export type ParsedAlertFilter = { ok: true; filter: string; keywords: string[]; tags: string[]; feeds: string[] } | { ok: false; error: string };

/**
 * Returns the normalised filter (search syntax: keywords, `tag:<tag>`, `feed:<name|id>`; empty = every post), or
 * a clear error for `since:`-style date filters, near-miss keys and unknown keys.
 */
export function parseAlertFilter(text: string): ParsedAlertFilter {
  const tokens = text.trim().split(/\s+/).filter(Boolean);
  const keywords: string[] = [];
  const tags: string[] = [];
  const feeds: string[] = [];
  const out: string[] = [];
  for (const token of tokens) {
    const m = KEY_TOKEN.exec(token);
    if (!m || /^https?$/i.test(m[1]) || m[2].startsWith('//')) {
      keywords.push(token);
      out.push(token);
      continue;
    }
    const key = m[1].toLowerCase();
    const value = m[2];
    if (key === 'tag' || key === 'feed') {
      if (!value) return { ok: false, error: `\`${key}:\` needs a value, e.g. ${key === 'tag' ? '`tag:ransomware`' : '`feed:cisa` or `feed:3`'}.` };
      (key === 'tag' ? tags : feeds).push(value);
      out.push(`${key}:${value}`);
      continue;
    }
    if (DATE_KEYS.has(key)) {
      return {
        ok: false,
        error: `\`${key}:\` does not apply to alerts: each new post is alerted as it arrives. Filter with words, \`tag:<tag>\` or \`feed:<name|id>\`.`,
      };
    }
    if (TAG_MISSES.has(key)) return { ok: false, error: `Unknown filter \`${key}:\`; did you mean \`tag:${value || '<tag>'}\`?` };
    if (FEED_MISSES.has(key)) return { ok: false, error: `Unknown filter \`${key}:\`; did you mean \`feed:${value || '<name|id>'}\`?` };
    return { ok: false, error: `Unknown filter \`${key}:\`. Alert filters are words, \`tag:<tag>\` and \`feed:<name|id>\`.` };
  }
  const filter = out.join(' ');
  if (filter.length > MAX_FILTER_LENGTH) return { ok: false, error: `That filter is ${filter.length} characters long; keep it under ${MAX_FILTER_LENGTH}.` };
  return { ok: true, filter, keywords, tags, feeds };
}

/** Returns how a command is typed on the caller's platform ("/alerts list" on Discord, "/incident alerts list" on Slack). */
export function typed(ctx: CommandContext, usage: string): string {
  return ctx.channel?.platform === 'slack' ? `/incident ${usage}` : `/${usage}`;
}

/** Returns who may manage alerts on the caller's platform, for refusals. */
function managers(channel: ChannelContext): string {
  if (channel.platform === 'discord') return 'members with the Manage Channels permission';
  if (channel.platform === 'slack') return "workspace admins and owners, and the channel's creator";
  return 'channel managers';
}

/**
 * Returns the refusal for a management command, or undefined when the caller may go on: the feed watcher must run,
 * the command must come from a channel, and the adapter must have found the caller allowed to manage it.
 */
export function refuseManagement(ctx: CommandContext, what: string): Reply | undefined {
  if (!ctx.alerts) return { type: 'error', message: FEEDS_DISABLED };
  const channel = ctx.channel;
  if (!channel || !channel.channelId || channel.platform === 'console') {
    return { type: 'error', message: `${what} are managed from a Discord or Slack channel: run this command in the channel concerned.` };
  }
  if (!channel.canManage) return { type: 'error', message: `Only ${managers(channel)} can manage ${what.toLowerCase()} here.` };
  return undefined;
}

/** Returns a subscription as one line: id, filter, role, creation date. */
export function subscriptionLine(sub: Subscription): string {
  const parts = [`#${sub.id}`, sub.filter ? `filter: ${sub.filter}` : 'every new post'];
  if (sub.roleId) parts.push(`mentions role ${sub.roleId}`);
  if (sub.createdAt) parts.push(`since ${sub.createdAt.slice(0, 10)}`);
  return parts.join(' · ');
}

/** Returns the role id and the filter text from the subscribe options, or an error. */
function roleAndFilter(ctx: CommandContext, filterOption: unknown, roleOption: unknown): { roleId?: string; text: string } | { error: string } {
  const words = [filterOption, roleOption].map((v) => (v === undefined || v === null ? '' : String(v))).join(' ').trim().split(/\s+/).filter(Boolean);
  const platform = ctx.channel?.platform;
  let roleId: string | undefined;
  const rest: string[] = [];
  for (const word of words) {
    const m = ROLE_TOKEN.exec(word);
    // A Discord role mention or the role option's id; elsewhere a number is just a keyword.
    const isMention = word.startsWith('<@&');
    if (m && (platform === 'discord' || isMention)) {
      if (platform !== 'discord') return { error: 'Role mentions are only available on Discord.' };
      const id = m[1] ?? m[2];
      if (roleId && roleId !== id) return { error: 'Give at most one role to mention.' };
      roleId = id;
    } else {
      rest.push(word);
    }
  }
  // The @everyone role has the guild's id: mentioning it would ping the whole server.
  if (roleId && roleId === ctx.channel?.workspaceId) return { error: 'Alerts cannot mention @everyone; pick a role made for them.' };
  return { roleId, text: rest.join(' ') };
}

function subscribe(input: { options: Record<string, unknown> }, ctx: CommandContext, channel: ChannelContext): Reply {
  const alerts = ctx.alerts!;
  // Slack direct-message ids start with D; the bot cannot post into other people's DMs, so alerts would never arrive.
  if (channel.platform === 'slack' && channel.channelId!.startsWith('D')) return { type: 'error', message: 'Alerts go to channels: run this in the channel that should get them.' };
  const parts = roleAndFilter(ctx, input.options.filter, input.options.role);
  if ('error' in parts) return { type: 'error', message: parts.error };
  const parsed = parseAlertFilter(parts.text);
  if (!parsed.ok) return { type: 'error', message: parsed.error };
  const platform = channel.platform as 'discord' | 'slack';
  const existing = alerts.listSubscriptions(platform, channel.channelId!);
  const same = existing.find((s) => s.filter.toLowerCase() === parsed.filter.toLowerCase() && (s.roleId ?? '') === (parts.roleId ?? ''));
  if (same) return { type: 'error', message: `This channel already has that subscription (#${same.id}); ${typed(ctx, 'alerts list')} shows them all.` };
  if (existing.length >= MAX_SUBSCRIPTIONS_PER_CHANNEL) {
    return { type: 'error', message: `This channel has ${existing.length} subscriptions, the most allowed; remove one with ${typed(ctx, 'alerts unsubscribe <id>')}.` };
  }
  const sub = alerts.subscribe({
    platform,
    channelId: channel.channelId!,
    workspaceId: channel.workspaceId,
    filter: parsed.filter,
    roleId: parts.roleId,
    createdBy: channel.userId,
  });
  return {
    type: 'message',
    title: 'Subscribed this channel to alerts',
    lines: [
      subscriptionLine(sub),
      parsed.filter ? 'New posts matching the filter will be posted here.' : 'Every new post from the watched feeds will be posted here.',
      `Stop with ${typed(ctx, `alerts unsubscribe ${sub.id}`)}.`,
    ],
  };
}

function list(ctx: CommandContext, channel: ChannelContext): Reply {
  const subs = ctx.alerts!.listSubscriptions(channel.platform as 'discord' | 'slack', channel.channelId!);
  if (subs.length === 0) {
    return { type: 'message', title: 'No alert subscriptions in this channel', lines: [`Subscribe with ${typed(ctx, 'alerts subscribe [filter]')}, e.g. tag:ransomware.`] };
  }
  return { type: 'message', title: `Alert subscriptions in this channel (${subs.length})`, lines: subs.map(subscriptionLine) };
}

function unsubscribe(input: { options: Record<string, unknown> }, ctx: CommandContext, channel: ChannelContext): Reply {
  const alerts = ctx.alerts!;
  const platform = channel.platform as 'discord' | 'slack';
  const raw = String(input.options.id ?? '').trim().replace(/^#/, '').toLowerCase();
  const existing = alerts.listSubscriptions(platform, channel.channelId!);
  if (existing.length === 0) return { type: 'error', message: 'This channel has no alert subscriptions.' };
  if (raw === '' && existing.length > 1) {
    // Removing several at once must be asked for by name, not happen because an id was forgotten.
    return {
      type: 'error',
      message: `This channel has ${existing.length} subscriptions (${existing.map((s) => `#${s.id}`).join(', ')}): give the id, or \`all\`.`,
    };
  }
  if (raw === '' || raw === 'all') {
    const removed = alerts.unsubscribe(platform, channel.channelId!);
    return { type: 'message', title: 'Unsubscribed', lines: [`Removed ${removed} subscription${removed === 1 ? '' : 's'}; this channel gets no more alerts.`] };
  }
  if (!/^\d{1,15}$/.test(raw) || Number(raw) < 1) {
    return { type: 'error', message: `The id is the number ${typed(ctx, 'alerts list')} shows, e.g. ${typed(ctx, 'alerts unsubscribe 3')} (got "${raw}").` };
  }
  const id = Number(raw);
  const removed = alerts.unsubscribe(platform, channel.channelId!, id);
  if (removed === 0) return { type: 'error', message: `No subscription #${id} in this channel; ${typed(ctx, 'alerts list')} shows them.` };
  return { type: 'message', title: 'Unsubscribed', lines: [`Removed subscription #${id}.`] };
}

/** `alerts list|subscribe|unsubscribe`: per-channel alert subscriptions, for channel managers only. */
export default {
  definition: {
    name: 'alerts',
    description: 'Post new security-news alerts in this channel (channel managers)',
    usage: 'alerts list | alerts subscribe [filter] [role] | alerts unsubscribe [id]',
    help: [
      'alerts subscribe [filter] [role]: post each new feed post matching the filter here (no filter: every post).',
      'Filters use the search syntax: words, tag:<tag>, feed:<name|id>. Role (Discord): mention it with each alert.',
      'The role must be mentionable, or the bot needs the Mention All Roles permission, for the ping to happen.',
      'alerts list: this channel\'s subscriptions. alerts unsubscribe <id|all>: stop one or all.',
      'Examples: alerts subscribe tag:ransomware · alerts subscribe lockbit feed:cisa @SecOps · alerts unsubscribe 3',
    ].join('\n'),
    adminOnly: true,
    // list comes first: routeText falls back to the first subcommand, and a bare "alerts" must not subscribe.
    subcommands: [
      { name: 'list', description: "This channel's alert subscriptions", usage: 'alerts list', options: [] },
      {
        name: 'subscribe',
        description: 'Post new posts matching a filter here; optionally mention a role',
        usage: 'alerts subscribe [filter] [role]',
        options: [
          { name: 'filter', description: 'Words, tag:<tag>, feed:<name|id>; empty = every new post', type: 'string' },
          // Discord registers an option named "role" as a role picker (see command-json.ts).
          { name: 'role', description: 'Role to mention with each alert (Discord)', type: 'string' },
        ],
      },
      {
        name: 'unsubscribe',
        description: 'Stop a subscription (id from /alerts list, or all)',
        usage: 'alerts unsubscribe [id]',
        options: [{ name: 'id', description: 'Subscription id from the list, or all', type: 'string' }],
      },
    ],
  },
  handle(input, ctx) {
    const refused = refuseManagement(ctx, 'Alerts');
    if (refused) return refused;
    const channel = ctx.channel!;
    switch (input.subcommand) {
      case 'subscribe':
        return subscribe(input, ctx, channel);
      case 'list':
        return list(ctx, channel);
      case 'unsubscribe':
        return unsubscribe(input, ctx, channel);
      default:
        return { type: 'error', message: `Use ${typed(ctx, 'alerts subscribe [filter]')}, ${typed(ctx, 'alerts list')} or ${typed(ctx, 'alerts unsubscribe <id>')}.` };
    }
  },
} satisfies Command;

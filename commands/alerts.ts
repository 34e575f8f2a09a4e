import { OPERATOR_TENANT, RefusedError, type Actor, type Subscription } from '../src/core/feed-model.js';
import { compactName } from '../src/core/text.js';
import { FILTER_EXAMPLE, FilterError, parseFilter, type ParsedFilter } from '../src/feeds/match.js';
import type { ChannelContext, Command, CommandContext, Reply } from './types.js';

/** What the user sees when the feed watcher is not running (no AlertsService in the context). */
export const FEEDS_DISABLED = 'Feeds are not enabled on this bot.';

/** A Discord role mention or bare role id (snowflake), as the role option or typed text gives it. */
const ROLE_TOKEN = /^(?:<@&(\d{17,20})>|(\d{17,20}))$/;

/** Returns how a command is typed on the caller's platform ("/alerts list" on Discord, "/incident alerts list" on Slack). */
export function typed(ctx: CommandContext, usage: string): string {
  const platform = ctx.channel?.platform;
  if (platform === 'slack') return `/incident ${usage}`;
  if (platform === 'cli') return `npm run cli -- ${usage}`;
  return `/${usage}`;
}

/** Returns who changes things with this command: its tenant, platform and user id (for quotas and the audit log). */
export function actorOf(channel: ChannelContext): Actor {
  return { tenant: channel.tenant ?? OPERATOR_TENANT, platform: channel.platform, userId: channel.userId ?? channel.platform };
}

/** Returns who may manage feeds or a channel's alerts on the caller's platform, for refusals. */
function managers(channel: ChannelContext, what: 'feeds' | 'alerts'): string {
  if (channel.platform === 'discord') return `members with the ${what === 'feeds' ? 'Manage Server' : 'Manage Channels'} permission`;
  if (channel.platform === 'slack') {
    return what === 'feeds'
      ? "workspace admins and owners (and the users the bot's operator lists in SLACK_ADMIN_USER_IDS)"
      : "workspace admins and owners, and the channel's creator";
  }
  return 'the operator';
}

/**
 * Returns the refusal for a management command, or undefined when the caller may go on: the feed watcher must run,
 * alerts must be managed from a channel, and the adapter must have found the caller allowed (feeds: the server's or
 * workspace's managers, or the operator; alerts: the channel's managers).
 */
export function refuseManagement(ctx: CommandContext, what: 'feeds' | 'alerts'): Reply | undefined {
  if (!ctx.alerts) return { type: 'error', message: FEEDS_DISABLED };
  const channel = ctx.channel;
  if (what === 'alerts' && (!channel || !channel.channelId || channel.platform === 'console' || channel.platform === 'cli')) {
    return { type: 'error', message: 'Alerts are managed from a Discord or Slack channel: run this command in the channel concerned.' };
  }
  if (!channel) return { type: 'error', message: 'Feeds are managed from a Discord server, a Slack workspace, the console or the CLI.' };
  const allowed = what === 'feeds' ? channel.canManageFeeds : channel.canManageChannel;
  if (!allowed || !channel.tenant) {
    return { type: 'error', message: what === 'feeds' ? `Only ${managers(channel, 'feeds')} can add or remove feeds here.` : `Only ${managers(channel, 'alerts')} can manage alerts here.` };
  }
  return undefined;
}

/** Returns the refusal when the caller made too many changes in the last minute (MANAGE_COMMANDS_PER_MINUTE), else undefined. */
export function refuseTooFast(ctx: CommandContext): Reply | undefined {
  const wait = ctx.alerts!.takeManagementSlot(actorOf(ctx.channel!));
  if (wait <= 0) return undefined;
  const n = ctx.alerts!.limits.manageCommandsPerMinute;
  return { type: 'error', message: `You have made ${n} feed and alert changes in the last minute, the most allowed; try again in ${wait} s.` };
}

/** Returns the reply for an error a service refused with (its message is written for the user), or rethrows a bug. */
export function refusal(error: unknown, prefix = ''): Reply {
  if (error instanceof RefusedError) return { type: 'error', message: `${prefix}${error.message}` };
  throw error;
}

/** Returns a subscription as one line: id, filter, role, creation date, and who set it when it was not this tenant. */
export function subscriptionLine(sub: Subscription, tenant?: string): string {
  const parts = [`#${sub.id}`, sub.filter ? `filter: ${sub.filter}` : 'every new post'];
  if (sub.roleId) parts.push(`mentions role ${sub.roleId}`);
  if (sub.createdAt) parts.push(`since ${sub.createdAt.slice(0, 10)}`);
  if (tenant && sub.tenant !== tenant && sub.tenant === OPERATOR_TENANT) parts.push("set by the bot's operator");
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

/** Returns a note for `feed:` names that name no feed this tenant sees (yet): the subscription would stay silent. */
async function unknownFeedNote(ctx: CommandContext, channel: ChannelContext, filter: ParsedFilter): Promise<string[]> {
  if (filter.feeds.length === 0) return [];
  const known = new Set<string>();
  for (const f of await ctx.alerts!.listFeeds(channel.tenant)) {
    known.add(String(f.id));
    if (f.name) known.add(compactName(f.name));
    else known.add(compactName(hostOf(f.url)));
  }
  const unknown = filter.feeds.filter((f) => !known.has(/^\d+$/.test(f) ? f : compactName(f)));
  if (unknown.length === 0) return [];
  return [`No watched feed is named ${unknown.map((f) => `"${f}"`).join(' or ')} here yet (names are matched exactly); ${typed(ctx, 'feeds list')} shows the names and ids.`];
}

function hostOf(url: string): string {
  try {
    return new URL(url).hostname.replace(/^www\./, '');
  } catch {
    return url;
  }
}

async function subscribe(input: { options: Record<string, unknown> }, ctx: CommandContext, channel: ChannelContext): Promise<Reply> {
  const alerts = ctx.alerts!;
  // Slack direct-message ids start with D; the bot cannot post into other people's DMs, so alerts would never arrive.
  if (channel.platform === 'slack' && channel.channelId!.startsWith('D')) return { type: 'error', message: 'Alerts go to channels: run this in the channel that should get them.' };
  const parts = roleAndFilter(ctx, input.options.filter, input.options.role);
  if ('error' in parts) return { type: 'error', message: parts.error };
  let parsed: ParsedFilter;
  try {
    parsed = parseFilter(parts.text);
  } catch (error) {
    if (error instanceof FilterError) return { type: 'error', message: error.message };
    throw error;
  }
  const platform = channel.platform as 'discord' | 'slack';
  const tenant = channel.tenant!;
  const mine = (await alerts.listSubscriptions(tenant, platform, channel.channelId!)).filter((s) => s.tenant === tenant);
  const same = mine.find((s) => s.filter.toLowerCase() === parsed.text.toLowerCase() && (s.roleId ?? '') === (parts.roleId ?? ''));
  if (same) return { type: 'error', message: `This channel already has that subscription (#${same.id}); ${typed(ctx, 'alerts list')} shows them all.` };
  const max = alerts.limits.subscriptionsPerChannel;
  if (mine.length >= max && !mine.some((s) => s.filter.toLowerCase() === parsed.text.toLowerCase())) {
    return { type: 'error', message: `This channel has ${mine.length} subscriptions, the most allowed (${max}); remove one with ${typed(ctx, 'alerts unsubscribe <id>')}.` };
  }
  let sub: Subscription;
  try {
    sub = await alerts.subscribe(actorOf(channel), { platform, channelId: channel.channelId!, workspaceId: channel.workspaceId, filter: parsed.text, roleId: parts.roleId });
  } catch (error) {
    return refusal(error);
  }
  return {
    type: 'message',
    title: 'Subscribed this channel to alerts',
    lines: [
      subscriptionLine(sub),
      parsed.text ? 'New posts matching the filter will be posted here.' : 'Every new post from the watched feeds will be posted here.',
      ...(await unknownFeedNote(ctx, channel, parsed)),
      `Stop with ${typed(ctx, `alerts unsubscribe ${sub.id}`)}.`,
    ],
  };
}

async function list(ctx: CommandContext, channel: ChannelContext): Promise<Reply> {
  const subs = await ctx.alerts!.listSubscriptions(channel.tenant!, channel.platform as 'discord' | 'slack', channel.channelId!);
  if (subs.length === 0) {
    return { type: 'message', title: 'No alert subscriptions in this channel', lines: [`Subscribe with ${typed(ctx, 'alerts subscribe [filter]')}, e.g. tag:ransomware.`] };
  }
  return { type: 'message', title: `Alert subscriptions in this channel (${subs.length})`, lines: subs.map((s) => subscriptionLine(s, channel.tenant)) };
}

async function unsubscribe(input: { options: Record<string, unknown> }, ctx: CommandContext, channel: ChannelContext): Promise<Reply> {
  const alerts = ctx.alerts!;
  const platform = channel.platform as 'discord' | 'slack';
  const actor = actorOf(channel);
  const raw = String(input.options.id ?? '').trim().replace(/^#/, '').toLowerCase();
  // Only this tenant's own subscriptions can be removed here (a channel shared between workspaces has others').
  const existing = (await alerts.listSubscriptions(channel.tenant!, platform, channel.channelId!)).filter((s) => s.tenant === channel.tenant);
  if (existing.length === 0) return { type: 'error', message: 'This channel has no alert subscriptions that can be removed here.' };
  if (raw === '' && existing.length > 1) {
    // Removing several at once must be asked for by name, not happen because an id was forgotten.
    return {
      type: 'error',
      message: `This channel has ${existing.length} subscriptions (${existing.map((s) => `#${s.id}`).join(', ')}): give the id, or \`all\`.`,
    };
  }
  if (raw === '' || raw === 'all') {
    const removed = await alerts.unsubscribe(actor, platform, channel.channelId!);
    return { type: 'message', title: 'Unsubscribed', lines: [`Removed ${removed} subscription${removed === 1 ? '' : 's'}; this channel gets no more alerts.`] };
  }
  if (!/^\d{1,15}$/.test(raw) || Number(raw) < 1) {
    return { type: 'error', message: `The id is the number ${typed(ctx, 'alerts list')} shows, e.g. ${typed(ctx, 'alerts unsubscribe 3')} (got "${raw}").` };
  }
  const id = Number(raw);
  if (!existing.some((s) => s.id === id)) return { type: 'error', message: `No subscription #${id} in this channel; ${typed(ctx, 'alerts list')} shows them.` };
  await alerts.unsubscribe(actor, platform, channel.channelId!, id);
  return { type: 'message', title: 'Unsubscribed', lines: [`Removed subscription #${id}.`] };
}

/** `alerts list|subscribe|unsubscribe`: per-channel alert subscriptions, for the channel's managers only. */
export default {
  definition: {
    name: 'alerts',
    description: 'Post new security-news alerts in this channel (channel managers)',
    usage: 'alerts list | alerts subscribe [filter] [role] | alerts unsubscribe [id]',
    help: [
      'alerts subscribe [filter] [role]: post each new feed post matching the filter here (no filter: every post).',
      'Filters: words, "phrases", -words, tag:<tag>, feed:<name|id> (the exact name from feeds list); at most 10 terms.',
      'Role (Discord): mention it with each alert; it must be mentionable, or the bot needs Mention All Roles.',
      'alerts list: this channel\'s subscriptions. alerts unsubscribe <id|all>: stop one or all.',
      `Examples: alerts subscribe tag:ransomware · alerts subscribe lockbit feed:cisa @SecOps · alerts unsubscribe 3 (filters like ${FILTER_EXAMPLE})`,
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
    const refused = refuseManagement(ctx, 'alerts');
    if (refused) return refused;
    const channel = ctx.channel!;
    switch (input.subcommand) {
      case 'subscribe':
        return refuseTooFast(ctx) ?? subscribe(input, ctx, channel);
      case 'list':
        return list(ctx, channel);
      case 'unsubscribe':
        return refuseTooFast(ctx) ?? unsubscribe(input, ctx, channel);
      default:
        return { type: 'error', message: `Use ${typed(ctx, 'alerts subscribe [filter]')}, ${typed(ctx, 'alerts list')} or ${typed(ctx, 'alerts unsubscribe <id>')}.` };
    }
  },
} satisfies Command;

import {
  ApplicationCommandOptionType,
  MessageFlags,
  PermissionFlagsBits,
  type AutocompleteInteraction,
  type ButtonInteraction,
  type ChatInputCommandInteraction,
  type CommandInteractionOption,
  type Interaction,
  type InteractionEditReplyOptions,
  type InteractionReplyOptions,
  type InteractionUpdateOptions,
  type StringSelectMenuInteraction,
} from 'discord.js';
import type { Answer } from '../../core/answer-model.js';
import type { ConversationStore } from '../../core/conversation.js';
import type { Choice, IncidentService } from '../../core/incident-service.js';
import { rememberAnswer } from '../../../commands/conversation.js';
import type { ChannelContext, Command, CommandContext, CommandInput, Reply } from '../../../commands/types.js';
import { tenantOf, type AlertsService, type VisibilityFor } from '../../core/feed-model.js';
import { firstPage, pagedCommandOf } from '../paging.js';
import { pagedCommandFromFooter, parsePageId } from './lists.js';
import { pageForClick } from './page-clicks.js';
import { CUSTOM_ID, DISCORD_LIMITS, answerToMessage, clipText, errorToMessage, messageLimitViolations, replyToMessage, type DiscordMessage } from './render.js';

/** Where the adapter reports what happened: pino's `(details, message)` shape, which console also accepts. */
export interface DiscordLogger {
  info(details: Record<string, unknown>, message: string): void;
  warn(details: Record<string, unknown>, message: string): void;
  error(details: Record<string, unknown>, message: string): void;
}

/** What the interaction handlers work with. */
export interface InteractionContext {
  service: IncidentService;
  commands: readonly Command[];
  logger: DiscordLogger;
  /** How long a reply may take before the interaction is deferred (Discord drops replies after 3,000 ms). */
  deferAfterMs: number;
  /** Feeds and subscriptions for /alerts and /feeds, when the feed watcher runs. */
  alerts?: AlertsService;
  /** Which records each server may see (posts of other servers' feeds are hidden); absent: every record. */
  visibilityFor?: VisibilityFor;
  /** Where each channel's conversation context lives (follow-ups); absent: no memory between turns. */
  conversations?: ConversationStore;
}

/** Every message we send allows no pings: an incident titled "@everyone" must not notify anyone. */
export const NO_MENTIONS = { parse: [] as [] };

/** What the user sees when a handler failed; details go to the log, never to the channel. */
export const ERROR_TEXT = 'Something went wrong while answering. Please try again in a moment.';

/** What the user sees when a paging button's message no longer says which list it shows. */
export const STALE_PAGE_TEXT = 'This list can no longer be paged; ask again with /incident or /incidents.';

type Repliable = ChatInputCommandInteraction | ButtonInteraction | StringSelectMenuInteraction;

/** Returns reply options for a rendered message: mentions off, ephemeral flag when asked. */
export function toReplyOptions(message: DiscordMessage): InteractionReplyOptions {
  const options: InteractionReplyOptions = { embeds: message.embeds, components: message.components, allowedMentions: NO_MENTIONS };
  if (message.content !== undefined) options.content = message.content;
  if (message.ephemeral) options.flags = MessageFlags.Ephemeral;
  return options;
}

/** Returns edit options that replace the whole message (content, embeds and components). */
function toEditOptions(message: DiscordMessage): InteractionEditReplyOptions & InteractionUpdateOptions {
  return { content: message.content ?? '', embeds: message.embeds, components: message.components, allowedMentions: NO_MENTIONS };
}

/**
 * Returns where a command was typed, its tenant (the server) and what the caller may change there, from the
 * permissions Discord computed for this interaction (roles and channel overwrites): the server's feeds need Manage
 * Server, the channel's alerts Manage Channels. Registration hides adminOnly commands from other members by default,
 * but server admins can change that, so it is checked here.
 */
export function channelContextOf(interaction: ChatInputCommandInteraction | AutocompleteInteraction | ButtonInteraction | StringSelectMenuInteraction): ChannelContext {
  // memberPermissions is null outside a guild (DMs): nobody manages anything there, and a DM has no tenant.
  const inGuild = interaction.inGuild();
  const has = (flag: bigint) => inGuild && (interaction.memberPermissions?.has(flag) ?? false);
  return {
    platform: 'discord',
    channelId: interaction.channelId ?? undefined,
    workspaceId: interaction.guildId ?? undefined,
    userId: interaction.user.id,
    tenant: inGuild ? tenantOf('discord', interaction.guildId ?? undefined) : undefined,
    canManageFeeds: has(PermissionFlagsBits.ManageGuild),
    canManageChannel: has(PermissionFlagsBits.ManageChannels),
    conversation: conversationKey(interaction.guildId, interaction.channelId),
  };
}

/**
 * Returns the conversation a Discord channel holds: `discord:<guild>:<channel>` (`discord:dm:<channel>` in a DM).
 * Everyone in a channel sees its answers, so a follow-up from anyone there resolves against the last one.
 */
export function conversationKey(guildId: string | null | undefined, channelId: string | null | undefined): string | undefined {
  return channelId ? `discord:${guildId ?? 'dm'}:${channelId}` : undefined;
}

/** Returns the command context for an interaction: the channel, its tenant's view and its conversation. */
function commandContextOf(interaction: ChatInputCommandInteraction | ButtonInteraction | StringSelectMenuInteraction, ctx: InteractionContext): CommandContext {
  return {
    incidents: ctx.service,
    commands: ctx.commands,
    channel: channelContextOf(interaction),
    alerts: ctx.alerts,
    canSee: canSeeFor(interaction, ctx),
    conversations: ctx.conversations,
  };
}

/** A view of a store that reads but never writes: for pages walked through on the way to the one shown. */
function readOnly(store: ConversationStore | undefined): ConversationStore | undefined {
  return store && { get: (key) => store.get(key), set: async () => undefined };
}

/** Returns which records the interaction's server may see, or undefined for every record. */
function canSeeFor(interaction: Interaction, ctx: InteractionContext): ((id: string) => boolean) | undefined {
  return ctx.visibilityFor?.(interaction.inGuild() ? tenantOf('discord', interaction.guildId ?? undefined) : undefined);
}

/** Returns the neutral command input for a slash command's options (subcommand first, values by name). */
export function optionsToInput(data: readonly CommandInteractionOption[]): CommandInput {
  const first = data[0];
  if (first?.type === ApplicationCommandOptionType.Subcommand) {
    return { subcommand: first.name, options: valuesByName(first.options ?? []) };
  }
  return { options: valuesByName(data) };
}

function valuesByName(data: readonly CommandInteractionOption[]): CommandInput['options'] {
  const out: CommandInput['options'] = {};
  for (const o of data) {
    if (typeof o.value === 'string' || typeof o.value === 'number') out[o.name] = o.value;
  }
  return out;
}

/** Returns autocomplete choices Discord accepts: at most 25, names and values of 1-100 characters, values unique. */
export function toDiscordChoices(choices: readonly Choice[]): Choice[] {
  const seen = new Set<string>();
  const out: Choice[] = [];
  for (const c of choices) {
    const name = clipText(c.name, DISCORD_LIMITS.choiceName);
    // A value is sent back as the query, so it is cut at a word (no ellipsis) rather than marked as cut.
    let value = c.value.trim();
    if (value.length > DISCORD_LIMITS.choiceValue) {
      const cut = value.slice(0, DISCORD_LIMITS.choiceValue);
      const space = cut.lastIndexOf(' ');
      value = (space > 50 ? cut.slice(0, space) : cut).trim();
    }
    if (!name || !value || seen.has(value)) continue;
    seen.add(value);
    out.push({ name, value });
    if (out.length === DISCORD_LIMITS.autocompleteChoices) break;
  }
  return out;
}

/**
 * Returns the answer for a record picked from candidates: the service's answer when it resolves the id (or, failing
 * that, the record's title) to that record; status becomes "found" since the user chose.
 */
export function answerForPick(service: IncidentService, id: string, visible?: (id: string) => boolean): Answer {
  const direct = service.answer(id, { visible });
  if (direct.incident?.id === id) return { ...direct, status: 'found', candidates: [] };
  const record = service.get(id, { visible });
  if (!record) return direct;
  const byTitle = service.answer(record.title, { visible });
  if (byTitle.incident?.id === id) return { ...byTitle, status: 'found', candidates: [] };
  return byTitle;
}

/** Answers one interaction of any kind; never throws (failures are logged and shown to the user as ephemeral). */
export async function handleInteraction(interaction: Interaction, ctx: InteractionContext): Promise<void> {
  try {
    if (interaction.isAutocomplete()) return await autocompleteCallback(interaction, ctx);
    if (interaction.isChatInputCommand()) return await chatInputCallback(interaction, ctx);
    if (interaction.isButton() || interaction.isStringSelectMenu()) return await componentCallback(interaction, ctx);
  } catch (error) {
    const code = (error as { code?: unknown } | undefined)?.code;
    if (code === ANSWERED_ELSEWHERE || code === EXPIRED) {
      // Replayed by a resumed gateway session after another replica had answered it, or its 3 s had run out: there
      // is nothing to answer any more, and an error reply would fail the same way.
      ctx.logger.warn(describe(interaction, error), code === EXPIRED ? 'discord interaction expired before its answer' : 'discord interaction was already answered');
      return;
    }
    ctx.logger.error(describe(interaction, error), 'discord interaction failed');
    await reportError(interaction, ctx);
  }
}

/** Discord's error codes for an interaction already acknowledged (40060) and for one unknown or expired (10062). */
const ANSWERED_ELSEWHERE = 40060;
const EXPIRED = 10062;

function describe(interaction: Interaction, error?: unknown): Record<string, unknown> {
  const details: Record<string, unknown> = { interactionId: interaction.id, type: interaction.type };
  if (interaction.isCommand() || interaction.isAutocomplete()) details.command = interaction.commandName;
  if (interaction.isMessageComponent()) details.customId = interaction.customId;
  if (error !== undefined) details.err = error instanceof Error ? { name: error.name, message: error.message, stack: error.stack } : error;
  return details;
}

async function autocompleteCallback(interaction: AutocompleteInteraction, ctx: InteractionContext): Promise<void> {
  try {
    const focused = interaction.options.getFocused(true);
    const prefix = String(focused.value ?? '').trim();
    const visible = canSeeFor(interaction, ctx);
    const raw = prefix
      ? ctx.service.autocomplete(prefix, DISCORD_LIMITS.autocompleteChoices, { visible })
      : ctx.service.recent(DISCORD_LIMITS.autocompleteChoices, { visible }).items.map((i) => ({ name: i.title, value: i.title }));
    await interaction.respond(toDiscordChoices(raw));
  } catch (error) {
    // Autocomplete cannot be deferred or answered with a message: log and offer nothing rather than leave it hanging.
    ctx.logger.error(describe(interaction, error), 'discord autocomplete failed');
    if (!interaction.responded) await interaction.respond([]).catch(() => undefined);
  }
}

async function chatInputCallback(interaction: ChatInputCommandInteraction, ctx: InteractionContext): Promise<void> {
  const command = ctx.commands.find((c) => c.definition.name === interaction.commandName);
  if (!command) {
    ctx.logger.warn(describe(interaction), 'discord command not known (re-run deploy:discord?)');
    await interaction.reply(toReplyOptions(errorToMessage(`I do not know /${interaction.commandName}; try /help.`)));
    return;
  }
  const input = optionsToInput(interaction.options.data);
  const context = commandContextOf(interaction, ctx);
  // A list's Prev/Next buttons ask this same command again, so the page knows what it was asked.
  const page = firstPage(pagedCommandOf(command.definition.name, input));
  await respond(interaction, 'reply', async () => replyToMessage(await command.handle(input, context), page), ctx);
}

async function componentCallback(interaction: ButtonInteraction | StringSelectMenuInteraction, ctx: InteractionContext): Promise<void> {
  const id = interaction.customId;
  const visible = canSeeFor(interaction, ctx);
  const conversation = channelContextOf(interaction).conversation;
  let work: () => Promise<DiscordMessage>;
  const picked = async (recordId: string) => {
    const answer = answerForPick(ctx.service, recordId, visible);
    // The pick settles what the channel is talking about: follow-ups resolve against the chosen record.
    await rememberAnswer(ctx.conversations, conversation, answer);
    return answerToMessage(answer);
  };
  const pageTarget = interaction.isButton() ? parsePageId(id) : undefined;
  if (interaction.isStringSelectMenu() && id === CUSTOM_ID.pick) {
    work = () => picked(interaction.values[0] ?? '');
  } else if (id.startsWith(CUSTOM_ID.pick)) {
    work = () => picked(id.slice(CUSTOM_ID.pick.length));
  } else if (id.startsWith(CUSTOM_ID.ask)) {
    const query = id.slice(CUSTOM_ID.ask.length);
    work = () => runListable('incident', { options: { query } }, interaction, ctx);
  } else if (pageTarget) {
    // The question travels in the list's footer; the button carries only where the page starts.
    const command = pagedCommandFromFooter(interaction.message.embeds[0]?.footer?.text);
    if (!command) {
      ctx.logger.warn(describe(interaction), 'discord page button on a message that names no list');
      await interaction.reply(toReplyOptions(errorToMessage(STALE_PAGE_TEXT)));
      return;
    }
    work = async () => {
      const context = commandContextOf(interaction, ctx);
      const run = async (name: string, input: CommandInput, remember: boolean): Promise<Reply> => {
        const found = ctx.commands.find((c) => c.definition.name === name);
        if (!found) return { type: 'error', message: STALE_PAGE_TEXT };
        return found.handle(input, remember ? context : { ...context, conversations: readOnly(ctx.conversations) });
      };
      const { reply, page } = await pageForClick(command, pageTarget, run);
      return replyToMessage(reply, page);
    };
  } else {
    ctx.logger.warn(describe(interaction), 'discord component not known');
    await interaction.reply(toReplyOptions(errorToMessage('This button is from an older version of the bot; ask again with /incident.')));
    return;
  }
  // Picking and paging replace the message, so the channel keeps one message per question.
  await respond(interaction, 'update', work, ctx);
}

/** Runs a command for a component (a suggestion asked again) and renders its reply as the first page of what it asks. */
async function runListable(name: string, input: CommandInput, interaction: ButtonInteraction | StringSelectMenuInteraction, ctx: InteractionContext): Promise<DiscordMessage> {
  const command = ctx.commands.find((c) => c.definition.name === name);
  if (!command) return errorToMessage(ERROR_TEXT);
  return replyToMessage(await command.handle(input, commandContextOf(interaction, ctx)), firstPage(pagedCommandOf(name, input)));
}

/**
 * Sends the message that `work` renders: directly when it is ready within `deferAfterMs`, otherwise after
 * deferring, because Discord drops an interaction that has no response 3 s after it was created.
 */
async function respond(interaction: Repliable, mode: 'reply' | 'update', work: () => DiscordMessage | Promise<DiscordMessage>, ctx: InteractionContext): Promise<void> {
  const pending = Promise.resolve().then(work);
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), ctx.deferAfterMs);
  });
  const first = await Promise.race([pending.then(() => 'ready' as const, () => 'ready' as const), late]);
  clearTimeout(timer);

  if (first === 'ready') {
    const message = checked(await pending, interaction, ctx);
    if (mode === 'update' && interaction.isMessageComponent()) await interaction.update(toEditOptions(message));
    else await interaction.reply(toReplyOptions(message));
    return;
  }

  ctx.logger.info(describe(interaction), `discord reply not ready after ${ctx.deferAfterMs} ms: deferring`);
  if (mode === 'update' && interaction.isMessageComponent()) await interaction.deferUpdate();
  else await interaction.deferReply();
  const message = checked(await pending, interaction, ctx);
  if (message.ephemeral && mode === 'reply') {
    // A deferred reply is public; an ephemeral result replaces it with a message only the user sees.
    await interaction.deleteReply().catch(() => undefined);
    await interaction.followUp(toReplyOptions(message));
    return;
  }
  await interaction.editReply(toEditOptions(message));
}

/** Logs a message that breaks a Discord limit (a renderer bug) before the API rejects it. */
function checked(message: DiscordMessage, interaction: Interaction, ctx: InteractionContext): DiscordMessage {
  const problems = messageLimitViolations(message);
  if (problems.length) ctx.logger.error({ ...describe(interaction), problems }, 'discord message breaks limits');
  return message;
}

async function reportError(interaction: Interaction, ctx: InteractionContext): Promise<void> {
  if (!interaction.isRepliable()) return;
  const options = toReplyOptions(errorToMessage(ERROR_TEXT));
  try {
    if (interaction.deferred && !interaction.replied) {
      await interaction.deleteReply().catch(() => undefined);
      await interaction.followUp(options);
    } else if (interaction.replied) {
      await interaction.followUp(options);
    } else {
      await interaction.reply(options);
    }
  } catch (error) {
    // The interaction may have expired or Discord may be down: nothing more to tell the user.
    ctx.logger.error(describe(interaction, error), 'discord error reply failed');
  }
}

import {
  ApplicationCommandOptionType,
  PermissionFlagsBits,
  ApplicationCommandType,
  type APIApplicationCommandBasicOption,
  type APIApplicationCommandSubcommandOption,
  type RESTPostAPIChatInputApplicationCommandsJSONBody,
} from 'discord.js';
import type { Command, CommandDefinition, CommandOption } from '../../../commands/types.js';

// Discord's registration rules (https://discord.com/developers/docs/interactions/application-commands):
// names 1-32 lower-case word characters, descriptions 1-100 characters, at most 25 options, required options first.
const NAME = /^[-_\p{Ll}\p{N}]{1,32}$/u;
const DESCRIPTION_MAX = 100;
const OPTIONS_MAX = 25;

/**
 * Permission Discord requires by default to see and use an adminOnly command (Manage Channels, bit 1 << 4 = "16").
 * Server admins can change who may use a command (Server Settings > Integrations), so handlers re-check the
 * caller's permissions from the interaction as well.
 */
export const ADMIN_PERMISSIONS = String(PermissionFlagsBits.ManageChannels);

/**
 * Neutral options registered as a Discord role picker: the neutral option types have no "role" kind, so the name
 * `role` marks it (Discord then sends the role id as the value).
 */
export const ROLE_OPTION_NAMES: ReadonlySet<string> = new Set(['role']);

/** Thrown when a neutral command definition cannot be registered on Discord; the message names the command and the rule. */
export class CommandDefinitionError extends Error {
  override name = 'CommandDefinitionError';
}

function checkName(name: string, where: string): string {
  if (!NAME.test(name)) throw new CommandDefinitionError(`${where}: "${name}" must be 1-32 lower-case letters, digits, - or _ (a Discord rule)`);
  return name;
}

function description(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim() || '—';
  return flat.length <= DESCRIPTION_MAX ? flat : `${flat.slice(0, DESCRIPTION_MAX - 1)}…`;
}

function optionToJson(option: CommandOption, where: string): APIApplicationCommandBasicOption {
  const base = {
    name: checkName(option.name, where),
    description: description(option.description),
    required: option.required ?? false,
  };
  if (option.type === 'integer') {
    return {
      ...base,
      type: ApplicationCommandOptionType.Integer,
      ...(option.min !== undefined ? { min_value: option.min } : {}),
      ...(option.max !== undefined ? { max_value: option.max } : {}),
      ...(option.autocomplete ? { autocomplete: true } : {}),
    };
  }
  if (ROLE_OPTION_NAMES.has(option.name)) return { ...base, type: ApplicationCommandOptionType.Role };
  return { ...base, type: ApplicationCommandOptionType.String, ...(option.autocomplete ? { autocomplete: true } : {}) };
}

function optionsToJson(options: readonly CommandOption[], where: string): APIApplicationCommandBasicOption[] {
  if (options.length > OPTIONS_MAX) throw new CommandDefinitionError(`${where}: ${options.length} options, Discord allows ${OPTIONS_MAX}`);
  // Discord rejects a required option after an optional one; the sort is stable, so the declared order otherwise stays.
  return options
    .map((o) => optionToJson(o, `${where} ${o.name}`))
    .sort((a, b) => Number(b.required ?? false) - Number(a.required ?? false));
}

/** Returns the chat-input command registration body for one neutral definition. */
export function definitionToDiscordJson(def: CommandDefinition): RESTPostAPIChatInputApplicationCommandsJSONBody {
  const where = `/${def.name}`;
  const body: RESTPostAPIChatInputApplicationCommandsJSONBody = {
    type: ApplicationCommandType.ChatInput,
    name: checkName(def.name, where),
    description: description(def.description),
  };
  // Hidden from members without Manage Channels unless a server admin allows them. In DMs the handler refuses (no
  // member permissions there); `contexts` is not set because guild-scoped registration does not take it.
  if (def.adminOnly) body.default_member_permissions = ADMIN_PERMISSIONS;
  if (def.subcommands?.length) {
    body.options = def.subcommands.map(
      (sub): APIApplicationCommandSubcommandOption => ({
        type: ApplicationCommandOptionType.Subcommand,
        name: checkName(sub.name, `${where} ${sub.name}`),
        description: description(sub.description),
        options: optionsToJson(sub.options, `${where} ${sub.name}`),
      }),
    );
  } else {
    body.options = optionsToJson(def.options ?? [], where);
  }
  return body;
}

/** Returns the registration bodies for every command, as `PUT /applications/{app}/commands` takes them. */
export function commandsToDiscordJson(commands: readonly Command[]): RESTPostAPIChatInputApplicationCommandsJSONBody[] {
  return commands.map((c) => definitionToDiscordJson(c.definition));
}

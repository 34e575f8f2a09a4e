import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { REST, Routes, type RESTPutAPIApplicationCommandsResult } from 'discord.js';
import { COMMANDS } from '../../../commands/index.js';
import type { Command } from '../../../commands/types.js';
import { DEFAULT_DISCORD_API_URL } from './adapter.js';
import { commandsToDiscordJson } from './command-json.js';

/** Where and what to register. */
export interface DeployCommandsOptions {
  token: string;
  applicationId: string;
  /** Register to this guild only (instant; for development); without it the commands are global. */
  guildId?: string;
  /** API root without version; default Discord's own. */
  apiUrl?: string;
  /** Default: the bot's command list. */
  commands?: readonly Command[];
}

/** What was registered: the scope and the commands as Discord stored them. */
export interface DeployCommandsResult {
  scope: 'guild' | 'global';
  registered: RESTPutAPIApplicationCommandsResult;
}

/** Thrown when a variable the deploy script needs is missing; the message names it and where to find it. */
export class DeployConfigError extends Error {
  override name = 'DeployConfigError';
}

/**
 * Registers (bulk-overwrites) the slash commands: to one guild when `guildId` is set, otherwise globally. A PUT
 * replaces the whole set, so commands removed from the list disappear from Discord too.
 */
export async function deployCommands(options: DeployCommandsOptions): Promise<DeployCommandsResult> {
  const rest = new REST({ api: options.apiUrl ?? DEFAULT_DISCORD_API_URL, retries: 2 }).setToken(options.token);
  const body = commandsToDiscordJson(options.commands ?? COMMANDS);
  const route = options.guildId
    ? Routes.applicationGuildCommands(options.applicationId, options.guildId)
    : Routes.applicationCommands(options.applicationId);
  const registered = (await rest.put(route, { body })) as RESTPutAPIApplicationCommandsResult;
  return { scope: options.guildId ? 'guild' : 'global', registered };
}

/** Returns deploy options from the environment, or throws DeployConfigError naming the first missing variable. */
export function deployOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): DeployCommandsOptions {
  const need = (name: string, hint: string): string => {
    const value = env[name]?.trim();
    if (!value) throw new DeployConfigError(`${name} is not set: ${hint}`);
    return value;
  };
  return {
    token: need('DISCORD_TOKEN', 'copy the bot token from the Discord developer portal (your application > Bot > Reset Token) into .env'),
    applicationId: need('DISCORD_APPLICATION_ID', 'copy the Application ID from the developer portal (your application > General Information) into .env'),
    guildId: env.DISCORD_GUILD_ID?.trim() || undefined,
    apiUrl: env.DISCORD_API_URL?.trim() || undefined,
  };
}

async function main(): Promise<void> {
  const { config } = await import('dotenv');
  config({ quiet: true });
  let options: DeployCommandsOptions;
  try {
    options = deployOptionsFromEnv();
  } catch (error) {
    if (!(error instanceof DeployConfigError)) throw error;
    console.error(`deploy:discord: ${error.message}`);
    process.exit(1);
  }
  try {
    const { scope, registered } = await deployCommands(options);
    const names = registered.map((c) => `/${c.name}`).join(', ');
    const where = scope === 'guild' ? `guild ${options.guildId} (available now)` : 'every guild the bot is in (global)';
    console.log(`Registered ${registered.length} commands to ${where}: ${names}`);
  } catch (error) {
    console.error(`deploy:discord: registration failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  }
}

function isEntryPoint(): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    return import.meta.url === pathToFileURL(realpathSync(entry)).href;
  } catch {
    return false;
  }
}

if (isEntryPoint()) await main();

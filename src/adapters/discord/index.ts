/** The Discord adapter's public surface: the bot, its registration JSON and its pure renderers. */
export { createDiscordAdapter, DEFAULT_DISCORD_API_URL, type DiscordAdapter, type DiscordAdapterOptions } from './adapter.js';
export { commandsToDiscordJson } from './command-json.js';
export { deployCommands, type DeployCommandsOptions, type DeployCommandsResult } from './deploy-commands.js';
export type { DiscordLogger } from './interactions.js';
export { DISCORD_LIMITS, answerToEmbed, helpToEmbed, listToEmbed } from './render.js';

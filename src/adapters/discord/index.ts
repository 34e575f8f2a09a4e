/** The Discord adapter's public surface: the bot, its registration JSON and its pure renderers. */
export { createDiscordAdapter, DEFAULT_DISCORD_API_URL, type DiscordAdapter, type DiscordAdapterOptions } from './adapter.js';
export { createDiscordAlertSender, nonceFor, type DiscordAlertSender, type DiscordAlertSenderOptions } from './alert-sender.js';
export { ADMIN_PERMISSIONS, commandsToDiscordJson } from './command-json.js';
export { deployCommands, type DeployCommandsOptions, type DeployCommandsResult } from './deploy-commands.js';
export type { DiscordLogger } from './interactions.js';
export { clientShardOptions, type DiscordShardPlan, type ShardState, type ShardStatus } from './shards.js';
export { DISCORD_LIMITS, alertToMessage, answerToEmbed, helpToEmbed, listToEmbed, type DiscordAlertBody } from './render.js';

import { COMMANDS } from '../commands/index.js';
import { runConsole } from './adapters/console/console.js';
import { importDataPaths, loadService } from './bootstrap.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import { createLogger } from './logger.js';
import { openStore } from './store/store.js';

/** A started chat adapter. */
interface Running {
  name: string;
  stop(): Promise<void>;
}

/** Starts the bot: config, store, index, then Discord and/or Slack, or the console when no chat token is set. */
async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  const consoleMode = !config.discord && !config.slack;
  // In the console, logs would interleave with answers: only warnings and errors are shown there.
  const logger = createLogger(consoleMode && config.logLevel === 'info' ? 'warn' : config.logLevel);
  const store = openStore(config.databasePath);
  if (config.dataPaths.length) importDataPaths(store, config.dataPaths, logger);
  const started = performance.now();
  const service = await loadService(store, logger);
  logger.info({ records: service.size, ms: Math.round(performance.now() - started) }, 'index ready');

  if (consoleMode) {
    await runConsole({ service, commands: COMMANDS });
    store.close();
    return;
  }

  const running: Running[] = [];
  if (config.discord) {
    const { createDiscordAdapter } = await import('./adapters/discord/adapter.js');
    const adapter = createDiscordAdapter({ ...config.discord, service, commands: COMMANDS, logger });
    await adapter.start();
    running.push({ name: 'discord', stop: () => adapter.stop() });
    logger.info('discord adapter started');
  }
  if (config.slack) {
    const { createSlackAdapter } = await import('./adapters/slack/index.js');
    const adapter = createSlackAdapter({ ...config.slack, service, commands: COMMANDS, logger });
    await adapter.start();
    running.push({ name: 'slack', stop: () => adapter.stop() });
    logger.info('slack adapter started');
  }
  const shutdown = async (signal: string) => {
    logger.info({ signal }, 'shutting down');
    await Promise.allSettled(running.map((r) => r.stop()));
    store.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void shutdown('SIGINT'));
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
}

main().catch((error: unknown) => {
  process.stderr.write(`incident-bot failed to start: ${(error as Error).message}\n`);
  process.exit(1);
});

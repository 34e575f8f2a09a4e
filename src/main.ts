import { COMMANDS } from '../commands/index.js';
import { runConsole } from './adapters/console/console.js';
import { importDataPaths, loadService } from './bootstrap.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import { createFeedWatcher } from './feeds/watcher.js';
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
  // In the console, logs would interleave with answers (and an offline laptop fails every feed poll): only errors are
  // shown there unless LOG_LEVEL asks for more; `/feeds status` shows feed health.
  const logger = createLogger(consoleMode && config.logLevel === 'info' ? 'error' : config.logLevel);
  const store = openStore(config.databasePath);
  if (config.dataPaths.length) importDataPaths(store, config.dataPaths, logger);
  const started = performance.now();
  const service = await loadService(store, logger);
  logger.info({ records: service.size, ms: Math.round(performance.now() - started) }, 'index ready');

  // One watcher per database: it polls feeds, feeds new posts into the index, and delivers alerts through the
  // adapters' senders. In the console it still polls (so answers stay fresh) but has no channel to alert.
  const watcher = config.feeds.enabled
    ? createFeedWatcher({ store, service, senders: [], config: config.feeds, logger, incidents: [...service.index.all()] })
    : undefined;

  if (consoleMode) {
    await watcher?.start();
    await runConsole({ service, commands: COMMANDS, alerts: watcher?.alerts });
    await watcher?.stop();
    store.close();
    return;
  }

  const running: Running[] = [];
  if (config.discord) {
    const { createDiscordAdapter } = await import('./adapters/discord/adapter.js');
    const adapter = createDiscordAdapter({ ...config.discord, service, commands: COMMANDS, logger, alerts: watcher?.alerts });
    await adapter.start();
    watcher?.addSender(adapter.alertSender);
    running.push({ name: 'discord', stop: () => adapter.stop() });
    logger.info('discord adapter started');
  }
  if (config.slack) {
    const { createSlackAdapter } = await import('./adapters/slack/index.js');
    const adapter = createSlackAdapter({ ...config.slack, service, commands: COMMANDS, logger, alerts: watcher?.alerts });
    await adapter.start();
    watcher?.addSender(adapter.alertSender);
    running.push({ name: 'slack', stop: () => adapter.stop() });
    logger.info('slack adapter started');
  }
  await watcher?.start();
  if (watcher) logger.info('feed watcher started');
  const shutdown = async (signal: string) => {
    logger.info({ signal }, 'shutting down');
    await watcher?.stop();
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

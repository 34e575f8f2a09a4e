import { startApp } from './app.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import { createLogger } from './logger.js';

/** Reads the configuration once and starts the bot; a bad configuration stops here with the variable and the fix. */
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
  const logger = createLogger(consoleMode && config.logLevel === 'info' ? 'error' : config.logLevel, undefined, { replica: config.replicaId });
  const app = await startApp(config, logger);
  const shutdown = async (signal: string) => {
    logger.info({ signal }, 'shutting down');
    await app.stop();
    process.exit(0);
  };
  process.once('SIGINT', () => void shutdown('SIGINT'));
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  await app.done;
}

main().catch((error: unknown) => {
  process.stderr.write(`incident-bot failed to start: ${(error as Error).message}\n`);
  process.exit(1);
});

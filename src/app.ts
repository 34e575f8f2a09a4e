import { COMMANDS } from '../commands/index.js';
import { runConsole } from './adapters/console/console.js';
import { importDataPaths, loadService } from './bootstrap.js';
import type { Config } from './config.js';
import type { IncidentService } from './core/incident-service.js';
import type { AlertSender } from './feeds/types.js';
import { createFeedWatcher, type FeedWatcher } from './feeds/watcher.js';
import type { Logger } from './logger.js';
import { openStore } from './store/store.js';
import { TenantStore } from './store/tenant-store.js';

/** A running bot: its service and watcher, and how to stop everything in order. */
export interface RunningApp {
  service: IncidentService;
  watcher?: FeedWatcher;
  /** Resolves when the console closes (console mode); never in chat mode. */
  done: Promise<void>;
  /** Stops the watcher, then the adapters, then closes the store (safe to call twice). */
  stop(): Promise<void>;
}

/**
 * Starts the bot from a configuration: store, index, feed watcher, then Discord and/or Slack with the watcher's
 * alerts wired both ways, or the console when no chat adapter is configured.
 */
export async function startApp(config: Config, logger: Logger): Promise<RunningApp> {
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
  const stops: (() => Promise<void>)[] = [];
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await watcher?.stop();
    await Promise.allSettled(stops.map((s) => s()));
    store.close();
  };

  try {
    if (!config.discord && !config.slack) {
      await watcher?.start();
      const done = runConsole({ service, commands: COMMANDS, alerts: watcher?.alerts }).then(stop);
      return { service, watcher, done, stop };
    }
    // Records made from a tenant's own feeds are answered in that tenant only, feeds watcher or not.
    const tenancy = TenantStore.of(store);
    const shared = { service, commands: COMMANDS, logger, alerts: watcher?.alerts, visibilityFor: (tenant: string | undefined) => tenancy.visibility(tenant) };
    // Each adapter is stoppable before it has started, and hands the watcher its sender once connected.
    const run = async (name: string, adapter: { start(): Promise<void>; stop(): Promise<void>; alertSender: AlertSender }) => {
      stops.push(() => adapter.stop());
      await adapter.start();
      watcher?.addSender(adapter.alertSender);
      logger.info(`${name} adapter started`);
    };
    if (config.discord) {
      const { createDiscordAdapter } = await import('./adapters/discord/adapter.js');
      await run('discord', createDiscordAdapter({ ...config.discord, ...shared }));
    }
    if (config.slack) {
      const { createSlackAdapter } = await import('./adapters/slack/index.js');
      await run('slack', createSlackAdapter({ ...config.slack, ...shared }));
    }
    await watcher?.start();
    if (watcher) logger.info('feed watcher started');
  } catch (error) {
    await stop();
    throw error;
  }
  return { service, watcher, done: new Promise(() => {}), stop };
}

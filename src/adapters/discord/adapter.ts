import { Client, Events, GatewayIntentBits, RESTEvents, SimpleIdentifyThrottler, type ClientOptions, type IIdentifyThrottler } from 'discord.js';
import type { IncidentService } from '../../core/incident-service.js';
import type { Command } from '../../../commands/types.js';
import type { AlertsService, VisibilityFor } from '../../core/feed-model.js';
import type { ConversationStore } from '../../core/conversation.js';
import { createDiscordAlertSender, type DiscordAlertSender } from './alert-sender.js';
import { NO_MENTIONS, handleInteraction, type DiscordLogger, type InteractionContext } from './interactions.js';
import { createShardPool, type ShardClaims, type ShardClient, type ShardPool } from './shard-pool.js';
import { clientShardOptions, describeShardPlan, trackShards, type DiscordShardPlan, type ShardStatus } from './shards.js';
import type { SessionStrategy } from './session-strategy.js';

/** Discord's own API root; `DISCORD_API_URL` replaces it for REST proxies and for the tests' fake Discord. */
export const DEFAULT_DISCORD_API_URL = 'https://discord.com/api';

/** How the Discord adapter is built: credentials, where the API is, and what it answers with. */
export interface DiscordAdapterOptions {
  /** Bot token (DISCORD_TOKEN). */
  token: string;
  /** Application id (DISCORD_APPLICATION_ID); checked against the one the gateway reports. */
  applicationId: string;
  /** API root without version, default `https://discord.com/api`. */
  apiUrl?: string;
  /** The incident index every command answers from. */
  service: IncidentService;
  /** The commands to route slash commands to (the same list deploy-commands registers). */
  commands: readonly Command[];
  /** Where failures and notable events go; default console. */
  logger?: DiscordLogger;
  /** Milliseconds before a slow reply is deferred; default 1,500 (Discord's deadline is 3,000 after creation). */
  deferAfterMs?: number;
  /** Retries of a request that failed with a 5xx or a network error, before the user sees an error; default 2. */
  restRetries?: number;
  /** Milliseconds a REST request may take before it is aborted (and retried); default 10,000. */
  restTimeoutMs?: number;
  /** Feeds and subscriptions, when the feed watcher runs; without it /alerts and /feeds say feeds are not enabled. */
  alerts?: AlertsService;
  /** Which records each server may see (posts of other tenants' feeds are hidden); absent: every record. */
  visibilityFor?: VisibilityFor;
  /** The gateway shards this process runs (DISCORD_SHARDS, DISCORD_SHARD_IDS); absent: one unsharded session. */
  shards?: DiscordShardPlan;
  /** Where each channel's conversation context lives, for follow-up questions; absent: no memory between turns. */
  conversations?: ConversationStore;
  /**
   * Replicas sharing a database: the shard locks for a shard count. With them each shard runs on one replica at a
   * time, `shards.ids` are the ones this replica claims first, and shards of a replica that died are taken over and
   * their sessions resumed. Absent: this process runs its planned shards, alone.
   */
  shardClaims?: (count: number) => ShardClaims;
  /** With shardClaims: how often free shards are tried, and how long a never-run shard is left to its preferrer. */
  claimEveryMs?: number;
  orphanGraceMs?: number;
}

/** A running (or startable) Discord bot. */
export interface DiscordAdapter {
  /** Logs in and resolves once the gateway is ready and interactions are being answered. */
  start(): Promise<void>;
  /** Lets in-flight interactions finish (up to 2 s), then destroys the client; safe to call twice. */
  stop(): Promise<void>;
  /** The discord.js client, for events and diagnostics (with shardClaims: the lowest shard's running here, if any). */
  readonly client: Client;
  /** The clients running here, by shard (one client for every shard without shardClaims). */
  clients(): Map<number, Client>;
  /** Posts alerts for the outbox worker (its own REST client; usable before start and after stop). */
  readonly alertSender: DiscordAlertSender;
  /** The gateway shards this process runs, each with its state: `down` before start and after stop; with `auto`, none until Discord gave the count. */
  shardStatus(): ShardStatus[];
}

const CONSOLE_LOGGER: DiscordLogger = {
  info: (details, message) => console.info(message, details),
  warn: (details, message) => console.warn(message, details),
  error: (details, message) => console.error(message, details),
};

const STOP_GRACE_MS = 2_000;

/** Returns a Discord adapter: a discord.js client with only the Guilds intent that answers the given commands. */
export function createDiscordAdapter(options: DiscordAdapterOptions): DiscordAdapter {
  const logger = options.logger ?? CONSOLE_LOGGER;
  const ctx: InteractionContext = {
    service: options.service,
    commands: options.commands,
    logger,
    deferAfterMs: options.deferAfterMs ?? 1_500,
    alerts: options.alerts,
    visibilityFor: options.visibilityFor,
    conversations: options.conversations,
  };
  let alertSender: DiscordAlertSender | undefined;
  // One identify throttler for every client of the pool: Discord counts session starts per bot (max_concurrency per
  // 5 s), not per client, and each discord.js client would otherwise pace only its own.
  let throttler: Promise<IIdentifyThrottler> | undefined;
  const identifyThrottler: ClientSetup['identifyThrottler'] = (manager) =>
    (throttler ??= manager.fetchGatewayInformation().then((info) => new SimpleIdentifyThrottler(info.session_start_limit.max_concurrency)));
  const shared: ClientSetup = { options, logger, ctx, identifyThrottler };
  const single = options.shardClaims ? undefined : buildClient(shared, clientShardOptions(options.shards));
  let pool: ShardPool | undefined;
  let idle: Client | undefined;

  let started: Promise<void> | undefined;
  let stopped: Promise<void> | undefined;

  async function start(): Promise<void> {
    if (!single) return startPool();
    const { client, tracker } = single;
    // Not events.once: that rejects on any 'error' event, and a transient one must not fail start-up.
    const ready = new Promise<void>((resolve) => client.once(Events.ClientReady, () => resolve()));
    const planned = client.options.shards;
    logger.info(
      { shards: Array.isArray(planned) ? planned : (planned ?? null), shardCount: options.shards?.count ?? client.options.shardCount },
      `discord gateway: running ${describeShardPlan(options.shards)}`,
    );
    tracker.connecting();
    await client.login(options.token);
    await ready;
    const reported = client.application?.id;
    if (reported && reported !== options.applicationId) {
      logger.warn({ configured: options.applicationId, reported }, 'DISCORD_APPLICATION_ID does not match the token\'s application');
    }
    const running = tracker.status();
    logger.info(
      { user: client.user?.tag, guilds: client.guilds.cache.size, shards: running.map((s) => s.id), shardCount: client.options.shardCount },
      'discord adapter ready',
    );
  }

  async function startPool(): Promise<void> {
    const count = await shardCount(options);
    const preferred = options.shards?.ids;
    logger.info(
      { preferred: preferred ?? null, shardCount: count },
      `discord gateway: ${count} shard${count === 1 ? '' : 's'} shared with the other replicas; claiming ${preferred?.length ? `shard${preferred.length === 1 ? '' : 's'} ${preferred.join(',')}` : 'every shard'} first`,
    );
    pool = createShardPool({
      claims: options.shardClaims!(count),
      count,
      ...(preferred ? { preferred } : {}),
      token: options.token,
      applicationId: options.applicationId,
      logger,
      ...(options.claimEveryMs !== undefined ? { claimEveryMs: options.claimEveryMs } : {}),
      ...(options.orphanGraceMs !== undefined ? { orphanGraceMs: options.orphanGraceMs } : {}),
      build: (shard, strategy) => buildClient(shared, { shards: [shard], shardCount: count }, strategy),
    });
    await pool.start();
    logger.info({ shards: pool.status().map((s) => `${s.id}:${s.state}`) }, 'discord adapter ready');
  }

  async function stop(): Promise<void> {
    await idle?.destroy();
    if (pool) return pool.stop();
    if (!single) return;
    single.tracker.stopped();
    await single.drain();
    await single.client.destroy();
  }

  return {
    get client() {
      if (single) return single.client;
      const running = pool?.clients();
      const lowest = running && [...running.keys()].sort((a, b) => a - b)[0];
      return lowest === undefined ? (idle ??= new Client({ intents: [GatewayIntentBits.Guilds] })) : running!.get(lowest)!;
    },
    clients: () => (single ? new Map((single.client.options.shards as number[] | undefined ?? [0]).map((id) => [id, single.client])) : (pool?.clients() ?? new Map())),
    get alertSender() {
      return (alertSender ??= createDiscordAlertSender({ token: options.token, apiUrl: options.apiUrl, timeoutMs: options.restTimeoutMs }));
    },
    start: () => (started ??= start()),
    stop: () => (stopped ??= stop()),
    shardStatus: () => (single ? single.tracker.status() : (pool?.status() ?? [])),
  };
}

/** The shard count to share: the configured one, or Discord's recommendation (GET /gateway/bot) for `auto`. */
async function shardCount(options: DiscordAdapterOptions): Promise<number> {
  const plan = options.shards;
  if (plan && plan.count !== 'auto') return plan.count;
  if (!plan) return 1;
  const { REST, Routes } = await import('discord.js');
  const rest = new REST({ api: options.apiUrl ?? DEFAULT_DISCORD_API_URL }).setToken(options.token);
  const info = (await rest.get(Routes.gatewayBot())) as { shards: number };
  return Math.max(1, info.shards);
}

/** What every client of an adapter is built with. */
interface ClientSetup {
  options: DiscordAdapterOptions;
  logger: DiscordLogger;
  ctx: InteractionContext;
  identifyThrottler: NonNullable<NonNullable<ClientOptions['ws']>['buildIdentifyThrottler']>;
}

/** Returns a client with the handlers attached (interactions, errors, rate limits, shard states). */
function buildClient(
  { options, logger, ctx, identifyThrottler }: ClientSetup,
  shardOptions: ReturnType<typeof clientShardOptions>,
  strategy?: SessionStrategy,
): ShardClient {
  const client = new Client({
    // Slash commands, autocomplete and components arrive without any intent; Guilds gives the channel cache that
    // component interactions resolve against. No privileged intents (message content, members, presences).
    intents: [GatewayIntentBits.Guilds],
    allowedMentions: NO_MENTIONS,
    ...shardOptions,
    ...(strategy ? { ws: { buildStrategy: (manager) => strategy.build(manager), buildIdentifyThrottler: identifyThrottler } } : {}),
    rest: {
      api: options.apiUrl ?? DEFAULT_DISCORD_API_URL,
      retries: options.restRetries ?? 2,
      timeout: options.restTimeoutMs ?? 10_000,
    },
  });
  const inFlight = new Set<Promise<void>>();
  const watchers: ((id: string, handled: Promise<void>) => void)[] = [];
  client.on(Events.InteractionCreate, (interaction) => {
    const task = handleInteraction(interaction, ctx).catch((error: unknown) => {
      logger.error({ err: String(error) }, 'discord interaction handler escaped');
    });
    inFlight.add(task);
    void task.finally(() => inFlight.delete(task));
    for (const watch of watchers) watch(interaction.id, task);
  });
  // An EventEmitter 'error' without a listener throws and would end the process.
  client.on(Events.Error, (error) => logger.error({ err: error.message }, 'discord client error'));
  client.on(Events.Warn, (message) => logger.warn({}, `discord: ${message}`));
  const tracker = trackShards(client, logger);
  // discord.js retries 429s (after Retry-After) and 5xx itself; its RateLimited event only covers limits it saw
  // coming, so unexpected ones are logged from the responses.
  client.rest.on(RESTEvents.RateLimited, (info) =>
    logger.warn({ route: info.route, retryAfter: info.retryAfter, global: info.global }, 'discord rate limited: waiting'),
  );
  client.rest.on(RESTEvents.Response, (request, response) => {
    if (response.status === 429) {
      logger.warn({ route: request.route, retryAfter: response.headers.get('retry-after') }, 'discord rate limited (429): retrying after Retry-After');
    } else if (response.status >= 500) {
      logger.warn({ route: request.route, status: response.status, retries: request.retries }, 'discord server error: retrying');
    }
  });
  return {
    client,
    tracker,
    onInteraction: (listener) => void watchers.push(listener),
    async drain() {
      if (inFlight.size === 0) return;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.allSettled([...inFlight]),
        new Promise((resolve) => {
          timer = setTimeout(resolve, STOP_GRACE_MS);
        }),
      ]);
      clearTimeout(timer);
    },
  };
}

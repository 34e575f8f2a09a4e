import { App, ErrorCode, HTTPReceiver, SocketModeReceiver, type webApi } from '@slack/bolt';
import type { Command } from '../../../commands/types.js';
import type { IncidentService } from '../../core/incident-service.js';
import type { AlertsService, VisibilityFor } from '../../core/feed-model.js';
import type { ConversationStore } from '../../core/conversation.js';
import { createSlackAlertSender, type SlackAlertSender } from './alert-sender.js';
import { toBoltLogger } from './bolt-logger.js';
import { createSlackDistribution, SLACK_INSTALL_PATH, type SlackDistribution, type SlackOAuthOptions } from './distribution.js';
import { RecentKeys } from './event-dedupe.js';
import { createSlackHttpServer, type SlackHttpLimits, type SlackHttpServer, type SlackHttpStats } from './http-server.js';
import { registerListeners } from './listeners/index.js';
import { slackUsageFor, slashCommandOf } from './manifest.js';
import type { SlackLogger } from './reply.js';
import { describeSlackError } from './slack-errors.js';

/** What the Slack adapter needs: tokens, the mode's settings, the incident service and the command list. */
export interface SlackAdapterOptions {
  /** Bot token (xoxb-...) of the one workspace (SLACK_BOT_TOKEN); or `oauth`, never both. */
  botToken?: string;
  /** OAuth distribution to many workspaces, each answered with its own bot token (SLACK_CLIENT_ID...); or `botToken`. */
  oauth?: SlackOAuthOptions;
  /** App-level token (xapp-..., scope connections:write): when set, Socket Mode (no public endpoint). */
  appToken?: string;
  /** Signing secret: HTTP mode, when no app token is given. */
  signingSecret?: string;
  /** HTTP mode port; in Socket Mode with `oauth`, the port of the install pages (default 3000; 0 picks a free one). */
  port?: number;
  /** HTTP mode bind address (SLACK_HOST; default all interfaces, since Slack must reach it). */
  host?: string;
  /** HTTP mode: stricter limits than the defaults (body size, timeouts; tests shorten them). */
  httpLimits?: Partial<SlackHttpLimits>;
  /** HTTP mode: how often timed-out requests are looked for, in ms (default 1000). */
  httpCheckIntervalMs?: number;
  /** Web API base URL (default Slack's own, https://slack.com/api/), e.g. GovSlack's or a test fake's. */
  apiUrl?: string;
  /** The incident index and answering service. */
  service: IncidentService;
  /** The command list; the first one names the slash command. */
  commands: readonly Command[];
  /** Where to log (default console). */
  logger?: SlackLogger;
  /** Web API client options for every client, the Socket Mode client's included (tests: slackApiUrl, retryConfig). */
  clientOptions?: webApi.WebClientOptions;
  /** How many recent event ids to remember against redelivery (default 1000). */
  dedupeCapacity?: number;
  /** Feeds and subscriptions, when the feed watcher runs; without it `/incident alerts|feeds` say feeds are not enabled. */
  alerts?: AlertsService;
  /** SLACK_ADMIN_USER_IDS: users who may manage feeds in their workspace besides its admins and owners. */
  adminUserIds?: readonly string[];
  /** Which records each workspace may see (posts of other tenants' feeds are hidden); absent: every record. */
  visibilityFor?: VisibilityFor;
  /** Where each thread's conversation context lives, for follow-up questions; absent: no memory between turns. */
  conversations?: ConversationStore;
}

/** A configured Slack bot: start connects (Socket Mode) or listens (HTTP), stop disconnects; `app` is the Bolt app. */
export interface SlackAdapter {
  /** Verifies the bot token (auth.test), then connects or listens. */
  start(): Promise<void>;
  /** Disconnects or stops listening; safe to call twice or before start. */
  stop(): Promise<void>;
  /** The Bolt app, with the listeners registered. */
  readonly app: App;
  /** "socket" when an app token was given, else "http". */
  readonly mode: 'socket' | 'http';
  /** "oauth" when distributed (a token per workspace), else "single" (SLACK_BOT_TOKEN). */
  readonly tokens: 'single' | 'oauth';
  /** The port listened on once started: HTTP mode's endpoint, or Socket Mode's install pages with `oauth`. */
  readonly port: number | undefined;
  /** OAuth distribution's parts (the installer, each workspace's token, uninstalling); undefined with a single bot token. */
  readonly distribution: SlackDistribution | undefined;
  /** What the HTTP server (HTTP mode's endpoint, or Socket Mode's install pages) holds and has refused; undefined without one. */
  httpStats(): SlackHttpStats | undefined;
  /** Posts alerts for the outbox worker (its own Web API client; usable before start and after stop). */
  readonly alertSender: SlackAlertSender;
}

/** Thrown when the adapter's options cannot work; the message names the setting and the fix. */
export class SlackConfigError extends Error {
  override name = 'SlackConfigError';
}

/**
 * Retries for answers: Web API 429s are waited out for their Retry-After, and each wait uses one retry (with
 * `retries: 0` a 429 is waited out and then fails). An answer much later than a minute is worth little, so the
 * default of about 30 minutes of retries is not used.
 */
export const SLACK_REPLY_RETRY: webApi.RetryOptions = { retries: 3, factor: 2, minTimeout: 1000, maxTimeout: 10_000, randomize: true };

/** The path Bolt's HTTP receiver serves: slash commands, events and interactivity all post here. */
export const SLACK_EVENTS_PATH = '/slack/events';

/** Longest wait for the Socket Mode close handshake on stop (the client's own limit is 30 s). */
const DISCONNECT_TIMEOUT_MS = 5000;

/**
 * Returns a Slack adapter: Socket Mode when appToken is set, else HTTP mode with signingSecret and port; one
 * workspace with botToken, or many with `oauth` (each request and alert then uses its workspace's own token).
 */
export function createSlackAdapter(options: SlackAdapterOptions): SlackAdapter {
  if (options.botToken && options.oauth) {
    throw new SlackConfigError('Give SLACK_BOT_TOKEN (one workspace) or SLACK_CLIENT_ID, SLACK_CLIENT_SECRET and SLACK_STATE_SECRET (distribution), not both');
  }
  if (!options.botToken && !options.oauth) {
    throw new SlackConfigError(
      'SLACK_BOT_TOKEN is required (the bot token, xoxb-..., from OAuth & Permissions), or SLACK_CLIENT_ID, SLACK_CLIENT_SECRET and SLACK_STATE_SECRET to install the app in many workspaces',
    );
  }
  if (!options.appToken && !options.signingSecret) {
    throw new SlackConfigError(
      'Slack needs SLACK_APP_TOKEN (Socket Mode, xapp-... with connections:write) or SLACK_SIGNING_SECRET (HTTP mode, from Basic Information)',
    );
  }
  slashCommandOf(options.commands); // fails early on an empty command list

  const logger = options.logger ?? console;
  // The OAuth secrets are scrubbed from Bolt's lines too: at debug level the code exchange's body is logged.
  const boltLogger = toBoltLogger(logger, undefined, options.oauth ? [options.oauth.clientSecret, options.oauth.stateSecret] : []);
  const base: webApi.WebClientOptions = { ...(options.apiUrl ? { slackApiUrl: options.apiUrl } : {}), ...options.clientOptions };
  // Separate copies: Bolt writes its logger into the object it is given, and the Socket Mode client writes its own
  // retry policy (100 retries, for reconnecting) into its object when none is set; neither must leak into the other.
  const appClientOptions: webApi.WebClientOptions = { retryConfig: SLACK_REPLY_RETRY, ...base };
  const socketClientOptions: webApi.WebClientOptions = { ...base };

  const mode = options.appToken ? 'socket' : 'http';
  let alertSender: SlackAlertSender | undefined;
  const distribution = options.oauth
    ? createSlackDistribution(options.oauth, {
        apiUrl: options.apiUrl,
        clientOptions: base,
        logger,
        boltLogger,
        alerts: options.alerts,
        onForget: (teamId) => alertSender?.forget(teamId),
      })
    : undefined;
  const socketReceiver =
    mode === 'socket'
      ? new SocketModeReceiver({ appToken: options.appToken!, logger: boltLogger, installerOptions: { clientOptions: socketClientOptions } })
      : undefined;
  // HTTP mode: Bolt's receiver parses, verifies again and dispatches; our server in front of it bounds what an
  // unauthenticated client can make us hold, and refuses future timestamps and replays (see http-server.ts).
  const httpReceiver =
    mode === 'http'
      ? new HTTPReceiver({ signingSecret: options.signingSecret!, endpoints: SLACK_EVENTS_PATH, logger: boltLogger })
      : undefined;
  // The install pages are served by the same hardened server: beside Bolt's endpoint in HTTP mode, alone on `port` in
  // Socket Mode (Bolt's own Socket Mode install server has no body or time limits).
  const httpServer: SlackHttpServer | undefined =
    httpReceiver || distribution
      ? createSlackHttpServer({
          ...(httpReceiver ? { signingSecret: options.signingSecret!, path: SLACK_EVENTS_PATH } : {}),
          listener: httpReceiver?.requestListener ?? (() => undefined),
          pages: distribution?.pages,
          logger,
          limits: options.httpLimits,
          checkIntervalMs: options.httpCheckIntervalMs,
        })
      : undefined;

  const app = new App({
    ...(distribution ? { authorize: distribution.authorize } : { token: options.botToken }),
    receiver: (socketReceiver ?? httpReceiver)!,
    logger: boltLogger,
    // Without it Bolt sets its default (info) on our logger, hiding its own and the clients' debug lines at LOG_LEVEL=debug.
    logLevel: boltLogger.getLevel(),
    clientOptions: appClientOptions,
    // Without this, new App() calls auth.test at once and an unreachable API or a bad token becomes an unhandled
    // rejection; with it, start() calls auth.test and reports the failure.
    deferInitialization: true,
  });
  app.error(async (error) => {
    // Distributed, a request from a workspace without an installation (it just left, or never installed) is not
    // answered: expected, so one warning line without a stack.
    if ((error as { code?: string }).code === ErrorCode.AuthorizationError) {
      logger.warn(`Slack: not answered: ${(error as Error).message}`);
      return;
    }
    // Log and swallow: a listener's failure must never reach the receiver as a 500 or end the process.
    const stack = error instanceof Error && error.stack ? `\n${error.stack}` : '';
    logger.error(`Slack: a listener failed: ${describeSlackError(error, { method: 'listener' })}${stack}`);
  });

  const usageFor = slackUsageFor(options.commands);
  registerListeners(app, {
    service: options.service,
    commands: options.commands,
    logger,
    alerts: options.alerts,
    adminUserIds: new Set(options.adminUserIds ?? []),
    visibilityFor: options.visibilityFor,
    conversations: options.conversations,
    recent: new RecentKeys(options.dedupeCapacity ?? 1000),
    help: { usageFor, footer: 'You can also mention me with a question, e.g. "@incident-bot what happened with Sky ECC?"; I answer in a thread.' },
  });
  distribution?.registerUninstallListeners(app);

  let state: 'new' | 'started' | 'stopped' = 'new';
  let port: number | undefined;

  return {
    app,
    mode,
    tokens: distribution ? 'oauth' : 'single',
    distribution,
    get alertSender() {
      const clientOptions = { ...base, logger: boltLogger };
      return (alertSender ??= distribution
        ? createSlackAlertSender({ tokenFor: distribution.tokenFor, clientOptions })
        : createSlackAlertSender({ botToken: options.botToken, clientOptions }));
    },
    get port() {
      return port;
    },
    httpStats: () => httpServer?.stats(),
    async start() {
      if (state === 'started') return;
      try {
        // With a single token this calls auth.test; distributed, each workspace's token is checked when it is used.
        await app.init();
      } catch (error) {
        throw new SlackConfigError(`Slack auth.test failed, so the bot token cannot be used: ${describeSlackError(error, { method: 'auth.test' })}`, {
          cause: error,
        });
      }
      if (httpServer) {
        port = await httpServer.listen(options.port ?? 3000, options.host);
        if (httpReceiver) logger.info(`Slack: HTTP mode, listening on ${options.host ?? '*'}:${port}${SLACK_EVENTS_PATH}`);
      }
      if (socketReceiver) {
        try {
          await socketReceiver.start();
        } catch (error) {
          await httpServer?.close(); // the install pages must not outlive a failed start
          throw error;
        }
        logger.info('Slack: connected in Socket Mode');
      }
      if (options.oauth) {
        const installed = await options.oauth.installations.count();
        logger.info(`Slack: installed in ${installed} workspace${installed === 1 ? '' : 's'}; add one at ${options.oauth.redirectUri ? new URL(SLACK_INSTALL_PATH, options.oauth.redirectUri).href : `<this host>:${port}${SLACK_INSTALL_PATH}`}`);
      }
      state = 'started';
    },
    async stop() {
      if (state !== 'started') return;
      state = 'stopped';
      if (httpServer) await httpServer.close();
      if (!socketReceiver) return;
      // SocketModeReceiver.stop() does not wait for the disconnect; the client's disconnect() does.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        socketReceiver.client.disconnect(),
        new Promise<void>((resolve) => {
          timer = setTimeout(() => {
            logger.warn('Slack: Socket Mode close handshake timed out; stopping anyway');
            resolve();
          }, DISCONNECT_TIMEOUT_MS);
        }),
      ]);
      clearTimeout(timer);
    },
  };
}

import { hostname } from 'node:os';
import { isIP } from 'node:net';
import { config as loadDotenv } from 'dotenv';
import { z } from 'zod';
import { DEFAULT_DATABASE_PATH } from './store/store.js';

/** Discord's REST API base; discord.js appends the version (`/v10`). */
export const DISCORD_DEFAULT_API_URL = 'https://discord.com/api';
/** Slack's Web API base (GovSlack: https://slack-gov.com/api/). */
export const SLACK_DEFAULT_API_URL = 'https://slack.com/api/';

/** Thrown when configuration is missing or invalid; the message names the variable and the fix, never a secret. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

const optionalText = z
  .string()
  .transform((s) => s.trim())
  .optional()
  .transform((s) => (s ? s : undefined));
const httpUrl = (fallback: string) =>
  optionalText.pipe(z.string().url().refine((u) => /^https?:\/\//.test(u), 'must start with http:// or https://').default(fallback));

function wholeNumber(_name: string, min: number, max: number) {
  const message = `must be a whole number from ${min} to ${max}`;
  return z.string().regex(/^\d+$/, message).transform(Number).pipe(z.number().int().min(min, message).max(max, message));
}

const PORT_MESSAGE = 'must be a port number (1-65535)';
const port = z.string().regex(/^\d+$/, PORT_MESSAGE).transform(Number).pipe(z.number().int().min(1, PORT_MESSAGE).max(65535, PORT_MESSAGE));
const listenHost = z
  .string()
  .refine((h) => isIP(h) !== 0 || /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i.test(h), 'must be an IP address or host name to listen on, e.g. 0.0.0.0, :: or 127.0.0.1');
/** A replica's name as logs and metric labels carry it: short, and safe in a label value and a log line. */
const REPLICA_ID_MESSAGE = 'must be 1-64 letters, digits, dots, dashes, underscores or colons (e.g. bot-1, or a pod name)';

const booleanText = z
  .string()
  .regex(/^(true|false|1|0|yes|no)$/i, 'must be true or false')
  .transform((v) => /^(true|1|yes)$/i.test(v));

/** Most shards accepted: far above any bot's need (Discord recommends one per 1,000 servers). */
const MAX_DISCORD_SHARDS = 100_000;
const SHARDS_MESSAGE = `must be auto or a whole number of shards from 1 to ${MAX_DISCORD_SHARDS}`;
const SHARD_IDS_MESSAGE = 'must be shard ids, comma-separated, ranges allowed (e.g. 0,1 or 0-3)';
const shardIdList = z
  .string()
  .refine((v) => v.split(',').every((part) => /^\s*\d+\s*(-\s*\d+\s*)?$/.test(part)), SHARD_IDS_MESSAGE)
  .transform((v, ctx) => {
    const ids: number[] = [];
    for (const part of v.split(',')) {
      const [from, to = from] = part.split('-').map((x) => Number(x.trim()));
      if (to < from) ctx.addIssue({ code: 'custom', message: `has the range ${part.trim()} backwards: write it low-high` });
      for (let id = from; id <= to && id - from <= MAX_DISCORD_SHARDS; id++) ids.push(id);
    }
    const twice = ids.find((id, i) => ids.indexOf(id) !== i);
    if (twice !== undefined) ctx.addIssue({ code: 'custom', message: `lists shard ${twice} twice` });
    return ids;
  });

const SECRET_HINT = 'e.g. the output of `openssl rand -hex 32`';
/** The OAuth redirect path the bot serves (Bolt's default); SLACK_REDIRECT_URI must end with it. */
const REDIRECT_PATH = '/slack/oauth_redirect';

/** Returns the 32 bytes of a key given as base64 (44 characters) or hex (64), or undefined when it is neither. */
function keyBytes(text: string): Buffer | undefined {
  if (/^[0-9a-f]{64}$/i.test(text)) return Buffer.from(text, 'hex');
  if (/^[A-Za-z0-9+/]{43}=?$/.test(text)) {
    const bytes = Buffer.from(text, 'base64');
    return bytes.length === 32 ? bytes : undefined;
  }
  return undefined;
}

function idList(pattern: RegExp, what: string) {
  return z
    .string()
    .transform((v) => v.split(',').map((x) => x.trim()).filter(Boolean))
    .refine((ids) => ids.every((id) => pattern.test(id)), `must be a comma-separated list of ${what}`);
}

/** Every environment variable the bot reads, with its rule; the one place configuration is defined. */
export const EnvSchema = z.object({
  DATABASE_PATH: optionalText.default(DEFAULT_DATABASE_PATH),
  // PostgreSQL instead of the SQLite file (several replicas share one); the password in it is never echoed.
  DATABASE_URL: optionalText.pipe(
    z
      .string()
      .refine((u) => /^postgres(ql)?:\/\/[^/\s]+/.test(u) && URL.canParse(u), 'must be a PostgreSQL URL: postgres://user:password@host:5432/database')
      .optional(),
  ),
  INCIDENT_DATA: optionalText,
  LOG_LEVEL: optionalText.pipe(z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info')),
  DISCORD_TOKEN: optionalText,
  DISCORD_APPLICATION_ID: optionalText.pipe(z.string().regex(/^\d{17,20}$/, 'must be the numeric application id (17-20 digits)').optional()),
  DISCORD_GUILD_ID: optionalText.pipe(z.string().regex(/^\d{17,20}$/, 'must be a numeric server id (17-20 digits)').optional()),
  DISCORD_API_URL: httpUrl(DISCORD_DEFAULT_API_URL),
  DISCORD_SHARDS: optionalText.pipe(
    z
      .string()
      .regex(/^(auto|\d+)$/i, SHARDS_MESSAGE)
      .transform((v): number | 'auto' => (/^auto$/i.test(v) ? 'auto' : Number(v)))
      .refine((v) => v === 'auto' || (v >= 1 && v <= MAX_DISCORD_SHARDS), SHARDS_MESSAGE)
      .optional(),
  ),
  DISCORD_SHARD_IDS: optionalText.pipe(shardIdList.optional()),
  SLACK_BOT_TOKEN: optionalText.pipe(z.string().startsWith('xoxb-', 'must be a bot token starting with xoxb-').optional()),
  SLACK_APP_TOKEN: optionalText.pipe(z.string().startsWith('xapp-', 'must be an app-level token starting with xapp-').optional()),
  SLACK_SIGNING_SECRET: optionalText,
  SLACK_PORT: optionalText.pipe(
    z
      .string()
      .regex(/^\d+$/, 'must be a port number (1-65535)')
      .transform(Number)
      .pipe(z.number().int().min(1, 'must be a port number (1-65535)').max(65535, 'must be a port number (1-65535)'))
      .default(3000),
  ),
  SLACK_HOST: optionalText.pipe(
    z
      .string()
      .refine((h) => isIP(h) !== 0 || /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i.test(h), 'must be an IP address or host name to listen on, e.g. 0.0.0.0, :: or 127.0.0.1')
      .optional(),
  ),
  SLACK_API_URL: httpUrl(SLACK_DEFAULT_API_URL),
  SLACK_CLIENT_ID: optionalText.pipe(z.string().regex(/^\d+\.\d+$/, 'must be the Client ID from Basic Information > App Credentials (digits, a dot, digits)').optional()),
  SLACK_CLIENT_SECRET: optionalText.pipe(z.string().min(16, 'is too short to be a Client Secret: copy it from Basic Information > App Credentials').optional()),
  SLACK_STATE_SECRET: optionalText.pipe(z.string().min(16, `must be a random string of at least 16 characters (${SECRET_HINT})`).optional()),
  SLACK_REDIRECT_URI: optionalText.pipe(
    z
      .string()
      .url(`must be the public URL of ${REDIRECT_PATH}, e.g. https://bot.example.com${REDIRECT_PATH}`)
      .refine((u) => /^https?:\/\//.test(u) && new URL(u).pathname === REDIRECT_PATH, `must be an http(s) URL whose path is ${REDIRECT_PATH}, e.g. https://bot.example.com${REDIRECT_PATH}`)
      .optional(),
  ),
  SLACK_TOKEN_ENCRYPTION_KEY: optionalText.pipe(
    z
      .string()
      .refine((k) => keyBytes(k) !== undefined, 'must be 32 random bytes in base64 or hex, e.g. the output of `openssl rand -base64 32`')
      .transform((k) => keyBytes(k)!)
      .optional(),
  ),
  FEEDS_FILE: optionalText,
  FEED_POLL_SECONDS: optionalText.pipe(wholeNumber('FEED_POLL_SECONDS', 1, 86_400).default(600)),
  FEED_BACKFILL: optionalText.pipe(wholeNumber('FEED_BACKFILL', 0, 100).default(0)),
  FEED_MAX_ITEMS_PER_POLL: optionalText.pipe(wholeNumber('FEED_MAX_ITEMS_PER_POLL', 1, 100_000).default(200)),
  FEED_RETENTION_DAYS: optionalText.pipe(wholeNumber('FEED_RETENTION_DAYS', 1, 36_500).default(365)),
  FEED_MAX_POSTS_PER_FEED: optionalText.pipe(wholeNumber('FEED_MAX_POSTS_PER_FEED', 100, 1_000_000).default(10_000)),
  FEEDS_ENABLED: optionalText.pipe(booleanText.default(true)),
  ALLOW_PRIVATE_FEED_URLS: optionalText.pipe(booleanText.default(false)),
  DISCORD_ALERT_CHANNEL_IDS: optionalText.pipe(idList(/^\d{17,20}$/, 'numeric Discord channel ids').default([])),
  SLACK_ALERT_CHANNEL_IDS: optionalText.pipe(idList(/^[CGD][A-Z0-9]{6,}$/, 'Slack channel ids like C0123ABCD').default([])),
  SLACK_ADMIN_USER_IDS: optionalText.pipe(idList(/^[UW][A-Z0-9]{2,}$/, 'Slack user ids like U0123ABCD').default([])),
  FEEDS_PER_TENANT: optionalText.pipe(wholeNumber('FEEDS_PER_TENANT', 0, 10_000).default(20)),
  SUBSCRIPTIONS_PER_CHANNEL: optionalText.pipe(wholeNumber('SUBSCRIPTIONS_PER_CHANNEL', 1, 1_000).default(25)),
  MANAGE_COMMANDS_PER_MINUTE: optionalText.pipe(wholeNumber('MANAGE_COMMANDS_PER_MINUTE', 1, 10_000).default(10)),
  SOURCES_FILE: optionalText,
  SOURCES_SYNC: optionalText.pipe(booleanText.default(true)),
  SOURCES_MAX_MB: optionalText.pipe(wholeNumber('SOURCES_MAX_MB', 1, 2048).default(100)),
  SOURCES_TIMEOUT_SECONDS: optionalText.pipe(wholeNumber('SOURCES_TIMEOUT_SECONDS', 5, 3600).default(300)),
  HTTP_PORT: optionalText.pipe(port.optional()),
  HTTP_HOST: optionalText.pipe(listenHost.optional()),
  REPLICA_ID: optionalText.pipe(z.string().regex(/^[A-Za-z0-9._:-]{1,64}$/, REPLICA_ID_MESSAGE).optional()),
});

/** The bot's typed configuration. */
export interface Config {
  databasePath: string;
  /** DATABASE_URL: store everything in this PostgreSQL instead of the SQLite file at databasePath. */
  databaseUrl?: string;
  /** Extra data files to import at start (INCIDENT_DATA, comma-separated). */
  dataPaths: string[];
  logLevel: z.infer<typeof EnvSchema>['LOG_LEVEL'];
  /** Present when DISCORD_TOKEN is set. */
  discord?: {
    token: string;
    applicationId: string;
    guildId?: string;
    apiUrl: string;
    /** DISCORD_SHARDS and DISCORD_SHARD_IDS; absent: one unsharded gateway session. */
    shards?: { count: number | 'auto'; ids?: number[] };
  };
  /** Present when SLACK_BOT_TOKEN (one workspace) or SLACK_CLIENT_ID and its companions (distribution) are set. */
  slack?: {
    /** SLACK_BOT_TOKEN; absent under distribution, where each workspace's token comes from its installation. */
    botToken?: string;
    /** OAuth distribution to many workspaces (SLACK_CLIENT_ID, SLACK_CLIENT_SECRET, SLACK_STATE_SECRET...). */
    distribution?: {
      clientId: string;
      clientSecret: string;
      stateSecret: string;
      /** SLACK_REDIRECT_URI: the public URL of /slack/oauth_redirect. */
      redirectUri?: string;
      /** SLACK_TOKEN_ENCRYPTION_KEY: 32 bytes; installations (tokens) are stored encrypted with it. */
      encryptionKey?: Buffer;
    };
    appToken?: string;
    signingSecret?: string;
    port: number;
    /** SLACK_HOST: HTTP mode bind address (default all interfaces). */
    host?: string;
    apiUrl: string;
    /** SLACK_ADMIN_USER_IDS: may add and remove feeds in their workspace, besides its admins and owners. */
    adminUserIds: string[];
  };
  /** The feed watcher. */
  feeds: {
    enabled: boolean;
    /** FEEDS_FILE: JSON list or OPML; default the bundled data/feeds.json. */
    file?: string;
    pollSeconds: number;
    backfill: number;
    /** FEED_MAX_ITEMS_PER_POLL: new items stored per poll of a feed; the rest are skipped (default 200). */
    maxItemsPerPoll?: number;
    /** FEED_RETENTION_DAYS: how long a feed's posts are kept; older items are never stored or alerted (default 365). */
    retentionDays?: number;
    /** FEED_MAX_POSTS_PER_FEED: most posts kept per feed, the newest (default 10,000). */
    maxPostsPerFeed?: number;
    allowPrivateUrls: boolean;
    /** Channels subscribed to everything at start. */
    discordAlertChannels: string[];
    slackAlertChannels: string[];
    /** What each tenant may do: FEEDS_PER_TENANT, SUBSCRIPTIONS_PER_CHANNEL, MANAGE_COMMANDS_PER_MINUTE. */
    limits?: { feedsPerTenant: number; subscriptionsPerChannel: number; manageCommandsPerMinute: number };
  };
  /** HTTP_PORT and HTTP_HOST: /healthz, /readyz and /metrics; absent (the default): no such server. */
  http?: { port: number; host?: string };
  /** REPLICA_ID, default host name and process id: names this process in logs and metrics. */
  replicaId: string;
  /** The datasets the bot downloads and keeps fresh. */
  sources: {
    /** SOURCES_FILE; default the bundled data/sources.json. */
    file?: string;
    /** SOURCES_SYNC: sync due sources in the background at start and on their schedule. */
    sync: boolean;
    /** Cap on one downloaded file (SOURCES_MAX_MB). */
    maxBytes: number;
    /** Whole-download timeout (SOURCES_TIMEOUT_SECONDS). */
    timeoutMs: number;
    /** ALLOW_PRIVATE_FEED_URLS also lets sources live on loopback/private addresses (tests, local mirrors). */
    allowPrivateUrls: boolean;
  };
}

const SECRET_VARS = new Set([
  'DISCORD_TOKEN',
  'SLACK_BOT_TOKEN',
  'SLACK_APP_TOKEN',
  'SLACK_SIGNING_SECRET',
  'SLACK_CLIENT_SECRET',
  'SLACK_STATE_SECRET',
  'SLACK_TOKEN_ENCRYPTION_KEY',
  'DATABASE_URL',
]);

/** Returns the configuration from `env` (default: process.env after loading `.env`), or throws a ConfigError. */
export function loadConfig(env: NodeJS.ProcessEnv = readEnv()): Config {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => {
      const name = String(issue.path[0] ?? '');
      // Never echo a secret's value: the message goes to logs and terminals.
      const got = SECRET_VARS.has(name) || env[name] === undefined ? '' : ` (got "${String(env[name]).slice(0, 60)}")`;
      return `${name} ${issue.message}${got}`;
    });
    throw new ConfigError(`Invalid configuration:\n  ${lines.join('\n  ')}\nFix the variables above in .env or the environment (see .env.example).`);
  }
  const e = parsed.data;
  const config: Config = {
    databasePath: e.DATABASE_PATH,
    ...(e.DATABASE_URL ? { databaseUrl: e.DATABASE_URL } : {}),
    dataPaths: (e.INCIDENT_DATA ?? '').split(',').map((p) => p.trim()).filter(Boolean),
    logLevel: e.LOG_LEVEL,
    replicaId: e.REPLICA_ID ?? defaultReplicaId(),
    feeds: {
      enabled: e.FEEDS_ENABLED,
      file: e.FEEDS_FILE,
      pollSeconds: e.FEED_POLL_SECONDS,
      backfill: e.FEED_BACKFILL,
      maxItemsPerPoll: e.FEED_MAX_ITEMS_PER_POLL,
      retentionDays: e.FEED_RETENTION_DAYS,
      maxPostsPerFeed: e.FEED_MAX_POSTS_PER_FEED,
      allowPrivateUrls: e.ALLOW_PRIVATE_FEED_URLS,
      discordAlertChannels: e.DISCORD_ALERT_CHANNEL_IDS,
      slackAlertChannels: e.SLACK_ALERT_CHANNEL_IDS,
      limits: { feedsPerTenant: e.FEEDS_PER_TENANT, subscriptionsPerChannel: e.SUBSCRIPTIONS_PER_CHANNEL, manageCommandsPerMinute: e.MANAGE_COMMANDS_PER_MINUTE },
    },
    sources: {
      file: e.SOURCES_FILE,
      sync: e.SOURCES_SYNC,
      maxBytes: e.SOURCES_MAX_MB * 1024 * 1024,
      timeoutMs: e.SOURCES_TIMEOUT_SECONDS * 1000,
      allowPrivateUrls: e.ALLOW_PRIVATE_FEED_URLS,
    },
  };
  if (e.DISCORD_TOKEN) {
    if (!e.DISCORD_APPLICATION_ID) {
      throw new ConfigError('DISCORD_APPLICATION_ID is missing: set it to your application id (Developer Portal > General Information) when DISCORD_TOKEN is set.');
    }
    config.discord = { token: e.DISCORD_TOKEN, applicationId: e.DISCORD_APPLICATION_ID, guildId: e.DISCORD_GUILD_ID, apiUrl: e.DISCORD_API_URL };
    const shards = discordShards(e.DISCORD_SHARDS, e.DISCORD_SHARD_IDS);
    if (shards) config.discord.shards = shards;
  } else if (e.DISCORD_APPLICATION_ID || e.DISCORD_GUILD_ID || e.DISCORD_SHARDS || e.DISCORD_SHARD_IDS) {
    throw new ConfigError('DISCORD_TOKEN is missing: set it to the bot token (Developer Portal > Bot > Reset Token), or remove the other DISCORD_ variables.');
  }
  const distribution = slackDistribution(e);
  if (distribution) {
    if (e.SLACK_BOT_TOKEN) {
      throw new ConfigError(
        'SLACK_BOT_TOKEN and SLACK_CLIENT_ID are two different setups: remove SLACK_BOT_TOKEN to install the app in many workspaces (each workspace\'s token then comes from its installation), or remove SLACK_CLIENT_ID, SLACK_CLIENT_SECRET and SLACK_STATE_SECRET to serve the one workspace of SLACK_BOT_TOKEN.',
      );
    }
    if (!e.SLACK_APP_TOKEN && !e.SLACK_SIGNING_SECRET) {
      throw new ConfigError(
        'SLACK_SIGNING_SECRET is missing: distribution in HTTP mode needs it (Basic Information > App Credentials), with SLACK_PORT; or set SLACK_APP_TOKEN for Socket Mode, where SLACK_PORT serves only the install pages.',
      );
    }
    config.slack = {
      distribution,
      appToken: e.SLACK_APP_TOKEN,
      signingSecret: e.SLACK_SIGNING_SECRET,
      port: e.SLACK_PORT,
      apiUrl: e.SLACK_API_URL,
      adminUserIds: e.SLACK_ADMIN_USER_IDS,
    };
    if (e.SLACK_HOST) config.slack.host = e.SLACK_HOST;
  } else if (e.SLACK_BOT_TOKEN) {
    if (!e.SLACK_APP_TOKEN && !e.SLACK_SIGNING_SECRET) {
      throw new ConfigError('SLACK_APP_TOKEN is missing: set it (xapp-..., Socket Mode, no public URL needed) or set SLACK_SIGNING_SECRET and SLACK_PORT for HTTP mode.');
    }
    config.slack = {
      botToken: e.SLACK_BOT_TOKEN,
      appToken: e.SLACK_APP_TOKEN,
      signingSecret: e.SLACK_SIGNING_SECRET,
      port: e.SLACK_PORT,
      apiUrl: e.SLACK_API_URL,
      adminUserIds: e.SLACK_ADMIN_USER_IDS,
    };
    if (e.SLACK_HOST) config.slack.host = e.SLACK_HOST;
  } else if (e.SLACK_APP_TOKEN || e.SLACK_SIGNING_SECRET) {
    throw new ConfigError(
      'SLACK_BOT_TOKEN is missing: set it to the bot token (xoxb-..., OAuth & Permissions), or set SLACK_CLIENT_ID, SLACK_CLIENT_SECRET and SLACK_STATE_SECRET to install the app in many workspaces, or remove the other SLACK_ variables.',
    );
  }
  if (e.HTTP_PORT !== undefined) {
    // One port, one owner: Slack's endpoint must face the internet, health and metrics should not (see README).
    if (config.slack && !config.slack.appToken && config.slack.port === e.HTTP_PORT) {
      throw new ConfigError(`HTTP_PORT and SLACK_PORT are both ${e.HTTP_PORT}: Slack's HTTP endpoint keeps its own port. Set HTTP_PORT to another port (e.g. 9090), and keep it off the internet.`);
    }
    config.http = { port: e.HTTP_PORT, ...(e.HTTP_HOST ? { host: e.HTTP_HOST } : {}) };
  } else if (e.HTTP_HOST) {
    throw new ConfigError('HTTP_HOST is set but HTTP_PORT is not: set HTTP_PORT (e.g. 9090) to serve /healthz, /readyz and /metrics, or remove HTTP_HOST.');
  }
  return config;
}

/** Returns this process's default replica name: the host name and the process id, e.g. `bot-7f9c-4123`. */
export function defaultReplicaId(): string {
  // A host name with characters a REPLICA_ID may not hold still gives a valid default: those become dashes.
  const host = hostname().replace(/[^A-Za-z0-9._:-]/g, '-').slice(0, 50) || 'host';
  return `${host}-${process.pid}`;
}

/** Returns the OAuth distribution settings (undefined when none of its variables is set), or throws naming what is missing. */
function slackDistribution(e: z.infer<typeof EnvSchema>): NonNullable<Config['slack']>['distribution'] {
  const { SLACK_CLIENT_ID: clientId, SLACK_CLIENT_SECRET: clientSecret, SLACK_STATE_SECRET: stateSecret } = e;
  if (!clientId && !clientSecret && !stateSecret) {
    const stray = e.SLACK_REDIRECT_URI ? 'SLACK_REDIRECT_URI' : e.SLACK_TOKEN_ENCRYPTION_KEY ? 'SLACK_TOKEN_ENCRYPTION_KEY' : undefined;
    if (stray) throw new ConfigError(`${stray} is set, but it is used only when the app is installed in many workspaces: set SLACK_CLIENT_ID, SLACK_CLIENT_SECRET and SLACK_STATE_SECRET too, or remove ${stray}.`);
    return undefined;
  }
  const fixes: Record<string, string> = {
    SLACK_CLIENT_ID: 'the Client ID from Basic Information > App Credentials',
    SLACK_CLIENT_SECRET: 'the Client Secret from Basic Information > App Credentials',
    SLACK_STATE_SECRET: `a random string of your own that signs the install flow's state, ${SECRET_HINT}`,
  };
  const missing = Object.entries({ SLACK_CLIENT_ID: clientId, SLACK_CLIENT_SECRET: clientSecret, SLACK_STATE_SECRET: stateSecret }).filter(([, v]) => !v);
  if (missing.length) {
    const [name] = missing[0]!;
    throw new ConfigError(`${name} is missing: installing the app in many workspaces needs SLACK_CLIENT_ID, SLACK_CLIENT_SECRET and SLACK_STATE_SECRET; set ${name} to ${fixes[name]}.`);
  }
  return {
    clientId: clientId!,
    clientSecret: clientSecret!,
    stateSecret: stateSecret!,
    ...(e.SLACK_REDIRECT_URI ? { redirectUri: e.SLACK_REDIRECT_URI } : {}),
    ...(e.SLACK_TOKEN_ENCRYPTION_KEY ? { encryptionKey: e.SLACK_TOKEN_ENCRYPTION_KEY } : {}),
  };
}

/** Returns the shard plan from DISCORD_SHARDS and DISCORD_SHARD_IDS (undefined: unsharded), or throws a ConfigError. */
function discordShards(count: number | 'auto' | undefined, ids: number[] | undefined): { count: number | 'auto'; ids?: number[] } | undefined {
  if (ids && count === undefined) {
    throw new ConfigError('DISCORD_SHARD_IDS needs DISCORD_SHARDS: set DISCORD_SHARDS to the number of shards across all replicas (e.g. DISCORD_SHARDS=4 with DISCORD_SHARD_IDS=0,1 here and 2,3 on the other replica).');
  }
  if (count === 'auto') {
    // Each replica would ask Discord for the count on its own, and the recommendation grows with the bot: replicas
    // started on different days could run overlapping or missing shards. Splitting needs one fixed count.
    if (ids) {
      throw new ConfigError('DISCORD_SHARD_IDS cannot be used with DISCORD_SHARDS=auto: replicas that split shards must agree on one count. Set DISCORD_SHARDS to a number (the `shards` of GET /gateway/bot, or more), or remove DISCORD_SHARD_IDS to run every shard in this process.');
    }
    return { count };
  }
  if (count === undefined) return undefined;
  const outside = ids?.find((id) => id >= count);
  if (outside !== undefined) {
    throw new ConfigError(`DISCORD_SHARD_IDS lists shard ${outside}, but DISCORD_SHARDS=${count} numbers shards 0 to ${count - 1}: fix one of them.`);
  }
  return ids ? { count, ids } : { count };
}

function readEnv(): NodeJS.ProcessEnv {
  loadDotenv({ quiet: true });
  return process.env;
}

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { WebSocketServer } from 'ws';
import { FakeGateway, type GatewayDispatch, type GatewayEvent, type GatewaySession } from './fake-discord-gateway.js';

export { guildIdOnShard, shardOfGuild, type GatewayDispatch, type GatewayEvent, type GatewaySession } from './fake-discord-gateway.js';

/**
 * A small fake Discord on 127.0.0.1 for running the real discord.js against: the REST routes the bot uses
 * (gateway info, interaction callbacks, webhook edits and follow-ups, channel messages, command registration) and a
 * WebSocket gateway (HELLO, IDENTIFY -> READY + GUILD_CREATE, heartbeats, RESUME, op 7 reconnect), sharded when
 * `shards` is set (fake-discord-gateway.ts). Text frames only.
 */

/** One REST request as the fake received it. */
export interface RecordedRequest {
  method: string;
  /** Decoded path, without the query string, e.g. `/api/v10/webhooks/1/tok/messages/@original`. */
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  /** Parsed JSON body, or the raw text when it is not JSON, or undefined when empty. */
  body: any;
  /** performance.now() when the request was complete. */
  at: number;
  /** Status the fake answered with. */
  status: number;
}

/** A scripted failure: the next `times` requests matching `method` and `path` get this response instead. */
export interface FaultRule {
  method?: string;
  path: RegExp;
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
  times: number;
}

/** Ids the fake uses for its one application, guild, channel and users. */
export interface FakeDiscordOptions {
  applicationId?: string;
  botUserId?: string;
  guildId?: string;
  channelId?: string;
  userId?: string;
  /** Shards GET /gateway/bot recommends (default 1). */
  shards?: number;
  /** IDENTIFY with fewer shards than this is closed with 4011, sharding required (default 1). */
  minShards?: number;
  /** session_start_limit.max_concurrency: identifies per 5 s that discord.js allows itself (default 1). */
  maxConcurrency?: number;
  /** session_start_limit.remaining at start (default 999); each IDENTIFY spends one. */
  sessionStartRemaining?: number;
  /** Guilds the bot is in besides `guildId`; each is created on the shard that owns it. */
  guildIds?: string[];
  /**
   * Milliseconds after an interaction was sent within which its initial response is accepted (default 3,000, as on
   * Discord); a later one fails with 10062 Unknown interaction, and is recorded in `lateCallbacks`.
   */
  interactionDeadlineMs?: number;
}

/** What `sendInteraction` and its helpers return: enough to find the bot's response. */
export interface SentInteraction {
  id: string;
  token: string;
  /** performance.now() just before the INTERACTION_CREATE frame was written. */
  sentAt: number;
}

/** An option as Discord sends it inside INTERACTION_CREATE. */
export interface ApiOption {
  name: string;
  type: number;
  value?: string | number | boolean;
  focused?: boolean;
  options?: ApiOption[];
}

const OPTION_TYPE = { subcommand: 1, string: 3, integer: 4, role: 8 } as const;
const PERMISSIONS = '2248473465835073';

/** Member permissions of an ordinary member (no Manage Channels), the default of every interaction the fake sends. */
export const MEMBER_PERMISSIONS = PERMISSIONS;
/** Member permissions with Manage Channels (1 << 4) added: what /alerts needs. */
export const MANAGER_PERMISSIONS = String(BigInt(PERMISSIONS) | (1n << 4n));
/** Member permissions with Manage Server (1 << 5) added, without Manage Channels: what /feeds add and remove need. */
export const SERVER_MANAGER_PERMISSIONS = String(BigInt(PERMISSIONS) | (1n << 5n));

/** Who sends a slash command, and role options (name -> role id, sent as type 8 with the role resolved). */
export interface SlashCommandExtras {
  /** The member's computed permissions (default MEMBER_PERMISSIONS). */
  permissions?: string;
  /** Role options by name. */
  roles?: Record<string, string>;
  /** Send from a DM: no guild, no member, only a user. */
  dm?: boolean;
  /** Send from another server (a guild the bot is in besides the fake's own), channel or user. */
  guildId?: string;
  channelId?: string;
  userId?: string;
}

let snowflakeCounter = 0n;
/** Returns a fresh snowflake-shaped id (numeric string, increasing). */
export function snowflake(): string {
  snowflakeCounter += 1n;
  return String(1_300_000_000_000_000_000n + snowflakeCounter);
}

/** Returns options in Discord's wire form from a plain record: strings are type 3, numbers type 4. */
export function toApiOptions(values: Record<string, string | number>, focused?: string): ApiOption[] {
  return Object.entries(values).map(([name, value]) => ({
    name,
    type: typeof value === 'number' ? OPTION_TYPE.integer : OPTION_TYPE.string,
    value,
    ...(name === focused ? { focused: true } : {}),
  }));
}

/** The fake Discord: start it, point discord.js at `apiUrl`, drive it with `sendInteraction` and friends. */
export class FakeDiscord {
  readonly applicationId: string;
  readonly botUserId: string;
  readonly guildId: string;
  readonly channelId: string;
  readonly userId: string;
  /** Shards GET /gateway/bot recommends. */
  readonly shards: number;
  /** Every REST request, in arrival order. */
  readonly requests: RecordedRequest[] = [];
  /** Every gateway event, in order. */
  readonly gatewayEvents: GatewayEvent[] = [];
  /** Commands registered with PUT, by route (`global` or the guild id). */
  readonly registeredCommands = new Map<string, any[]>();
  /** Messages created with `POST /channels/{id}/messages`, by channel id, in order (a nonce-deduplicated resend adds none). */
  readonly channelMessages = new Map<string, any[]>();
  /** Channels that answer 404 Unknown Channel (code 10003) to message posts. */
  readonly missingChannels = new Set<string>();
  /** Channels that answer 403 Missing Access (code 50001) to message posts. */
  readonly forbiddenChannels = new Set<string>();
  /** Interactions whose initial response came after the deadline (failed, as Discord fails them), with how late. */
  readonly lateCallbacks: { id: string; ms: number }[] = [];
  /** Second initial responses to one interaction (refused with 40060, already acknowledged). */
  readonly duplicateCallbacks: string[] = [];
  /** Messages by `channel:nonce`, for `enforce_nonce` (Discord keeps them a few minutes; the fake, for its lifetime). */
  private readonly nonces = new Map<string, any>();
  /** When each interaction was sent (its creation, which Discord's 3 s deadline counts from), by id. */
  private readonly interactionSentAt = new Map<string, number>();
  /** Interactions acknowledged by an accepted initial response. */
  private readonly acknowledged = new Set<string>();
  private readonly deadlineMs: number;

  private readonly server: Server;
  private readonly wss: WebSocketServer;
  private readonly faults: FaultRule[] = [];
  private readonly requestWaiters: { predicate: (r: RecordedRequest) => boolean; resolve: (r: RecordedRequest) => void }[] = [];
  private readonly gatewayWaiters: { predicate: (e: GatewayEvent) => boolean; resolve: (e: GatewayEvent) => void }[] = [];
  private readonly gateway: FakeGateway;
  private readonly guilds: string[];
  private readonly maxConcurrency: number;
  private sessionStartRemaining: number;
  private port = 0;

  private constructor(options: FakeDiscordOptions) {
    this.applicationId = options.applicationId ?? '1100000000000000001';
    this.botUserId = options.botUserId ?? this.applicationId;
    this.guildId = options.guildId ?? '1100000000000000002';
    this.channelId = options.channelId ?? '1100000000000000003';
    this.userId = options.userId ?? '1100000000000000004';
    this.shards = options.shards ?? 1;
    this.maxConcurrency = options.maxConcurrency ?? 1;
    this.sessionStartRemaining = options.sessionStartRemaining ?? 999;
    this.guilds = [this.guildId, ...(options.guildIds ?? [])];
    this.deadlineMs = options.interactionDeadlineMs ?? 3_000;
    this.gateway = new FakeGateway({
      applicationId: this.applicationId,
      botUserId: this.botUserId,
      resumeUrl: () => this.resumeUrl,
      guildIds: () => this.guilds,
      guild: (id) => this.guild(id),
      minShards: options.minShards ?? 1,
      onEvent: (event) => {
        this.gatewayEvents.push(event);
        this.notify(this.gatewayWaiters, event);
      },
      onSessionStart: () => {
        this.sessionStartRemaining = Math.max(0, this.sessionStartRemaining - 1);
      },
      snowflake,
    });
    this.server = createServer((req, res) => void this.onRequest(req, res));
    this.server.keepAliveTimeout = 60_000;
    this.wss = new WebSocketServer({ server: this.server });
    this.wss.on('connection', (ws, req) => this.gateway.connect(ws, new URL(req.url ?? '/', 'http://127.0.0.1').pathname));
  }

  /** Returns a fake Discord listening on 127.0.0.1 on a free port. */
  static async start(options: FakeDiscordOptions = {}): Promise<FakeDiscord> {
    const fake = new FakeDiscord(options);
    await new Promise<void>((resolve) => fake.server.listen(0, '127.0.0.1', resolve));
    fake.port = (fake.server.address() as AddressInfo).port;
    return fake;
  }

  /** The API root to give discord.js (`rest.api`), without version. */
  get apiUrl(): string {
    return `http://127.0.0.1:${this.port}/api`;
  }

  /** The gateway URL handed out by `GET /gateway/bot`. */
  get gatewayUrl(): string {
    return `ws://127.0.0.1:${this.port}/gateway`;
  }

  /** The resume URL handed out in READY; a resuming client connects here. */
  get resumeUrl(): string {
    return `ws://127.0.0.1:${this.port}/resume`;
  }

  /** Scripts failures for the next matching requests (e.g. 429 with Retry-After, or 500s). */
  fail(rule: FaultRule): void {
    this.faults.push({ ...rule });
  }

  /** Returns the first request (already received or future) matching the predicate, or rejects after timeoutMs. */
  waitForRequest(predicate: (r: RecordedRequest) => boolean, timeoutMs = 5_000): Promise<RecordedRequest> {
    const found = this.requests.find(predicate);
    if (found) return Promise.resolve(found);
    return this.waitFor(this.requestWaiters, predicate, timeoutMs, 'request');
  }

  /** Returns the first gateway event (already seen or future) matching the predicate. */
  waitForGateway(predicate: (e: GatewayEvent) => boolean, timeoutMs = 5_000): Promise<GatewayEvent> {
    const found = this.gatewayEvents.find(predicate);
    if (found) return Promise.resolve(found);
    return this.waitFor(this.gatewayWaiters, predicate, timeoutMs, 'gateway event');
  }

  /** Returns the bot's initial response (POST .../callback) to an interaction. */
  waitForCallback(interaction: { id: string }, timeoutMs = 5_000): Promise<RecordedRequest> {
    const path = `/api/v10/interactions/${interaction.id}/`;
    return this.waitForRequest((r) => r.method === 'POST' && r.path.startsWith(path) && r.path.endsWith('/callback') && r.status < 300, timeoutMs);
  }

  /** Returns the requests made with an interaction's token (callback, edits, follow-ups), in order. */
  requestsFor(interaction: { id: string; token: string }): RecordedRequest[] {
    return this.requests.filter((r) => r.path.includes(`/${interaction.id}/`) || r.path.includes(`/${interaction.token}`));
  }

  /** Sends a gateway dispatch on `shard`, or else on the shard owning `d.guild_id`, or else on shard 0 (DMs). */
  dispatch(t: string, d: unknown, shard?: number): void {
    this.gateway.dispatch(t, d, shard);
  }

  /** The gateway sessions, resumable ones included (`socket` is set on the live ones). */
  get sessions(): GatewaySession[] {
    return [...this.gateway.sessions.values()];
  }

  /** Every gateway dispatch sent (event, its id, and the session, shard and token it went to), in order. */
  get dispatches(): readonly GatewayDispatch[] {
    return this.gateway.dispatches;
  }

  /** RESUMEs of a session whose socket was still open (one shard run by two processes at once). */
  get resumesOfLiveSessions(): readonly { session: string; shard: number; at: number }[] {
    return this.gateway.resumesOfLiveSessions;
  }

  /** Returns the accepted initial responses to an interaction: 1 when it was answered once in time. */
  acceptedCallbacks(interaction: { id: string }): RecordedRequest[] {
    const prefix = `/api/v10/interactions/${interaction.id}/`;
    return this.requests.filter((r) => r.method === 'POST' && r.path.startsWith(prefix) && r.path.endsWith('/callback') && r.status < 300);
  }

  /** Adds a guild the bot joined and sends its GUILD_CREATE on the shard that owns it. */
  joinGuild(guildId: string): void {
    if (!this.guilds.includes(guildId)) this.guilds.push(guildId);
    this.gateway.guildCreate(guildId);
  }

  /** Closes a shard's live sessions with a gateway close code (4000: resumable error; 4004: token refused, final). */
  closeShard(shard: number, code: number): void {
    this.gateway.disconnect(shard, code);
  }

  /** Sends INTERACTION_CREATE with the usual guild context around `fields` (type and data at least). */
  sendInteraction(fields: { type: number; data: Record<string, unknown>; message?: unknown }, extras: SlashCommandExtras = {}): SentInteraction {
    const id = snowflake();
    const permissions = extras.permissions ?? PERMISSIONS;
    const token = `tok-${id}-${Math.random().toString(36).slice(2)}`;
    const guildId = extras.guildId ?? this.guildId;
    const channelId = extras.channelId ?? this.channelId;
    const payload = {
      id,
      application_id: this.applicationId,
      token,
      version: 1,
      guild_id: guildId,
      channel_id: channelId,
      channel: { id: channelId, type: 0, guild_id: guildId, name: 'general', position: 0, permission_overwrites: [], nsfw: false, parent_id: null, topic: null, last_message_id: null, rate_limit_per_user: 0, flags: 0 },
      member: {
        user: { id: extras.userId ?? this.userId, username: 'tester', discriminator: '0', global_name: 'Tester', avatar: null },
        roles: [],
        permissions,
        joined_at: '2024-01-01T00:00:00.000Z',
        nick: null,
        avatar: null,
        deaf: false,
        mute: false,
        flags: 0,
        pending: false,
      },
      app_permissions: PERMISSIONS,
      locale: 'en-US',
      guild_locale: 'en-US',
      // Without this discord.js throws while building the interaction and never replies.
      entitlements: [],
      authorizing_integration_owners: { '0': guildId },
      context: 0,
      attachment_size_limit: 10_485_760,
      ...fields,
    };
    if (extras.dm) {
      // A DM: Discord sends `user` instead of `member`, and no guild.
      const dm: Record<string, unknown> = { ...payload, user: payload.member.user, context: 1, channel: { id: channelId, type: 1 } };
      delete dm.member;
      delete dm.guild_id;
      const sentAt = performance.now();
      this.interactionSentAt.set(id, sentAt);
      this.dispatch('INTERACTION_CREATE', dm);
      return { id, token, sentAt };
    }
    const sentAt = performance.now();
    this.interactionSentAt.set(id, sentAt);
    this.dispatch('INTERACTION_CREATE', payload);
    return { id, token, sentAt };
  }

  /** Sends a slash command; options may name a subcommand. */
  sendSlashCommand(name: string, options: Record<string, string | number> = {}, subcommand?: string, extras: SlashCommandExtras = {}): SentInteraction {
    const roles = Object.entries(extras.roles ?? {});
    const opts = [...toApiOptions(options), ...roles.map(([option, id]) => ({ name: option, type: OPTION_TYPE.role, value: id }))];
    const data: Record<string, unknown> = {
      id: snowflake(),
      name,
      type: 1,
      guild_id: extras.guildId ?? this.guildId,
      options: subcommand ? [{ name: subcommand, type: OPTION_TYPE.subcommand, options: opts }] : opts,
    };
    if (roles.length) {
      data.resolved = {
        roles: Object.fromEntries(
          roles.map(([, id]) => [id, { id, name: `role-${id.slice(-4)}`, color: 0, hoist: false, position: 1, permissions: '0', managed: false, mentionable: true, flags: 0 }]),
        ),
      };
    }
    return this.sendInteraction({ type: 2, data }, extras);
  }

  /** Sends an autocomplete request for `option` of `/name`, with the partial value typed so far. */
  sendAutocomplete(name: string, option: string, value: string, others: Record<string, string | number> = {}, extras: SlashCommandExtras = {}): SentInteraction {
    const data = { id: snowflake(), name, type: 1, guild_id: extras.guildId ?? this.guildId, options: toApiOptions({ ...others, [option]: value }, option) };
    return this.sendInteraction({ type: 4, data }, extras);
  }

  /** Sends a button click on a message the bot sent (in another channel, guild or by another user with `extras`). */
  sendButton(customId: string, message: Record<string, unknown> = {}, extras: SlashCommandExtras = {}): SentInteraction {
    const channel = extras.channelId ? { channel_id: extras.channelId } : {};
    return this.sendInteraction({ type: 3, data: { custom_id: customId, component_type: 2 }, message: this.message({ ...message, ...channel }) }, extras);
  }

  /** Sends a string-select choice on a message the bot sent. */
  sendSelect(customId: string, values: string[], message: Record<string, unknown> = {}): SentInteraction {
    return this.sendInteraction({ type: 3, data: { custom_id: customId, component_type: 3, values }, message: this.message(message) });
  }

  /** Tells the client to reconnect (gateway op 7) on a shard (default 0); it should resume on the resume URL. */
  requestReconnect(shard = 0): void {
    this.gateway.sendOp(7, null, shard);
  }

  /** Closes every connection and the server; call after `client.destroy()`. */
  async close(): Promise<void> {
    for (const ws of this.wss.clients) ws.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Returns a message object as the API would, with the bot as author. */
  message(fields: Record<string, unknown> = {}): Record<string, unknown> {
    return {
      id: snowflake(),
      type: 0,
      channel_id: this.channelId,
      author: { id: this.botUserId, username: 'incident-bot', discriminator: '0', global_name: null, avatar: null, bot: true },
      content: '',
      timestamp: new Date().toISOString(),
      edited_timestamp: null,
      tts: false,
      mention_everyone: false,
      mentions: [],
      mention_roles: [],
      attachments: [],
      embeds: [],
      components: [],
      pinned: false,
      flags: 0,
      application_id: this.applicationId,
      webhook_id: this.applicationId,
      ...fields,
    };
  }

  private waitFor<T>(list: { predicate: (x: T) => boolean; resolve: (x: T) => void }[], predicate: (x: T) => boolean, timeoutMs: number, what: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const waiter = {
        predicate,
        resolve: (x: T) => {
          clearTimeout(timer);
          resolve(x);
        },
      };
      const timer = setTimeout(() => {
        list.splice(list.indexOf(waiter), 1);
        reject(new Error(`fake discord: no matching ${what} within ${timeoutMs} ms`));
      }, timeoutMs);
      list.push(waiter);
    });
  }

  private notify<T>(list: { predicate: (x: T) => boolean; resolve: (x: T) => void }[], item: T): void {
    for (let i = list.length - 1; i >= 0; i--) {
      if (list[i].predicate(item)) {
        const [waiter] = list.splice(i, 1);
        waiter.resolve(item);
      }
    }
  }

  private async onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    let body: any;
    if (text) {
      try {
        body = JSON.parse(text);
      } catch {
        body = text;
      }
    }
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const record: RecordedRequest = {
      method: req.method ?? 'GET',
      path: decodeURIComponent(url.pathname),
      query: url.searchParams,
      headers: req.headers,
      body,
      at: performance.now(),
      status: 0,
    };
    const [status, headers, payload] = this.route(record);
    record.status = status;
    this.requests.push(record);
    const out = payload === undefined ? '' : JSON.stringify(payload);
    res.writeHead(status, { ...(out ? { 'Content-Type': 'application/json' } : {}), ...headers });
    res.end(out);
    this.notify(this.requestWaiters, record);
  }

  private route(r: RecordedRequest): [number, Record<string, string>, unknown] {
    const fault = this.faults.find((f) => f.times > 0 && (!f.method || f.method === r.method) && f.path.test(r.path));
    if (fault) {
      fault.times -= 1;
      return [fault.status, fault.headers ?? {}, fault.body ?? { message: `fake ${fault.status}`, code: 0 }];
    }
    const p = r.path.replace(/^\/api\/v\d+/, '');
    let m: RegExpMatchArray | null;
    if (r.method === 'GET' && p === '/gateway/bot') {
      const limit = { total: 1000, remaining: this.sessionStartRemaining, reset_after: 14_400_000, max_concurrency: this.maxConcurrency };
      return [200, {}, { url: this.gatewayUrl, shards: this.shards, session_start_limit: limit }];
    }
    if (r.method === 'GET' && p === '/gateway') return [200, {}, { url: this.gatewayUrl }];
    if (r.method === 'POST' && (m = p.match(/^\/interactions\/([^/]+)\/[^/]+\/callback$/))) return this.callback(m[1], r.at);
    if ((m = p.match(/^\/webhooks\/[^/]+\/[^/]+\/messages\/([^/]+)$/))) {
      if (r.method === 'DELETE') return [204, {}, undefined];
      return [200, {}, this.message({ ...(r.body ?? {}), id: m[1] === '@original' ? snowflake() : m[1] })];
    }
    if (r.method === 'POST' && /^\/webhooks\/[^/]+\/[^/]+$/.test(p)) return [200, {}, this.message(r.body ?? {})];
    if (r.method === 'POST' && (m = p.match(/^\/channels\/([^/]+)\/messages$/))) return this.createMessage(m[1], r.body ?? {});
    if (r.method === 'PUT' && (m = p.match(/^\/applications\/([^/]+)(?:\/guilds\/([^/]+))?\/commands$/))) {
      const commands = (Array.isArray(r.body) ? r.body : []).map((c: any) => ({ ...c, id: snowflake(), application_id: m![1], version: snowflake(), ...(m![2] ? { guild_id: m![2] } : {}) }));
      this.registeredCommands.set(m[2] ?? 'global', commands);
      return [200, {}, commands];
    }
    return [404, {}, { message: '404: Not Found', code: 0 }];
  }

  /** Accepts an interaction's first initial response within the deadline, as Discord does; refuses any other. */
  private callback(id: string, at: number): [number, Record<string, string>, unknown] {
    if (this.acknowledged.has(id)) {
      this.duplicateCallbacks.push(id);
      return [400, {}, { message: 'Interaction has already been acknowledged.', code: 40060 }];
    }
    const sentAt = this.interactionSentAt.get(id);
    if (sentAt !== undefined && at - sentAt > this.deadlineMs) {
      this.lateCallbacks.push({ id, ms: Math.round(at - sentAt) });
      return [404, {}, { message: 'Unknown interaction', code: 10062 }];
    }
    this.acknowledged.add(id);
    return [204, {}, undefined];
  }

  /** Creates a channel message as Discord does, honouring `nonce` with `enforce_nonce` (the same message comes back). */
  private createMessage(channelId: string, body: Record<string, any>): [number, Record<string, string>, unknown] {
    if (this.missingChannels.has(channelId)) return [404, {}, { message: 'Unknown Channel', code: 10003 }];
    if (this.forbiddenChannels.has(channelId)) return [403, {}, { message: 'Missing Access', code: 50001 }];
    const key = body.nonce !== undefined ? `${channelId}:${body.nonce}` : undefined;
    if (key && body.enforce_nonce === true && this.nonces.has(key)) return [200, {}, this.nonces.get(key)];
    if (body.nonce !== undefined && String(body.nonce).length > 25) {
      return [400, {}, { message: 'Invalid Form Body', code: 50035, errors: { nonce: { _errors: [{ code: 'BASE_TYPE_MAX_LENGTH', message: 'Must be 25 or fewer in length.' }] } } }];
    }
    const { enforce_nonce: _enforce, allowed_mentions: _mentions, message_reference: reference, ...fields } = body;
    const message = this.message({
      ...fields,
      channel_id: channelId,
      webhook_id: undefined,
      ...(reference ? { message_reference: { type: 0, channel_id: channelId, ...reference }, type: 19 } : {}),
    });
    if (key) this.nonces.set(key, message);
    const list = this.channelMessages.get(channelId) ?? [];
    list.push(message);
    this.channelMessages.set(channelId, list);
    return [200, {}, message];
  }

  private guild(id: string): Record<string, unknown> {
    // Each extra guild has one text channel with the guild's own id, as Discord's oldest servers do.
    const channelId = id === this.guildId ? this.channelId : id;
    return {
      id,
      name: 'Fake Guild',
      icon: null,
      splash: null,
      discovery_splash: null,
      owner_id: this.userId,
      afk_channel_id: null,
      afk_timeout: 300,
      verification_level: 0,
      default_message_notifications: 0,
      explicit_content_filter: 0,
      roles: [{ id, name: '@everyone', permissions: PERMISSIONS, position: 0, color: 0, hoist: false, managed: false, mentionable: false, flags: 0 }],
      emojis: [],
      stickers: [],
      features: [],
      mfa_level: 0,
      application_id: null,
      system_channel_id: null,
      system_channel_flags: 0,
      rules_channel_id: null,
      vanity_url_code: null,
      description: null,
      banner: null,
      premium_tier: 0,
      preferred_locale: 'en-US',
      public_updates_channel_id: null,
      nsfw_level: 0,
      premium_progress_bar_enabled: false,
      joined_at: '2024-01-01T00:00:00.000Z',
      large: false,
      unavailable: false,
      member_count: 2,
      voice_states: [],
      members: [],
      channels: [{ id: channelId, type: 0, name: 'general', position: 0, permission_overwrites: [], nsfw: false, parent_id: null, topic: null, last_message_id: null, rate_limit_per_user: 0, flags: 0 }],
      threads: [],
      presences: [],
      stage_instances: [],
      guild_scheduled_events: [],
      soundboard_sounds: [],
    };
  }
}

import { createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parse as parseQuery } from 'node:querystring';
import { WebSocketServer, type WebSocket } from 'ws';
import { checkMessage } from './fake-slack-blocks.js';
import { FakeSlackWorkspaces, type FakeSlackApp, type FakeSlackTeam } from './fake-slack-oauth.js';

/** One Web API call the fake received. */
export interface FakeSlackCall {
  /** Method name, e.g. "chat.postMessage". */
  method: string;
  /** Arguments, decoded from form or JSON; `blocks` parsed from its JSON string. */
  params: Record<string, any>;
  /** Bearer token sent, if any. */
  token?: string;
  /** The workspace that token belongs to (tokens nobody issued belong to the default workspace); none without a token. */
  teamId?: string;
  /** Content-Type of the request. */
  contentType: string;
  /** Block Kit problems found (as Slack would refuse them); empty when valid. */
  problems: string[];
  /** Arrival time (performance.now()). */
  at: number;
}

/**
 * One answer to a request that carried a response_url: a post to that URL, or the message in the acknowledgement
 * (a slash command's HTTP response body or Socket Mode ack payload), which Slack shows the same way.
 */
export interface FakeSlackResponse {
  /** The id in the response_url path. */
  id: string;
  /** How it came: posted to the response_url, or in the acknowledgement. */
  via: 'response_url' | 'ack';
  /** The JSON body respond() sent, or the message the acknowledgement carried. */
  body: Record<string, any>;
  /** Block Kit problems found; empty when valid. */
  problems: string[];
  /** Arrival time (performance.now()). */
  at: number;
}

/** What a Socket Mode client sent back for an envelope. */
export interface FakeSlackAck {
  envelope_id: string;
  payload?: Record<string, unknown>;
}

/** A message the fake keeps for conversations.history and conversations.replies. */
export interface FakeSlackMessage {
  type: 'message';
  ts: string;
  text?: string;
  blocks?: unknown[];
  bot_id?: string;
  thread_ts?: string;
  reply_count?: number;
  latest_reply?: string;
  metadata?: { event_type?: string; event_payload?: Record<string, unknown> };
}

/** What users.info says about a user (the admin flags the alert commands check). */
export interface FakeSlackUser {
  is_admin?: boolean;
  is_owner?: boolean;
  is_primary_owner?: boolean;
  is_restricted?: boolean;
  is_ultra_restricted?: boolean;
}

/** Options for the fake. */
export interface FakeSlackOptions {
  /** The bot's user id auth.test reports (default "UBOT"). */
  botUserId?: string;
  /** The bot id auth.test reports (default "BBOT"). */
  botId?: string;
  /** Team id (default "T0001"). */
  teamId?: string;
  /** The app's credentials oauth.v2.access accepts (default FAKE_SLACK_APP). */
  app?: FakeSlackApp;
}

type Script = { kind: 'error'; error: string } | { kind: 'ratelimit'; retryAfter: number } | { kind: 'status'; status: number };

interface Waiter<T> {
  match: (item: T) => boolean;
  resolve: (item: T) => void;
}

/**
 * A small fake Slack on 127.0.0.1: the Web API (form or JSON posts to /api/<method>), response_url sinks
 * (/response/<id>) and a Socket Mode WebSocket (/socket). Records everything and can script failures.
 */
export class FakeSlack {
  /** Every Web API call, in arrival order. */
  readonly calls: FakeSlackCall[] = [];
  /** Every response_url post and every answer in an acknowledgement (recordAckAnswer), in arrival order. */
  readonly responses: FakeSlackResponse[] = [];
  /** Every Socket Mode ack, in arrival order. */
  readonly acks: FakeSlackAck[] = [];
  /** Open Socket Mode connections. */
  readonly sockets = new Set<WebSocket>();
  /** The bot's user id, as auth.test reports it. */
  readonly botUserId: string;
  /** The bot id, as auth.test reports it. */
  readonly botId: string;
  /** The workspace id. */
  readonly teamId: string;
  /** Messages posted with chat.postMessage, by channel, oldest first (thread replies included). */
  readonly channelMessages = new Map<string, FakeSlackMessage[]>();
  /** users.info answers by user id; unknown users are ordinary members. */
  readonly users = new Map<string, FakeSlackUser>();
  /** conversations.info creators by channel id; unknown channels were created by "UCREATOR". */
  readonly channelCreators = new Map<string, string>();
  /** The workspace of each channel listed here: another workspace's token gets channel_not_found there, as on Slack. */
  readonly channelTeams = new Map<string, string>();
  /** Workspaces, their bot tokens and OAuth (the consent screen and oauth.v2.access). */
  readonly workspaces: FakeSlackWorkspaces;

  readonly #server: Server;
  readonly #wss: WebSocketServer;
  readonly #scripts = new Map<string, Script[]>();
  #callWaiters: Waiter<FakeSlackCall>[] = [];
  #responseWaiters: Waiter<FakeSlackResponse>[] = [];
  #ackWaiters: Waiter<FakeSlackAck>[] = [];
  #socketWaiters: (() => void)[] = [];
  #port = 0;
  #ts = 1_700_000_000;
  #envelopes = 0;
  #tickets = 0;
  #responseIds = 0;
  #responseStatus = new Map<string, number>();

  private constructor(options: FakeSlackOptions) {
    this.botUserId = options.botUserId ?? 'UBOT';
    this.botId = options.botId ?? 'BBOT';
    this.teamId = options.teamId ?? 'T0001';
    this.workspaces = new FakeSlackWorkspaces({ id: this.teamId, name: 'Fake', botUserId: this.botUserId, botId: this.botId }, options.app);
    this.#server = createServer((req, res) => {
      this.#handle(req, res).catch((error) => {
        res.writeHead(500).end(String(error));
      });
    });
    this.#wss = new WebSocketServer({ noServer: true });
    this.#server.on('upgrade', (req, socket, head) => {
      if (!req.url?.startsWith('/socket')) {
        socket.destroy();
        return;
      }
      this.#wss.handleUpgrade(req, socket, head, (ws) => this.#onSocket(ws));
    });
  }

  /** Starts a fake on 127.0.0.1 and a free port; resolves once it listens (Bolt calls auth.test early). */
  static async start(options: FakeSlackOptions = {}): Promise<FakeSlack> {
    const fake = new FakeSlack(options);
    await new Promise<void>((resolve) => fake.#server.listen(0, '127.0.0.1', resolve));
    fake.#port = (fake.#server.address() as AddressInfo).port;
    return fake;
  }

  /** Base URL for clientOptions.slackApiUrl. */
  get apiUrl(): string {
    return `http://127.0.0.1:${this.#port}/api/`;
  }

  /** Returns a fresh response_url pointing at this fake. */
  responseUrl(id = `r${++this.#responseIds}`): string {
    return `http://127.0.0.1:${this.#port}/response/${id}`;
  }

  /** Makes the response_url with this id answer with an HTTP status (e.g. 404 for an expired one). */
  failResponseUrl(url: string, status: number): void {
    this.#responseStatus.set(url.split('/').pop()!, status);
  }

  /** Makes the next `times` calls of a method answer `{ok: false, error}`. */
  failNext(method: string, error: string, times = 1): void {
    this.#script(method, { kind: 'error', error }, times);
  }

  /** Makes the next `times` calls of a method answer HTTP 429 with Retry-After (seconds). */
  rateLimitNext(method: string, retryAfterSeconds: number, times = 1): void {
    this.#script(method, { kind: 'ratelimit', retryAfter: retryAfterSeconds }, times);
  }

  /** Makes the next `times` calls of a method answer with a bare HTTP status. */
  statusNext(method: string, status: number, times = 1): void {
    this.#script(method, { kind: 'status', status }, times);
  }

  /** Returns the calls of one method. */
  callsOf(method: string): FakeSlackCall[] {
    return this.calls.filter((c) => c.method === method);
  }

  /** Resolves with the first call (already received or coming) of a method matching the predicate. */
  waitForCall(method: string, match: (call: FakeSlackCall) => boolean = () => true, timeoutMs = 3000): Promise<FakeSlackCall> {
    const test = (c: FakeSlackCall) => c.method === method && match(c);
    return this.#waitFor(this.calls, this.#callWaiters, test, timeoutMs, `Web API call ${method}`);
  }

  /**
   * Records the answer a slash command's acknowledgement carried (HTTP response text, or a Socket Mode ack's payload)
   * as an answer to its response_url, as Slack shows it; an empty acknowledgement records nothing. Returns the answer.
   */
  recordAckAnswer(responseUrl: string, ack: string | Record<string, unknown> | undefined): FakeSlackResponse | undefined {
    // Bolt's Socket Mode client acknowledges with an empty payload object when ack() has no message.
    if (ack === undefined || ack === '' || (typeof ack === 'object' && Object.keys(ack).length === 0)) return undefined;
    let body: Record<string, any>;
    if (typeof ack !== 'string') body = ack;
    else {
      try {
        body = JSON.parse(ack);
      } catch {
        // Slack shows a plain-text body as the message's text.
        body = { text: ack };
      }
    }
    const response: FakeSlackResponse = { id: responseUrl.split('/').pop()!, via: 'ack', body, problems: checkMessage(body), at: performance.now() };
    this.responses.push(response);
    this.#notify(this.#responseWaiters, response);
    return response;
  }

  /** Returns the answers (response_url posts and acknowledgements) to the request that carried this response_url. */
  responsesTo(responseUrl: string): FakeSlackResponse[] {
    return this.responses.filter((r) => responseUrl.endsWith(`/${r.id}`));
  }

  /** Resolves with the first answer (response_url post or acknowledgement; received or coming) matching the predicate. */
  waitForResponse(match: (response: FakeSlackResponse) => boolean = () => true, timeoutMs = 3000): Promise<FakeSlackResponse> {
    return this.#waitFor(this.responses, this.#responseWaiters, match, timeoutMs, 'response_url post');
  }

  /** Resolves once a Socket Mode client is connected. */
  waitForSocket(timeoutMs = 3000): Promise<void> {
    if (this.sockets.size > 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no Socket Mode connection')), timeoutMs);
      this.#socketWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /**
   * Sends a Socket Mode envelope to the connected client and resolves with its ack. `type` is "slash_commands",
   * "events_api" or "interactive"; `retryAttempt` marks a redelivery.
   */
  async sendEnvelope(
    type: 'slash_commands' | 'events_api' | 'interactive',
    payload: Record<string, unknown>,
    options: { envelopeId?: string; retryAttempt?: number; timeoutMs?: number } = {},
  ): Promise<FakeSlackAck> {
    const socket = [...this.sockets][0];
    if (!socket) throw new Error('no Socket Mode client connected');
    const envelope_id = options.envelopeId ?? `env-${++this.#envelopes}`;
    const ack = this.#waitFor(this.acks, this.#ackWaiters, (a) => a.envelope_id === envelope_id, options.timeoutMs ?? 3000, `ack of ${envelope_id}`);
    socket.send(
      JSON.stringify({
        envelope_id,
        type,
        payload,
        accepts_response_payload: type !== 'events_api',
        retry_attempt: options.retryAttempt ?? 0,
        retry_reason: options.retryAttempt ? 'timeout' : '',
      }),
    );
    return ack;
  }

  /** Closes every connection and the server. */
  async close(): Promise<void> {
    for (const ws of this.sockets) ws.terminate();
    this.#wss.close();
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #script(method: string, script: Script, times: number): void {
    const list = this.#scripts.get(method) ?? [];
    for (let i = 0; i < times; i += 1) list.push(script);
    this.#scripts.set(method, list);
  }

  #waitFor<T>(seen: T[], waiters: Waiter<T>[], match: (item: T) => boolean, timeoutMs: number, what: string): Promise<T> {
    const found = seen.find(match);
    if (found) return Promise.resolve(found);
    return new Promise<T>((resolve, reject) => {
      const waiter: Waiter<T> = {
        match,
        resolve: (item) => {
          clearTimeout(timer);
          resolve(item);
        },
      };
      const timer = setTimeout(() => {
        waiters.splice(waiters.indexOf(waiter), 1);
        reject(new Error(`fake Slack: timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      waiters.push(waiter);
    });
  }

  #notify<T>(waiters: Waiter<T>[], item: T): void {
    for (const waiter of [...waiters]) {
      if (waiter.match(item)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(item);
      }
    }
  }

  #onSocket(ws: WebSocket): void {
    this.sockets.add(ws);
    ws.on('close', () => this.sockets.delete(ws));
    ws.on('message', (data) => {
      let ack: FakeSlackAck;
      try {
        ack = JSON.parse(String(data));
      } catch {
        return;
      }
      if (typeof ack?.envelope_id !== 'string') return;
      this.acks.push(ack);
      this.#notify(this.#ackWaiters, ack);
    });
    ws.send(JSON.stringify({ type: 'hello', num_connections: 1, debug_info: { host: 'fake-slack' }, connection_info: { app_id: 'A0001' } }));
    for (const wake of this.#socketWaiters.splice(0)) wake();
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readBody(req);
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const contentType = String(req.headers['content-type'] ?? '');
    if (url.pathname.startsWith('/response/')) {
      const id = url.pathname.slice('/response/'.length);
      const body = JSON.parse(raw || '{}');
      const response: FakeSlackResponse = { id, via: 'response_url', body, problems: checkMessage(body), at: performance.now() };
      this.responses.push(response);
      this.#notify(this.#responseWaiters, response);
      const status = this.#responseStatus.get(id) ?? (response.problems.length ? 400 : 200);
      res.writeHead(status, { 'content-type': 'text/plain' }).end(status === 200 ? 'ok' : response.problems.join('; ') || 'expired_url');
      return;
    }
    if (!url.pathname.startsWith('/api/')) {
      res.writeHead(404).end();
      return;
    }
    const method = url.pathname.slice('/api/'.length);
    const params = decodeParams(raw, contentType);
    const auth = String(req.headers.authorization ?? '');
    const token = auth.startsWith('Bearer ') ? auth.slice(7) : (params.token as string | undefined);
    const tokenStatus = this.workspaces.tokenStatus(token);
    const call: FakeSlackCall = {
      method,
      params,
      token,
      ...(tokenStatus ? { teamId: tokenStatus.team.id } : {}),
      contentType,
      problems: method.startsWith('chat.') ? checkMessage(params) : [],
      at: performance.now(),
    };
    this.calls.push(call);
    this.#notify(this.#callWaiters, call);

    const script = this.#scripts.get(method)?.shift();
    if (script?.kind === 'ratelimit') {
      res.writeHead(429, { 'retry-after': String(script.retryAfter), 'content-type': 'application/json' }).end('{"ok":false,"error":"ratelimited"}');
      return;
    }
    if (script?.kind === 'status') {
      res.writeHead(script.status).end();
      return;
    }
    if (script?.kind === 'error') return json(res, { ok: false, error: script.error });
    if (method === 'oauth.v2.access') return json(res, this.workspaces.exchange(params, auth.startsWith('Basic ') ? auth.slice(6) : undefined));
    if (tokenStatus?.revoked) return json(res, { ok: false, error: 'token_revoked' });
    if (method === 'auth.revoke' && token) {
      this.workspaces.revokeToken(token);
      return json(res, { ok: true, revoked: true });
    }
    const channelTeam = typeof params.channel === 'string' ? this.channelTeams.get(params.channel) : undefined;
    if (tokenStatus && channelTeam && channelTeam !== tokenStatus.team.id) return json(res, { ok: false, error: 'channel_not_found' });
    if (call.problems.length) return json(res, { ok: false, error: 'invalid_blocks', errors: call.problems });
    json(res, this.#answer(method, params, tokenStatus?.team ?? this.workspaces.defaultTeam));
  }

  /** One page of `list` by `limit` and `cursor` (the offset, as text), with Slack's has_more and next_cursor. */
  #page(list: readonly FakeSlackMessage[], params: Record<string, any>, defaultLimit: number): { ok: true; messages: FakeSlackMessage[]; has_more: boolean; response_metadata?: { next_cursor: string } } {
    const limit = Number(params.limit ?? defaultLimit);
    const from = Number(params.cursor ?? 0);
    const messages = list.slice(from, from + limit).map((m) => this.#view(m, params.include_all_metadata));
    const more = from + limit < list.length;
    return { ok: true, messages, has_more: more, ...(more ? { response_metadata: { next_cursor: String(from + limit) } } : {}) };
  }

  /** Returns a stored message as the history methods show it: metadata only with include_all_metadata. */
  #view(message: FakeSlackMessage, includeMetadata: unknown): FakeSlackMessage {
    if (includeMetadata === true || includeMetadata === 'true' || includeMetadata === '1') return message;
    const { metadata: _metadata, ...rest } = message;
    return rest;
  }

  #answer(method: string, params: Record<string, any>, team: FakeSlackTeam): Record<string, unknown> {
    switch (method) {
      case 'auth.test':
        return { ok: true, url: 'https://fake.slack.test/', team: team.name, user: 'incident-bot', team_id: team.id, user_id: team.botUserId, bot_id: team.botId };
      case 'apps.connections.open':
        return { ok: true, url: `ws://127.0.0.1:${this.#port}/socket?ticket=${++this.#tickets}` };
      case 'chat.postMessage': {
        // Timestamps follow the clock, as Slack's do (findSent reads messages since a time), and stay unique.
        this.#ts = Math.max(this.#ts + 1, Math.floor(Date.now() / 1000));
        const ts = `${this.#ts}.000100`;
        const message: FakeSlackMessage = { type: 'message', text: params.text, blocks: params.blocks, bot_id: team.botId, ts };
        if (params.thread_ts) message.thread_ts = params.thread_ts;
        if (params.metadata && typeof params.metadata === 'object') message.metadata = params.metadata;
        const list = this.channelMessages.get(params.channel) ?? [];
        list.push(message);
        this.channelMessages.set(params.channel, list);
        const parent = params.thread_ts ? list.find((m) => m.ts === params.thread_ts) : undefined;
        if (parent) {
          parent.thread_ts = parent.ts;
          parent.reply_count = (parent.reply_count ?? 0) + 1;
          parent.latest_reply = ts;
        }
        return { ok: true, channel: params.channel, ts, message };
      }
      case 'conversations.history': {
        // Top-level messages (and thread parents), newest first, as Slack returns them; metadata only when asked.
        const all = (this.channelMessages.get(params.channel) ?? []).filter((m) => (!m.thread_ts || m.thread_ts === m.ts) && (params.oldest === undefined || Number(m.ts) > Number(params.oldest)));
        return this.#page([...all].reverse(), params, 100);
      }
      case 'conversations.replies': {
        const all = this.channelMessages.get(params.channel) ?? [];
        const parent = all.find((m) => m.ts === params.ts);
        if (!parent) return { ok: false, error: 'thread_not_found' };
        // Slack returns the parent first on every page, then the replies after `oldest`, oldest first.
        const replies = all.filter((m) => m !== parent && m.thread_ts === params.ts && (params.oldest === undefined || Number(m.ts) > Number(params.oldest)));
        const page = this.#page(replies, params, 1000);
        return { ...page, messages: [this.#view(parent, params.include_all_metadata), ...page.messages] };
      }
      case 'users.info': {
        const flags = this.users.get(params.user) ?? {};
        return { ok: true, user: { id: params.user, team_id: team.id, name: String(params.user).toLowerCase(), deleted: false, is_bot: false, is_admin: false, is_owner: false, is_primary_owner: false, is_restricted: false, is_ultra_restricted: false, ...flags } };
      }
      case 'conversations.info': {
        const creator = this.channelCreators.get(params.channel) ?? 'UCREATOR';
        return { ok: true, channel: { id: params.channel, name: 'general', is_channel: true, is_private: false, creator, created: 1_600_000_000 } };
      }
      case 'chat.postEphemeral':
        return { ok: true, message_ts: `${++this.#ts}.000200` };
      default:
        return { ok: true };
    }
  }
}

/** Returns the `v0=` signature Slack puts in X-Slack-Signature for a raw body and a timestamp (seconds). */
export function slackSignature(signingSecret: string, timestamp: number, rawBody: string): string {
  return `v0=${createHmac('sha256', signingSecret).update(`v0:${timestamp}:${rawBody}`).digest('hex')}`;
}

/** Options for a signed post; overrides let a test send a wrong signature or a stale timestamp. */
export interface SignedPostOptions {
  contentType: 'application/x-www-form-urlencoded' | 'application/json';
  /** Seconds since the epoch (default now). */
  timestamp?: number;
  /** Replaces the computed signature. */
  signature?: string;
  /** Extra headers, e.g. X-Slack-Retry-Num. */
  headers?: Record<string, string>;
}

/** Posts a body to Bolt's HTTP endpoint signed as Slack does; resolves with the status and response text. */
export async function postSigned(url: string, signingSecret: string, rawBody: string, options: SignedPostOptions): Promise<{ status: number; text: string }> {
  const timestamp = options.timestamp ?? Math.floor(Date.now() / 1000);
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': options.contentType,
      'x-slack-request-timestamp': String(timestamp),
      'x-slack-signature': options.signature ?? slackSignature(signingSecret, timestamp, rawBody),
      ...options.headers,
    },
    body: rawBody,
  });
  return { status: response.status, text: await response.text() };
}

/**
 * Posts a signed slash command (a form body, as postSigned) and, when Bolt answers 200 with a message, records it on
 * `fake` as the answer to the command's response_url (recordAckAnswer): the message and the acknowledgement are one
 * HTTP response.
 */
export async function postSignedCommand(fake: FakeSlack, url: string, signingSecret: string, rawBody: string, options: SignedPostOptions): Promise<{ status: number; text: string }> {
  const result = await postSigned(url, signingSecret, rawBody, options);
  const responseUrl = parseQuery(rawBody).response_url;
  if (result.status === 200 && typeof responseUrl === 'string') fake.recordAckAnswer(responseUrl, result.text);
  return result;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function decodeParams(raw: string, contentType: string): Record<string, any> {
  if (!raw) return {};
  if (contentType.includes('application/json')) return JSON.parse(raw);
  const form = parseQuery(raw) as Record<string, any>;
  // The Web API client sends objects (blocks, attachments) as JSON strings inside the form.
  for (const key of ['blocks', 'attachments', 'metadata']) {
    if (typeof form[key] === 'string') {
      try {
        form[key] = JSON.parse(form[key]);
      } catch {
        // keep the string: checkMessage reports it
      }
    }
  }
  return form;
}

function json(res: ServerResponse, body: unknown): void {
  res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify(body));
}

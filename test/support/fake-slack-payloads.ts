import { stringify } from 'node:querystring';
import type { FakeSlack } from './fake-slack.js';
import { postSigned, postSignedCommand } from './fake-slack.js';

let counter = 0;
/** Returns a unique suffix, so tests sharing one fake can tell their calls apart. */
export function unique(prefix: string): string {
  counter += 1;
  return `${prefix}${Date.now().toString(36).toUpperCase()}${counter}`;
}

/** Returns a trigger id shaped like Slack's; each is new, as Slack never sends one twice. */
export function triggerId(): string {
  counter += 1;
  return `${Date.now()}.${counter}.${Math.random().toString(16).slice(2, 14)}`;
}

/** Returns a slash command payload as Slack sends it (form fields in HTTP mode, the same object in Socket Mode). */
export function slashCommandPayload(overrides: { text: string; response_url: string } & Record<string, string>): Record<string, string> {
  return {
    token: 'legacy-verification-token',
    team_id: 'T0001',
    team_domain: 'fake',
    channel_id: 'C0001',
    channel_name: 'general',
    user_id: 'U0001',
    user_name: 'alice',
    command: '/incident',
    api_app_id: 'A0001',
    trigger_id: triggerId(),
    ...overrides,
  };
}

/** Options for an app_mention event. */
export interface MentionOptions {
  text: string;
  channel?: string;
  ts?: string;
  thread_ts?: string;
  event_id?: string;
  user?: string;
  /** Workspace (default T0001). */
  team?: string;
  /** The bot's user id there (default UBOT). */
  botUserId?: string;
}

/** Returns an Events API envelope (event_callback) carrying an app_mention. */
export function appMentionBody(options: MentionOptions): Record<string, unknown> {
  const ts = options.ts ?? `${1_700_000_000 + (counter += 1)}.000100`;
  return {
    token: 'legacy-verification-token',
    team_id: options.team ?? 'T0001',
    api_app_id: 'A0001',
    type: 'event_callback',
    event_id: options.event_id ?? unique('Ev'),
    event_time: Math.floor(Date.now() / 1000),
    authorizations: [{ enterprise_id: null, team_id: options.team ?? 'T0001', user_id: options.botUserId ?? 'UBOT', is_bot: true, is_enterprise_install: false }],
    event: {
      type: 'app_mention',
      user: options.user ?? 'U0001',
      text: options.text,
      ts,
      channel: options.channel ?? 'C0001',
      event_ts: ts,
      ...(options.thread_ts ? { thread_ts: options.thread_ts } : {}),
    },
  };
}

/** Returns the `message` event Slack also sends for a mention (when message events are subscribed). */
export function messageBody(options: MentionOptions): Record<string, unknown> {
  const body = appMentionBody(options) as { event: Record<string, unknown> };
  return { ...body, event: { ...body.event, type: 'message', channel_type: 'channel' } };
}

/** Returns a block_actions payload for a click on the share button of an ephemeral message. */
export function shareClickPayload(options: { value: string; response_url: string; user?: string; channel?: string }): Record<string, unknown> {
  return {
    type: 'block_actions',
    user: { id: options.user ?? 'U0001', username: 'alice', team_id: 'T0001' },
    api_app_id: 'A0001',
    token: 'legacy-verification-token',
    container: { type: 'message', message_ts: '1700000000.000001', channel_id: options.channel ?? 'C0001', is_ephemeral: true },
    trigger_id: '1.2.3',
    team: { id: 'T0001', domain: 'fake' },
    channel: { id: options.channel ?? 'C0001', name: 'general' },
    response_url: options.response_url,
    actions: [
      {
        type: 'button',
        action_id: 'share_in_channel',
        block_id: 'b1',
        text: { type: 'plain_text', text: 'Share in channel' },
        value: options.value,
        action_ts: '1700000000.000002',
      },
    ],
  };
}

/** Where a clicked button sits: an ephemeral answer (slash command), or a message in a thread (a mention's answer). */
export interface ClickOptions {
  action_id: string;
  value: string;
  response_url: string;
  user?: string;
  channel?: string;
  /** The clicked message's ts (a posted message); ephemeral messages have none Slack sends back. */
  message_ts?: string;
  /** The thread the clicked message is in. */
  thread_ts?: string;
  ephemeral?: boolean;
}

/** Returns a block_actions payload for a click on one of the bot's buttons, as Slack sends it. */
export function buttonClickPayload(options: ClickOptions): Record<string, unknown> {
  const channel = options.channel ?? 'C0001';
  const messageTs = options.message_ts ?? '1700000000.000001';
  const container: Record<string, unknown> = { type: 'message', message_ts: messageTs, channel_id: channel, is_ephemeral: options.ephemeral === true };
  if (options.thread_ts) container.thread_ts = options.thread_ts;
  const payload: Record<string, unknown> = {
    type: 'block_actions',
    user: { id: options.user ?? 'U0001', username: 'alice', team_id: 'T0001' },
    api_app_id: 'A0001',
    token: 'legacy-verification-token',
    container,
    trigger_id: triggerId(),
    team: { id: 'T0001', domain: 'fake' },
    channel: { id: channel, name: 'general' },
    response_url: options.response_url,
    actions: [{ type: 'button', action_id: options.action_id, block_id: 'b1', text: { type: 'plain_text', text: 'More' }, value: options.value, action_ts: '1700000000.000002' }],
  };
  // Slack sends the message for posted messages, not for ephemeral ones.
  if (!options.ephemeral) payload.message = { type: 'message', ts: messageTs, bot_id: 'B0001', text: '', ...(options.thread_ts ? { thread_ts: options.thread_ts } : {}) };
  return payload;
}

/** Delivers Slack payloads to the app under test, the same way in both modes. */
export interface SlackDriver {
  readonly mode: 'socket' | 'http';
  /** Sends a slash command; resolves when Slack would have its ack. */
  command(payload: Record<string, string>): Promise<void>;
  /** Sends an Events API body; `retryNum` marks a redelivery. */
  event(body: Record<string, unknown>, retryNum?: number): Promise<void>;
  /** Sends an interactivity payload (block_actions). */
  action(payload: Record<string, unknown>): Promise<void>;
}

/** Returns a driver posting signed requests to Bolt's HTTP endpoint; each must get 200; answers in acks are recorded on `fake`. */
export function httpDriver(url: string, signingSecret: string, fake: FakeSlack): SlackDriver {
  const expectOk = async (p: Promise<{ status: number; text: string }>) => {
    const { status, text } = await p;
    if (status !== 200) throw new Error(`Bolt answered ${status}: ${text}`);
  };
  return {
    mode: 'http',
    command: (payload) => expectOk(postSignedCommand(fake, url, signingSecret, stringify(payload), { contentType: 'application/x-www-form-urlencoded' })),
    event: (body, retryNum) =>
      expectOk(
        postSigned(url, signingSecret, JSON.stringify(body), {
          contentType: 'application/json',
          headers: retryNum ? { 'x-slack-retry-num': String(retryNum), 'x-slack-retry-reason': 'http_timeout' } : {},
        }),
      ),
    action: (payload) =>
      expectOk(postSigned(url, signingSecret, stringify({ payload: JSON.stringify(payload) }), { contentType: 'application/x-www-form-urlencoded' })),
  };
}

/** Returns a driver sending Socket Mode envelopes through the fake; each resolves on the client's ack (a command's answer in it recorded). */
export function socketDriver(fake: FakeSlack): SlackDriver {
  return {
    mode: 'socket',
    command: async (payload) => {
      const ack = await fake.sendEnvelope('slash_commands', payload);
      if (payload.response_url) fake.recordAckAnswer(payload.response_url, ack.payload);
    },
    event: async (body, retryNum) => void (await fake.sendEnvelope('events_api', body, { retryAttempt: retryNum })),
    action: async (payload) => void (await fake.sendEnvelope('interactive', payload)),
  };
}

/** Returns the Events API body Slack sends when a workspace uninstalls the app. */
export function appUninstalledBody(teamId: string): Record<string, unknown> {
  return {
    token: 'legacy-verification-token',
    team_id: teamId,
    api_app_id: 'A0001',
    type: 'event_callback',
    event_id: unique('Ev'),
    event_time: Math.floor(Date.now() / 1000),
    event: { type: 'app_uninstalled', event_ts: `${Math.floor(Date.now() / 1000)}.000100` },
  };
}

/** Returns the Events API body of tokens_revoked: the bot user ids (and user ids) whose tokens were revoked. */
export function tokensRevokedBody(teamId: string, tokens: { bot?: string[]; oauth?: string[] }): Record<string, unknown> {
  return { ...appUninstalledBody(teamId), event: { type: 'tokens_revoked', tokens, event_ts: `${Math.floor(Date.now() / 1000)}.000200` } };
}

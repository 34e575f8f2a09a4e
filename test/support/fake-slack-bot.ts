import { format } from 'node:util';
import { COMMANDS } from '../../commands/index.js';
import type { IncidentService } from '../../src/core/incident-service.js';
import { createSlackAdapter, SLACK_EVENTS_PATH, type SlackAdapter, type SlackAdapterOptions } from '../../src/adapters/slack/app.js';
import { FakeSlack } from './fake-slack.js';
import { httpDriver, socketDriver, type SlackDriver } from './fake-slack-payloads.js';
import { createFakeSlackService } from './fake-slack-service.js';

/** One line the adapter logged. */
export interface LogLine {
  level: 'debug' | 'info' | 'warn' | 'error';
  text: string;
}

/** A logger that keeps every line (set SLACK_TEST_LOG=1 to also print them). */
export function recordingLogger(): { lines: LogLine[]; logger: Required<NonNullable<SlackAdapterOptions['logger']>> } {
  const lines: LogLine[] = [];
  const at = (level: LogLine['level']) => (...msg: unknown[]) => {
    const text = format(...msg);
    lines.push({ level, text });
    if (process.env.SLACK_TEST_LOG) console.error(`[${level}] ${text}`);
  };
  return { lines, logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') } };
}

/** A running bot: the real Bolt app against a fake Slack, and a driver that delivers payloads in the bot's mode. */
export interface TestSlackBot {
  fake: FakeSlack;
  adapter: SlackAdapter;
  driver: SlackDriver;
  service: IncidentService;
  logs: LogLine[];
  /** HTTP mode: Bolt's endpoint URL. */
  endpoint?: string;
  signingSecret: string;
  close(): Promise<void>;
}

/** Options for a test bot. */
export interface TestSlackBotOptions {
  service?: IncidentService;
  /** Retry policy for the Web API clients (default: no retries, as every test should). */
  retryConfig?: NonNullable<SlackAdapterOptions['clientOptions']>['retryConfig'];
  /** Feeds and subscriptions for `/incident alerts|feeds` (default: none, feeds not enabled). */
  alerts?: SlackAdapterOptions['alerts'];
  /** HTTP mode: stricter endpoint limits and a faster timeout check (slow-client tests). */
  http?: Pick<SlackAdapterOptions, 'httpLimits' | 'httpCheckIntervalMs'>;
  /** SLACK_ADMIN_USER_IDS. */
  adminUserIds?: SlackAdapterOptions['adminUserIds'];
  /** Which records each workspace may see. */
  visibilityFor?: SlackAdapterOptions['visibilityFor'];
  /** Where conversation contexts live (follow-ups). */
  conversations?: SlackAdapterOptions['conversations'];
}

/** The signing secret test bots use. */
export const TEST_SIGNING_SECRET = 'test-signing-secret-0123456789abcdef';

/** Starts a fake Slack and the adapter in the given mode (tests: no retries, 127.0.0.1, a free port). */
export async function startTestSlackBot(mode: 'socket' | 'http', options: TestSlackBotOptions = {}): Promise<TestSlackBot> {
  const fake = await FakeSlack.start();
  const { lines, logger } = recordingLogger();
  const service = options.service ?? createFakeSlackService();
  const adapter = createSlackAdapter({
    botToken: 'xoxb-test-bot-token',
    ...(mode === 'socket' ? { appToken: 'xapp-test-app-token' } : { signingSecret: TEST_SIGNING_SECRET, port: 0, host: '127.0.0.1' }),
    service,
    commands: COMMANDS,
    alerts: options.alerts,
    ...options.http,
    adminUserIds: options.adminUserIds,
    visibilityFor: options.visibilityFor,
    conversations: options.conversations,
    logger,
    clientOptions: { slackApiUrl: fake.apiUrl, retryConfig: options.retryConfig ?? { retries: 0 } },
  });
  await adapter.start();
  const endpoint = mode === 'http' ? `http://127.0.0.1:${adapter.port}${SLACK_EVENTS_PATH}` : undefined;
  if (mode === 'socket') await fake.waitForSocket();
  const driver = endpoint ? httpDriver(endpoint, TEST_SIGNING_SECRET, fake) : socketDriver(fake);
  return {
    fake,
    adapter,
    driver,
    service,
    logs: lines,
    endpoint,
    signingSecret: TEST_SIGNING_SECRET,
    async close() {
      await adapter.stop();
      await fake.close();
    },
  };
}

/** Resolves after `ms` milliseconds: time for a duplicate that should not come to show up anyway. */
export function settle(ms = 150): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

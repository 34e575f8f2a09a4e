import { COMMANDS } from '../../commands/index.js';
import type { Command } from '../../commands/types.js';
import type { IncidentService } from '../../src/core/incident-service.js';
import { createDiscordAdapter, type DiscordAdapter, type DiscordAdapterOptions } from '../../src/adapters/discord/adapter.js';
import type { DiscordLogger } from '../../src/adapters/discord/interactions.js';
import { FakeDiscord } from './fake-discord.js';
import { createFakeIncidentService } from './fake-discord-service.js';

/** One log line the adapter wrote. */
export interface LogLine {
  level: 'info' | 'warn' | 'error';
  message: string;
  details: Record<string, unknown>;
}

/** A running bot against a fake Discord: drive `fake`, read `logs`, and always `stop()` at the end. */
export interface FakeDiscordBot {
  fake: FakeDiscord;
  adapter: DiscordAdapter;
  service: IncidentService;
  logs: LogLine[];
  /** Destroys the client, then closes the fake (in that order, so discord.js does not start reconnecting). */
  stop(): Promise<void>;
}

/** Returns a logger that records every line (and prints nothing). */
export function recordingLogger(logs: LogLine[]): DiscordLogger {
  return {
    info: (details, message) => logs.push({ level: 'info', message, details }),
    warn: (details, message) => logs.push({ level: 'warn', message, details }),
    error: (details, message) => logs.push({ level: 'error', message, details }),
  };
}

/** Returns the options of one replica against the fake: its own token (the fake records whose session it saw), its log. */
export function replicaOptions(fake: FakeDiscord, name: string, logs: LogLine[]): DiscordAdapterOptions {
  return {
    token: `token-${name}`,
    applicationId: fake.applicationId,
    apiUrl: fake.apiUrl,
    logger: recordingLogger(logs),
    service: createFakeIncidentService(),
    commands: COMMANDS,
  };
}

/** Starts a fake Discord and the real adapter against it; resolves once discord.js is ready. */
export async function startFakeDiscordBot(
  options: { service?: IncidentService; commands?: readonly Command[] } & Partial<Omit<DiscordAdapterOptions, 'service' | 'commands'>> = {},
): Promise<FakeDiscordBot> {
  const fake = await FakeDiscord.start();
  const logs: LogLine[] = [];
  const service = options.service ?? createFakeIncidentService();
  const adapter = createDiscordAdapter({
    token: 'fake-token',
    applicationId: fake.applicationId,
    apiUrl: fake.apiUrl,
    logger: recordingLogger(logs),
    ...options,
    service,
    commands: options.commands ?? COMMANDS,
  });
  try {
    await adapter.start();
  } catch (error) {
    await adapter.stop();
    await fake.close();
    throw error;
  }
  return {
    fake,
    adapter,
    service,
    logs,
    async stop() {
      await adapter.stop();
      await fake.close();
    },
  };
}

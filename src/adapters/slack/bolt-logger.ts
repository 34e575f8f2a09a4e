import { format } from 'node:util';
import { LogLevel, type Logger } from '@slack/bolt';
import type { SlackLogger } from './reply.js';

const ORDER: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 } as Record<LogLevel, number>;

/** Slack tokens (bot, user, app-level, refresh, configuration) wherever they appear in a line. */
const SLACK_TOKEN = /\bx(?:ox[a-z]|app|oxe\.xox[a-z])-[A-Za-z0-9.-]+/g;

/** Returns the line with Slack tokens and the given secrets replaced by "[redacted]". */
export function redactSecrets(line: string, secrets: readonly string[] = []): string {
  let out = line.replace(SLACK_TOKEN, '[redacted]');
  for (const secret of secrets) if (secret.length >= 8) out = out.split(secret).join('[redacted]');
  return out;
}

/**
 * Returns a Bolt Logger (the interface Bolt, the Web API client and the Socket Mode client all take) writing one
 * formatted string per line to a plain logger: pino would otherwise keep only the first argument. Slack tokens and
 * the given secrets never reach the log: at debug level the Web API client prints request bodies, and the OAuth
 * code exchange sends the client secret in its body under a name the client does not redact.
 */
export function toBoltLogger(target: SlackLogger, level?: LogLevel, secrets: readonly string[] = []): Logger {
  // pino exposes its level: follow it to debug, so LOG_LEVEL=debug also shows Bolt's and the clients' debug lines.
  const targetLevel = (target as { level?: unknown }).level;
  let current = level ?? (targetLevel === 'debug' || targetLevel === 'trace' ? LogLevel.DEBUG : LogLevel.INFO);
  let name = 'slack';
  const enabled = (l: LogLevel) => ORDER[l] >= ORDER[current];
  return {
    debug: (...msg: unknown[]) => {
      if (enabled(LogLevel.DEBUG)) target.debug?.(redactSecrets(format(`[${name}]`, ...msg), secrets));
    },
    info: (...msg: unknown[]) => {
      if (enabled(LogLevel.INFO)) target.info(redactSecrets(format(`[${name}]`, ...msg), secrets));
    },
    warn: (...msg: unknown[]) => {
      if (enabled(LogLevel.WARN)) target.warn(redactSecrets(format(`[${name}]`, ...msg), secrets));
    },
    error: (...msg: unknown[]) => target.error(redactSecrets(format(`[${name}]`, ...msg), secrets)),
    setLevel: (l: LogLevel) => {
      current = l;
    },
    getLevel: () => current,
    setName: (n: string) => {
      name = n;
    },
  };
}

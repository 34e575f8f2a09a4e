import { format } from 'node:util';
import { LogLevel, type Logger } from '@slack/bolt';
import type { SlackLogger } from './reply.js';

const ORDER: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 } as Record<LogLevel, number>;

/**
 * Returns a Bolt Logger (the interface Bolt, the Web API client and the Socket Mode client all take) writing one
 * formatted string per line to a plain logger: pino would otherwise keep only the first argument.
 */
export function toBoltLogger(target: SlackLogger, level?: LogLevel): Logger {
  // pino exposes its level: follow it to debug, so LOG_LEVEL=debug also shows Bolt's and the clients' debug lines.
  const targetLevel = (target as { level?: unknown }).level;
  let current = level ?? (targetLevel === 'debug' || targetLevel === 'trace' ? LogLevel.DEBUG : LogLevel.INFO);
  let name = 'slack';
  const enabled = (l: LogLevel) => ORDER[l] >= ORDER[current];
  return {
    debug: (...msg: unknown[]) => {
      if (enabled(LogLevel.DEBUG)) target.debug?.(format(`[${name}]`, ...msg));
    },
    info: (...msg: unknown[]) => {
      if (enabled(LogLevel.INFO)) target.info(format(`[${name}]`, ...msg));
    },
    warn: (...msg: unknown[]) => {
      if (enabled(LogLevel.WARN)) target.warn(format(`[${name}]`, ...msg));
    },
    error: (...msg: unknown[]) => target.error(format(`[${name}]`, ...msg)),
    setLevel: (l: LogLevel) => {
      current = l;
    },
    getLevel: () => current,
    setName: (n: string) => {
      name = n;
    },
  };
}

import { hostname } from 'node:os';
import { pino, type DestinationStream, type Logger } from 'pino';
import { redactText } from './core/redact.js';

/** The logger type every part of the bot takes. */
export type { Logger };

/** Nesting scrubbed in logged objects: log details are shallow; deeper values are left as they are. */
const SCRUB_DEPTH = 4;

/** Returns a log argument with credentials in any URL it carries redacted (strings, and plain objects and arrays in it). */
export function scrubLogValue(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return redactText(value);
  if (depth >= SCRUB_DEPTH || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => scrubLogValue(v, depth + 1));
  // Errors and other class instances keep their identity (pino's serializers rely on it).
  if (Object.getPrototypeOf(value) !== Object.prototype) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = scrubLogValue(v, depth + 1);
  return out;
}

/**
 * Returns a JSON logger on stderr (stdout stays for answers and CLI output; tests pass a stream), with secrets redacted.
 * `fields` are added to every line (the replica's name, so the lines of several replicas can be told apart).
 */
export function createLogger(level = 'info', destination: DestinationStream = pino.destination(2), fields: { replica?: string } = {}): Logger {
  return pino(
    {
      level,
      // pino's own base (pid, hostname) is kept; the replica joins it.
      base: { pid: process.pid, hostname: hostname(), ...fields },
      // Tokens must never reach logs, even when a config object or an HTTP error with headers is logged whole.
      redact: {
        paths: ['token', '*.token', 'botToken', '*.botToken', 'appToken', '*.appToken', 'signingSecret', '*.signingSecret', 'headers.authorization', '*.headers.authorization'],
        censor: '[redacted]',
      },
      hooks: {
        // Feed URLs may carry credentials (user:pass@, ?token=): whoever logs one, it is written redacted.
        logMethod(args, method) {
          return method.apply(this, args.map((a) => scrubLogValue(a)) as Parameters<typeof method>);
        },
      },
    },
    destination,
  );
}

import { pino, type Logger } from 'pino';

/** The logger type every part of the bot takes. */
export type { Logger };

/** Returns a JSON logger on stderr (stdout stays for answers and CLI output), with secrets redacted. */
export function createLogger(level = 'info'): Logger {
  return pino(
    {
      level,
      // Tokens must never reach logs, even when a config object or an HTTP error with headers is logged whole.
      redact: {
        paths: ['token', '*.token', 'botToken', '*.botToken', 'appToken', '*.appToken', 'signingSecret', '*.signingSecret', 'headers.authorization', '*.headers.authorization'],
        censor: '[redacted]',
      },
    },
    pino.destination(2),
  );
}

import { clearLine, createInterface, cursorTo } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { routeText } from '../../../commands/index.js';
import type { Command, CommandContext } from '../../../commands/types.js';
import type { IncidentService } from '../../core/incident-service.js';
import { OPERATOR_TENANT, type AlertsService } from '../../core/feed-model.js';
import { replyToText } from './render.js';

/** What the console adapter needs: the service, the command list, and where to read and write. */
export interface ConsoleAdapterOptions {
  service: IncidentService;
  commands: readonly Command[];
  input?: Readable;
  output?: Writable;
  /** Feeds and subscriptions, when the watcher runs (the console user is the local operator, so may manage feeds). */
  alerts?: AlertsService;
  /** Called once the prompt is up with a function that prints a line above it (background work: source syncs). */
  notices?: (print: (line: string) => void) => void;
}

/** Returns the reply text for one line typed at the console (commands with or without "/", or a question). */
export async function handleConsoleLine(line: string, ctx: CommandContext): Promise<string> {
  const { command, input } = routeText(line);
  try {
    return replyToText(await command.handle(input, ctx));
  } catch (error) {
    return `Error: something went wrong answering that (${(error as Error).message}).`;
  }
}

/** Runs the interactive prompt until the input ends or the user types exit; resolves when it closes. */
export function runConsole(options: ConsoleAdapterOptions): Promise<void> {
  const output = options.output ?? process.stdout;
  const rl = createInterface({ input: options.input ?? process.stdin, output, terminal: Boolean((output as NodeJS.WriteStream).isTTY) });
  const ctx: CommandContext = {
    incidents: options.service,
    commands: options.commands,
    alerts: options.alerts,
    // The console user is the local operator: every feed, every record, no quotas.
    channel: { platform: 'console', tenant: OPERATOR_TENANT, userId: 'console', canManageFeeds: true, canManageChannel: false },
  };
  output.write(`incident-bot console: ${options.service.size} records. Try /incident skyecc, /incidents recent, /help, or a question. Type exit to leave.\n`);
  // A reader that goes away (`npm start | head`) ends the session quietly instead of crashing on EPIPE.
  output.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') rl.close();
  });
  rl.setPrompt('> ');
  rl.prompt();
  let closedForNotices = false;
  rl.on('close', () => {
    closedForNotices = true;
  });
  options.notices?.((line) => {
    if (closedForNotices) return;
    if (!(output as NodeJS.WriteStream).isTTY) {
      output.write(`${line}\n`);
      return;
    }
    // Above the prompt, which is redrawn with whatever the user had typed so far.
    clearLine(output, 0);
    cursorTo(output, 0);
    output.write(`${line}\n`);
    rl.prompt(true);
  });
  // Lines are answered one at a time, in order, even when pasted together.
  let chain = Promise.resolve();
  // Lines pasted after "exit" are already queued: once closed, nothing more is answered.
  let closed = false;
  rl.on('close', () => {
    closed = true;
  });
  rl.on('line', (line) => {
    chain = chain.then(async () => {
      if (closed) return;
      const text = line.trim();
      if (text === 'exit' || text === 'quit' || text === '/exit') {
        rl.close();
        return;
      }
      if (text) output.write(`${await handleConsoleLine(text, ctx)}\n\n`);
      rl.prompt();
    });
  });
  return new Promise((resolve) => rl.on('close', () => void chain.then(resolve)));
}

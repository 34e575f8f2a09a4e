import { randomUUID } from 'node:crypto';
import { clearLine, createInterface, cursorTo } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { routeText } from '../../../commands/index.js';
import type { Command, CommandContext, Reply } from '../../../commands/types.js';
import { createMemoryConversationStore, type ConversationStore } from '../../core/conversation.js';
import type { IncidentService } from '../../core/incident-service.js';
import { OPERATOR_TENANT, type AlertsService } from '../../core/feed-model.js';
import { firstPage, listPageOfReply, pagedCommandInput, pagedCommandOf, type PageContext, type PagedCommand } from '../paging.js';
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
  /** Where the session's conversation context lives (follow-ups); default: a store of its own, in memory. */
  conversations?: ConversationStore;
}

/** What one console session remembers for `more`: the last list's command, and where its next page starts. */
export interface ConsoleSession {
  next?: { command: PagedCommand; cursor: string; start: number };
}

/** Words that show the next page of the last list instead of being asked as a question. */
const MORE_WORDS = new Set(['more', '/more']);

/** What the console says to `more` when there is no list to page. */
export const NOTHING_MORE_TEXT = 'Nothing more to show: "more" pages the last list (try /incidents recent or a question like "which groups use Mimikatz?").';

/**
 * Returns the reply text for one line typed at the console (commands with or without "/", or a question); `more`
 * shows the next page of the session's last list.
 */
export async function handleConsoleLine(line: string, ctx: CommandContext, session: ConsoleSession = {}): Promise<string> {
  try {
    if (MORE_WORDS.has(line.trim().toLowerCase())) {
      const next = session.next;
      if (!next) return NOTHING_MORE_TEXT;
      const { name, input } = pagedCommandInput(next.command, next.cursor);
      const command = ctx.commands.find((c) => c.definition.name === name);
      if (!command) return NOTHING_MORE_TEXT;
      const page: PageContext = { command: next.command, start: next.start, cursor: next.cursor };
      return render(await command.handle(input, ctx), page, session);
    }
    const { command, input } = routeText(line);
    return render(await command.handle(input, ctx), firstPage(pagedCommandOf(command.definition.name, input)), session);
  } catch (error) {
    return `Error: something went wrong answering that (${(error as Error).message}).`;
  }
}

/** Renders a reply and, when it is a list, remembers where its next page starts (or that it has none). */
function render(reply: Reply, page: PageContext, session: ConsoleSession): string {
  const list = listPageOfReply(reply);
  if (list) {
    session.next = list.cursor && page.command && list.items.length ? { command: page.command, cursor: list.cursor, start: page.start + list.items.length } : undefined;
  }
  return replyToText(reply, page);
}

/** Runs the interactive prompt until the input ends or the user types exit; resolves when it closes. */
export function runConsole(options: ConsoleAdapterOptions): Promise<void> {
  const output = options.output ?? process.stdout;
  const rl = createInterface({ input: options.input ?? process.stdin, output, terminal: Boolean((output as NodeJS.WriteStream).isTTY) });
  const ctx: CommandContext = {
    incidents: options.service,
    commands: options.commands,
    alerts: options.alerts,
    // The console user is the local operator: every feed, every record, no quotas. One session, one conversation.
    channel: { platform: 'console', tenant: OPERATOR_TENANT, userId: 'console', canManageFeeds: true, canManageChannel: false, conversation: `console:${randomUUID()}` },
    conversations: options.conversations ?? createMemoryConversationStore(),
  };
  const session: ConsoleSession = {};
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
      if (text) output.write(`${await handleConsoleLine(text, ctx, session)}\n\n`);
      rl.prompt();
    });
  });
  return new Promise((resolve) => rl.on('close', () => void chain.then(resolve)));
}

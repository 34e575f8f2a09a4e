import type { Answer, IncidentList, IncidentRef } from '../core/answer-model.js';
import { DEFAULT_LIST_COUNT } from '../../commands/incidents.js';
import type { CommandInput, Reply } from '../../commands/types.js';

/**
 * Paging shared by the adapters: which command made a list (so that a Prev, Next or More click, or the console's
 * `more`, asks the same question again with the page's cursor), and what one page of a list holds. Platform-neutral;
 * each adapter decides where it keeps the command between clicks (Discord: the embed footer; Slack: the button value;
 * the console: its session).
 */

/** The commands whose replies page, with what they were asked. */
export type PagedCommand =
  | { name: 'incident'; query: string }
  | { name: 'incidents'; subcommand: 'search'; query: string }
  | { name: 'incidents'; subcommand: 'recent'; count: number };

/**
 * Longest command text a page carries: the core bounds a query to 300 characters, and a Discord footer (2048) or a
 * Slack button value (2000) holds this with room to spare. A longer one gets no paging controls, never broken ones.
 */
export const MAX_PAGED_COMMAND_CHARS = 400;

/** How a shown page was asked for: the command, the number of its first item (1-based), and the cursor that made it. */
export interface PageContext {
  /** The command to run again for another page; absent when the reply cannot be paged (nothing to route back to). */
  command?: PagedCommand;
  /** The number of the page's first item: 1 on the first page. */
  start: number;
  /** The cursor that made this page; absent on the first page. */
  cursor?: string;
}

/** The first page of a reply to `command` (or of a reply that cannot be paged). */
export function firstPage(command?: PagedCommand): PageContext {
  return command ? { command, start: 1 } : { start: 1 };
}

/** One page of a list, as every adapter renders it: from a `list` Answer or an IncidentList. */
export interface ListPage {
  /** Heading: the list's title, or the question a listing answer answers. */
  title: string;
  /** A line above the items (the answer's summary, the list's note); may be empty. */
  intro: string;
  /** This page's items, in order. */
  items: IncidentRef[];
  /** How many match in all. */
  total: number;
  /** Where the next page starts; absent on the last page. */
  cursor?: string;
}

/** Returns the page of a list reply: a `list` Answer, or an IncidentList (`incidents recent|search`). */
export function listPageOf(source: Answer | IncidentList): ListPage {
  if ('status' in source) {
    const items = source.items ?? [];
    return { title: source.query, intro: source.summary, items, total: Math.max(source.total ?? items.length, items.length), cursor: source.cursor || undefined };
  }
  return { title: source.title, intro: source.note ?? '', items: source.items, total: Math.max(source.total, source.items.length), cursor: source.cursor || undefined };
}

/** Returns the list page a reply shows, or undefined when the reply is not a list. */
export function listPageOfReply(reply: Reply): ListPage | undefined {
  if (reply.type === 'list') return listPageOf(reply.list);
  if (reply.type === 'answer' && reply.answer.status === 'list') return listPageOf(reply.answer);
  return undefined;
}

/** Returns "Showing 11–20 of 37" for a page starting at item `start`, or "3 in all" when one page holds everything. */
export function pageRange(page: ListPage, start: number): string {
  if (page.items.length === 0) return `${page.total} in all`;
  if (start === 1 && !page.cursor && page.items.length >= page.total) return `${page.total} in all`;
  return `Showing ${start}–${start + page.items.length - 1} of ${Math.max(page.total, start + page.items.length - 1)}`;
}

/** Returns the command text a paged command is typed as: `incident <query>`, `incidents search <query>`, `incidents recent <n>`. */
export function pagedCommandText(command: PagedCommand): string {
  if (command.name === 'incident') return `incident ${command.query}`;
  if (command.subcommand === 'search') return `incidents search ${command.query}`;
  return `incidents recent ${command.count}`;
}

/**
 * Returns the paged command written as `pagedCommandText` writes it, or undefined for anything else. Strict on
 * purpose: the text comes back from a message, and must only ever ask for a list again, never route to another
 * command (`incident alerts remove` is a question to `incident`, as it was when first asked).
 */
export function parsePagedCommand(text: string): PagedCommand | undefined {
  const flat = text.replace(/\s+/g, ' ').trim();
  if (!flat || flat.length > MAX_PAGED_COMMAND_CHARS) return undefined;
  let m: RegExpMatchArray | null;
  if ((m = /^incidents recent (\d{1,3})$/.exec(flat))) return { name: 'incidents', subcommand: 'recent', count: Number(m[1]) };
  if ((m = /^incidents search (.+)$/.exec(flat))) return { name: 'incidents', subcommand: 'search', query: m[1] };
  if ((m = /^incident (.+)$/.exec(flat))) return { name: 'incident', query: m[1] };
  return undefined;
}

/** Returns the paged command for a command and its input, or undefined when that command's replies do not page. */
export function pagedCommandOf(name: string, input: CommandInput): PagedCommand | undefined {
  let command: PagedCommand | undefined;
  if (name === 'incident') {
    const query = String(input.options.query ?? '').replace(/\s+/g, ' ').trim();
    if (query) command = { name: 'incident', query };
  } else if (name === 'incidents' && input.subcommand === 'search') {
    const query = String(input.options.query ?? '').replace(/\s+/g, ' ').trim();
    if (query) command = { name: 'incidents', subcommand: 'search', query };
  } else if (name === 'incidents' && input.subcommand === 'recent') {
    const raw = input.options.count;
    const count = raw === undefined || raw === '' ? undefined : Number(raw);
    // Without a count the command's own default applies; it is written out so that every page has the same size.
    command = { name: 'incidents', subcommand: 'recent', count: count !== undefined && Number.isInteger(count) ? count : DEFAULT_LIST_COUNT };
  }
  if (!command) return undefined;
  // A command that cannot be carried whole cannot be asked again: no paging rather than a wrong page.
  return pagedCommandText(command).length <= MAX_PAGED_COMMAND_CHARS ? command : undefined;
}

/** Returns the command name and input that ask a paged command again for the page at `cursor` (none: the first page). */
export function pagedCommandInput(command: PagedCommand, cursor?: string): { name: string; input: CommandInput } {
  const withCursor = cursor ? { cursor } : {};
  if (command.name === 'incident') return { name: 'incident', input: { options: { query: command.query }, ...withCursor } };
  if (command.subcommand === 'search') return { name: 'incidents', input: { subcommand: 'search', options: { query: command.query }, ...withCursor } };
  return { name: 'incidents', input: { subcommand: 'recent', options: { count: command.count }, ...withCursor } };
}

/** Returns the cursor a reply leaves for its next page, or undefined (not a list, or the last page). */
export function nextCursorOf(reply: Reply): string | undefined {
  return listPageOfReply(reply)?.cursor;
}

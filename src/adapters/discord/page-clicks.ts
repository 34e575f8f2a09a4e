import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { CommandInput, Reply } from '../../../commands/types.js';
import { listPageOfReply, pagedCommandInput, type PageContext, type PagedCommand } from '../paging.js';
import type { PageTarget } from './lists.js';

/**
 * Runs the list's command again for one page: `remember` says whether the conversation keeps what this page shows
 * (only the page the user ends up seeing does, not the pages walked through to find it).
 */
export type PageRunner = (name: string, input: CommandInput, remember: boolean) => Promise<Reply>;

/** What a paging click shows: the reply for the page and how it was asked for (for its own Prev/Next). */
export interface PageResult {
  reply: Reply;
  page: PageContext;
}

/**
 * Most pages walked to find the page before a cursor: cursors only lead forward, so Prev from page k asks pages 1..k-1
 * again (each a fast index query, the loop yielded between them); a longer list goes back to its first page.
 */
export const MAX_PREV_WALK = 50;

/**
 * Returns the page a Prev or Next click asks for. Next carries the page's cursor and first item number; Prev carries
 * the cursor of the page being left, and the page before it is the one whose own cursor that is, found by walking from
 * the first page. When the walk cannot find it (the list changed, or is longer than MAX_PREV_WALK pages), the first
 * page is shown rather than a wrong one.
 */
export async function pageForClick(command: PagedCommand, target: PageTarget, run: PageRunner): Promise<PageResult> {
  const ask = async (cursor: string | undefined, remember: boolean) => {
    const { name, input } = pagedCommandInput(command, cursor);
    return run(name, input, remember);
  };
  if (target.kind === 'at') {
    return { reply: await ask(target.cursor, true), page: { command, start: target.start, cursor: target.cursor } };
  }
  let cursor: string | undefined;
  let start = 1;
  for (let step = 0; step < MAX_PREV_WALK; step++) {
    const shown = listPageOfReply(await ask(cursor, false));
    if (!shown) break;
    if (shown.cursor === target.cursor) {
      return { reply: await ask(cursor, true), page: cursor ? { command, start, cursor } : { command, start } };
    }
    if (!shown.cursor || shown.items.length === 0) break;
    start += shown.items.length;
    cursor = shown.cursor;
    // Each step is a whole query: let interactions queued behind this one run between steps.
    await yieldToLoop();
  }
  return { reply: await ask(undefined, true), page: { command, start: 1 } };
}

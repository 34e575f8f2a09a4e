import { SEARCH_FILTERS } from '../src/core/search-list.js';
import { rememberList, type PageOptions } from './conversation.js';
import type { Command } from './types.js';

/** Most items a list shows: chat messages stay readable and within every platform's limits. */
export const MAX_LIST_COUNT = 25;
/** Items a list shows when no count is given. */
export const DEFAULT_LIST_COUNT = 10;

/** `incidents recent [count]` and `incidents search <query>`: paged lists of incidents, searches with filters. */
export default {
  definition: {
    name: 'incidents',
    description: 'List recent incidents or search them',
    usage: 'incidents recent [count] | incidents search <query>',
    help: [
      'incidents recent [count]: the newest incidents (default 10, at most 25).',
      'incidents search <query>: records matching words and filters; "latest", "since March" or a date filter lists newest first.',
      'Filters:',
      ...SEARCH_FILTERS.map((f) => `  ${f.key}:${f.value}: ${f.keeps}`),
      'Examples: incidents recent 5 · incidents search ransomware since:2023 · incidents search vendor:ivanti kind:vulnerability · incidents search latest actor:apt28',
    ].join('\n'),
    subcommands: [
      {
        name: 'recent',
        description: 'The newest incidents',
        usage: 'incidents recent [count]',
        options: [
          { name: 'count', description: `How many (1-${MAX_LIST_COUNT}, default ${DEFAULT_LIST_COUNT})`, type: 'integer', min: 1, max: MAX_LIST_COUNT },
        ],
      },
      {
        name: 'search',
        description: 'Search; filters: tag: since: until: kind: actor: vendor: (see help)',
        usage: 'incidents search <query>',
        options: [{ name: 'query', description: 'Words and filters, e.g. latest ransomware kind:incident since:2023', type: 'string', required: true }],
      },
    ],
  },
  async handle(input, ctx) {
    if (input.subcommand === 'recent') {
      const raw = input.options.count;
      const count = raw === undefined || raw === '' ? DEFAULT_LIST_COUNT : Number(raw);
      if (!Number.isInteger(count) || count < 1 || count > MAX_LIST_COUNT) {
        return { type: 'error', message: `count must be a whole number from 1 to ${MAX_LIST_COUNT} (got "${String(raw)}").` };
      }
      const page: PageOptions = { visible: ctx.canSee, cursor: input.cursor };
      return { type: 'list', list: await rememberList(ctx, ctx.incidents.recent(count, page), `incidents recent ${count}`) };
    }
    if (input.subcommand === 'search') {
      const query = String(input.options.query ?? '').trim();
      if (!query) return { type: 'error', message: 'Give search words, e.g. `incidents search ransomware since:2023`.' };
      const page: PageOptions = { limit: DEFAULT_LIST_COUNT, visible: ctx.canSee, cursor: input.cursor };
      return { type: 'list', list: await rememberList(ctx, ctx.incidents.searchList(query, page), query) };
    }
    return { type: 'error', message: 'Use `incidents recent [count]` or `incidents search <query>`.' };
  },
} satisfies Command;

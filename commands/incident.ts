import { answerInConversation } from './conversation.js';
import type { Command } from './types.js';

/** `incident <query>`: the answer about one incident. */
export default {
  definition: {
    name: 'incident',
    description: 'Answer a question about a cyber incident: summary, key facts, sources',
    usage: 'incident <query>',
    help: [
      'Ask about an incident by name, alias, CVE id or a plain question.',
      'Examples: incident skyecc · incident Operation Argus · incident CVE-2023-1389 · incident how many users did Sky ECC have?',
    ].join('\n'),
    options: [
      {
        name: 'query',
        description: 'Incident name, alias, CVE id or question',
        type: 'string',
        required: true,
        autocomplete: true,
      },
    ],
  },
  async handle(input, ctx) {
    const query = String(input.options.query ?? '').trim();
    if (!query) return { type: 'error', message: 'Tell me what to look up, e.g. `incident skyecc`.' };
    return { type: 'answer', answer: await answerInConversation(query, ctx, input.cursor) };
  },
} satisfies Command;

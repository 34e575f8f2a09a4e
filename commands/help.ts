import type { Command } from './types.js';

/** `help`: usage and examples for every command, generated from the command definitions. */
export default {
  definition: {
    name: 'help',
    description: 'How to use incident-bot',
    usage: 'help',
    help: 'Shows this help. You can also just type a question, e.g. "what happened with Sky ECC?"',
    options: [],
  },
  handle(_input, ctx) {
    return {
      type: 'help',
      help: {
        title: 'incident-bot: answers about cyber incidents',
        entries: ctx.commands.map((c) => ({ usage: c.definition.usage, description: c.definition.description, help: c.definition.help })),
      },
    };
  },
} satisfies Command;

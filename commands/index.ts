import alerts from './alerts.js';
import feeds, { FEEDS_MANAGED_SUBCOMMANDS } from './feeds.js';
import help from './help.js';
import incident from './incident.js';
import incidents from './incidents.js';
import type { Command, CommandInput } from './types.js';

export type * from './types.js';

/** Every command, in help order: Discord registration, Slack's manifest and the console's help come from this list. */
export const COMMANDS: readonly Command[] = [incident, incidents, alerts, feeds, help];

/** Returns the command with this name, if any. */
export function findCommand(name: string): Command | undefined {
  return COMMANDS.find((c) => c.definition.name === name.toLowerCase());
}

/** A free-text request resolved to a command and its input. */
export interface RoutedText {
  command: Command;
  input: CommandInput;
}

/**
 * Returns the command a line of free text asks for: "/incident skyecc", "incidents recent 5", "recent",
 * "search ransomware", "help", or anything else as a question to `incident`.
 */
export function routeText(text: string): RoutedText {
  const words = text.trim().replace(/^\//, '').split(/\s+/).filter(Boolean);
  let name = (words[0] ?? '').toLowerCase();
  let rest = words.slice(1);
  // Slack has one slash command, so `/incident recent`, `/incident help` or `/incident alerts list` reach the
  // other commands through it.
  const second = (rest[0] ?? '').toLowerCase();
  if (name === 'incident' && rest.length > 0 && (second === 'recent' || second === 'search' || (second !== 'incident' && findCommand(second)))) {
    name = second;
    rest = rest.slice(1);
  }
  if (name === 'recent' || name === 'search') {
    rest = [name, ...rest];
    name = 'incidents';
  }
  const command = findCommand(name);
  if (!command) return { command: findCommand('incident')!, input: { options: { query: text.trim() } } };
  const def = command.definition;
  if (def.subcommands) {
    const sub = def.subcommands.find((s) => s.name === (rest[0] ?? '').toLowerCase()) ?? def.subcommands[0];
    const args = rest[0]?.toLowerCase() === sub.name ? rest.slice(1) : rest;
    return { command, input: { subcommand: sub.name, options: bindOptions(sub.options, args) } };
  }
  return { command, input: { options: bindOptions(def.options ?? [], rest) } };
}

/** Binds positional words to options: the last string option takes the remaining words. */
function bindOptions(options: readonly { name: string; type: string }[], words: string[]): CommandInput['options'] {
  const out: CommandInput['options'] = {};
  let i = 0;
  options.forEach((opt, n) => {
    if (i >= words.length) return;
    if (opt.type === 'string' && n === options.length - 1) {
      out[opt.name] = words.slice(i).join(' ');
      i = words.length;
    } else {
      out[opt.name] = words[i++];
    }
  });
  return out;
}

/**
 * Returns which manage permission running this input needs: `feeds` for `feeds add|remove`, `channel` for the
 * adminOnly commands (alerts), or undefined. Adapters whose permission checks cost API calls (Slack) make only the
 * calls this asks for.
 */
export function managePermissionNeeded(command: Command, input: CommandInput): 'feeds' | 'channel' | undefined {
  if (command.definition.name === feeds.definition.name && FEEDS_MANAGED_SUBCOMMANDS.has(input.subcommand ?? '')) return 'feeds';
  if (command.definition.adminOnly) return 'channel';
  return undefined;
}

/** Returns whether running this input needs any manage permission (see managePermissionNeeded). */
export function needsManagePermission(command: Command, input: CommandInput): boolean {
  return managePermissionNeeded(command, input) !== undefined;
}

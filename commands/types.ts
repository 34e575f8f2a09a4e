import type { Answer, IncidentList } from '../src/core/answer-model.js';
import type { ConversationStore } from '../src/core/conversation.js';
import type { IncidentService } from '../src/core/incident-service.js';
import type { AlertsService, TenantId } from '../src/core/feed-model.js';

/** One option of a command or subcommand: platform-neutral, mapped to Discord options and Slack text. */
export interface CommandOption {
  /** Lower-case option name (Discord: 1-32 chars, no spaces). */
  name: string;
  /** One line shown by the platform (Discord: at most 100 chars). */
  description: string;
  /** Value type. */
  type: 'string' | 'integer';
  /** Whether the option must be given. */
  required?: boolean;
  /** Whether the platform should ask us for suggestions while typing (Discord autocomplete). */
  autocomplete?: boolean;
  /** Bounds for integers. */
  min?: number;
  max?: number;
}

/** A subcommand (e.g. `incidents recent`). */
export interface SubcommandDefinition {
  name: string;
  description: string;
  options: CommandOption[];
  /** Usage line for help, e.g. "incidents recent [count]". */
  usage: string;
}

/** What a command is: its name, options, help text; every platform's registration is generated from this. */
export interface CommandDefinition {
  /** Command name, e.g. "incident". */
  name: string;
  /** One line for the platform's command picker (at most 100 chars). */
  description: string;
  /** Longer help shown by `help`: usage and examples, plain text. */
  help: string;
  /** Usage line, e.g. "incident <query>". */
  usage: string;
  /** Options, when the command has no subcommands. */
  options?: CommandOption[];
  /** Subcommands, when it has them. */
  subcommands?: SubcommandDefinition[];
  /**
   * Only those who may manage the channel's alerts may run it (Discord: Manage Channels, also set as
   * default_member_permissions; Slack: workspace admins and owners, SLACK_ADMIN_USER_IDS, the channel's creator).
   */
  adminOnly?: boolean;
}

/** Parsed input to a command: which subcommand, and option values by name. */
export interface CommandInput {
  subcommand?: string;
  options: Record<string, string | number | undefined>;
  /**
   * Where the page to show starts: the opaque cursor of an earlier list reply (a Prev/Next/More click, the console's
   * `more`); absent for the first page.
   */
  cursor?: string;
}

/** Where a command was typed and by whom, and what the caller may change there, as the adapter knows it. */
export interface ChannelContext {
  /** The console and the CLI are the local operator. */
  platform: 'discord' | 'slack' | 'console' | 'cli';
  channelId?: string;
  /** Discord guild id or Slack team id. */
  workspaceId?: string;
  userId?: string;
  /** Whom the command acts for: `discord:<guild>`, `slack:<team>`, or `operator` (console, CLI); absent in a DM. */
  tenant?: TenantId;
  /**
   * Whether the caller may add, rename and remove the tenant's feeds (Discord: Manage Server; Slack: workspace admins
   * and owners and SLACK_ADMIN_USER_IDS; console and CLI: yes), checked by the adapter with the platform's permissions.
   */
  canManageFeeds: boolean;
  /**
   * Whether the caller may change this channel's alert subscriptions (Discord: Manage Channels; Slack: as for
   * feeds, or the channel's creator for that channel only).
   */
  canManageChannel: boolean;
  /**
   * The conversation this command belongs to, whose short context follow-ups resolve against: `discord:<guild>:<channel>`,
   * `slack:<team>:<channel>:<thread ts>` (a mention's thread), `slack:<team>:<channel>:user:<user>` (slash commands,
   * whose answers only the caller sees), `console:<session>`. Absent: no memory between turns.
   */
  conversation?: string;
}

/** What the handler has to work with. */
export interface CommandContext {
  /** The shared incident index and answering service. */
  incidents: IncidentService;
  /** The command list itself (for help). */
  commands: readonly Command[];
  /** Where the command came from; absent in the CLI. */
  channel?: ChannelContext;
  /** Feeds and subscriptions, when the feed watcher runs. */
  alerts?: AlertsService;
  /** Which records the caller's tenant may see (posts of other tenants' feeds are hidden); absent: every record. */
  canSee?: (id: string) => boolean;
  /** Where conversations' contexts live (keyed by `channel.conversation`); absent: no memory between turns. */
  conversations?: ConversationStore;
}

/** Help output: one entry per command, generated from the definitions. */
export interface HelpReply {
  title: string;
  entries: { usage: string; description: string; help: string }[];
}

/** What a command returns: data for each adapter to render its own way. */
export type Reply =
  | { type: 'answer'; answer: Answer }
  | { type: 'list'; list: IncidentList }
  | { type: 'help'; help: HelpReply }
  /** A short titled notice (subscriptions, feed status): plain-text lines, each rendered on its own line. */
  | { type: 'message'; title: string; lines: string[] }
  | { type: 'error'; message: string };

/** A platform-neutral command: its definition and its handler. */
export interface Command {
  definition: CommandDefinition;
  /** Returns the reply for this input; throws only on bugs (adapters catch and report them). */
  handle(input: CommandInput, ctx: CommandContext): Reply | Promise<Reply>;
}

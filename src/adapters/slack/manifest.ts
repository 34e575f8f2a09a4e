import type { webApi } from '@slack/bolt';
import { routeText } from '../../../commands/index.js';
import type { Command } from '../../../commands/types.js';

/** A Slack app manifest, as `apps.manifest.create` and "Create an app > From a manifest" accept it. */
export type SlackManifest = webApi.AppsManifestCreateArguments['manifest'];

/** Options for the manifest: HTTP-mode deployments give the public URL Bolt listens on. */
export interface SlackManifestOptions {
  /** App and bot name (Slack: at most 35 characters). */
  appName?: string;
  /** Public URL of Bolt's endpoint (e.g. https://bot.example.com/slack/events); when set, Socket Mode is off. */
  requestUrl?: string;
  /**
   * Distribution: the public URL of /slack/oauth_redirect (e.g. https://bot.example.com/slack/oauth_redirect). The
   * manifest then lists it as the redirect URL and subscribes to the events that say a workspace left.
   */
  redirectUrl?: string;
}

/**
 * Bot scopes: commands (the slash command), app_mentions:read (mentions), chat:write (answers and alerts),
 * chat:write.public (alerts into public channels the bot has not joined), for the alert subscriptions' admin check
 * users:read (workspace admins), channels:read and groups:read (the channel's creator), and for finding an alert
 * that was in flight at a crash channels:history and groups:history (conversations.history and .replies).
 */
export const SLACK_BOT_SCOPES = [
  'app_mentions:read',
  'channels:history',
  'channels:read',
  'chat:write',
  'chat:write.public',
  'commands',
  'groups:history',
  'groups:read',
  'users:read',
] as const;

/** Bot events: only app_mention. A mention also arrives as a `message` event when message events are subscribed; we do not subscribe them. */
export const SLACK_BOT_EVENTS = ['app_mention'] as const;

/** Events a distributed app also subscribes to (they need no scope): a workspace uninstalled it, or revoked its token. */
export const SLACK_UNINSTALL_EVENTS = ['app_uninstalled', 'tokens_revoked'] as const;

/** Returns the Slack slash command: the first command's name ("/incident"); every other command is reached through its text. */
export function slashCommandOf(commands: readonly Command[]): string {
  const first = commands[0];
  if (!first) throw new Error('The command list is empty: the Slack slash command is named after the first command.');
  return `/${first.definition.name}`;
}

/**
 * Returns how each usage line is typed after the slash command: its shortest form that routeText maps back to the
 * same command and subcommand ("incidents recent [count]" -> "recent [count]", "incident <query>" -> "<query>").
 */
export function slackUsages(commands: readonly Command[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const command of commands) {
    const def = command.definition;
    const lines = def.subcommands?.length ? def.subcommands.map((s) => ({ usage: s.usage, sub: s.name })) : [{ usage: def.usage, sub: undefined }];
    for (const { usage, sub } of lines) {
      const short = usage.split(/\s+/).slice(1).join(' ');
      const routed = short ? routeText(short) : undefined;
      const same = routed && routed.command.definition.name === def.name && routed.input.subcommand === sub;
      out.set(usage, same ? short : usage);
    }
    // A command whose usage joins its subcommands' ("a x | a y") maps part by part.
    if (def.subcommands?.length) out.set(def.usage, def.usage.split(' | ').map((u) => out.get(u.trim()) ?? u.trim()).join(' | '));
  }
  return out;
}

/** Returns a function mapping a neutral usage line to what a Slack user types ("recent [count]" -> "/incident recent [count]"). */
export function slackUsageFor(commands: readonly Command[]): (usage: string) => string {
  const slash = slashCommandOf(commands);
  const usages = slackUsages(commands);
  return (usage) => `${slash} ${usages.get(usage) ?? usage}`;
}

/**
 * Returns the slash command's usage hint: each usage line in its Slack form, except that a command whose
 * subcommands are typed after its own name is folded into one entry ("alerts list|subscribe|unsubscribe"), since
 * Slack shows the hint on one line in the command picker.
 */
export function usageHint(commands: readonly Command[]): string {
  const usages = slackUsages(commands);
  const parts = commands.flatMap((c) => {
    const def = c.definition;
    if (!def.subcommands?.length) return [usages.get(def.usage) ?? def.usage];
    const typed = def.subcommands.map((s) => usages.get(s.usage) ?? s.usage);
    if (typed.every((u) => u.startsWith(`${def.name} `))) return [`${def.name} ${def.subcommands.map((s) => s.name).join('|')}`];
    return typed;
  });
  return [...new Set(parts)].join(' | ');
}

/** Returns the app manifest generated from the command definitions: Socket Mode unless a request URL is given. */
export function buildSlackManifest(commands: readonly Command[], options: SlackManifestOptions = {}): SlackManifest {
  const name = options.appName ?? 'incident-bot';
  const first = commands[0]?.definition;
  const hint = usageHint(commands);
  const url = options.requestUrl;
  return {
    _metadata: { major_version: 1, minor_version: 1 },
    display_information: {
      name,
      description: 'Answers questions about cyber incidents: summaries, key facts and sources.',
      background_color: '#2c2d30',
    },
    features: {
      bot_user: { display_name: name, always_online: true },
      slash_commands: [
        {
          command: slashCommandOf(commands),
          description: first?.description ?? '',
          usage_hint: hint,
          // Plain text: we do not want <@U123|name> forms in queries.
          should_escape: false,
          ...(url ? { url } : {}),
        },
      ],
    },
    oauth_config: { ...(options.redirectUrl ? { redirect_urls: [options.redirectUrl] } : {}), scopes: { bot: [...SLACK_BOT_SCOPES] } },
    settings: {
      event_subscriptions: {
        ...(url ? { request_url: url } : {}),
        bot_events: options.redirectUrl ? [...SLACK_BOT_EVENTS, ...SLACK_UNINSTALL_EVENTS] : [...SLACK_BOT_EVENTS],
      },
      interactivity: { is_enabled: true, ...(url ? { request_url: url } : {}) },
      org_deploy_enabled: false,
      socket_mode_enabled: !url,
      token_rotation_enabled: false,
    },
  };
}

/** Returns the manifest file's exact text (2-space JSON and a final newline), as committed in slack/manifest.json. */
export function manifestFileText(commands: readonly Command[], options: SlackManifestOptions = {}): string {
  return `${JSON.stringify(buildSlackManifest(commands, options), null, 2)}\n`;
}

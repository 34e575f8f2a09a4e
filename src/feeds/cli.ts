import { parseArgs } from 'node:util';
import { COMMANDS } from '../../commands/index.js';
import feedsCommand from '../../commands/feeds.js';
import type { CommandContext, CommandInput, Reply } from '../../commands/types.js';
import type { Config } from '../config.js';
import { createIncidentService } from '../core/create-service.js';
import { OPERATOR_TENANT, type AlertsService, type AuditEntry, type FeedSpec } from '../core/feed-model.js';
import { redactText } from '../core/redact.js';
import { storageOverStore } from '../store/storage.js';
import type { Store } from '../store/store.js';
import { CLI_ACTOR, createAlertsService } from './alerts-service.js';
import { loadFeedList } from './feed-list.js';

/** Usage of `npm run cli -- feeds ...`. */
export const FEEDS_USAGE = `Usage: npm run cli -- feeds <command>

  feeds list                                     every watched feed: operator feeds and each server's or workspace's own
  feeds status                                   per feed: last success, last error, next poll, items seen, 304 rate
  feeds add <url> [name] [--interval SECONDS]   an operator feed, for every server and workspace (SSRF rules apply)
  feeds remove <id|url>                          stop an operator feed added here, or a tenant's feed for every tenant
  feeds import-opml <file>                       add every feed of an OPML (or JSON) feed list as operator feeds

These run the same commands as /feeds in chat, as the operator. Feeds listed in FEEDS_FILE are re-read at every
start: change those in the file. A running bot picks up changes at its next poll (within a second).`;

/** Usage of `npm run cli -- audit ...`. */
export const AUDIT_USAGE = `Usage: npm run cli -- audit [--tenant TENANT] [--limit N]

  Prints who added and removed feeds and subscriptions, newest first: time, tenant, platform and user id, action.
  TENANT is operator, discord:<server id> or slack:<team id>; N defaults to 100.`;

/** What runFeedsCli works with. */
export interface FeedsCliDeps {
  alerts: AlertsService;
  /** Standard output (default process.stdout). */
  write?: (text: string) => void;
  /** Standard error (default process.stderr). */
  error?: (text: string) => void;
  /** Feed list reader for import-opml (default loadFeedList). */
  loadFeedList?: (path: string) => FeedSpec[];
}

/** Returns the CLI's alerts service over a store (no watcher needed: the running bot reads the same tables). */
export async function feedsCliAlerts(store: Store, config: Config['feeds']): Promise<AlertsService> {
  return createAlertsService({ storage: await storageOverStore(store), allowPrivate: config.allowPrivateUrls, limits: config.limits });
}

/** Returns a command reply as plain text: the title, then its lines (the CLI prints URLs in full, but redacted). */
export function replyToPlain(reply: Reply): string {
  if (reply.type === 'message') return [reply.title, ...reply.lines].join('\n');
  if (reply.type === 'error') return reply.message;
  return JSON.stringify(reply);
}

/** Runs `feeds <command> ...` through the same command module as chat, as the operator; returns the exit code (0 ok, 1 refused, 2 usage). */
export async function runFeedsCli(args: readonly string[], deps: FeedsCliDeps): Promise<number> {
  const out = deps.write ?? ((t: string) => void process.stdout.write(t));
  const err = deps.error ?? ((t: string) => void process.stderr.write(t));
  const [command, ...rest] = args;
  const usage = (problem?: string) => {
    err(`${problem ? `${problem}\n\n` : ''}${FEEDS_USAGE}\n`);
    return 2;
  };
  const ctx: CommandContext = {
    // The feeds commands never answer questions: an empty index stands in for the real one.
    incidents: createIncidentService([]),
    commands: COMMANDS,
    alerts: deps.alerts,
    channel: { platform: 'cli', tenant: OPERATOR_TENANT, userId: CLI_ACTOR.userId, canManageFeeds: true, canManageChannel: false },
  };
  const run = async (input: CommandInput) => {
    const reply = await feedsCommand.handle(input, ctx);
    (reply.type === 'error' ? err : out)(`${replyToPlain(reply)}\n`);
    return reply.type === 'error' ? 1 : 0;
  };

  switch (command) {
    case 'list':
    case 'status':
      return run({ subcommand: command, options: {} });
    case 'add': {
      const positional: string[] = [];
      let interval: number | undefined;
      for (let i = 0; i < rest.length; i++) {
        const a = rest[i]!;
        if (a === '--interval') {
          const v = rest[++i];
          if (!v || !/^\d+$/.test(v)) return usage('--interval needs a whole number of seconds');
          interval = Number(v);
        } else positional.push(a);
      }
      const [url, ...nameWords] = positional;
      if (!url) return usage('feeds add needs a URL');
      return run({ subcommand: 'add', options: { url, name: nameWords.join(' ') || undefined, interval } });
    }
    case 'remove': {
      const target = rest.join(' ').trim();
      if (!target) return usage('feeds remove needs a feed id or URL (see feeds list)');
      return run({ subcommand: 'remove', options: { target } });
    }
    case 'import-opml': {
      const [file] = rest;
      if (!file) return usage('feeds import-opml needs a file');
      let specs: FeedSpec[];
      try {
        specs = (deps.loadFeedList ?? loadFeedList)(file);
      } catch (e) {
        err(`${(e as Error).message}\n`);
        return 1;
      }
      let added = 0;
      let already = 0;
      const refused: string[] = [];
      for (const spec of specs) {
        try {
          // The same service path as `feeds add`: SSRF check, ownership, audit.
          const { outcome } = await deps.alerts.addFeed(CLI_ACTOR, spec);
          if (outcome === 'added') added++;
          else already++;
        } catch (e) {
          refused.push(`  ${redactText(spec.url)}: ${redactText((e as Error).message)}`);
        }
      }
      out(`${file}: ${specs.length} feeds, ${added} added, ${already} already watched, ${refused.length} refused\n`);
      if (refused.length) out(`${refused.join('\n')}\n`);
      return refused.length && !added && !already ? 1 : 0;
    }
    case undefined:
    case 'help':
    case '--help':
      out(`${FEEDS_USAGE}\n`);
      return command === undefined ? 2 : 0;
    default:
      return usage(`Unknown feeds command "${command}"`);
  }
}

/** Returns one audit row as a line: time, tenant, platform and user, action, what. */
export function auditLine(e: AuditEntry): string {
  const what = [e.feedId !== undefined ? `feed #${e.feedId}` : '', e.subscriptionId !== undefined ? `subscription #${e.subscriptionId}` : '', e.channelId ? `in channel ${e.channelId}` : '', e.detail ?? '']
    .filter(Boolean)
    .join(' ');
  return `${e.at.replace(/\.\d{3}Z$/, 'Z')}  ${e.tenant}  ${e.platform} user ${e.userId}  ${e.action}  ${redactText(what)}`;
}

/** Runs `audit [--tenant T] [--limit N]`; returns the exit code (0 ok, 2 usage). */
export async function runAuditCli(args: readonly string[], deps: Omit<FeedsCliDeps, 'loadFeedList'>): Promise<number> {
  const out = deps.write ?? ((t: string) => void process.stdout.write(t));
  const err = deps.error ?? ((t: string) => void process.stderr.write(t));
  let values: { tenant?: string; limit?: string; help?: boolean };
  try {
    ({ values } = parseArgs({ args: [...args], options: { tenant: { type: 'string' }, limit: { type: 'string' }, help: { type: 'boolean' } } }));
  } catch (e) {
    err(`${(e as Error).message}\n\n${AUDIT_USAGE}\n`);
    return 2;
  }
  if (values.help) {
    out(`${AUDIT_USAGE}\n`);
    return 0;
  }
  const limit = values.limit === undefined ? 100 : Number(values.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 100_000) {
    err(`--limit must be a whole number from 1 to 100000 (got "${values.limit}")\n\n${AUDIT_USAGE}\n`);
    return 2;
  }
  const tenant = values.tenant?.trim();
  if (tenant !== undefined && !/^(operator|discord:\d{1,25}|slack:[A-Z0-9]{2,})$/.test(tenant)) {
    err(`--tenant must be operator, discord:<server id> or slack:<team id> (got "${tenant.slice(0, 60)}")\n\n${AUDIT_USAGE}\n`);
    return 2;
  }
  const entries = await deps.alerts.audit({ tenant, limit });
  if (entries.length === 0) out(tenant ? `No audit entries for ${tenant}.\n` : 'The audit log is empty.\n');
  for (const e of entries) out(`${auditLine(e)}\n`);
  return 0;
}

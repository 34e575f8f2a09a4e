import type { Config } from '../config.js';
import { FeedStore } from '../store/feed-store.js';
import type { Store } from '../store/store.js';
import { createAlertsService } from './alerts-service.js';
import { loadFeedList } from './feed-list.js';
import type { AlertsService, FeedSpec, FeedStatus } from './types.js';

/** Usage of `npm run cli -- feeds ...`. */
export const FEEDS_USAGE = `Usage: npm run cli -- feeds <command>

  feeds add <url> [name] [--interval SECONDS]   watch a feed (checked against the SSRF rules)
  feeds remove <id|url>                          stop watching a feed (the feed list file will not bring it back)
  feeds list                                     the watched feeds
  feeds import-opml <file>                       add every feed of an OPML (or JSON) feed list
  feeds status                                   per feed: last success, last error, next poll, items seen, 304 rate

A running bot picks up changes at its next poll (within a second).`;

/** What runFeedsCli works with. */
export interface FeedsCliDeps {
  alerts: AlertsService;
  /** Standard output (default process.stdout). */
  write?: (text: string) => void;
  /** Standard error (default process.stderr). */
  error?: (text: string) => void;
  /** Feed list reader for import-opml (default loadFeedList). */
  loadFeedList?: (path: string) => FeedSpec[];
  /** Clock for "5 min ago" (epoch ms). */
  now?: () => number;
}

/** Returns the CLI's alerts service over a store (no watcher needed: the running bot reads the same tables). */
export function feedsCliAlerts(store: Store, config: Config['feeds']): AlertsService {
  return createAlertsService({ feeds: new FeedStore(store), allowPrivate: config.allowPrivateUrls });
}

/** Runs `feeds <command> ...` and returns the exit code (0 ok, 1 failed, 2 usage). */
export async function runFeedsCli(args: readonly string[], deps: FeedsCliDeps): Promise<number> {
  const out = deps.write ?? ((t: string) => void process.stdout.write(t));
  const err = deps.error ?? ((t: string) => void process.stderr.write(t));
  const now = deps.now ?? Date.now;
  const [command, ...rest] = args;
  const usage = (problem?: string) => {
    err(`${problem ? `${problem}\n\n` : ''}${FEEDS_USAGE}\n`);
    return 2;
  };

  switch (command) {
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
      const before = new Set(deps.alerts.listFeeds().map((f) => f.url));
      try {
        const st = await deps.alerts.addFeed({ url, name: nameWords.join(' ') || undefined, intervalSeconds: interval });
        out(`${before.has(st.url) ? 'Already watched' : 'Added'}: ${feedLine(st)}\n`);
        return 0;
      } catch (e) {
        err(`Cannot add ${url}: ${(e as Error).message}\n`);
        return 1;
      }
    }
    case 'remove': {
      const target = rest.join(' ').trim();
      if (!target) return usage('feeds remove needs a feed id or URL (see feeds list)');
      const feed = deps.alerts.listFeeds().find((f) => String(f.id) === target || f.url === target);
      if (!deps.alerts.removeFeed(target)) {
        err(`No watched feed "${target}" (see feeds list).\n`);
        return 1;
      }
      out(`Removed: ${feed ? feedLine(feed) : target}\n`);
      return 0;
    }
    case 'list': {
      const list = deps.alerts.listFeeds();
      if (list.length === 0) out('No feeds are watched. Add one with: npm run cli -- feeds add <url>\n');
      for (const f of list) out(`${feedLine(f)}\n`);
      return 0;
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
      const known = new Set(deps.alerts.listFeeds().map((f) => f.url));
      let added = 0;
      let already = 0;
      const refused: string[] = [];
      for (const spec of specs) {
        try {
          const st = await deps.alerts.addFeed(spec);
          if (known.has(st.url)) already++;
          else {
            added++;
            known.add(st.url);
          }
        } catch (e) {
          refused.push(`  ${spec.url}: ${(e as Error).message}`);
        }
      }
      out(`${file}: ${specs.length} feeds, ${added} added, ${already} already watched, ${refused.length} refused\n`);
      if (refused.length) out(`${refused.join('\n')}\n`);
      return refused.length && !added && !already ? 1 : 0;
    }
    case 'status': {
      const list = deps.alerts.listFeeds();
      if (list.length === 0) out('No feeds are watched.\n');
      for (const f of list) out(`${statusBlock(f, now())}\n`);
      return 0;
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

function feedLine(f: FeedStatus): string {
  return `#${f.id} ${f.name ? `${f.name} ` : ''}<${f.url}>${f.failing ? ' [FAILING]' : ''}`;
}

/** Returns "2025-07-01T12:00:00Z (5 min ago)" or "never". */
function when(iso: string | undefined, now: number): string {
  if (!iso) return 'never';
  const t = Date.parse(iso);
  const d = Math.round((t - now) / 1000);
  const abs = Math.abs(d);
  const span = abs < 90 ? `${abs} s` : abs < 5400 ? `${Math.round(abs / 60)} min` : abs < 172_800 ? `${Math.round(abs / 3600)} h` : `${Math.round(abs / 86_400)} days`;
  return `${iso.replace(/\.\d{3}Z$/, 'Z')} (${d >= 0 ? `in ${span}` : `${span} ago`})`;
}

function statusBlock(f: FeedStatus, now: number): string {
  const lines = [
    feedLine(f),
    `  last success: ${when(f.lastSuccessAt, now)}`,
    `  last error:   ${f.lastError ? `${when(f.lastErrorAt, now)}: ${f.lastError}` : 'none'}${f.consecutiveFailures ? ` (${f.consecutiveFailures} failures in a row)` : ''}`,
    `  next poll:    ${f.nextPollAt ? when(f.nextPollAt, now) : 'now'}`,
    `  items seen:   ${f.itemsSeen}`,
    ...(f.itemsSkipped ? [`  skipped:      ${f.lastSkipped ?? 0} in the last poll${f.lastSkipReason ? ` (${f.lastSkipReason})` : ''}, ${f.itemsSkipped} in all (not stored, never alerted)`] : []),
    `  304 rate:     ${Math.round(f.notModifiedRate * 100)}% of ${f.polls} polls`,
  ];
  return lines.join('\n');
}

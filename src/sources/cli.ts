import type { FetchHooks } from '../feeds/fetch.js';
import type { SourceRepo, SourceState } from '../store/repos/sources.js';
import { formatAgo, formatBytes, formatMs } from './format.js';
import type { SourceImporter } from './import-runner.js';
import type { SourceSpec } from './source-list.js';
import { syncSources, type SourceSyncResult, type SyncEvent } from './sync.js';

/** Usage of `npm run cli -- sources ...`. */
export const SOURCES_USAGE = `Usage: npm run cli -- sources <command>

  sources sync [name...] [--force]   download the sources (all, or the named ones) and import what changed;
                                     --force downloads even when the stored version is current
  sources list                       each source: last sync, version or ETag, records, last error
  sources forget <name>              delete a source's stored records (one taken out of the source list)

The list is data/sources.json, or SOURCES_FILE. A running bot syncs by itself (SOURCES_SYNC); records synced here
reach a running bot when it restarts.`;

/** What runSourcesCli works with. */
export interface SourcesCliDeps {
  /** Where the sources' state and records are kept. */
  sources: SourceRepo;
  /** Parses and stores new versions (createImporter: a worker thread for a database file). */
  importer: SourceImporter;
  specs: readonly SourceSpec[];
  allowPrivate: boolean;
  maxBytes?: number;
  timeoutMs?: number;
  /** Standard output (default process.stdout) and whether it is a terminal (progress is drawn only there). */
  write?: (text: string) => void;
  isTTY?: boolean;
  /** Standard error (default process.stderr). */
  error?: (text: string) => void;
  now?: () => number;
  fetchHooks?: FetchHooks;
}

/** Runs `sources <command> ...` and returns the exit code (0 ok, 1 a source failed, 2 usage). */
export async function runSourcesCli(args: readonly string[], deps: SourcesCliDeps): Promise<number> {
  const out = deps.write ?? ((t: string) => void process.stdout.write(t));
  const err = deps.error ?? ((t: string) => void process.stderr.write(t));
  const [command, ...rest] = args;
  const usage = (problem?: string) => {
    err(`${problem ? `${problem}\n\n` : ''}${SOURCES_USAGE}\n`);
    return 2;
  };
  switch (command) {
    case 'sync': {
      const force = rest.includes('--force');
      const names = rest.filter((a) => a !== '--force');
      const unknownFlag = names.find((n) => n.startsWith('-'));
      if (unknownFlag) return usage(`unknown option ${unknownFlag}`);
      const byName = new Map(deps.specs.map((s) => [s.name.toLowerCase(), s]));
      const missing = names.filter((n) => !byName.has(n.toLowerCase()));
      if (missing.length) return usage(`no source named ${missing.map((n) => `"${n}"`).join(', ')}; the sources are: ${deps.specs.map((s) => s.name).join(', ')}`);
      const chosen = names.length ? [...new Set(names.map((n) => byName.get(n.toLowerCase())!))] : [...deps.specs];
      return sync(chosen, force, deps, out);
    }
    case 'list':
      await list(deps, out);
      return 0;
    case 'forget': {
      const [name] = rest;
      if (!name || rest.length > 1) return usage('forget takes one source name');
      const { sources } = deps;
      if (!(await sources.state(name))) {
        err(`no stored source named "${name}" (see \`sources list\`)\n`);
        return 1;
      }
      const n = await sources.forget(name);
      const still = deps.specs.some((s) => s.name === name);
      out(`${name}: deleted ${n.toLocaleString('en')} records${still ? ' (it is still in the source list: the next sync brings it back)' : ''}\n`);
      return 0;
    }
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      out(`${SOURCES_USAGE}\n`);
      return 0;
    default:
      return usage(`unknown sources command "${command}"`);
  }
}

async function sync(specs: SourceSpec[], force: boolean, deps: SourcesCliDeps, out: (t: string) => void): Promise<number> {
  const { importer } = deps;
  const progress = deps.isTTY ? progressLine(out) : undefined;
  try {
    const report = await syncSources(deps.sources, specs, importer, {
      allowPrivate: deps.allowPrivate,
      force,
      ...(deps.maxBytes !== undefined ? { maxBytes: deps.maxBytes } : {}),
      ...(deps.timeoutMs !== undefined ? { timeoutMs: deps.timeoutMs } : {}),
      ...(deps.fetchHooks ? { fetchHooks: deps.fetchHooks } : {}),
      onEvent: (event) => {
        progress?.(event);
        if (event.type === 'source-done') out(`${resultLine(event.result)}\n`);
      },
    });
    const count = (status: SourceSyncResult['status']) => report.results.filter((r) => r.status === status).length;
    const t = report.totals;
    const n = (x: number) => x.toLocaleString('en');
    if (report.results.some((r) => r.changedIds.length + r.removedIds.length > 0)) {
      progress?.({ type: 'note', text: 'updating the search index snapshot…' });
      await importer.writeSnapshot();
      progress?.({ type: 'note', text: '' });
    }
    const stored = [...(await deps.sources.recordCounts()).values()].reduce((a, b) => a + b, 0);
    out(
      `${report.results.length} source${report.results.length === 1 ? '' : 's'}: ${count('synced')} synced, ${count('unchanged')} unchanged, ${count('failed')} failed ` +
        `in ${formatMs(report.ms)}. Records: ${n(t.added)} new, ${n(t.updated)} updated, ${n(t.unchanged)} unchanged, ${n(t.removed)} removed; ` +
        `${n(stored)} stored from sources.\n`,
    );
    return count('failed') > 0 ? 1 : 0;
  } finally {
    await importer.close();
  }
}

/** Returns the one line that reports a source's sync. */
export function resultLine(r: SourceSyncResult): string {
  const n = (x: number) => x.toLocaleString('en');
  if (r.status === 'failed') return `${r.name}: FAILED: ${r.error ?? 'unknown error'}; keeping the ${n(r.records)} stored records`;
  if (r.status === 'unchanged') {
    return `${r.name}: unchanged (${r.notModified ? '304 Not Modified' : 'same content'}), ${n(r.records)} records`;
  }
  const removed = r.removedIds.length ? `; removed: ${r.removedIds.slice(0, 5).join(', ')}${r.removedIds.length > 5 ? ` (+${r.removedIds.length - 5} more)` : ''}` : '';
  return (
    `${r.name}: ${n(r.records)} records${r.version ? ` (version ${r.version})` : ''}: ${n(r.added)} new, ${n(r.updated)} updated, ${n(r.unchanged)} unchanged, ` +
    `${n(r.removed)} removed; ${formatBytes(r.bytes)} in ${formatMs(r.ms)}${removed}`
  );
}

/** Draws progress on one terminal line, redrawn at most every 100 ms: bytes while downloading, then records. */
function progressLine(out: (t: string) => void): (event: SyncEvent | { type: 'note'; text: string }) => void {
  let last = 0;
  let shown = false;
  let phase = '';
  const draw = (text: string, force = false, step = '') => {
    const t = performance.now();
    // The first line of each step (download, write) is drawn at once; the rest at most every 100 ms.
    if (!force && step === phase && t - last < 100) return;
    phase = step;
    last = t;
    out(`\r\x1b[2K${text}`);
    shown = text !== '';
  };
  return (event) => {
    switch (event.type) {
      case 'source-start':
        draw(`${event.source.name}: connecting… (${event.index + 1} of ${event.total})`, true);
        break;
      case 'download':
        draw(`${event.source.name}: ${formatBytes(event.received)}${event.total ? ` of ${formatBytes(event.total)}` : ''} downloaded`, false, `${event.source.name} ${event.url}`);
        break;
      case 'importing':
        draw(`${event.source.name}: ${event.done.toLocaleString('en')} of ${event.total.toLocaleString('en')} records written`, false, `${event.source.name} records`);
        break;
      case 'source-done':
        // The caller prints the result line; clear the progress first so it does not trail after it.
        if (shown) draw('', true);
        break;
      case 'note':
        draw(event.text, true);
        break;
    }
  };
}

async function list(deps: SourcesCliDeps, out: (t: string) => void): Promise<void> {
  const now = (deps.now ?? Date.now)();
  const states = new Map((await deps.sources.states()).map((s) => [s.name, s]));
  const lines: string[] = [];
  for (const spec of deps.specs) {
    const s = states.get(spec.name);
    lines.push(`${spec.name}${spec.title !== spec.name ? ` (${spec.title})` : ''} · ${spec.format} · every ${spec.refreshHours} h`);
    lines.push(`  ${spec.url}${spec.references ? `\n  references: ${spec.references}` : ''}`);
    lines.push(`  ${stateLine(s, now)}`);
    if (s?.lastError) lines.push(`  last error (${formatAgo(s.lastErrorAt ?? now, now)}): ${s.lastError}`);
    if (s?.notice) lines.push(`  notice: ${s.notice}`);
  }
  const listed = new Set(deps.specs.map((s) => s.name));
  const orphans = [...states.values()].filter((s) => !listed.has(s.name));
  if (orphans.length) {
    lines.push('', 'Stored, but no longer in the source list (still served; `sources forget <name>` deletes them):');
    for (const s of orphans) lines.push(`  ${s.name}: ${s.recordCount.toLocaleString('en')} records, ${s.url}`);
  }
  out(`${lines.join('\n')}\n`);
}

function stateLine(s: SourceState | undefined, now: number): string {
  if (!s || s.lastAttemptAt === undefined) return 'never synced';
  const parts: string[] = [];
  if (s.lastSuccessAt !== undefined) parts.push(`last sync ${new Date(s.lastSuccessAt).toISOString().slice(0, 16).replace('T', ' ')} UTC (${formatAgo(s.lastSuccessAt, now)})`);
  else parts.push(`never synced successfully (last try ${formatAgo(s.lastAttemptAt, now)})`);
  if (s.version) parts.push(`version ${s.version}`);
  else if (s.etag) parts.push(`ETag ${s.etag.length > 40 ? `${s.etag.slice(0, 39)}…` : s.etag}`);
  else if (s.lastModified) parts.push(`Last-Modified ${s.lastModified}`);
  parts.push(`${s.recordCount.toLocaleString('en')} records`);
  if (s.bytes) parts.push(formatBytes(s.bytes));
  return parts.join(' · ');
}

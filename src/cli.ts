import { existsSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { COMMANDS } from '../commands/index.js';
import { replyToText } from './adapters/console/render.js';
import { askBatch } from './ask-batch.js';
import { importIntoStore, loadServed, readDataFiles } from './bootstrap.js';
import { ConfigError, loadConfig } from './config.js';
import { createServedService } from './core/create-service.js';
import type { ServedData } from './core/served.js';
import { evaluate, formatEvalTable, readEvalQueries } from './eval/evaluate.js';
import { PlainMiniSearch } from './eval/baseline.js';
import { isNaturalFile } from './eval/natural.js';
import { naturalEvalText, runNaturalEval } from './eval/natural-run.js';
import { IMPORT_FORMATS, ImportError, type ImportFormat } from './importers/index.js';
import { feedsCliAlerts, runAuditCli, runFeedsCli } from './feeds/cli.js';
import { runSourcesCli } from './sources/cli.js';
import { createImporter } from './sources/import-runner.js';
import { storedDataStatus, withDataHints, type DataStatus } from './sources/data-hint.js';
import { loadSourceList, SourceListError } from './sources/source-list.js';
import { recordReposOf } from './store/repos/index.js';
import type { SourceRepo } from './store/repos/sources.js';
import { openStore } from './store/store.js';

const USAGE = `Usage: npm run cli -- <command> [options]

Commands:
  ask <query> [--data PATH]... [--json]        answer one query (text, or the Answer as JSON)
  ask --batch --json [--data PATH]...          read questions from stdin, one per line (plain text, or
                                               {"query": "...", "conversation": "<id>"}); write one Answer JSON line
                                               each, in order; lines sharing a conversation id share its context
  search [--data PATH]... [--limit N] --json   read queries from stdin, one per line; write one JSON line each:
                                               {"query", "results": [{"id", "title", "score"}]} (top 10 by default)
  import <${IMPORT_FORMATS.join('|')}> <file>...     load files into the store (DATABASE_PATH), all or nothing
  eval --data PATH... --queries PATH [--misses] hit@1 and MRR@10 per query kind, beside plain minisearch
  feeds add|remove|list|import-opml|status     manage watched feeds as the operator (see: npm run cli -- feeds help)
  audit [--tenant T] [--limit N]               who added and removed feeds and subscriptions, newest first
  sources sync [name...] [--force] | list       download the datasets (ATT&CK, CISA KEV, MISP galaxies) and keep
                                               them fresh (see: npm run cli -- sources help)
  help                                         this text

ask, search and eval see the same records: the bundled data, the store (DATABASE_PATH), the INCIDENT_DATA files and
every --data file (any format the importers know, detected from content), merged into one record per real-world thing.`;

/** Thrown for a usage mistake: the message says what to type instead. */
class UsageError extends Error {}

/** Where ask, search and eval read questions and write answers: the process's own streams unless a test hands others. */
export interface CliIO {
  stdin: Readable;
  stdout: Pick<Writable, 'write'>;
  /** Where usage mistakes and errors go. */
  stderr: Pick<Writable, 'write'>;
}

// stdin is read lazily: touching process.stdin opens it, and an open pipe would keep a one-shot `ask` waiting for EOF.
const PROCESS_IO: CliIO = {
  get stdin() {
    return process.stdin;
  },
  stdout: process.stdout,
  stderr: process.stderr,
};

/**
 * Returns what ask, search and eval serve: bundled data, the store at DATABASE_PATH (read when it exists; these
 * commands never create one), the INCIDENT_DATA files and the `--data` files, merged as start-up merges them.
 */
function loadWithData(paths: readonly string[]): ServedData {
  const config = loadConfig();
  const files = readDataFiles([...config.dataPaths, ...paths]);
  const dbPath = config.databasePath;
  if (dbPath !== ':memory:' && !existsSync(dbPath)) return loadServed(undefined, files);
  const store = openStore(dbPath);
  try {
    return loadServed(store, files);
  } finally {
    store.close();
  }
}

async function ask(args: string[], io: CliIO): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      json: { type: 'boolean', default: false },
      batch: { type: 'boolean', default: false },
      data: { type: 'string', multiple: true, default: [] },
    },
    allowPositionals: true,
  });
  const query = positionals.join(' ');
  if (values.batch && !values.json) throw new UsageError('ask --batch writes JSON lines only: add --json');
  if (values.batch && query) throw new UsageError('ask --batch reads its questions from stdin: give none on the command line');
  const config = loadConfig();
  const core = createServedService(loadWithData(values.data));
  const status = await dataStatus(config, core.size);
  const service = withDataHints(core, () => status);
  if (values.batch) {
    await askBatch(service, io.stdin, (line) => io.stdout.write(`${line}\n`));
  } else if (values.json) {
    io.stdout.write(`${JSON.stringify(service.answer(query), null, 2)}\n`);
  } else {
    const incident = COMMANDS.find((c) => c.definition.name === 'incident')!;
    io.stdout.write(`${replyToText(await incident.handle({ options: { query } }, { incidents: service, commands: COMMANDS }))}\n`);
  }
}

async function search(args: string[], io: CliIO): Promise<void> {
  const { values } = parseArgs({
    args,
    options: { data: { type: 'string', multiple: true, default: [] }, limit: { type: 'string', default: '10' }, json: { type: 'boolean', default: false } },
  });
  const limit = Number(values.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 100) throw new UsageError(`--limit must be a whole number from 1 to 100 (got "${values.limit}")`);
  if (!values.json) throw new UsageError('search writes JSON lines only: add --json');
  const service = createServedService(loadWithData(values.data));
  const rl = createInterface({ input: io.stdin, crlfDelay: Infinity });
  for await (const line of rl) {
    const query = line.replace(/\r$/, '');
    const results = service.search(query, { limit }).map((h) => ({ id: h.id, title: h.title, score: Number(h.score.toFixed(4)) }));
    io.stdout.write(`${JSON.stringify({ query, results })}\n`);
  }
}

async function importCommand(args: string[]): Promise<void> {
  const [format, ...files] = args;
  if (!format || !IMPORT_FORMATS.includes(format as ImportFormat)) {
    throw new UsageError(`import needs a format: ${IMPORT_FORMATS.join(', ')} (got "${format ?? ''}")`);
  }
  if (files.length === 0) throw new UsageError(`import ${format} needs at least one file`);
  const store = openStore(loadConfig().databasePath);
  try {
    // misp-galaxy takes its clusters and references files together, and stix its bundles (an object in several ATT&CK
    // domains is one record with all its relationships; one bundle at a time, the last would replace the others).
    const groups = format === 'misp-galaxy' || format === 'stix' ? [files] : files.map((f) => [f]);
    for (const group of groups) {
      const result = await importIntoStore(store, format as ImportFormat, group);
      process.stdout.write(`${group.join(' + ')}: ${result.inserted} new, ${result.updated} updated\n`);
    }
    const counts = await recordReposOf(store).records.countIncidents();
    process.stdout.write(`store ${store.path}: ${counts.total} records (${Object.entries(counts.byKind).map(([k, n]) => `${k} ${n}`).join(', ')})\n`);
  } finally {
    store.close();
  }
}

function evalCommand(args: string[], io: CliIO): void {
  const { values } = parseArgs({
    args,
    options: { data: { type: 'string', multiple: true, default: [] }, queries: { type: 'string', multiple: true }, misses: { type: 'boolean', default: false } },
  });
  if (!values.queries?.length) throw new UsageError('eval needs --queries PATH (JSONL of {query, expected_ids, kind})');
  const served = loadWithData(values.data);
  const incidents = served.records;
  const service = createServedService(served);
  const plain = new PlainMiniSearch(incidents);
  for (const file of values.queries) {
    if (isNaturalFile(file)) {
      process.stdout.write(naturalEvalText(file, runNaturalEval(file, service, served.canonical), incidents.length, values.misses));
      continue;
    }
    // An expected id merged into another record is found as that record.
    const queries = readEvalQueries(file).map((q) => ({ ...q, expected_ids: [...new Set(q.expected_ids.map((id) => served.canonical.get(id) ?? id))] }));
    const ours = evaluate(queries, (q) => service.search(q, { limit: 10 }).map((h) => h.id));
    const baseline = evaluate(queries, (q) => plain.search(q, 10));
    io.stdout.write(`${file} (${queries.length} queries, ${incidents.length} records)\n${formatEvalTable(ours, baseline)}\n\n`);
    if (values.misses) for (const m of ours.misses) io.stdout.write(`miss [${m.kind}] ${JSON.stringify(m.query)} expected ${m.expected.join('|')} got ${m.got.join(', ')}\n`);
  }
}

/** The configured sources' names, or the stored ones when the list cannot be read (a hint must not fail an answer). */
/** Returns what the data hint says about the store's sources (none synced yet, the last error), read once. */
async function dataStatus(config: ReturnType<typeof loadConfig>, records: number): Promise<DataStatus> {
  const dbPath = config.databasePath;
  const fresh: DataStatus = { records, configuredSources: 0, sourcesWithData: 0, autoSync: config.sources.sync };
  if (dbPath !== ':memory:' && !existsSync(dbPath)) {
    try {
      return { ...fresh, configuredSources: loadSourceList(config.sources.file).length };
    } catch {
      return fresh;
    }
  }
  const store = openStore(dbPath);
  try {
    const { sources } = recordReposOf(store);
    return await storedDataStatus(sources, await sourceNamesOrStored(config.sources.file, sources), records, config.sources.sync);
  } finally {
    store.close();
  }
}

async function sourceNamesOrStored(file: string | undefined, sources: SourceRepo): Promise<string[]> {
  try {
    return loadSourceList(file).map((s) => s.name);
  } catch {
    return (await sources.states()).map((s) => s.name);
  }
}

async function sourcesCommand(args: string[]): Promise<void> {
  const config = loadConfig();
  const specs = loadSourceList(config.sources.file);
  const store = openStore(config.databasePath);
  try {
    process.exitCode = await runSourcesCli(args, {
      sources: recordReposOf(store).sources,
      importer: createImporter(store),
      specs,
      allowPrivate: config.sources.allowPrivateUrls,
      maxBytes: config.sources.maxBytes,
      timeoutMs: config.sources.timeoutMs,
      isTTY: Boolean(process.stdout.isTTY),
    });
  } finally {
    store.close();
  }
}

/**
 * Runs one CLI command; ask, search and eval use `io` (a test hands its own streams and runs the real entry in-process),
 * the operator's commands the process's streams. Returns 1 after a usage mistake or an error (reported on `io.stderr`),
 * else 0; the operator's commands set process.exitCode themselves.
 */
export async function runCli(argv: string[], io: CliIO = PROCESS_IO): Promise<number> {
  try {
    await run(argv, io);
    return 0;
  } catch (error: unknown) {
    if (error instanceof UsageError) io.stderr.write(`${error.message}\n\n${USAGE}\n`);
    else if (error instanceof ConfigError || error instanceof ImportError || error instanceof SourceListError) io.stderr.write(`${error.message}\n`);
    else io.stderr.write(`error: ${(error as Error).message}\n`);
    return 1;
  }
}

async function run(argv: string[], io: CliIO): Promise<void> {
  const [command, ...args] = argv;
  switch (command) {
    case 'ask':
      return ask(args, io);
    case 'search':
      return search(args, io);
    case 'import':
      return importCommand(args);
    case 'eval':
      return evalCommand(args, io);
    case 'sources':
      return sourcesCommand(args);
    case 'feeds':
    case 'audit': {
      const config = loadConfig();
      const store = openStore(config.databasePath);
      try {
        const alerts = await feedsCliAlerts(store, config.feeds);
        process.exitCode = command === 'feeds' ? await runFeedsCli(args, { alerts }) : await runAuditCli(args, { alerts });
      } finally {
        store.close();
      }
      return;
    }
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      io.stdout.write(`${USAGE}\n`);
      return;
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

// Run only as the entry point (`tsx src/cli.ts`), so that tests can import runCli.
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  void runCli(process.argv.slice(2)).then((code) => {
    if (code) process.exitCode = code;
  });
}

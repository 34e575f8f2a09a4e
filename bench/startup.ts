/**
 * Start-up benches. `npm start` to a ready console prompt, as a user runs it, over a store holding everything the
 * default sources give (served locally from ../shared/datasets/raw, ~6,000 records) with its served snapshot beside
 * it: the whole process (tsx, modules, config, store, index) and the part the bot logs ("index ready"). Target:
 * <= 1 s. Then start-up in all at 100k records (the shared corpus copied up to the size, bench/corpus.ts): records,
 * merges and index from store and snapshot, in process (target <= 1 s in every run), and the process to its prompt.
 * Each case also starts the process once with no snapshot and no stored relations (a first start builds and writes
 * both, after its prompt) and reports every run, the CPU time beside the wall time, and the event loop's longest block
 * (target: ~200 ms at most).
 *
 * `node --expose-gc --import tsx bench/startup.ts [records]` (default: both cases; a number runs the synthetic case
 * at that size; --expose-gc lets each in-process run start without the previous run's garbage)
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { pino } from 'pino';
import { loadService, snapshotPathFor } from '../src/bootstrap.js';
import { createImporter } from '../src/sources/import-runner.js';
import { syncSources } from '../src/sources/sync.js';
import { openStore, type Store } from '../src/store/store.js';
import { recordReposOf } from '../src/store/repos/index.js';
import { RELATIONS_FINGERPRINT_KEY } from '../src/store/relations-store.js';
import { startDatasetServer } from '../test/support/dataset-server.js';
import { baseRecords, machineNote, scaleUp } from './corpus.js';
import { localSpecs } from './sources.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const raw = path.resolve(root, '../shared/datasets/raw');

/** Returns the CPU time a process has used so far (ms; Linux /proc), or NaN where it cannot be read. */
function cpuOf(pid: number | undefined): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime + stime, in clock ticks (USER_HZ = 100)
  } catch {
    return Number.NaN;
  }
}

/** Resolves once the served snapshot beside the database is there (a build writes it in the background). */
async function snapshotWritten(db: string): Promise<void> {
  while (!existsSync(snapshotPathFor(db)!)) await new Promise((r) => setTimeout(r, 100));
}

/** What one start of the bot measured. */
interface Started {
  /** Milliseconds to the console prompt, and CPU time the process used by then. */
  total: number;
  cpu: number;
  /** The start-up time the bot logs ("index ready"). */
  index: number | undefined;
  /** Milliseconds to the served snapshot written and the relations stored, when the start was asked to wait for them. */
  written: number | undefined;
  /**
   * Times the event loop was held over 50 ms from start to exit: [held ms, began at ms after spawn] (see
   * loop-probe.mjs).
   */
  blocks: Array<[number, number]>;
}

/**
 * Starts the bot in console mode and resolves when its prompt appears: wall time, CPU time of the process (on a busy
 * machine wall time mostly measures waiting for a core; CPU time does not), the logged index time, and the event
 * loop's longest block. With `db`, the bot runs on until it has written its served snapshot and stored its relations
 * (a first start does both after the prompt), so that the longest block covers them too.
 */
function startOnce(env: NodeJS.ProcessEnv, db?: string): Promise<Started> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const spawned = Date.now();
    const probe = path.join(root, 'bench/loop-probe.mjs');
    const child = spawn(process.execPath, ['--import', 'tsx', '--import', probe, 'src/main.ts'], { cwd: root, env, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let index: number | undefined;
    let prompt: { total: number; cpu: number } | undefined;
    let written: number | undefined;
    let stored = false;
    const finish = () => {
      child.stdin.end('exit\n');
      child.once('exit', () => {
        const probe = JSON.parse(/loop-blocks:(.*)/.exec(err)?.[1] ?? '{"t0":0,"blocks":[]}') as { t0: number; blocks: Array<[number, number]> };
        const blocks = probe.blocks.map(([held, at]): [number, number] => [held, Math.round(probe.t0 - spawned + at)]);
        resolve({ ...prompt!, index, written, blocks });
      });
    };
    const waitForWrites = async () => {
      while (!(stored && existsSync(snapshotPathFor(db!)!))) await new Promise((r) => setTimeout(r, 20));
      written = performance.now() - started;
      finish();
    };
    const logged = (text: string) => {
      const m = /"ms":(\d+)[^\n]*index ready|index ready[^\n]*"ms":(\d+)/.exec(text);
      if (m) index = Number(m[1] ?? m[2]);
      if (text.includes('relations stored')) stored = true;
    };
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      logged(out);
      if (!prompt && (out.includes('\n> ') || out.endsWith('> '))) {
        prompt = { total: performance.now() - started, cpu: cpuOf(child.pid) };
        if (db) void waitForWrites();
        else finish();
      }
    });
    child.stderr.on('data', (chunk: Buffer) => {
      err += chunk.toString();
      logged(err);
    });
    child.once('error', reject);
    setTimeout(() => {
      child.kill();
      reject(new Error(`no prompt within 180 s; output so far:\n${out}`));
    }, 180_000).unref();
  });
}

/** Returns figures as `a, b, c` with no decimals. */
const list = (xs: ReadonlyArray<number | undefined>) => xs.map((x) => (x === undefined ? '?' : x.toFixed(0))).join(', ');

/**
 * Runs the process on a store with no served snapshot and no stored relations (a first start: it builds both), then
 * `runs` times from store and snapshot, and prints the figures.
 */
async function processStartup(label: string, db: string, dir: string, runs = 3): Promise<void> {
  const feeds = path.join(dir, 'feeds.json');
  writeFileSync(feeds, '[]');
  const env = { ...process.env, DATABASE_PATH: db, FEEDS_ENABLED: 'false', FEEDS_FILE: feeds, SOURCES_SYNC: 'false', LOG_LEVEL: 'debug', DISCORD_TOKEN: '', SLACK_BOT_TOKEN: '' };
  rmSync(snapshotPathFor(db)!, { force: true });
  forgetRelations(db);
  const first = await startOnce(env, db);
  const all: Started[] = [];
  for (let i = 0; i < runs; i++) all.push(await startOnce(env));
  const best = [...all].sort((a, b) => a.total - b.total)[0];
  console.log(`  npm start to a ready prompt, ${label}`);
  console.log(`    first start (no snapshot, no stored relations): prompt ${first.total.toFixed(0)} ms (CPU ${first.cpu.toFixed(0)} ms), index ${first.index ?? '?'} ms; snapshot written and relations stored ${first.written?.toFixed(0)} ms; longest event-loop blocks ${blockOf(first)}`);
  console.log(`    from store and snapshot, best of ${runs}: ${best.total.toFixed(0)} ms (CPU ${best.cpu.toFixed(0)} ms), index ${best.index ?? '?'} ms`);
  console.log(`    all runs: wall ${list(all.map((r) => r.total))} ms; CPU ${list(all.map((r) => r.cpu))} ms; index ${list(all.map((r) => r.index))} ms; longest event-loop blocks ${all.map(blockOf).join('; ')}`);
}

/**
 * Returns the longest event-loop blocks of a start: while modules load (before the bot's start-up, which begins its
 * logged `index` ms before the prompt) and from then on, e.g. `modules 180 ms, bot 120 ms at 900 ms`.
 */
function blockOf(r: Started): string {
  const begins = r.total - (r.index ?? 0);
  const longest = (blocks: Array<[number, number]>) => blocks.reduce<[number, number] | undefined>((a, b) => (a && a[0] >= b[0] ? a : b), undefined);
  const modules = longest(r.blocks.filter(([, at]) => at < begins));
  const bot = longest(r.blocks.filter(([, at]) => at >= begins));
  return `modules ${modules ? `${modules[0]} ms` : 'none over 50 ms'}, bot ${bot ? `${bot[0]} ms at ${bot[1]} ms` : 'none over 50 ms'}`;
}

/** Drops the relations the store holds for its records, so that the next start derives and stores them again. */
function forgetRelations(db: string): void {
  const store = openStore(db);
  try {
    store.db.prepare('DELETE FROM meta WHERE key = ?').run(RELATIONS_FINGERPRINT_KEY);
  } finally {
    store.close();
  }
}

/** Figures of start-up in process: wall and CPU time per run, and the event loop's longest block during each. */
interface InProcess {
  all: number[];
  cpu: number[];
  /** The longest block while loading, and afterwards until the background work (graph, full text, records) is done. */
  loopDuring: number[];
  loopAfter: number[];
}

/** Start-up in process, as the bot does it: records, merges and index from the store and its served snapshot. */
async function inProcess(store: Store, runs = 5): Promise<InProcess> {
  const logger = pino({ level: 'silent' });
  await (await loadService(store, logger)).graphStored; // builds, stores the relations, writes the snapshot
  await snapshotWritten(store.path);
  const result: InProcess = { all: [], cpu: [], loopDuring: [], loopAfter: [] };
  const loop = monitorEventLoopDelay({ resolution: 10 });
  for (let i = 0; i < runs; i++) {
    // Each run starts as a fresh process would: without the garbage of the run before (a full collection of it,
    // when it fell inside a run, took a second).
    (globalThis as { gc?: () => void }).gc?.();
    await new Promise((r) => setTimeout(r, 50));
    loop.reset();
    loop.enable();
    const t = performance.now();
    const c = process.cpuUsage();
    const service = await loadService(store, logger);
    result.all.push(performance.now() - t);
    const used = process.cpuUsage(c);
    result.cpu.push((used.user + used.system) / 1000);
    result.loopDuring.push(loop.max / 1e6);
    loop.reset();
    await Promise.all([service.graphStored, service.index.textReady]);
    await new Promise((r) => setTimeout(r, 2_500)); // the records are parsed ahead from 1 s after start-up
    result.loopAfter.push(loop.max / 1e6);
    loop.disable();
  }
  return result;
}

/** Prints what `inProcess` measured. */
function printInProcess(mem: InProcess): void {
  console.log(`  in process, store + snapshot: ${Math.min(...mem.all).toFixed(0)} ms best of ${mem.all.length}, worst ${Math.max(...mem.all).toFixed(0)} ms`);
  console.log(`    all runs: wall ${list(mem.all)} ms; CPU ${list(mem.cpu)} ms`);
  console.log(`    longest event-loop block while loading ${list(mem.loopDuring)} ms; after, until graph, full text and records are in ${list(mem.loopAfter)} ms`);
}

/** ~6,000 real records: everything the default sources give, synced from a local server as `sources sync` does it. */
async function realCase(): Promise<void> {
  if (!existsSync(raw)) {
    console.log(`  (${raw} not found: the real-data case is skipped)`);
    return;
  }
  const dir = mkdtempSync(path.join(tmpdir(), 'incident-startup-real-'));
  const server = await startDatasetServer(raw);
  try {
    const db = path.join(dir, 'bot.db');
    const store = openStore(db);
    const importer = createImporter(store);
    const report = await syncSources(recordReposOf(store).sources, localSpecs(server.url), importer, { allowPrivate: true });
    const t = performance.now();
    await importer.writeSnapshot();
    const snapshotMs = performance.now() - t;
    await importer.close();
    const records = (await loadService(store, pino({ level: 'silent' }))).size;
    console.log(`\nstart-up over the synced default sources: ${records.toLocaleString('en')} records (${machineNote()})`);
    console.log(`  full sync from empty: ${(report.ms / 1000).toFixed(2)} s, then relations and served snapshot: ${(snapshotMs / 1000).toFixed(2)} s`);
    printInProcess(await inProcess(store));
    store.close();
    await processStartup(`${records.toLocaleString('en')} records`, db, dir);
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `n` records of the shared corpus copied up to the size (the worst case for the index: texts repeat). */
async function syntheticCase(n: number, spawnBot: boolean): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'incident-startup-'));
  try {
    const db = path.join(dir, 'bot.db');
    const store = openStore(db);
    store.importIncidents(scaleUp(baseRecords(), n), { origin: 'bench', format: 'jsonl' });
    console.log(`\nstart-up at ${n.toLocaleString('en')} records (shared corpus scaled up; ${machineNote()})`);
    printInProcess(await inProcess(store));
    store.close();
    if (spawnBot) await processStartup(`${n.toLocaleString('en')} records`, db, dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs both start-up cases; prints figures, asserts nothing. */
export async function benchStartup(): Promise<void> {
  await realCase();
  await syntheticCase(100_000, true);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const n = process.argv[2] ? Number(process.argv[2]) : undefined;
  (n ? syntheticCase(n, true) : benchStartup()).catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}

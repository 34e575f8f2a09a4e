/**
 * Start-up benches. `npm start` to a ready console prompt, as a user runs it, over a store holding everything the
 * default sources give (served locally from ../shared/datasets/raw, ~6,000 records) with its served snapshot beside
 * it: the whole process (tsx, modules, config, store, index) and the part the bot logs ("index ready"). Target:
 * <= 1 s. Then start-up in all at 100k records (the shared corpus copied up to the size, bench/corpus.ts): records,
 * merges and index from store and snapshot, in process (target <= 1 s), and the process to its prompt.
 *
 * `node --import tsx bench/startup.ts [records]` (default: both cases; a number runs the synthetic case at that size)
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { loadService, snapshotPathFor } from '../src/bootstrap.js';
import { createImporter } from '../src/sources/import-runner.js';
import { syncSources } from '../src/sources/sync.js';
import { openStore, type Store } from '../src/store/store.js';
import { recordReposOf } from '../src/store/repos/index.js';
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

/**
 * Starts the bot in console mode and resolves when its prompt appears: wall time, CPU time of the process (on a busy
 * machine wall time mostly measures waiting for a core; CPU time does not) and the logged index time.
 */
function startOnce(env: NodeJS.ProcessEnv): Promise<{ total: number; cpu: number; index: number | undefined }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], { cwd: root, env, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let index: number | undefined;
    const logged = (text: string) => {
      const m = /"ms":(\d+)[^\n]*index ready|index ready[^\n]*"ms":(\d+)/.exec(text);
      if (m) index = Number(m[1] ?? m[2]);
    };
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      logged(out);
      if (out.includes('\n> ') || out.endsWith('> ')) {
        const total = performance.now() - started;
        const cpu = cpuOf(child.pid);
        child.stdin.end('exit\n');
        child.once('exit', () => resolve({ total, cpu, index }));
      }
    });
    child.stderr.on('data', (chunk: Buffer) => logged(chunk.toString()));
    child.once('error', reject);
    setTimeout(() => {
      child.kill();
      reject(new Error(`no prompt within 120 s; output so far:\n${out}`));
    }, 120_000).unref();
  });
}

/** Resolves once the served snapshot beside the database is written (a build writes it in the background). */
async function snapshotWritten(db: string): Promise<void> {
  while (!existsSync(snapshotPathFor(db)!)) await new Promise((r) => setTimeout(r, 100));
}

/** Runs the process `runs + 1` times (the first builds the snapshot when there is none) and prints the figures. */
async function processStartup(label: string, db: string, dir: string): Promise<void> {
  const feeds = path.join(dir, 'feeds.json');
  writeFileSync(feeds, '[]');
  const env = { ...process.env, DATABASE_PATH: db, FEEDS_ENABLED: 'false', FEEDS_FILE: feeds, SOURCES_SYNC: 'false', LOG_LEVEL: 'debug', DISCORD_TOKEN: '', SLACK_BOT_TOKEN: '' };
  const first = await startOnce(env);
  await snapshotWritten(db);
  const runs = [];
  for (let i = 0; i < 3; i++) runs.push(await startOnce(env));
  const best = [...runs].sort((a, b) => a.total - b.total)[0];
  console.log(`  npm start to a ready prompt, ${label}`);
  console.log(`    first start: ${first.total.toFixed(0)} ms (CPU ${first.cpu.toFixed(0)} ms), index ${first.index ?? '?'} ms`);
  console.log(`    from store and snapshot, best of 3: ${best.total.toFixed(0)} ms (CPU ${best.cpu.toFixed(0)} ms), index ${best.index ?? '?'} ms`);
  console.log(`    all runs, wall / CPU / index: ${runs.map((r) => `${r.total.toFixed(0)} / ${r.cpu.toFixed(0)} / ${r.index ?? '?'}`).join(', ')} ms`);
}

/** Start-up in process, as the bot does it: records, merges and index from the store and its served snapshot. */
async function inProcess(store: Store): Promise<{ best: number; all: number[]; cpu: number }> {
  const logger = pino({ level: 'silent' });
  await (await loadService(store, logger)).graphStored; // builds, stores the relations, writes the snapshot
  await snapshotWritten(store.path);
  const all: number[] = [];
  let cpu = Infinity;
  for (let i = 0; i < 3; i++) {
    const t = performance.now();
    const c = process.cpuUsage();
    const service = await loadService(store, logger);
    all.push(performance.now() - t);
    const used = process.cpuUsage(c);
    cpu = Math.min(cpu, (used.user + used.system) / 1000);
    await service.graphStored;
  }
  return { best: Math.min(...all), all, cpu };
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
    let t = performance.now();
    await importer.writeSnapshot();
    const snapshotMs = performance.now() - t;
    await importer.close();
    const records = (await loadService(store, pino({ level: 'silent' }))).size;
    console.log(`\nstart-up over the synced default sources: ${records.toLocaleString('en')} records (${machineNote()})`);
    console.log(`  full sync from empty: ${(report.ms / 1000).toFixed(2)} s, then relations and served snapshot: ${(snapshotMs / 1000).toFixed(2)} s`);
    const mem = await inProcess(store);
    console.log(`  in process, store + snapshot: ${mem.best.toFixed(0)} ms best of 3 (${mem.all.map((x) => x.toFixed(0)).join(', ')}); CPU ${mem.cpu.toFixed(0)} ms`);
    store.close();
    t = performance.now();
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
    const mem = await inProcess(store);
    console.log(`  in process, store + snapshot: ${mem.best.toFixed(0)} ms best of 3 (${mem.all.map((x) => x.toFixed(0)).join(', ')}); CPU ${mem.cpu.toFixed(0)} ms`);
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

/**
 * `npm start` to a ready console prompt, as a user runs it, over a store of ~6,000 records with its index snapshot
 * beside it: the whole process (tsx, modules, config, store, index) and the index part the bot logs ("index ready").
 * Target: <= 1 s. The records are the shared corpus copied up to the size (bench/corpus.ts).
 *
 * `node --import tsx bench/startup.ts [records]`
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { openStore } from '../src/store/store.js';
import { baseRecords, machineNote, scaleUp } from './corpus.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Starts the bot in console mode and resolves when its prompt appears: wall time and the logged index time. */
function startOnce(env: NodeJS.ProcessEnv): Promise<{ total: number; index: number | undefined }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], { cwd: root, env, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let index: number | undefined;
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const logged = /"ms":(\d+)[^\n]*index ready|index ready[^\n]*"ms":(\d+)/.exec(out);
      if (logged) index = Number(logged[1] ?? logged[2]);
      if (out.includes('\n> ') || out.endsWith('> ')) {
        const total = performance.now() - started;
        child.stdin.end('exit\n');
        child.once('exit', () => resolve({ total, index }));
      }
    });
    child.stderr.on('data', (chunk: Buffer) => {
      const logged = /"ms":(\d+)[^\n]*index ready|index ready[^\n]*"ms":(\d+)/.exec(chunk.toString());
      if (logged) index = Number(logged[1] ?? logged[2]);
    });
    child.once('error', reject);
    setTimeout(() => {
      child.kill();
      reject(new Error(`no prompt within 30 s; output so far:\n${out}`));
    }, 30_000).unref();
  });
}

async function main(): Promise<void> {
  const n = Number(process.argv[2] ?? 6_000);
  const dir = mkdtempSync(path.join(tmpdir(), 'incident-startup-'));
  try {
    const db = path.join(dir, 'bot.db');
    const store = openStore(db);
    store.importIncidents(scaleUp(baseRecords(), n), { origin: 'bench', format: 'jsonl' });
    store.close();
    const feeds = path.join(dir, 'feeds.json');
    writeFileSync(feeds, '[]');
    const env = { ...process.env, DATABASE_PATH: db, FEEDS_ENABLED: 'false', FEEDS_FILE: feeds, LOG_LEVEL: 'debug', DISCORD_TOKEN: '', SLACK_BOT_TOKEN: '' };
    const first = await startOnce(env); // builds the index and writes the snapshot
    await new Promise((r) => setTimeout(r, 1_000)); // the snapshot is written in the background
    const runs = [];
    for (let i = 0; i < 3; i++) runs.push(await startOnce(env));
    const best = runs.sort((a, b) => a.total - b.total)[0];
    console.log(`npm start to a ready prompt, ${n.toLocaleString('en')} records (${machineNote()})`);
    console.log(`  without a snapshot (builds the index): ${first.total.toFixed(0)} ms, index ${first.index ?? '?'} ms`);
    console.log(`  from store and snapshot, best of 3:    ${best.total.toFixed(0)} ms, index ${best.index ?? '?'} ms`);
    console.log(`  all runs: ${runs.map((r) => `${r.total.toFixed(0)} ms (index ${r.index ?? '?'} ms)`).join(', ')}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});

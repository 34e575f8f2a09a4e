/**
 * `node --import tsx bench/records-store.ts`: the records side of the store on SQLite and on PostgreSQL (when
 * BENCH_DATABASE_URL or the local server answers) at 100k records (BENCH_RECORDS): a source's version written by the
 * source repository, and the same records imported by the record repository, with the longest the event loop was held
 * meanwhile; then the one-query reads of every record that start-up does. Figures are printed, never asserted.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import pg from 'pg';
import type { Db } from '../src/store/db.js';
import { createPgDb } from '../src/store/pg-db.js';
import { applyPgMigrations } from '../src/store/pg-migrations.js';
import { openRecordRepos } from '../src/store/repos/index.js';
import { toSourceRecordRow } from '../src/store/repos/sources.js';
import { openStore, storeDb } from '../src/store/store.js';
import { baseRecords, machineNote, scaleUp } from './corpus.js';

const N = Number(process.env.BENCH_RECORDS ?? 100_000);
const PG_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; heldMs: number; value: T }> {
  const lag = monitorEventLoopDelay({ resolution: 5 });
  lag.enable();
  const t = performance.now();
  const value = await fn();
  const ms = performance.now() - t;
  lag.disable();
  return { ms, heldMs: lag.max / 1e6, value };
}

async function run(name: string, db: Db): Promise<void> {
  const records = scaleUp(baseRecords(), N);
  const rows = records.map(toSourceRecordRow);
  const repos = openRecordRepos(db);
  const source = { name: 'bench', format: 'jsonl', url: 'https://example.org/bench.jsonl' };
  const s = (x: number) => `${(x / 1000).toFixed(2)} s`;
  const m = (x: number) => `${x.toFixed(0)} ms`;
  const replace = await timed(() => repos.sources.replaceRecords(source, rows, { bodyHash: 'b', bytes: 1 }));
  console.log(`${name}: sources.replaceRecords ${N.toLocaleString('en')} new: ${s(replace.ms)}, event loop held at most ${m(replace.heldMs)}`);
  const again = await timed(() => repos.sources.replaceRecords(source, rows, { bodyHash: 'b', bytes: 1 }));
  console.log(`${name}: the same version again (all unchanged): ${s(again.ms)}, held at most ${m(again.heldMs)}`);
  const readSources = await timed(() => repos.sources.allRecords());
  console.log(`${name}: sources.allRecords (one query): ${s(readSources.ms)} for ${readSources.value.length.toLocaleString('en')}`);
  const imported = await timed(() => repos.records.importIncidents(records, { origin: 'bench', format: 'jsonl' }));
  console.log(`${name}: records.importIncidents ${N.toLocaleString('en')}: ${s(imported.ms)}, held at most ${m(imported.heldMs)} (validation included)`);
  const readRecords = await timed(() => repos.records.allIncidents());
  console.log(`${name}: records.allIncidents (one query): ${s(readRecords.ms)} for ${readRecords.value.length.toLocaleString('en')}`);
}

console.log(machineNote());
const dir = mkdtempSync(path.join(tmpdir(), 'bench-records-'));
try {
  const store = openStore(path.join(dir, 'bench.db'));
  await run('sqlite', storeDb(store));
  store.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
const schema = `bench_records_${process.pid}`;
let db: Db | undefined;
try {
  db = await createPgDb({ url: PG_URL, schema });
  await applyPgMigrations(db);
  await run('postgres', db);
} catch (error) {
  console.log(`postgres: skipped (${(error as Error).message})`);
} finally {
  await db?.close();
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect().then(() => client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)).catch(() => {});
  await client.end().catch(() => {});
}

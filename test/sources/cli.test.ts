import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { inlineImporter } from '../../src/sources/import-runner.js';
import { runSourcesCli, type SourcesCliDeps } from '../../src/sources/cli.js';
import { parseSourceList } from '../../src/sources/source-list.js';
import { openStore, type Store } from '../../src/store/store.js';
import { recordReposOf } from '../../src/store/repos/index.js';
import { startDatasetServer, type DatasetServer } from '../support/dataset-server.js';
import { kevCatalog, jsonlRecords } from './fixtures.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

describe('runSourcesCli', () => {
  let dir: string;
  let store: Store;
  let server: DatasetServer;
  beforeEach(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'sources-cli-'));
    store = openStore(path.join(dir, 'bot.db'));
    server = await startDatasetServer();
    server.put('kev.json', kevCatalog([{ cve: 'CVE-2099-0001' }, { cve: 'CVE-2099-0002' }]));
    server.put('lines.jsonl', jsonlRecords([{ id: 'test:platypus', title: 'Platypus Outage' }]));
  });
  afterEach(async () => {
    store.close();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const run = async (args: string[], extra: Partial<SourcesCliDeps> = {}) => {
    let out = '';
    let err = '';
    const specs = parseSourceList(
      JSON.stringify([
        { name: 'kev', title: 'Test KEV', format: 'kev', url: server.url('kev.json') },
        { name: 'lines', format: 'jsonl', url: server.url('lines.jsonl'), refreshHours: 6 },
      ]),
      'test sources',
    );
    const code = await runSourcesCli(args, {
      sources: recordReposOf(store).sources,
      specs,
      allowPrivate: true,
      importer: inlineImporter(store),
      write: (t) => void (out += t),
      error: (t) => void (err += t),
      isTTY: false,
      ...extra,
    });
    return { code, out, err };
  };

  it('prints one line per source and a summary when not on a terminal, with no progress drawing', async () => {
    const { code, out } = await run(['sync']);
    assert.equal(code, 0);
    const lines = out.trim().split('\n');
    assert.equal(lines.length, 3, out);
    assert.match(lines[0], /^kev: 2 records \(version 2099\.01\.01\): 2 new, 0 updated, 0 unchanged, 0 removed; [\d.]+ k?B in \d/);
    assert.match(lines[1], /^lines: 1 records: 1 new/);
    assert.match(lines[2], /^2 sources: 2 synced, 0 unchanged, 0 failed in [\d.]+ m?s\. Records: 3 new, 0 updated, 0 unchanged, 0 removed; 3 stored from sources\.$/);
    assert.doesNotMatch(out, /\r/);
  });

  it('draws progress on a terminal: bytes, then records, on one redrawn line', async () => {
    server.put('kev.json', kevCatalog(Array.from({ length: 600 }, (_, i) => ({ cve: `CVE-2099-${String(1000 + i)}` }))));
    const { out } = await run(['sync', 'kev'], { isTTY: true });
    assert.match(out, /\r\x1b\[2Kkev: connecting… \(1 of 1\)/);
    assert.match(out, /\r\x1b\[2Kkev: [\d.]+ k?B of [\d.]+ k?B downloaded/);
    assert.match(out, /\r\x1b\[2Kkev: (250|500|600) of 600 records written/);
    assert.match(out, /kev: 600 records/);
  });

  it('names the removed records, exits 1 when a source fails, and says what it keeps', async () => {
    await run(['sync']);
    server.put('kev.json', kevCatalog([{ cve: 'CVE-2099-0001' }]));
    server.fault('lines.jsonl', { status: 404 });
    const { code, out } = await run(['sync']);
    assert.equal(code, 1);
    assert.match(out, /^kev: 1 records .*1 unchanged, 1 removed; .*; removed: kev:CVE-2099-0002$/m);
    assert.match(out, /^lines: FAILED: .*HTTP 404 \(not found upstream\); keeping the 1 stored records$/m);
  });

  it('lists each source with its last sync, version or ETag, record count and last error', async () => {
    const before = await run(['list']);
    assert.match(before.out, /kev \(Test KEV\) · kev · every 24 h\n  .*kev\.json\n  never synced/);
    await run(['sync']);
    server.fault('lines.jsonl', { status: 503 });
    await run(['sync', 'lines', '--force']);
    const { code, out } = await run(['list']);
    assert.equal(code, 0);
    assert.match(out, /kev \(Test KEV\) · kev · every 24 h\n  http:\/\/127\.0\.0\.1:\d+\/kev\.json\n  last sync \d{4}-\d\d-\d\d \d\d:\d\d UTC \(just now\) · version 2099\.01\.01 · 2 records/);
    assert.match(out, /lines · jsonl · every 6 h\n.*\n  last sync .* · ETag "[0-9a-f]+" · 1 records/);
    assert.match(out, /last error \(just now\): .*HTTP 503/);
  });

  it('forgets a source taken out of the list, after listing it as stored but unlisted', async () => {
    await run(['sync']);
    const specs = parseSourceList(JSON.stringify([{ name: 'kev', format: 'kev', url: server.url('kev.json') }]), 'test sources');
    const listed = await run(['list'], { specs });
    assert.match(listed.out, /no longer in the source list[\s\S]*lines: 1 records/);
    const forgot = await run(['forget', 'lines'], { specs });
    assert.equal(forgot.code, 0);
    assert.match(forgot.out, /^lines: deleted 1 records\n$/);
    assert.doesNotMatch((await run(['list'], { specs })).out, /lines/);
    assert.equal((await run(['forget', 'lines'], { specs })).code, 1);
  });

  it('refuses unknown source names and options with the usage, exit 2', async () => {
    const unknown = await run(['sync', 'nope']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.err, /no source named "nope"; the sources are: kev, lines/);
    assert.match(unknown.err, /Usage: npm run cli -- sources/);
    assert.equal((await run(['sync', '--all'])).code, 2);
    assert.equal((await run(['frobnicate'])).code, 2);
    assert.equal(server.requests().length, 0);
  });
});

/** Runs the real CLI (`node --import tsx src/cli.ts`) with the given environment. */
function runCli(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, LOG_LEVEL: 'silent', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('npm run cli -- sources / ask (real processes)', () => {
  let dir: string;
  let server: DatasetServer;
  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'sources-cli-proc-'));
    server = await startDatasetServer();
    server.put('kev.json', kevCatalog([{ cve: 'CVE-2099-0001', name: 'Quokka Pouch Gateway remote takeover' }]));
  });
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('syncs SOURCES_FILE through the worker, then ask finds the synced record', async () => {
    const file = path.join(dir, 'sources.json');
    writeFileSync(file, JSON.stringify([{ name: 'kev', format: 'kev', url: server.url('kev.json') }]));
    const env = { DATABASE_PATH: path.join(dir, 'synced.db'), SOURCES_FILE: file, ALLOW_PRIVATE_FEED_URLS: 'true' };
    const sync = await runCli(['sources', 'sync'], env);
    assert.equal(sync.code, 0, sync.stderr);
    assert.match(sync.stdout, /^kev: 1 records/m);
    const ask = await runCli(['ask', '--json', 'quokka pouch gateway takeover'], env);
    const answer = JSON.parse(ask.stdout) as { status: string; incident?: { id: string }; hint?: string };
    assert.equal(answer.incident?.id, 'kev:CVE-2099-0001');
  });

  it('ask --json on an almost empty store carries the hint to run sources sync', async () => {
    const ask = await runCli(['ask', '--json', 'volt typhoon'], { DATABASE_PATH: path.join(dir, 'empty.db') });
    const answer = JSON.parse(ask.stdout) as { status: string; hint?: string };
    assert.equal(answer.status, 'not-found');
    assert.match(answer.hint ?? '', /npm run cli -- sources sync/);
  });

  it('a bad SOURCES_FILE stops the command, naming the file, the entry and the fix', async () => {
    const file = path.join(dir, 'bad-sources.json');
    writeFileSync(file, JSON.stringify([{ name: 'kev', format: 'kev', url: 'ftp://example.org/kev.json' }]));
    const result = await runCli(['sources', 'list'], { DATABASE_PATH: path.join(dir, 'bad.db'), SOURCES_FILE: file });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /bad-sources\.json: entry 1 \("kev"\): url: must be an absolute http\(s\) URL\. Fix the entry/);
  });
});

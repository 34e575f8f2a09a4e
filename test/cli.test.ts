import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { openStore } from '../src/store/store.js';

// Each CLI process costs about a second of tsx start-up: the tests run few of them, in parallel where they can.
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const FIXTURES = path.join(ROOT, 'test/fixtures/core');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'incident-cli-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

let dbCounter = 0;
/** Returns a fresh database path inside the test's temp dir. */
function freshDb(): string {
  return path.join(tmp, `db-${++dbCounter}`, 'incident-bot.db');
}

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `node --import tsx src/cli.ts ...args` from the project root with DATABASE_PATH set and optional stdin. */
function runCli(args: string[], options: { db?: string; input?: string } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, DATABASE_PATH: options.db ?? freshDb(), LOG_LEVEL: 'silent' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(options.input ?? '');
  });
}

/** Parses an `ask --json` output, failing with the process output when it is not JSON. */
function parseAnswer(result: CliResult): { status: string; incident?: { id: string }; quote?: { text: string; source?: { url?: string } }; sources: { url?: string }[] } {
  assert.equal(result.code, 0, `exit ${result.code}: ${result.stderr}`);
  try {
    return JSON.parse(result.stdout);
  } catch {
    assert.fail(`not JSON: ${result.stdout.slice(0, 300)} ${result.stderr}`);
  }
}

describe('cli ask', () => {
  const names = ['sky ecc', 'skyecc', 'SKY ECC', 'Operation Argus'];
  const question = 'how many users did Sky ECC have?';
  // Started together, awaited by each test: the processes overlap instead of queueing.
  const jsonRuns = new Map(names.map((q) => [q, runCli(['ask', q, '--json'])]));
  const questionRun = runCli(['ask', question, '--json']);

  for (const q of names) {
    it(`ask --json returns seed:skyecc-2021 when asked "${q}"`, async () => {
      const answer = parseAnswer(await jsonRuns.get(q)!);
      assert.equal(answer.status, 'found');
      assert.equal(answer.incident?.id, 'seed:skyecc-2021');
      assert.ok(answer.sources.some((s) => s.url?.startsWith('https://')));
    });
  }

  it('ask --json quotes 70,000 with a source when asked how many users Sky ECC had', async () => {
    const answer = parseAnswer(await questionRun);
    assert.equal(answer.incident?.id, 'seed:skyecc-2021');
    assert.match(answer.quote?.text ?? '', /70,000/);
    assert.match(answer.quote?.source?.url ?? '', /^https:\/\//);
  });

});

describe('cli search', () => {
  const run = runCli(['search', '--json', '--limit', '3'], { input: 'skyecc\nOperation Argus\n' });

  it('search --json writes one JSON line per stdin line with ranked results', async () => {
    const result = await run;
    assert.equal(result.code, 0, result.stderr);
    const lines = result.stdout.trim().split('\n');
    assert.equal(lines.length, 2, result.stdout);
    const parsed = lines.map((l) => JSON.parse(l) as { query: string; results: { id: string; title: string; score: number }[] });
    assert.deepEqual(parsed.map((p) => p.query), ['skyecc', 'Operation Argus']);
    for (const p of parsed) {
      assert.ok(p.results.length >= 1 && p.results.length <= 3);
      assert.equal(p.results[0].id, 'seed:skyecc-2021');
      assert.equal(p.results[0].title, 'Sky ECC takedown');
      assert.equal(typeof p.results[0].score, 'number');
      assert.deepEqual(Object.keys(p.results[0]).sort(), ['id', 'score', 'title']);
    }
  });
});

describe('cli import', () => {
  const db = freshDb();
  const storeState = () => {
    const store = openStore(db);
    try {
      return { total: store.countIncidents().total, lost: store.getIncident('fixture:lost-record') };
    } finally {
      store.close();
    }
  };
  // One chain against one store, run alongside the other describes' processes: import, ask, failed import.
  const chain = (async () => {
    const imported = await runCli(['import', 'jsonl', path.join(FIXTURES, 'imported.jsonl')], { db });
    const asked = await runCli(['ask', 'quillfeather'], { db });
    const before = storeState();
    const truncated = await runCli(['import', 'jsonl', path.join(FIXTURES, 'truncated.jsonl')], { db });
    return { imported, asked, before, truncated, after: storeState() };
  })();

  it('import jsonl stores the records and a later ask (as text) finds them', async () => {
    const { imported, asked, before } = await chain;
    assert.equal(imported.code, 0, imported.stderr);
    assert.match(imported.stdout, /2 new/);
    assert.equal(before.total, 2);
    // Without --json, ask prints the console rendering: title, id and source URL.
    assert.equal(asked.code, 0, asked.stderr);
    assert.match(asked.stdout, /^Operation Quillfeather \(15 August 2022\)  \[fixture:quillfeather-2022\]$/m);
    assert.match(asked.stdout, /https:\/\/example\.org\/quillfeather/);
    assert.doesNotMatch(asked.stdout, /^\s*\{/);
  });

  it('import of a truncated file exits 1 with a clear message and leaves the store unchanged', async () => {
    const { truncated, before, after } = await chain;
    assert.equal(truncated.code, 1);
    assert.match(truncated.stderr, /truncated\.jsonl:2/);
    assert.match(truncated.stderr, /truncated|cut off/i);
    assert.doesNotMatch(truncated.stderr, /^\s+at /m, 'no stack trace');
    assert.equal(after.total, before.total);
    assert.equal(after.lost, undefined, 'the valid first line was not stored either');
  });
});

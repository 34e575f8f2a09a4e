import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadServed, readDataFiles } from '../src/bootstrap.js';
import { openStore } from '../src/store/store.js';

// ask, search and eval must serve the same merged records: bundled + store + INCIDENT_DATA + --data.
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const KNOWLEDGE = path.join(ROOT, 'test/fixtures/knowledge');
const ATTACK = path.join(KNOWLEDGE, 'attack-mini.json');
const ACTORS = path.join(KNOWLEDGE, 'misp-threat-actor-mini.json');
const FAMILIES = path.join(KNOWLEDGE, 'misp-ransomware-mini.json');
const MISP_ACTOR = 'misp:threat-actor:1b000000-0000-4000-8000-000000000001';
const tmp = mkdtempSync(path.join(os.tmpdir(), 'incident-cli-served-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const db = path.join(tmp, 'db', 'incident-bot.db');

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runCli(args: string[], options: { input?: string; env?: Record<string, string> } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, DATABASE_PATH: db, LOG_LEVEL: 'silent', ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
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
    child.stdin.end(options.input ?? '');
  });
}

const queries = path.join(tmp, 'queries.jsonl');
writeFileSync(
  queries,
  [
    { query: 'smoke viper', expected_ids: [MISP_ACTOR], kind: 'alias' },
    { query: 'fancy heron', expected_ids: ['attack:G9001'], kind: 'alias' },
    { query: 'vex locker', expected_ids: ['misp:ransomware:2c000000-0000-4000-8000-000000000001'], kind: 'alias' },
  ]
    .map((q) => JSON.stringify(q))
    .join('\n'),
);

// The MISP files go into the store; the ATT&CK file comes with --data (or INCIDENT_DATA): only a merge of both
// places makes "smoke viper" (a MISP synonym) answer with the ATT&CK group.
const runs = (async () => {
  const imported = await runCli(['import', 'misp-galaxy', ACTORS, FAMILIES]);
  const [asked, askedEnv, searched, evaluated] = await Promise.all([
    runCli(['ask', 'smoke viper', '--json', '--data', ATTACK]),
    runCli(['ask', MISP_ACTOR, '--json'], { env: { INCIDENT_DATA: ATTACK } }),
    runCli(['search', '--json', '--data', ATTACK], { input: `smoke viper\n${MISP_ACTOR}\n` }),
    runCli(['eval', '--data', ATTACK, '--queries', queries]),
  ]);
  return { imported, asked, askedEnv, searched, evaluated };
})();

// ATT&CK's domain bundles imported in one command: an object in two bundles keeps both domains and relationships.
const stixDb = path.join(tmp, 'stix', 'incident-bot.db');
const stixImport = runCli(
  ['import', 'stix', path.join(ROOT, 'test/fixtures/importers/stix-enterprise-mini.json'), path.join(ROOT, 'test/fixtures/importers/stix-mobile-mini.json')],
  { env: { DATABASE_PATH: stixDb } },
);

function json<T>(result: CliResult): T {
  assert.equal(result.code, 0, `exit ${result.code}: ${result.stderr}`);
  return JSON.parse(result.stdout) as T;
}

describe('import stix', () => {
  it('imports the bundles of one command together: a shared object keeps every domain', async () => {
    const result = await stixImport;
    assert.equal(result.code, 0, result.stderr);
    const store = openStore(stixDb);
    try {
      const lantern = store.allIncidents().find((r) => r.title === 'LanternRAT')!;
      assert.ok(lantern.tags.includes('domain:enterprise-attack') && lantern.tags.includes('domain:mobile-attack'), lantern.tags.join(', '));
      assert.ok(lantern.tags.some((t) => t.startsWith('used-by:Harbor Spider')), 'the enterprise relationships survive the mobile bundle');
    } finally {
      store.close();
    }
  });
});

describe('ask, search and eval serve the same merged records', () => {
  it('import misp-galaxy loads threat-actor and ransomware clusters into the store', async () => {
    const { imported } = await runs;
    assert.equal(imported.code, 0, imported.stderr);
    assert.match(imported.stdout, /8 new, 0 updated/);
  });

  it('ask --data merges the store\'s MISP actor into the file\'s ATT&CK group and lists it in sameAs', async () => {
    const answer = json<{ incident?: { id: string; sameAs?: string[] } }>((await runs).asked);
    assert.equal(answer.incident?.id, 'attack:G9001');
    assert.deepEqual(answer.incident?.sameAs, [MISP_ACTOR]);
  });

  it('ask reads INCIDENT_DATA and answers a merged id with the kept record', async () => {
    const answer = json<{ status: string; incident?: { id: string } }>((await runs).askedEnv);
    assert.equal(answer.status, 'found');
    assert.equal(answer.incident?.id, 'attack:G9001');
  });

  it('search --data sees the store too', async () => {
    const { searched } = await runs;
    assert.equal(searched.code, 0, searched.stderr);
    const lines = searched.stdout.trim().split('\n').map((l) => JSON.parse(l) as { results: { id: string }[] });
    assert.deepEqual(lines.map((l) => l.results[0]?.id), ['attack:G9001', 'attack:G9001']);
  });

  it('eval --data counts merged ids as the kept record, over the same records as the bot serves', async () => {
    const { evaluated } = await runs;
    assert.equal(evaluated.code, 0, evaluated.stderr);
    const store = openStore(db);
    let expected: number;
    try {
      expected = loadServed(store, readDataFiles([ATTACK])).records.length;
    } finally {
      store.close();
    }
    assert.match(evaluated.stdout, new RegExp(`\\(3 queries, ${expected} records\\)`));
    assert.match(evaluated.stdout, /^overall\s+3\s+1\.000\s+1\.000/m);
  });
});

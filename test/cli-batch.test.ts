import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { askBatch, readBatchLine } from '../src/ask-batch.js';
import { runCli } from '../src/cli.js';
import type { Answer } from '../src/core/answer-model.js';
import type { ConversationContext } from '../src/core/conversation.js';
import type { IncidentService } from '../src/core/incident-service.js';
import { buildAnswer } from './support/fake-slack-service.js';

// The real CLI entry, run in-process: tsx start-up per case would cost a second each.
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const KNOWLEDGE = path.join(ROOT, 'test/fixtures/knowledge');
const ATTACK = path.join(KNOWLEDGE, 'attack-mini.json');
const ACTORS = path.join(KNOWLEDGE, 'misp-threat-actor-mini.json');
const FAMILIES = path.join(KNOWLEDGE, 'misp-ransomware-mini.json');
const MISP_ACTOR = 'misp:threat-actor:1b000000-0000-4000-8000-000000000001';
const tmp = mkdtempSync(path.join(os.tmpdir(), 'incident-cli-batch-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI entry in this process with `input` on stdin and DATABASE_PATH at `db` (absent: none). */
async function cli(args: string[], input = '', db = path.join(tmp, 'none', 'incident-bot.db')): Promise<Run> {
  const saved = { db: process.env.DATABASE_PATH, data: process.env.INCIDENT_DATA };
  process.env.DATABASE_PATH = db;
  delete process.env.INCIDENT_DATA;
  let stdout = '';
  let stderr = '';
  try {
    const code = await runCli(args, {
      stdin: Readable.from([input]),
      stdout: { write: (chunk: string) => ((stdout += chunk), true) },
      stderr: { write: (chunk: string) => ((stderr += chunk), true) },
    });
    return { code, stdout, stderr };
  } finally {
    if (saved.db === undefined) delete process.env.DATABASE_PATH;
    else process.env.DATABASE_PATH = saved.db;
    if (saved.data !== undefined) process.env.INCIDENT_DATA = saved.data;
  }
}

const lines = (run: Run) => {
  assert.equal(run.code, 0, run.stderr);
  return run.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as Partial<Answer> & { error?: string });
};

describe('cli ask --batch --json', () => {
  it('writes one JSON line per input line, in order, plain text and JSON lines alike', async () => {
    const input = ['sky ecc', '{"query": "encrochat", "conversation": "c1"}', '', 'SKYECC'].join('\n');
    const out = lines(await cli(['ask', '--batch', '--json'], input));
    assert.equal(out.length, 4, 'the empty line is answered too, so line N stays line N');
    assert.deepEqual(out.map((a) => a.query), ['sky ecc', 'encrochat', '', 'SKYECC']);
    assert.equal(out[0].incident?.id, 'seed:skyecc-2021');
    assert.equal(out[1].incident?.id, 'seed:encrochat-2020');
    assert.equal(out[3].incident?.id, 'seed:skyecc-2021');
  });

  it('reports a broken JSON line in its place and goes on', async () => {
    const out = lines(await cli(['ask', '--batch', '--json'], '{"query": oops\n{"conversation": "x"}\nsky ecc\n'));
    assert.match(out[0].error ?? '', /^line 1: not valid JSON/);
    assert.match(out[1].error ?? '', /^line 2: .*"query"/);
    assert.equal(out[2].incident?.id, 'seed:skyecc-2021');
  });

  it('sees the store and every --data file, merged as the bot serves them', async () => {
    const db = path.join(tmp, 'store', 'incident-bot.db');
    const imported = await cli(['import', 'misp-galaxy', ACTORS, FAMILIES], '', db);
    assert.equal(imported.code, 0, imported.stderr);
    const out = lines(await cli(['ask', '--batch', '--json', '--data', ATTACK], `smoke viper\n${MISP_ACTOR}\n`, db));
    // "smoke viper" is a synonym in the store's MISP file; the group is in the --data ATT&CK file: only both merged answer it.
    assert.deepEqual(out.map((a) => a.incident?.id), ['attack:G9001', 'attack:G9001']);
    assert.deepEqual(out[0].incident?.sameAs, [MISP_ACTOR]);
  });

  it('refuses --batch without --json, and a question on the command line beside --batch', async () => {
    const plain = await cli(['ask', '--batch'], 'sky ecc\n');
    assert.equal(plain.code, 1);
    assert.match(plain.stderr, /add --json/);
    const both = await cli(['ask', '--batch', '--json', 'sky', 'ecc'], '');
    assert.equal(both.code, 1);
    assert.match(both.stderr, /reads its questions from stdin/);
  });
});

describe('cli search', () => {
  it('sees the store too, through the same entry', async () => {
    const db = path.join(tmp, 'store', 'incident-bot.db');
    const run = await cli(['search', '--json', '--data', ATTACK], 'smoke viper\n', db);
    assert.equal(run.code, 0, run.stderr);
    assert.equal((JSON.parse(run.stdout) as { results: { id: string }[] }).results[0]?.id, 'attack:G9001');
  });
});

/** A service that answers every query "found" about a record named by the query, and records what context it got. */
function recordingService(seen: Array<{ query: string; context?: ConversationContext }>): IncidentService {
  const answer = (query: string, view?: { context?: ConversationContext }): Answer => {
    seen.push({ query, context: view?.context });
    const base = buildAnswer();
    return buildAnswer({ query, incident: { ...base.incident!, id: `rec:${query}`, title: query } });
  };
  return { answer } as unknown as IncidentService;
}

describe('askBatch', () => {
  it('hands each line the context its conversation left, and none across conversations or to lines without one', async () => {
    const seen: Array<{ query: string; context?: ConversationContext }> = [];
    const input = new PassThrough();
    input.end(
      [
        '{"query": "a1", "conversation": "a"}',
        '{"query": "b1", "conversation": "b"}',
        '{"query": "a2", "conversation": "a"}',
        'loose',
        '{"query": "b2", "conversation": "b"}',
      ].join('\n'),
    );
    const out: string[] = [];
    assert.equal(await askBatch(recordingService(seen), input, (l) => out.push(l)), 5);
    assert.equal(out.length, 5);
    const context = (q: string) => seen.find((s) => s.query === q)?.context?.recordId;
    assert.equal(context('a1'), undefined);
    assert.equal(context('b1'), undefined);
    assert.equal(context('a2'), 'rec:a1');
    assert.equal(context('loose'), undefined);
    assert.equal(context('b2'), 'rec:b1');
  });
});

describe('readBatchLine', () => {
  it('reads plain text as the question and JSON as query and conversation', () => {
    assert.deepEqual(readBatchLine('who is apt28?\r'), { query: 'who is apt28?' });
    assert.deepEqual(readBatchLine('{"query": "and then?", "conversation": 7}'), { query: 'and then?', conversation: '7' });
    assert.deepEqual(readBatchLine('{"query": "q", "conversation": null}'), { query: 'q' });
    assert.throws(() => readBatchLine('{"query": 1}'), /"query" string/);
    assert.throws(() => readBatchLine('{"query": "q", "conversation": {}}'), /must be a string/);
  });
});

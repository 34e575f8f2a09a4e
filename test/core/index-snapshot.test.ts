import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { loadService, snapshotPathFor } from '../../src/bootstrap.js';
import { createIncidentService } from '../../src/core/create-service.js';
import { IncidentIndex } from '../../src/core/incident-index.js';
import { SnapshotError } from '../../src/core/index-snapshot.js';
import { BUNDLED_DATA_DIR, loadIncidentDir } from '../../src/core/load-data.js';
import { openStore, type Store } from '../../src/store/store.js';

const bundled = loadIncidentDir(BUNDLED_DATA_DIR);

/** Queries whose top hits must not change, whatever happened to the snapshot on disk. */
const QUERIES = ['encrochat', 'skyecc', 'sky ecc', 'lab host', 'takedown 2021', 'phishing kit'];

/** Splits a snapshot into its name-index part (the first line) and the rest (the full-text part). */
function namePart(snapshot: string): [string, string] {
  const newline = snapshot.indexOf('\n');
  return [snapshot.slice(0, newline), snapshot.slice(newline)];
}

/** Returns the snapshot with the posting lists of two name-index terms exchanged: still valid JSON, still the same size. */
function swapPostings(snapshot: string, a: string, b: string): string {
  const [names, rest] = namePart(snapshot);
  const json = JSON.parse(names) as { terms: string[] };
  const i = json.terms.findIndex((t, k) => k % 2 === 0 && t === a);
  const j = json.terms.findIndex((t, k) => k % 2 === 0 && t === b);
  assert.ok(i >= 0 && j >= 0, `terms ${a} and ${b} are in the snapshot`);
  [json.terms[i + 1], json.terms[j + 1]] = [json.terms[j + 1], json.terms[i + 1]];
  return JSON.stringify(json) + rest;
}

/** Returns the snapshot with one base-36 digit of a term's postings changed: valid JSON, one byte different. */
function flipDigit(snapshot: string, term: string): string {
  const at = snapshot.indexOf(`"${term}","`) + term.length + 4;
  const end = snapshot.indexOf('"', at);
  const k = snapshot.slice(at, end).search(/[1-9]/) + at;
  assert.ok(k >= at, `a digit to change in the postings of ${term}`);
  return `${snapshot.slice(0, k)}${snapshot[k] === '1' ? '2' : '1'}${snapshot.slice(k + 1)}`;
}

/** The damage a snapshot on disk can take: each still loaded today, or loaded wrongly. */
const DAMAGE: Array<[string, (s: string) => string]> = [
  ['two postings swapped', (s) => swapPostings(s, 'encrochat', 'skyecc')],
  ['one byte flipped in a posting', (s) => flipDigit(s, 'encrochat')],
  ['a truncated file', (s) => s.slice(0, Math.floor(s.length * 0.8))],
  ['a damaged checksum', (s) => s.replace(/"sha256":"([0-9a-f])/, (_m, c: string) => `"sha256":"${c === 'a' ? 'b' : 'a'}`)],
  ['an unreadable checksum', (s) => s.replace('"sha256":"', '"sha256":"x')],
];

describe('index snapshot checksum', () => {
  const built = IncidentIndex.build(bundled);
  const snapshot = built.toSnapshot();

  it('an intact snapshot loads and answers like the built index', () => {
    const loaded = IncidentIndex.fromSnapshot(snapshot, bundled);
    for (const q of QUERIES) assert.deepEqual(loaded.search(q, 3).map((h) => h.id), built.search(q, 3).map((h) => h.id), q);
  });

  for (const [what, damage] of DAMAGE) {
    it(`refuses ${what}, with an error that says to rebuild`, () => {
      const damaged = damage(snapshot);
      assert.notEqual(damaged, snapshot);
      assert.throws(() => IncidentIndex.fromSnapshot(damaged, bundled), (e: Error) => e instanceof SnapshotError && /checksum|not valid JSON/.test(e.message) && /rebuild/.test(e.message));
    });
  }

  it('is the SHA-256 of the content after the header, so a snapshot of another version is refused by its version', () => {
    assert.match(snapshot, /^\{"format":"incident-index","version":\d+,"sha256":"[0-9a-f]{64}",/);
    const [names, rest] = namePart(snapshot);
    const old = JSON.stringify({ ...JSON.parse(names), version: 1, sha256: undefined }) + rest;
    assert.throws(() => IncidentIndex.fromSnapshot(old, bundled), /v1, expected incident-index v\d+; rebuild it/);
  });
});

/** The damage the served snapshot file can take: each would otherwise be loaded, or loaded wrongly. */
const FILE_DAMAGE: Array<[string, (file: Buffer) => Buffer]> = [
  ['one byte flipped in the payload', (file) => {
    const copy = Buffer.from(file);
    const at = file.indexOf('encrochat', file.indexOf(10));
    copy[at] ^= 0x01;
    return copy;
  }],
  ['a truncated file', (file) => file.subarray(0, Math.floor(file.length * 0.8))],
  ['a damaged checksum', (file) => Buffer.from(file.toString('latin1').replace(/sha256:([0-9a-f])/, (_m, c: string) => `sha256:${c === 'a' ? 'b' : 'a'}`), 'latin1')],
  ['an unreadable header', (file) => Buffer.from(file.toString('latin1').replace('sha256:', 'sha256:x'), 'latin1')],
];

describe('loading the served snapshot beside the database', () => {
  let dir: string;
  let store: Store;
  let file: string;
  let intact: Buffer;
  const reference = createIncidentService(bundled);
  const lines: Array<{ level: number; msg: string; err?: string }> = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) });

  /** Resolves once the snapshot file holds what `match` wants (it is written in the background after a build). */
  async function snapshotWritten(match: (file: Buffer) => boolean): Promise<Buffer> {
    for (let i = 0; i < 250; i += 1) {
      try {
        const data = readFileSync(file);
        if (match(data)) return data;
      } catch {
        // not written yet
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error('the served snapshot was not (re)written');
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'incident-snapshot-'));
    store = openStore(join(dir, 'bot.db'));
    file = snapshotPathFor(store.path)!;
    await (await loadService(store, logger)).graphStored;
    intact = await snapshotWritten(() => true);
  });
  after(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('loads an intact snapshot without a word', async () => {
    lines.length = 0;
    const service = await loadService(store, logger);
    assert.deepEqual(lines, []);
    assert.equal(service.index.search('encrochat', 1)[0]?.id, 'seed:encrochat-2020');
    assert.equal(service.get('seed:skyecc-2021')?.id, 'seed:skyecc-2021', 'records are read from the snapshot on demand');
  });

  it('answers from names at once and takes in the full text a moment later, with the records changed meanwhile', async () => {
    const service = await loadService(store, logger);
    const late = { ...bundled[0], id: 'test:late', title: 'Late Arrival', aliases: [], body: 'The operators later moved to the zorblaxian relay.' };
    service.upsert([late]);
    service.remove(['seed:labhost-2024']);
    assert.equal(service.index.search('encrochat', 1)[0]?.id, 'seed:encrochat-2020', 'names answer before the full text is in');
    await service.index.textReady;
    assert.equal(service.index.search('zorblaxian', 1)[0]?.id, 'test:late', 'a record upserted while the full text loaded is in it');
    assert.ok(!service.index.search('europol', 5).some((h) => h.id === 'seed:labhost-2024'), 'a record removed meanwhile is not');
    const fresh = await loadService(store, logger);
    await fresh.index.textReady;
    for (const q of [...QUERIES, 'telegram', 'europol', 'interception']) {
      assert.deepEqual(fresh.index.search(q, 3).map((h) => h.id), reference.index.search(q, 3).map((h) => h.id), `answers to "${q}"`);
    }
  });

  it('rebuilds a snapshot written for other records, saying so once', async () => {
    writeFileSync(file, Buffer.from(intact.toString('latin1').replace(/key:\S+/, 'key:other'), 'latin1'));
    lines.length = 0;
    const service = await loadService(store, logger);
    assert.equal(lines.length, 1, `one log line, got: ${JSON.stringify(lines)}`);
    assert.match(lines[0].msg, /out of date: rebuilding/);
    assert.equal(service.answer('encrochat').incident?.id, 'seed:encrochat-2020');
    await snapshotWritten((data) => data.equals(intact));
  });

  for (const [what, damage] of FILE_DAMAGE) {
    it(`rebuilds a snapshot with ${what}, logs it once, answers right and writes a good one`, async () => {
      const damaged = damage(intact);
      assert.ok(!damaged.equals(intact));
      writeFileSync(file, damaged);
      lines.length = 0;
      const service = await loadService(store, logger);
      assert.equal(lines.length, 1, `one log line, got: ${JSON.stringify(lines)}`);
      assert.equal(lines[0].level, 40, 'a warning');
      assert.match(`${lines[0].msg} ${lines[0].err}`, /rebuilding.*(checksum|header)/);
      for (const q of QUERIES) {
        assert.deepEqual(service.index.search(q, 3).map((h) => h.id), reference.index.search(q, 3).map((h) => h.id), `answers to "${q}"`);
      }
      assert.equal(service.answer('encrochat').incident?.id, 'seed:encrochat-2020');
      assert.equal(service.answer('what happened with sky ecc?').incident?.id, 'seed:skyecc-2021');
      await snapshotWritten((data) => data.equals(intact));
    });
  }
});

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { pino } from 'pino';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { storedRecords, storedRecordsSteps } from '../../src/bootstrap.js';
import { createIncidentService } from '../../src/core/create-service.js';
import { SnapshotError } from '../../src/core/index-snapshot.js';
import { BUNDLED_DATA_DIR, loadIncidentDir } from '../../src/core/load-data.js';
import { loadServedBody, readServedSnapshot, servedSnapshotSteps, writeServedSnapshot } from '../../src/core/served-snapshot.js';
import { readServedSnapshotFile } from '../../src/core/snapshot-file.js';
import { runAtOnce, runSliced } from '../../src/core/steps.js';
import { openStore, type Store } from '../../src/store/store.js';

const bundled = loadIncidentDir(BUNDLED_DATA_DIR);
const QUERIES = ['encrochat', 'sky ecc', 'lab host', 'takedown 2021', 'telegram', 'interception'];

describe('served snapshot file', () => {
  let dir: string;
  let file: string;
  const service = createIncidentService(bundled);
  const canonical: Array<[string, string]> = [['other:encrochat', bundled[0].id]];
  const intact = writeServedSnapshot('key-1', bundled, canonical, service.index);

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'incident-served-'));
    file = join(dir, 'bot.db.served.bin');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('is written the same for the same records, so a rewrite changes nothing on disk', () => {
    assert.ok(writeServedSnapshot('key-1', bundled, canonical, service.index).equals(intact));
  });

  /** Both ways a file's checksum is checked: in a worker thread (large files), on the main thread (small ones). */
  const checkers: Array<[string, number]> = [['in a worker', 0], ['on the main thread', Infinity]];

  it('reads back the records, merged ids and index, from a buffer and from the file', async () => {
    writeFileSync(file, intact);
    const fromFile = [];
    for (const [, workerAboveBytes] of checkers) {
      const read = await readServedSnapshotFile(file, { workerAboveBytes });
      assert.equal(read.key, 'key-1');
      await read.verified;
      fromFile.push(await loadServedBody(read.body));
    }
    for (const loaded of [readServedSnapshot(intact), ...fromFile]) {
      assert.deepEqual([...loaded.records.values()], bundled);
      assert.deepEqual([...loaded.canonical], canonical);
      await loaded.index.textReady;
      for (const q of QUERIES) assert.deepEqual(loaded.index.search(q, 3).map((h) => h.id), service.index.search(q, 3).map((h) => h.id), q);
    }
  });

  /** Damage past the head: in the records' texts, and in the full-text index's terms (the file's last part). */
  const damage: Array<[string, (file: Buffer) => number]> = [
    ['a record', (f) => f.indexOf('"title"', f.indexOf('\n'))],
    ['the full-text terms', (f) => f.length - 5],
  ];
  for (const [where, at] of damage) {
    for (const [how, workerAboveBytes] of checkers) {
      it(`is refused when a byte of ${where} changed, checked ${how}`, async () => {
        const damaged = Buffer.from(intact);
        damaged[at(intact)] ^= 0x20;
        writeFileSync(file, damaged);
        const read = await readServedSnapshotFile(file, { workerAboveBytes });
        await assert.rejects(read.verified, (e: Error) => e instanceof SnapshotError && /checksum/.test(e.message) && /rebuild/.test(e.message));
        assert.throws(() => readServedSnapshot(damaged), SnapshotError);
      });
    }
  }

  for (const [how, workerAboveBytes] of checkers) {
    it(`is refused when it lost its end, checked ${how}`, async () => {
      writeFileSync(file, intact.subarray(0, intact.length - 1));
      await assert.rejects((await readServedSnapshotFile(file, { workerAboveBytes })).verified, SnapshotError);
    });
  }

  it('is not written when the index changes between two of its slices', async () => {
    const index = createIncidentService(bundled).index;
    const writing = runSliced(servedSnapshotSteps('key-1', bundled, canonical, index), 0);
    index.upsert([{ ...bundled[0], id: 'test:late' }]);
    await assert.rejects(writing, /changed while its snapshot was being written/);
    // Left alone, the same steps write what is written at once.
    assert.ok(Buffer.concat(await runSliced(servedSnapshotSteps('key-1', bundled, canonical, service.index), 0)).equals(intact));
  });

  it('names the missing file', async () => {
    await assert.rejects(readServedSnapshotFile(join(dir, 'none.bin')), (e: NodeJS.ErrnoException) => e.code === 'ENOENT');
  });
});

describe('reading the store in slices', () => {
  let dir: string;
  let store: Store;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'incident-slices-'));
    store = openStore(join(dir, 'bot.db'));
    store.importIncidents(bundled.slice(0, 2), { origin: 'test', format: 'jsonl' });
    // One id in two sources, and one beside the imported records: the order decides which source's fields win.
    const row = store.db.prepare('INSERT INTO source_records (source, id, kind, data, body, hash, updated_at) VALUES (?, ?, ?, ?, ?, ?, 0)');
    for (const [source, r] of [['b', bundled[3]], ['a', bundled[3]], ['a', bundled[4]], ['c', bundled[2]]] as const) {
      const { body, ...data } = r;
      row.run(source, r.id, r.kind, JSON.stringify({ ...data, title: `${r.title} (${source})` }), body ?? null, source);
    }
  });
  after(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('gives what reading at once gives, in the same order', () => {
    const atOnce = storedRecords(store);
    assert.equal(atOnce.length, 6);
    for (const pageRows of [1, 2, 3, 500]) assert.deepEqual(runAtOnce(storedRecordsSteps(store, pageRows)), atOnce, `pages of ${pageRows}`);
  });
});

describe('served snapshot written at start-up', () => {
  it('leaves no partial file behind when the write fails', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'incident-served-fail-'));
    const store = openStore(join(dir, 'bot.db'));
    try {
      // A directory where the snapshot goes: the rename over it fails after the temporary file was written.
      mkdirSync(join(dir, 'bot.db.served.bin'));
      const warned: string[] = [];
      const logger = pino({ level: 'warn' }, { write: (line: string) => void warned.push(line) });
      const { loadService } = await import('../../src/bootstrap.js');
      await loadService(store, logger);
      for (let i = 0; i < 200 && !warned.some((l) => l.includes('could not write the served snapshot')); i++) await new Promise((r) => setTimeout(r, 10));
      assert.ok(warned.some((l) => l.includes('could not write the served snapshot')), 'the failed write is logged');
      assert.deepEqual(readdirSync(dir).filter((f) => f.endsWith('.tmp')), []);
    } finally {
      store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

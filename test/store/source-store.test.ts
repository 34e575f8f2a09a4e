import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { BUNDLED_DATA_DIR, loadIncidentDir } from '../../src/core/load-data.js';
import type { Incident } from '../../src/core/incident.js';
import { SourceStore, toSourceRecordRow } from '../../src/store/source-store.js';
import { openStore, type Store } from '../../src/store/store.js';

const base = loadIncidentDir(BUNDLED_DATA_DIR)[0];
const record = (id: string, title = `Record ${id}`): Incident => ({ ...base, id, title });
const source = (name: string) => ({ name, format: 'jsonl', url: `https://example.org/${name}.jsonl` });
const info = { bodyHash: 'h1', bytes: 100 };

describe('SourceStore', () => {
  let dir: string;
  let store: Store;
  let sources: SourceStore;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'source-store-'));
    store = openStore(path.join(dir, 'bot.db'));
    sources = new SourceStore(store.db, () => 1_000);
  });
  afterEach(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('replaces a version in one transaction: an error part-way leaves the previous version and its state whole', () => {
    sources.replaceRecords(source('a'), [record('test:1'), record('test:2')].map(toSourceRecordRow), { ...info, etag: '"v1"' });
    const rows = [record('test:3'), record('test:4'), record('test:3')].map(toSourceRecordRow);
    assert.throws(() => sources.replaceRecords(source('a'), rows, { ...info, etag: '"v2"' }), /"test:3" appears twice/);
    assert.deepEqual(sources.allRecords().map((i) => i.id), ['test:1', 'test:2']);
    assert.equal(sources.state('a')?.etag, '"v1"');
    assert.equal(sources.state('a')?.recordCount, 2);
  });

  it('returns the delta: added, updated (changed content), unchanged and removed ids', () => {
    sources.replaceRecords(source('a'), [record('test:1'), record('test:2'), record('test:3')].map(toSourceRecordRow), info);
    const delta = sources.replaceRecords(source('a'), [record('test:1'), record('test:2', 'Renamed'), record('test:4')].map(toSourceRecordRow), info);
    assert.deepEqual(delta, { added: ['test:4'], updated: ['test:2'], unchanged: 1, removed: ['test:3'] });
  });

  it('keeps one row per (source, id): another source may hold the same id, and the later source name wins a lookup', () => {
    sources.replaceRecords(source('a'), [record('test:1', 'From a')].map(toSourceRecordRow), info);
    sources.replaceRecords(source('b'), [record('test:1', 'From b')].map(toSourceRecordRow), info);
    assert.equal(sources.recordsById(['test:1']).get('test:1')?.title, 'From b');
    assert.deepEqual(sources.allRecords().map((i) => i.title), ['From a', 'From b'], 'ordered so that the later source comes last');
    sources.replaceRecords(source('b'), [record('test:2')].map(toSourceRecordRow), info);
    assert.equal(sources.recordsById(['test:1']).get('test:1')?.title, 'From a', 'b dropping it leaves a’s record');
  });

  it('records failures without touching records or validators, and clears them on the next success', () => {
    sources.replaceRecords(source('a'), [record('test:1')].map(toSourceRecordRow), { ...info, etag: '"v1"' });
    sources.markFailed(source('a'), 'HTTP 500');
    sources.markFailed(source('a'), 'HTTP 502');
    let s = sources.state('a')!;
    assert.deepEqual([s.lastError, s.consecutiveFailures, s.etag, s.recordCount], ['HTTP 502', 2, '"v1"', 1]);
    sources.markUnchanged(source('a'), { etag: '"v1"' });
    s = sources.state('a')!;
    assert.deepEqual([s.lastError, s.consecutiveFailures, s.lastSuccessAt], [undefined, 0, 1_000]);
  });

  it('forgets a source: its records and its state', () => {
    sources.replaceRecords(source('a'), [record('test:1'), record('test:2')].map(toSourceRecordRow), info);
    assert.equal(sources.forget('a'), 2);
    assert.equal(sources.state('a'), undefined);
    assert.deepEqual(sources.stats().n, 0);
  });
});

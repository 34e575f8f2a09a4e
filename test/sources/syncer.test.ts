import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { pino } from 'pino';
import { loadAllIncidents } from '../../src/bootstrap.js';
import { createIncidentService, createServedService } from '../../src/core/create-service.js';
import { buildServed } from '../../src/core/served.js';
import type { Incident } from '../../src/core/incident.js';
import type { IncidentService } from '../../src/core/incident-service.js';
import { BUNDLED_DATA_DIR, loadIncidentDir } from '../../src/core/load-data.js';
import { dataHint } from '../../src/sources/data-hint.js';
import { inlineImporter } from '../../src/sources/import-runner.js';
import { applyToIndex } from '../../src/sources/live-index.js';
import { parseSourceList, type SourceSpec } from '../../src/sources/source-list.js';
import { createSourceSyncer, nextDueAt, type SourceSyncer } from '../../src/sources/syncer.js';
import { openStore, type Store } from '../../src/store/store.js';
import { recordReposOf } from '../../src/store/repos/index.js';
import { startDatasetServer, type DatasetServer } from '../support/dataset-server.js';
import { kevCatalog, jsonlRecords, stixBundle } from './fixtures.js';

const quiet = pino({ level: 'silent' });
const HOUR = 3_600_000;

async function eventually<T>(check: () => T | undefined, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Returns a port on 127.0.0.1 that nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe('nextDueAt', () => {
  const spec: SourceSpec = { name: 'kev', title: 'KEV', format: 'kev', url: 'https://example.org/kev.json', refreshHours: 24 };
  const synced = { name: 'kev', format: 'kev', url: spec.url, recordCount: 3, consecutiveFailures: 0, lastSuccessAt: 1_000_000, lastChangedAt: 1_000_000 };

  it('is due now when never synced, and refreshHours after the last success otherwise', () => {
    assert.equal(nextDueAt(spec, undefined, undefined), 0);
    assert.equal(nextDueAt(spec, synced, undefined), 1_000_000 + 24 * HOUR);
    assert.equal(nextDueAt({ ...spec, refreshHours: 6 }, synced, undefined), 1_000_000 + 6 * HOUR);
  });

  it('is due now when the source moved to another URL since its last sync', () => {
    assert.equal(nextDueAt({ ...spec, url: 'https://mirror.example.org/kev.json' }, synced, undefined), 0);
  });

  it('retries a failing source after a doubling delay, never later than its refresh', () => {
    const base = 15 * 60_000;
    assert.equal(nextDueAt(spec, undefined, { count: 1, lastAt: 5_000 }), 5_000 + base);
    assert.equal(nextDueAt(spec, undefined, { count: 3, lastAt: 5_000 }), 5_000 + 4 * base);
    assert.equal(nextDueAt(spec, undefined, { count: 30, lastAt: 5_000 }), 5_000 + 24 * HOUR);
  });
});

describe('applyToIndex', () => {
  it('upserts resolved records and removes unresolved ids, yielding to the event loop between slices', async () => {
    const records: Incident[] = loadIncidentDir(BUNDLED_DATA_DIR);
    const service = createIncidentService(records);
    const made = Array.from({ length: 40 }, (_, i) => ({ ...records[0], id: `test:made-${i}`, title: `Made ${i}` }));
    const byId = new Map(made.map((m) => [m.id, m]));
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 0);
    try {
      await applyToIndex(service, (ids) => new Map(ids.map((id) => [id, byId.get(id)])), [...byId.keys(), 'seed:skyecc-2021'], 0);
    } finally {
      clearInterval(ticker);
    }
    assert.ok(ticks > 0, 'timers ran while the index was updated');
    assert.equal(service.get('test:made-39')?.title, 'Made 39');
    assert.equal(service.get('seed:skyecc-2021'), undefined, 'an id nothing holds is removed');
    assert.equal(service.size, records.length - 1 + made.length);
  });
});

describe('createSourceSyncer', () => {
  let dir: string;
  let store: Store;
  let server: DatasetServer;
  let service: IncidentService;
  let syncer: SourceSyncer | undefined;
  let lines: string[];
  let canonical: Map<string, string>;

  beforeEach(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'sources-syncer-'));
    store = openStore(path.join(dir, 'bot.db'));
    server = await startDatasetServer();
    server.put('kev.json', kevCatalog([{ cve: 'CVE-2099-0001' }, { cve: 'CVE-2099-0002' }, { cve: 'CVE-2099-0003' }]));
    server.put('lines.jsonl', jsonlRecords([{ id: 'test:platypus', title: 'Platypus Outage' }]));
    canonical = new Map();
    const served = buildServed({ bundled: loadIncidentDir(BUNDLED_DATA_DIR), stored: loadAllIncidents(store) });
    service = createIncidentService(served.records, { ...served, canonical });
    lines = [];
  });
  afterEach(async () => {
    await syncer?.stop();
    syncer = undefined;
    store.close();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const start = (specs: SourceSpec[]) => {
    syncer = createSourceSyncer({
      sources: recordReposOf(store).sources,
      service,
      specs,
      canonical,
      allowPrivate: true,
      logger: quiet,
      notify: (line) => lines.push(line),
      importer: inlineImporter(store),
    });
    syncer.start();
    return syncer;
  };
  const specsFor = (entries: object[]) => parseSourceList(JSON.stringify(entries), 'test sources');

  it('merges records synced while the bot runs as start-up does: one record per real-world thing, found by every id', async () => {
    server.put('attack.json', stixBundle([{ kind: 'group', attackId: 'G9100', name: 'Platypus Panda' }]));
    const actor = '33333333-0000-4000-8000-000000000001';
    server.put(
      'actors.json',
      JSON.stringify({
        type: 'threat-actor',
        name: 'Threat actors',
        uuid: '33333333-0000-4000-8000-000000000000',
        values: [
          {
            value: 'Platypus Panda',
            uuid: actor,
            description: 'A made-up actor for tests.',
            meta: { synonyms: ['Duckbill Team'] },
            related: [{ 'dest-uuid': '00000000-0000-4000-8000-000000000100', type: 'similar' }],
          },
        ],
      }),
    );
    const before = service.size;
    const s = start(specsFor([{ name: 'attack', format: 'stix', url: server.url('attack.json') }, { name: 'actors', format: 'misp-galaxy', url: server.url('actors.json') }]));
    await s.idle();
    assert.equal(service.size, before + 1, 'the ATT&CK group and the MISP actor that is it are served as one record');
    assert.equal(service.get(`misp:threat-actor:${actor}`)?.id, 'attack:G9100', 'the merged id finds the record it lives on');
    assert.equal(service.search('duckbill team', { limit: 1 })[0]?.id, 'attack:G9100', "the actor's synonyms are the group's");
    const restart = createServedService(buildServed({ bundled: loadIncidentDir(BUNDLED_DATA_DIR), stored: loadAllIncidents(store) }));
    assert.deepEqual(service.get('attack:G9100'), restart.get('attack:G9100'), 'the live index serves what a restart would');
  });

  it('syncs never-synced sources in the background, says what it fetches, and brings their records into the live index', async () => {
    const s = start(specsFor([{ name: 'kev', title: 'Test KEV', format: 'kev', url: server.url('kev.json') }, { name: 'lines', format: 'jsonl', url: server.url('lines.jsonl') }]));
    assert.equal(service.get('kev:CVE-2099-0001'), undefined, 'start() does not wait for the sync');
    await s.idle();
    assert.equal(service.get('kev:CVE-2099-0001')?.kind, 'vulnerability');
    assert.equal(service.get('test:platypus')?.title, 'Platypus Outage');
    assert.equal(lines.length, 3, `two fetching lines and one summary: ${JSON.stringify(lines)}`);
    assert.match(lines[0], /^sources: fetching Test KEV \(\d+(\.\d)? k?B\)…$/);
    assert.match(lines[1], /^sources: fetching lines \(\d+(\.\d)? k?B\)…$/);
    assert.match(lines[2], /^sources: 2 of 2 updated \(4 new, 0 updated, 0 removed\)/);
    assert.equal(s.status().sourcesWithData, 2);
  });

  it('syncs again on the source schedule; records dropped upstream leave the index unless another layer holds them', async () => {
    // A file import also holds one of the ids: it must stay served (as the file's record) when the source drops it.
    const fileCopy = { ...loadIncidentDir(BUNDLED_DATA_DIR)[0], id: 'kev:CVE-2099-0003', title: 'CVE-2099-0003 as imported from a file' };
    store.importIncidents([fileCopy], { origin: 'file:test.jsonl', format: 'jsonl' });
    service = createIncidentService(loadAllIncidents(store));
    const s = start(specsFor([{ name: 'kev', format: 'kev', url: server.url('kev.json'), refreshHours: 0.0002 }]));
    await s.idle();
    assert.equal(service.get('kev:CVE-2099-0003')?.title, 'Quokka Pouch Gateway flaw CVE-2099-0003', 'the synced record wins over the file');
    server.put('kev.json', kevCatalog([{ cve: 'CVE-2099-0001' }, { cve: 'CVE-2099-0004' }]));
    await eventually(() => (service.get('kev:CVE-2099-0004') ? true : undefined), 'the scheduled re-sync');
    await s.idle();
    assert.equal(service.get('kev:CVE-2099-0002'), undefined, 'dropped upstream and held nowhere else: removed');
    assert.equal(service.get('kev:CVE-2099-0003')?.title, 'CVE-2099-0003 as imported from a file', 'dropped upstream but held by a file import: served from the file');
    assert.ok(service.search('CVE-2099-0002').every((h) => h.id !== 'kev:CVE-2099-0002'), 'the removed record is not found');
    assert.match(lines.at(-1) ?? '', /1 new, 0 updated, 2 removed/);
  });

  it('says in one line that there is no network, and goes on answering', async () => {
    const port = await closedPort();
    const s = start(specsFor([
      { name: 'a', format: 'kev', url: `http://127.0.0.1:${port}/a.json` },
      { name: 'b', format: 'stix', url: `http://127.0.0.1:${port}/b.json` },
      { name: 'c', format: 'jsonl', url: `http://127.0.0.1:${port}/c.jsonl` },
    ]));
    await s.idle();
    assert.equal(lines.length, 1, JSON.stringify(lines));
    assert.match(lines[0], /^sources: no network \(.*connection refused.*\); answering from the \d+ records already here/);
    assert.equal(service.answer('skyecc').status, 'found');
    assert.match(s.status().lastError ?? '', /connection refused/);
  });

  it('reports the sync in hand in its status, for the data hint, and stops mid-download without recording a failure', async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const slow: Server = createServer((req, res) => {
      void held.then(() => res.writeHead(200, { 'content-type': 'application/json' }).end(kevCatalog([{ cve: 'CVE-2099-0007' }])));
    });
    await new Promise<void>((r) => slow.listen(0, '127.0.0.1', () => r()));
    const url = `http://127.0.0.1:${(slow.address() as AddressInfo).port}/kev.json`;
    try {
      const s = start(specsFor([{ name: 'slow-kev', title: 'Slow KEV', format: 'kev', url }, { name: 'lines', format: 'jsonl', url: server.url('lines.jsonl') }]));
      await eventually(() => s.status().syncing, 'the sync to begin');
      const status = s.status();
      assert.deepEqual(status.syncing, { current: 'Slow KEV', done: 0, total: 2 });
      assert.equal(dataHint(status), 'Still loading the datasets: syncing Slow KEV… 0 of 2 sources done. Ask again in a minute.');
      assert.equal(service.answer('skyecc').status, 'found', 'answers meanwhile');
      await s.stop();
      const { SourceStore } = await import('../../src/store/source-store.js');
      assert.equal(new SourceStore(store.db).state('slow-kev'), undefined, 'a stopped download is not a failure');
    } finally {
      release();
      slow.closeAllConnections();
      await new Promise<void>((r) => slow.close(() => r()));
    }
  });
});

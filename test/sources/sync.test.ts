import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { loadAllIncidents } from '../../src/bootstrap.js';
import { FeedUrlError } from '../../src/feeds/ssrf.js';
import { createImporter, inlineImporter, type SourceImporter } from '../../src/sources/import-runner.js';
import { parseSourceList, type SourceSpec } from '../../src/sources/source-list.js';
import { syncSources, type SyncOptions } from '../../src/sources/sync.js';
import { SourceStore } from '../../src/store/source-store.js';
import { openStore, type Store } from '../../src/store/store.js';
import { recordReposOf } from '../../src/store/repos/index.js';
import { startDatasetServer, type DatasetServer } from '../support/dataset-server.js';
import { galaxyCampaigns, galaxyReferences, jsonlRecords, kevCatalog, stixBundle } from './fixtures.js';

const REF = 'aaaaaaaa-1111-4111-8111-111111111111';
const KEV3 = kevCatalog([{ cve: 'CVE-2099-0001' }, { cve: 'CVE-2099-0002' }, { cve: 'CVE-2099-0003' }]);

/** A store, a server holding the fixtures, and the specs pointing at it; torn down after each test. */
class Rig {
  dir = mkdtempSync(path.join(tmpdir(), 'sources-sync-'));
  store: Store = openStore(path.join(this.dir, 'bot.db'));
  importer: SourceImporter;
  /** `worker`: import through the real worker thread (slower to start), else on the test's thread. */
  constructor(
    readonly server: DatasetServer,
    worker = false,
  ) {
    this.importer = worker ? createImporter(this.store) : inlineImporter(this.store);
    server.put('bundle.json', stixBundle([
      { kind: 'group', attackId: 'G9100', name: 'Quokka Panda' },
      { kind: 'software', attackId: 'S9100', name: 'PouchRAT' },
      { kind: 'campaign', attackId: 'C9100', name: 'Operation Wombat' },
    ]));
    server.put('kev.json', KEV3);
    server.put('campaigns.json', galaxyCampaigns([{ id: 'C9200', name: 'Marsupial Night', cites: REF }]));
    server.put('references.json', galaxyReferences([{ uuid: REF, url: 'https://reports.example.com/marsupial' }]));
    server.put('records.jsonl', jsonlRecords([{ id: 'test:one', title: 'Platypus Outage' }]));
  }
  specs(only?: string[]): SourceSpec[] {
    const all = parseSourceList(
      JSON.stringify([
        { name: 'bundle', format: 'stix', url: this.server.url('bundle.json') },
        { name: 'kev', format: 'kev', url: this.server.url('kev.json') },
        { name: 'galaxy', format: 'misp-galaxy', url: this.server.url('campaigns.json'), references: this.server.url('references.json') },
        { name: 'lines', format: 'jsonl', url: this.server.url('records.jsonl') },
      ]),
      'test sources',
    );
    return only ? all.filter((s) => only.includes(s.name)) : all;
  }
  sync(specs = this.specs(), options: Partial<SyncOptions> = {}) {
    return syncSources(recordReposOf(this.store).sources, specs, this.importer, { allowPrivate: true, ...options });
  }
  sources() {
    return new SourceStore(this.store.db);
  }
  ids(): string[] {
    return this.sources()
      .allRecords()
      .map((i) => i.id)
      .sort();
  }
  async close() {
    await this.importer.close();
    this.store.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

describe('syncSources', () => {
  let server: DatasetServer;
  let rig: Rig;
  beforeEach(async () => {
    server = await startDatasetServer();
    rig = new Rig(server);
  });
  afterEach(async () => {
    await rig.close();
    await server.close();
  });

  it('imports every format on a first sync through the worker, each record new, with versions, the copyright notice and gzip', async () => {
    await rig.close();
    rig = new Rig(server, true);
    const report = await rig.sync();
    assert.deepEqual(report.results.map((r) => [r.name, r.status, r.added, r.error]), [
      ['bundle', 'synced', 3, undefined],
      ['kev', 'synced', 3, undefined],
      ['galaxy', 'synced', 1, undefined],
      ['lines', 'synced', 1, undefined],
    ]);
    assert.deepEqual(report.totals, { added: 8, updated: 0, unchanged: 0, removed: 0 });
    const served = new Set(loadAllIncidents(rig.store).map((i) => i.id));
    for (const id of ['attack:G9100', 'attack:S9100', 'attack:C9100', 'kev:CVE-2099-0002', 'tidal:C9200', 'test:one', 'seed:skyecc-2021']) {
      assert.ok(served.has(id), `${id} is served after the sync`);
    }
    const states = new Map(rig.sources().states().map((s) => [s.name, s]));
    assert.equal(states.get('kev')?.version, '2099.01.01');
    assert.equal(states.get('galaxy')?.version, '7');
    assert.equal(states.get('bundle')?.notice, 'Copyright 2099, Test Publisher. For tests only.');
    assert.ok(states.get('bundle')?.etag, 'the ETag is stored');
    assert.deepEqual(rig.sources().recordsById(['tidal:C9200']).get('tidal:C9200')?.sources.map((s) => s.url), ['https://reports.example.com/marsupial'], 'references resolved');
    assert.match(String(server.requests('bundle.json')[0].headers['accept-encoding']), /gzip/);
    assert.ok(report.results[0].bytes < (states.get('bundle')?.bytes ?? 0), 'the body came compressed');
  });

  it('reports every source unchanged on a second sync, through If-None-Match answered 304', async () => {
    await rig.close();
    rig = new Rig(server, true);
    await rig.sync();
    server.clearRequests();
    const report = await rig.sync();
    assert.deepEqual(report.results.map((r) => [r.name, r.status, r.notModified]), [
      ['bundle', 'unchanged', true],
      ['kev', 'unchanged', true],
      ['galaxy', 'unchanged', true],
      ['lines', 'unchanged', true],
    ]);
    assert.deepEqual(report.totals, { added: 0, updated: 0, unchanged: 8, removed: 0 });
    const requests = server.requests();
    assert.equal(requests.length, 5, 'one request per file');
    for (const r of requests) {
      assert.ok(r.headers['if-none-match'], `${r.path} was asked with If-None-Match`);
      assert.equal(r.status, 304, `${r.path} answered 304`);
    }
  });

  it('sends If-Modified-Since when the server gives only Last-Modified, and reads its 304', async () => {
    const lmServer = await startDatasetServer(undefined, { validators: 'last-modified' });
    const lm = new Rig(lmServer);
    try {
      await lm.sync(lm.specs(['kev']));
      lmServer.clearRequests();
      const report = await lm.sync(lm.specs(['kev']));
      assert.equal(report.results[0].status, 'unchanged');
      const [request] = lmServer.requests('kev.json');
      assert.ok(request.headers['if-modified-since'], 'If-Modified-Since sent');
      assert.equal(request.headers['if-none-match'], undefined);
      assert.equal(request.status, 304);
    } finally {
      await lm.close();
      await lmServer.close();
    }
  });

  it('recognises the same bytes from a server without validators, without importing them again', async () => {
    const plainServer = await startDatasetServer(undefined, { validators: 'none' });
    const plain = new Rig(plainServer);
    try {
      await plain.sync(plain.specs(['kev']));
      const before = plain.sources().state('kev');
      const report = await plain.sync(plain.specs(['kev']));
      assert.equal(report.results[0].status, 'unchanged');
      assert.equal(report.results[0].notModified, false);
      assert.equal(plain.sources().state('kev')?.lastChangedAt, before?.lastChangedAt, 'no new version recorded');
    } finally {
      await plain.close();
      await plainServer.close();
    }
  });

  it('counts updated and removed records when a version changes, and removes the dropped ones', async () => {
    await rig.sync(rig.specs(['kev']));
    server.put('kev.json', kevCatalog([{ cve: 'CVE-2099-0001' }, { cve: 'CVE-2099-0002', name: 'Quokka Pouch Gateway flaw, renamed' }, { cve: 'CVE-2099-0004' }], '2099.02.01'));
    const [r] = (await rig.sync(rig.specs(['kev']))).results;
    assert.equal(r.status, 'synced');
    assert.deepEqual([r.added, r.updated, r.unchanged, r.removed], [1, 1, 1, 1]);
    assert.deepEqual(r.removedIds, ['kev:CVE-2099-0003']);
    assert.deepEqual(r.changedIds.sort(), ['kev:CVE-2099-0002', 'kev:CVE-2099-0004']);
    assert.deepEqual(rig.ids(), ['kev:CVE-2099-0001', 'kev:CVE-2099-0002', 'kev:CVE-2099-0004']);
    assert.equal(rig.sources().state('kev')?.version, '2099.02.01');
    assert.equal(rig.sources().state('kev')?.recordCount, 3);
  });

  for (const [label, fault] of [
    ['an HTTP 500', { status: 500 }],
    ['a 404 (the source gone upstream)', { status: 404 }],
    ['a download cut mid-body', { cutAfter: 40 }],
  ] as const) {
    it(`keeps the previous version after ${label}, and records the error`, async () => {
      await rig.sync(rig.specs(['kev']));
      const before = rig.sources().state('kev')!;
      server.put('kev.json', kevCatalog([{ cve: 'CVE-2099-0009' }]));
      server.fault('kev.json', fault);
      const [r] = (await rig.sync(rig.specs(['kev']))).results;
      assert.equal(r.status, 'failed');
      assert.ok(r.error, 'the failure is described');
      assert.equal(r.records, 3, 'the result says what is kept');
      assert.deepEqual(rig.ids(), ['kev:CVE-2099-0001', 'kev:CVE-2099-0002', 'kev:CVE-2099-0003']);
      const after = rig.sources().state('kev')!;
      assert.equal(after.etag, before.etag, 'validators of the stored version kept');
      assert.equal(after.lastError, r.error);
      assert.equal(after.consecutiveFailures, 1);
      server.fault('kev.json', undefined);
      const [again] = (await rig.sync(rig.specs(['kev']))).results;
      assert.equal(again.status, 'synced', 'the next good download imports');
      assert.deepEqual(rig.ids(), ['kev:CVE-2099-0009']);
      assert.equal(rig.sources().state('kev')?.lastError, undefined, 'the error is cleared');
    });
  }

  it('keeps the previous version when the source serves a truncated file as if whole (broken JSON), the worker reporting the import error', async () => {
    await rig.close();
    rig = new Rig(server, true);
    await rig.sync(rig.specs(['bundle']));
    const whole = stixBundle([{ kind: 'group', attackId: 'G9101', name: 'Wallaby Spider' }]);
    server.fault('bundle.json', { body: whole.slice(0, Math.floor(whole.length / 2)), etag: '"half"' });
    const [r] = (await rig.sync(rig.specs(['bundle']))).results;
    assert.equal(r.status, 'failed');
    assert.equal(r.errorKind, 'import');
    assert.deepEqual(rig.ids(), ['attack:C9100', 'attack:G9100', 'attack:S9100']);
  });

  it('keeps the previous version when a new one is over the size cap', async () => {
    await rig.sync(rig.specs(['kev']));
    server.put('kev.json', kevCatalog(Array.from({ length: 50 }, (_, i) => ({ cve: `CVE-2099-${String(1000 + i)}` }))));
    const [r] = (await rig.sync(rig.specs(['kev']), { maxBytes: 2000 })).results;
    assert.equal(r.status, 'failed');
    assert.equal(r.errorKind, 'too-large');
    assert.equal(rig.ids().length, 3);
  });

  it('refuses a new version with no records at all, keeping the stored ones', async () => {
    await rig.sync(rig.specs(['kev']));
    server.put('kev.json', kevCatalog([]));
    const [r] = (await rig.sync(rig.specs(['kev']))).results;
    assert.equal(r.status, 'failed');
    assert.match(r.error ?? '', /no records.*keeping the 3/);
    assert.equal(rig.ids().length, 3);
  });

  it('keeps the records of a source whose host no longer resolves, and tries that host once per run', async () => {
    await rig.sync(rig.specs(['kev', 'lines']));
    const checked: string[] = [];
    const dnsFails = async (url: string) => {
      checked.push(url);
      throw new FeedUrlError(`${url}: cannot resolve the host (ENOTFOUND)`, 'dns');
    };
    const report = await rig.sync(rig.specs(['kev', 'lines']), { fetchHooks: { checkUrl: dnsFails } });
    assert.deepEqual(report.results.map((r) => [r.status, r.errorKind]), [['failed', 'network'], ['failed', 'network']]);
    assert.equal(checked.length, 1, 'the second source on the same host fails without a second lookup');
    assert.equal(rig.ids().length, 4, 'every record stays');
  });

  it('refuses a private URL without ALLOW_PRIVATE_FEED_URLS, and the server sees no request', async () => {
    const [r] = (await rig.sync(rig.specs(['kev']), { allowPrivate: false })).results;
    assert.equal(r.status, 'failed');
    assert.equal(r.errorKind, 'blocked');
    assert.match(r.error ?? '', /loopback.*ALLOW_PRIVATE_FEED_URLS/);
    assert.equal(server.requests().length, 0);
    assert.equal(rig.sources().state('kev')?.recordCount, 0);
  });

  it('fetches both files of a galaxy source when only its references changed, and imports the new citations', async () => {
    await rig.sync(rig.specs(['galaxy']));
    server.clearRequests();
    server.put('references.json', galaxyReferences([{ uuid: REF, url: 'https://reports.example.com/marsupial-v2' }]));
    const [r] = (await rig.sync(rig.specs(['galaxy']))).results;
    assert.equal(r.status, 'synced');
    assert.equal(r.updated, 1);
    assert.deepEqual(server.requests('campaigns.json').map((q) => q.status), [304, 200], 'the unchanged campaigns file is fetched again in full');
    assert.deepEqual(rig.sources().recordsById(['tidal:C9200']).get('tidal:C9200')?.sources.map((s) => s.url), ['https://reports.example.com/marsupial-v2']);
  });

  it('downloads afresh when a source moves to another URL, without the old validators', async () => {
    await rig.sync(rig.specs(['kev']));
    server.put('kev-mirror.json', KEV3);
    server.clearRequests();
    const moved = rig.specs(['kev']).map((s) => ({ ...s, url: server.url('kev-mirror.json') }));
    const [r] = (await rig.sync(moved)).results;
    assert.equal(server.requests('kev-mirror.json')[0].headers['if-none-match'], undefined);
    assert.equal(r.status, 'synced');
    assert.equal(r.unchanged, 3, 'same records, counted unchanged');
    assert.equal(rig.sources().state('kev')?.url, server.url('kev-mirror.json'));
  });

  it('--force downloads a current source again', async () => {
    await rig.sync(rig.specs(['lines']));
    server.clearRequests();
    const [r] = (await rig.sync(rig.specs(['lines']), { force: true })).results;
    assert.equal(server.requests('records.jsonl')[0].status, 200);
    assert.equal(r.status, 'synced');
    assert.equal(r.unchanged, 1);
  });
});

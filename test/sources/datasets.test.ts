import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { loadService, snapshotPathFor } from '../../src/bootstrap.js';
import { runSourcesCli } from '../../src/sources/cli.js';
import { parseSourceList, type SourceSpec } from '../../src/sources/source-list.js';
import { SourceStore } from '../../src/store/source-store.js';
import { openStore, type Store } from '../../src/store/store.js';
import { createImporter } from '../../src/sources/import-runner.js';
import { recordReposOf } from '../../src/store/repos/index.js';
import { startDatasetServer, type DatasetServer } from '../support/dataset-server.js';

const RAW = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../shared/datasets/raw');
const skip = existsSync(RAW) ? false : `${RAW} is absent (a clone without ../shared): the real datasets cannot be served`;

/** Records each default source holds once synced from the shared copies (ATT&CK v18.1, KEV 2025.08.25, MISP 9434ace4). */
const EXPECTED: Record<string, number> = {
  'attack-enterprise': 1008,
  'attack-ics': 44,
  'attack-mobile': 142,
  'cisa-kev': 1404,
  'misp-tidal-campaigns': 79,
};
/**
 * Sources whose galaxy types wait for their importers (threat actors, ransomware). Each must either sync (once the
 * importer exists: then it must hold records) or fail for exactly that reason; any other failure fails the test.
 */
const AWAITING_IMPORTER: Record<string, RegExp> = {
  'misp-threat-actor': /galaxy type "threat-actor" is not supported/,
  'misp-ransomware': /galaxy type "ransomware" is not supported/,
};

describe('sources sync of the real datasets, served locally', { skip }, () => {
  let dir: string;
  let server: DatasetServer;
  let store: Store;
  let specs: SourceSpec[];
  const run = async (args: string[]) => {
    let out = '';
    const code = await runSourcesCli(args, { sources: recordReposOf(store).sources, importer: createImporter(store), specs, allowPrivate: true, write: (t) => void (out += t), isTTY: false });
    return { code, out };
  };

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'sources-datasets-'));
    server = await startDatasetServer(RAW);
    store = openStore(path.join(dir, 'bot.db'));
    // The default list's shape, pointed at the local server (the shared copies keep their download names).
    specs = parseSourceList(
      JSON.stringify([
        { name: 'attack-enterprise', format: 'stix', url: server.url('enterprise-attack.json') },
        { name: 'attack-ics', format: 'stix', url: server.url('ics-attack.json') },
        { name: 'attack-mobile', format: 'stix', url: server.url('mobile-attack.json') },
        { name: 'cisa-kev', format: 'kev', url: server.url('known_exploited_vulnerabilities.json') },
        {
          name: 'misp-tidal-campaigns',
          format: 'misp-galaxy',
          url: server.url('misp-galaxy-tidal-campaigns.json'),
          references: server.url('misp-galaxy-tidal-references.json'),
        },
        { name: 'misp-threat-actor', format: 'misp-galaxy', url: server.url('misp-galaxy-threat-actor.json') },
        { name: 'misp-ransomware', format: 'misp-galaxy', url: server.url('misp-galaxy-ransomware.json') },
      ]),
      'test sources',
    );
  });
  after(async () => {
    store?.close();
    await server?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('loads every source from empty, one line per source and a summary', async () => {
    const { code, out } = await run(['sync']);
    const lines = out.trim().split('\n');
    assert.equal(lines.length, specs.length + 1, out);
    const states = new Map(new SourceStore(store.db).states().map((s) => [s.name, s]));
    for (const [name, count] of Object.entries(EXPECTED)) {
      assert.equal(states.get(name)?.recordCount, count, `${name}: ${out}`);
      assert.match(out, new RegExp(`^${name}: ${count.toLocaleString('en')} records.*: ${count.toLocaleString('en')} new, 0 updated, 0 unchanged, 0 removed`, 'm'));
    }
    let failures = 0;
    for (const [name, reason] of Object.entries(AWAITING_IMPORTER)) {
      const state = states.get(name);
      if (state?.lastChangedAt !== undefined) assert.ok(state.recordCount > 0, `${name} synced with records`);
      else {
        failures++;
        assert.match(state?.lastError ?? '', reason, `${name} fails only for want of its importer`);
      }
    }
    assert.equal(code, failures ? 1 : 0, 'the exit code says whether a source failed');
    assert.match(lines.at(-1)!, new RegExp(`^7 sources: ${7 - failures} synced, 0 unchanged, ${failures} failed`));
    assert.ok(existsSync(snapshotPathFor(store.path)!), 'the index snapshot was written for the next start');
    const logs: string[] = [];
    const served = await loadService(store, pino({ level: 'info' }, { write: (line: string) => void logs.push(line) }));
    assert.deepEqual(logs.filter((l) => /rebuilding/.test(l)), [], 'the next start loads the snapshot instead of rebuilding');
    for (const id of ['attack:G0007', 'attack:C0024', 'attack:G0016', 'attack:S1125', 'kev:CVE-2021-34527', 'kev:CVE-2021-44228']) {
      assert.ok(served.get(id), `${id} is served`);
    }
  });

  it('reports every source unchanged on a second sync, the server having answered 304 to conditional GETs', async () => {
    server.clearRequests();
    const { out } = await run(['sync']);
    const synced = Object.keys(EXPECTED).concat(Object.keys(AWAITING_IMPORTER).filter((n) => new SourceStore(store.db).state(n)?.lastChangedAt !== undefined));
    for (const name of synced) assert.match(out, new RegExp(`^${name}: unchanged \\(304 Not Modified\\)`, 'm'));
    const files = synced.flatMap((name) => {
      const spec = specs.find((s) => s.name === name)!;
      return [spec.url, ...(spec.references ? [spec.references] : [])].map((u) => new URL(u).pathname.slice(1));
    });
    for (const file of files) {
      const [request] = server.requests(file);
      assert.ok(request?.headers['if-none-match'] && request.headers['if-modified-since'], `${file} asked conditionally`);
      assert.equal(request.status, 304, `${file} answered 304`);
    }
    assert.match(out, /Records: 0 new, 0 updated, [\d,]+ unchanged, 0 removed/);
  });
});

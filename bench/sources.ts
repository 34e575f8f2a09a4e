/**
 * Source sync bench: the default sources served locally from ../shared/datasets/raw, synced from an empty store
 * (figure per source, then the total with the index snapshot), a second sync (every file 304), and the background
 * sync of a running bot into its live index, with the longest event-loop stall seen meanwhile.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { loadAllIncidents } from '../src/bootstrap.js';
import { createIncidentService } from '../src/core/create-service.js';
import { createImporter } from '../src/sources/import-runner.js';
import { parseSourceList, type SourceSpec } from '../src/sources/source-list.js';
import { syncSources, type SyncReport } from '../src/sources/sync.js';
import { createSourceSyncer } from '../src/sources/syncer.js';
import { openStore } from '../src/store/store.js';
import { recordReposOf } from '../src/store/repos/index.js';
import { startDatasetServer } from '../test/support/dataset-server.js';

const raw = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../shared/datasets/raw');

/** The default list's shape, pointed at a local server (the shared copies keep their download names). */
export function localSpecs(url: (file: string) => string): SourceSpec[] {
  return parseSourceList(
    JSON.stringify([
      { name: 'attack-enterprise', format: 'stix', url: url('enterprise-attack.json') },
      { name: 'attack-ics', format: 'stix', url: url('ics-attack.json') },
      { name: 'attack-mobile', format: 'stix', url: url('mobile-attack.json') },
      { name: 'cisa-kev', format: 'kev', url: url('known_exploited_vulnerabilities.json') },
      { name: 'misp-tidal-campaigns', format: 'misp-galaxy', url: url('misp-galaxy-tidal-campaigns.json'), references: url('misp-galaxy-tidal-references.json') },
      { name: 'misp-threat-actor', format: 'misp-galaxy', url: url('misp-galaxy-threat-actor.json') },
      { name: 'misp-ransomware', format: 'misp-galaxy', url: url('misp-galaxy-ransomware.json') },
    ]),
    'bench sources',
  );
}

function printReport(label: string, report: SyncReport): void {
  console.log(`  ${label}: ${(report.ms / 1000).toFixed(2)} s`);
  for (const r of report.results) {
    const what = r.status === 'failed' ? `failed (${(r.error ?? '').slice(0, 70)})` : r.status === 'unchanged' ? `unchanged${r.notModified ? ' (304)' : ''}` : `${r.records} records`;
    console.log(`    ${r.name.padEnd(22)} ${`${Math.round(r.ms)} ms`.padStart(8)}  ${what}`);
  }
}

/** Runs the source sync bench; prints figures, asserts nothing. */
export async function benchSources(): Promise<void> {
  if (!existsSync(raw)) {
    console.log(`  (${raw} not found: skipped)`);
    return;
  }
  const server = await startDatasetServer(raw);
  const specs = localSpecs(server.url);
  // Warm the server's caches (files read and gzipped once), so its work is not counted as the sync's.
  await Promise.all(specs.flatMap((s) => [s.url, ...(s.references ? [s.references] : [])]).map((u) => fetch(u, { headers: { 'accept-encoding': 'gzip' } }).then((r) => r.arrayBuffer())));
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-sources-'));
  try {
    // As `npm run cli -- sources sync` does it: the worker parses and writes, then rebuilds the index snapshot.
    const store = openStore(path.join(dir, 'cli.db'));
    const importer = createImporter(store);
    const first = await syncSources(recordReposOf(store).sources, specs, importer, { allowPrivate: true });
    let t = performance.now();
    await importer.writeSnapshot();
    const snapshotMs = performance.now() - t;
    printReport('full sync from empty', first);
    console.log(`  index snapshot after it: ${(snapshotMs / 1000).toFixed(2)} s (total ${((first.ms + snapshotMs) / 1000).toFixed(2)} s)`);
    const second = await syncSources(recordReposOf(store).sources, specs, importer, { allowPrivate: true });
    printReport('second sync', second);
    await importer.close();
    store.close();

    // As a running bot does it: in the background, feeding the live index, while the event loop is watched.
    const live = openStore(path.join(dir, 'bot.db'));
    const service = createIncidentService(loadAllIncidents(live));
    const lag = monitorEventLoopDelay({ resolution: 10 });
    lag.enable();
    t = performance.now();
    const syncer = createSourceSyncer({
      sources: recordReposOf(live).sources,
      importer: createImporter(live),
      service,
      specs,
      allowPrivate: true,
      logger: pino({ level: 'silent' }),
      notify: () => {},
    });
    syncer.start();
    await syncer.idle();
    const ms = performance.now() - t;
    lag.disable();
    console.log(
      `  background sync into the live index: ${(ms / 1000).toFixed(2)} s, ${service.size} records served; ` +
        `event loop delay max ${(lag.max / 1e6).toFixed(0)} ms, p99 ${(lag.percentile(99) / 1e6).toFixed(0)} ms`,
    );
    await syncer.stop();
    live.close();
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * `node --expose-gc --import tsx bench/served.ts`: what merging and the graph add to start-up (`buildServed`, run by
 * every entry point before the index), and what finding introduced names costs at import, at the size of everything
 * synced (~6,000 records: ATT&CK, KEV, Tidal, MISP threat actors and ransomware) and at ~100k records (real records
 * perturbed, as the index bench scales). Times are CPU milliseconds (steady under a busy machine). The first run in a
 * fresh process is what start-up pays (cold JIT). Figures are printed, never asserted.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Incident } from '../src/core/incident.js';
import { BUNDLED_DATA_DIR, loadIncidentDir } from '../src/core/load-data.js';
import { buildServed, GRAPH_AT_ONCE_RECORDS, servedFromStored, type ServedData } from '../src/core/served.js';
import { namesIntroduced } from '../src/core/text-aliases.js';
import { importFile } from '../src/importers/index.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const raw = path.resolve(root, '../shared/datasets/raw');
const R = (name: string) => path.join(raw, name);

function jsonlRecords(): Incident[] {
  return importFile('auto', [path.resolve(raw, '../incidents.jsonl')]);
}

function rawRecords(): Incident[] {
  return [
    ...importFile('stix', [R('enterprise-attack.json'), R('ics-attack.json'), R('mobile-attack.json')]),
    ...importFile('auto', [R('known_exploited_vulnerabilities.json')]),
    ...importFile('misp-galaxy', [R('misp-galaxy-tidal-campaigns.json'), R('misp-galaxy-tidal-references.json')]),
    ...importFile('auto', [R('misp-galaxy-threat-actor.json')]),
    ...importFile('auto', [R('misp-galaxy-ransomware.json')]),
  ];
}

// Copies with new ids and names, tags kept (so relations resolve as in real data), as the index bench scales up.
function scaleUp(base: readonly Incident[], n: number): Incident[] {
  const out: Incident[] = [...base];
  for (let k = 1; out.length < n; k++) {
    for (const r of base) {
      if (out.length >= n) break;
      out.push({ ...r, id: `${r.id}~${k}`, title: `${r.title} v${k}`, aliases: r.aliases.map((a) => `${a} v${k}`), sameAs: undefined, related: [] });
    }
  }
  return out;
}

const cpuMs = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
};

async function report(label: string, bundled: Incident[], files: Incident[]): Promise<void> {
  const f = (t: ServedData['timings']) =>
    `${(t.union + t.merge + t.graph).toFixed(0)} ms (union ${t.union.toFixed(0)}, merge ${t.merge.toFixed(0)}, graph ${t.graph.toFixed(0)})`;
  const runs: ServedData['timings'][] = [];
  let last: ServedData | undefined;
  for (let i = 0; i < 4; i++) {
    (globalThis as { gc?: () => void }).gc?.();
    last = buildServed({ bundled, files });
    runs.push(last.timings);
  }
  // Start-up's way: records merged before the prompt, the graph after it in slices; the longest slice is what an
  // interaction may wait behind.
  (globalThis as { gc?: () => void }).gc?.();
  const background = buildServed({ bundled, files }, { background: true });
  let longest = 0;
  let turns = 0;
  const probe = setInterval(() => {}, 1);
  let at = performance.now();
  const watch = setInterval(() => {
    const now = performance.now();
    longest = Math.max(longest, now - at);
    at = now;
    turns++;
  }, 0);
  await background.graphReady;
  clearInterval(watch);
  clearInterval(probe);
  // Start-up when nothing changed: merges and graph from the stored relations.
  // (The store reads its table in key order; an array in the graph's order stands in for it here.)
  const relations = [...last!.graph.relations()];
  const labels = [...last!.graph.labelled()];
  const position = new Map(relations.map((r, i) => [r, i]));
  (globalThis as { gc?: () => void }).gc?.();
  const fromStored = servedFromStored(
    { bundled, files },
    {
      sameAs: relations.filter((r) => r.type === 'same-as'),
      size: relations.length,
      slice: (after, limit) => relations.slice(after ? position.get(after)! + 1 : 0, (after ? position.get(after)! + 1 : 0) + limit),
      labels: () => labels,
    },
  );
  const beforePrompt = fromStored.timings.union + fromStored.timings.merge + (relations.length <= GRAPH_AT_ONCE_RECORDS ? fromStored.timings.graph : 0);
  await fromStored.graphReady;
  const fromStore = fromStored.timings;
  // Names the texts introduce are added at import; their cost there, over the same records.
  const t0 = cpuMs();
  let names = 0;
  for (const r of files) names += namesIntroduced(r).length;
  const namesMs = cpuMs() - t0;
  console.log(`\n${label}: ${files.length.toLocaleString('en')} records in, ${last!.records.length.toLocaleString('en')} served`);
  console.log(`  merges ${last!.merges.length}, relations ${last!.graph.size.toLocaleString('en')}`);
  console.log(`  first run: ${f(runs[0])}; best of 3 after: ${f(runs.slice(1).reduce((a, b) => (a.union + a.merge + a.graph <= b.union + b.merge + b.graph ? a : b)))}`);
  const atOnce = files.length <= GRAPH_AT_ONCE_RECORDS;
  const t = background.timings;
  console.log(
    atOnce
      ? `  start-up (graph at once up to ${GRAPH_AT_ONCE_RECORDS} records): ${(t.union + t.merge + t.graph).toFixed(0)} ms before the prompt`
      : `  start-up (graph in background): ${(t.union + t.merge).toFixed(0)} ms before the prompt; graph ${t.graph.toFixed(0)} ms after it, longest turn ${longest.toFixed(0)} ms (wall) over ${turns} turns`,
  );
  console.log(
    `  start-up from stored relations: ${beforePrompt.toFixed(0)} ms before the prompt (union ${fromStore.union.toFixed(0)}, merges redone ${fromStore.merge.toFixed(0)}, graph read ${fromStore.graph.toFixed(0)})`,
  );
  console.log(`  import-time names scan over these records: ${namesMs.toFixed(0)} ms (${names} still unclaimed: added at import already)`);
}

if (!existsSync(R('enterprise-attack.json'))) {
  console.log(`(${raw} not found: nothing to measure)`);
} else {
  const bundled = loadIncidentDir(BUNDLED_DATA_DIR);
  const base = rawRecords();
  await report('all raw files', bundled, base);
  if (!process.env.BENCH_SERVED_SMALL) {
    // As the index bench scales: incidents.jsonl (ATT&CK, KEV, Tidal; nothing to merge), perturbed to 100k.
    await report('incidents.jsonl scaled to 100k', bundled, scaleUp(jsonlRecords(), 100_000));
    await report('all raw files scaled to 100k (MISP copies merge too)', bundled, scaleUp(base, 100_000));
  }
}

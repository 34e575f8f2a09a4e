/**
 * Prints the heap (MB) one engine holds once built over `n` records, measured in a process of its own so that no
 * other engine's garbage is counted or freed in its figure. Run by bench.ts:
 * `node --expose-gc --import tsx bench/heap-probe.ts <ours|minisearch|flexsearch> <n>`.
 */
import { createIncidentService } from '../src/core/create-service.js';
import { PlainMiniSearch } from '../src/eval/baseline.js';
import { baseRecords, heapMb, scaleUp } from './corpus.js';
import { FlexSearchBaseline } from './flexsearch-baseline.js';

const [engine, size] = process.argv.slice(2);
const records = scaleUp(baseRecords(), Number(size));
const build = { ours: () => createIncidentService(records), minisearch: () => new PlainMiniSearch(records), flexsearch: () => new FlexSearchBaseline(records) }[engine];
if (!build) throw new Error(`unknown engine "${engine}": ours, minisearch or flexsearch`);
const before = heapMb();
const built = build();
const after = heapMb();
void built;
process.stdout.write(`${(after - before).toFixed(1)}\n`);

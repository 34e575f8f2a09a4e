import { Graph } from './graph.js';
import type { Incident } from './incident.js';
import { mergeSameThings, unionSameIds, type MergeEvidence } from './merge.js';
import { RelationExtractor, type StoryPost } from './relations.js';
import { addIntroducedNames } from './text-aliases.js';

/**
 * Bump when merging, name extraction or relation extraction changes what is served from the same inputs: start-up
 * keys its index snapshot and the stored relations on it.
 */
export const SERVED_VERSION = 1;

/** Where served records come from, lowest precedence first: a later place wins a same-id record's single fields. */
export interface ServedInputs {
  /** The project's own records (`data/incidents`). */
  bundled: readonly Incident[];
  /** Everything in the store: imported files, synced sources, feed stories. */
  stored?: readonly Incident[];
  /** Records read from files for this run (`--data`, `INCIDENT_DATA` read without importing). */
  files?: readonly Incident[];
  /** Feed posts and the stories they report. */
  posts?: readonly StoryPost[];
}

/** What every entry point serves: one record per real-world thing, the graph over them, and how ids resolve. */
export interface ServedData {
  records: Incident[];
  graph: Graph;
  /** Every id merged into another record -> the id it is served as. */
  canonical: ReadonlyMap<string, string>;
  /** Extends the graph as records arrive later (feed stories upserted into the live index). */
  extractor: RelationExtractor;
  /** The merges made, for reports and tests. */
  merges: MergeEvidence[];
  /** Aliases added from the records' texts ("also known as X"). */
  namesAdded: number;
  /** Time taken per step, in milliseconds. */
  timings: { union: number; merge: number; names: number; graph: number };
}

/**
 * Returns the records to serve and their graph, the same way for every entry point (start-up, `ask`, `search`,
 * `eval`): records with one id from several places become one (`unionSameIds`); records of one real-world thing
 * become one, kept under its ATT&CK id (`mergeSameThings`); names the texts introduce become aliases
 * (`addIntroducedNames`); then the relations are extracted and resolved to the served ids (`extractRelations`).
 */
export function buildServed(inputs: ServedInputs): ServedData {
  const t0 = performance.now();
  const all = unionSameIds([...inputs.bundled, ...(inputs.stored ?? []), ...(inputs.files ?? [])]);
  const t1 = performance.now();
  const merged = mergeSameThings(all);
  const t2 = performance.now();
  const named = addIntroducedNames(merged.records);
  const t3 = performance.now();
  const extractor = new RelationExtractor(named.records, merged.canonical);
  const { relations, labels } = extractor.extract(named.records, inputs.posts ?? []);
  const graph = Graph.build(relations, labels);
  const t4 = performance.now();
  return {
    records: named.records,
    graph,
    extractor,
    canonical: merged.canonical,
    merges: merged.merges,
    namesAdded: named.added,
    timings: { union: t1 - t0, merge: t2 - t1, names: t3 - t2, graph: t4 - t3 },
  };
}

/** Returns the id a record is served as: itself, or the record it was merged into. */
export function canonicalId(served: Pick<ServedData, 'canonical'>, id: string): string {
  return served.canonical.get(id) ?? id;
}

/** What the service needs besides the records to answer from the graph and resolve merged ids. */
export type Knowledge = Pick<ServedData, 'graph' | 'canonical' | 'extractor'>;

import { setImmediate as nextTurn } from 'node:timers/promises';
import { Graph } from './graph.js';
import type { Incident } from './incident.js';
import { applyMerges, mergeSameThings, unionSameIds, type MergeEvidence } from './merge.js';
import type { Relation } from './graph.js';
import { RelationExtractor, type StoryPost } from './relations.js';

/**
 * Bump when merging or relation extraction changes what is served from the same inputs: start-up keys its index
 * snapshot and the stored relations on it.
 */
export const SERVED_VERSION = 1;

/** Records the graph is extended by per turn of the event loop when it is built in the background. */
export const GRAPH_SLICE_RECORDS = 2_500;
/**
 * Up to this many records the graph is built at once even when `background` is asked for (about 100 ms at 6,000
 * records): the first answers then have their related records, and no interaction can wait long behind it.
 */
export const GRAPH_AT_ONCE_RECORDS = 15_000;

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
  /** The knowledge graph; when built in the background it fills until `graphReady` resolves. */
  graph: Graph;
  /** Resolves when every relation is in `graph`. */
  graphReady: Promise<void>;
  /** Extends the graph as records arrive later (feed stories upserted into the live index). */
  extractor: RelationExtractor;
  /** Every id merged into another record -> the id it is served as. */
  canonical: ReadonlyMap<string, string>;
  /** Feed posts that report a story other than their own (lists of what is new draw on them). */
  posts?: readonly StoryPost[];
  /** The merges made, for reports and tests. */
  merges: MergeEvidence[];
  /** Time taken per step, in milliseconds of CPU (wall time swings with the machine's load; CPU time does not). */
  timings: { union: number; merge: number; graph: number };
}

/** What the service needs besides the records to answer from the graph and resolve merged ids. */
export type Knowledge = Pick<ServedData, 'graph' | 'canonical' | 'extractor' | 'posts'>;

/**
 * Returns the records to serve and their graph, the same way for every entry point (start-up, `ask`, `search`,
 * `eval`): records with one id from several places become one (`unionSameIds`), records of one real-world thing
 * become one, kept under its ATT&CK id (`mergeSameThings`), then the relations are extracted and resolved to the
 * served ids (`RelationExtractor`). With `background` and more than GRAPH_AT_ONCE_RECORDS records, the graph is built
 * after this returns, a slice of records per turn of the event loop (100k records would otherwise hold start-up and
 * the loop for a second); answers made meanwhile just have fewer related records.
 */
export function buildServed(inputs: ServedInputs, options: { background?: boolean } = {}): ServedData {
  const t0 = cpuMs();
  const all = unionSameIds([...inputs.bundled, ...(inputs.stored ?? []), ...(inputs.files ?? [])]);
  const t1 = cpuMs();
  const merged = mergeSameThings(all);
  const t2 = cpuMs();
  const records = merged.records;
  const graph = new Graph();
  const timings = { union: t1 - t0, merge: t2 - t1, graph: 0 };
  const posts = inputs.posts ?? [];
  if (!options.background || records.length <= GRAPH_AT_ONCE_RECORDS) {
    const extractor = new RelationExtractor(records, merged.canonical);
    extend(graph, extractor, records, posts);
    timings.graph = cpuMs() - t2;
    return { records, graph, graphReady: Promise.resolve(), extractor, canonical: merged.canonical, posts, merges: merged.merges, timings };
  }
  const extractor = new RelationExtractor([], merged.canonical);
  const graphReady = (async () => {
    for (let i = 0; i < records.length; i += GRAPH_SLICE_RECORDS) {
      await nextTurn();
      const t = cpuMs();
      extractor.add(records.slice(i, i + GRAPH_SLICE_RECORDS));
      timings.graph += cpuMs() - t;
    }
    for (let i = 0; i < records.length || i === 0; i += GRAPH_SLICE_RECORDS) {
      await nextTurn();
      const t = cpuMs();
      extend(graph, extractor, records.slice(i, i + GRAPH_SLICE_RECORDS), i === 0 ? posts : []);
      timings.graph += cpuMs() - t;
    }
  })();
  return { records, graph, graphReady, extractor, canonical: merged.canonical, posts, merges: merged.merges, timings };
}

/** Relations stored for the current inputs, read a slice at a time in key order (implemented by the store). */
export interface StoredRelations {
  /** The `same-as` relations: the merges, needed before anything is served. */
  sameAs: Relation[];
  /** How many relations are stored. */
  size: number;
  /** Up to `limit` relations after `after` (all from the start when absent), in key order. */
  slice(after: Relation | undefined, limit: number): Relation[];
  /** The labels of the nodes that are not records. */
  labels(): Array<[string, string]>;
}

/**
 * Returns what `buildServed` returns for the same inputs, from the relations stored for them (see `saveRelations`):
 * the merges are redone from the stored `same-as` relations instead of being decided again, and the graph is read
 * instead of extracted (at once up to GRAPH_AT_ONCE_RECORDS relations, else in slices after this returns, as
 * `buildServed` does). Start-up uses it when nothing changed since the relations were stored.
 */
export function servedFromStored(inputs: ServedInputs, stored: StoredRelations): ServedData {
  const t0 = cpuMs();
  const all = unionSameIds([...inputs.bundled, ...(inputs.stored ?? []), ...(inputs.files ?? [])]);
  const t1 = cpuMs();
  const canonical = new Map<string, string>();
  for (const r of stored.sameAs) canonical.set(r.to, r.from);
  const records = applyMerges(all, canonical);
  const t2 = cpuMs();
  const timings = { union: t1 - t0, merge: t2 - t1, graph: 0 };
  const { graph, graphReady } = graphFromStored(stored, timings);
  return { records, graph, graphReady, extractor: new RelationExtractor(records, canonical), canonical, posts: inputs.posts ?? [], merges: [], timings };
}

/**
 * Returns the graph the stored relations hold: read at once up to GRAPH_AT_ONCE_RECORDS relations, else in slices
 * after this returns (`graphReady` resolves when all are in), adding the CPU time spent to `timings.graph`.
 */
export function graphFromStored(stored: StoredRelations, timings: { graph: number } = { graph: 0 }): { graph: Graph; graphReady: Promise<void> } {
  const graph = Graph.build([], stored.labels());
  const read = (after: Relation | undefined) => {
    const t = cpuMs();
    const batch = stored.slice(after, GRAPH_SLICE_RELATIONS);
    graph.add(batch);
    timings.graph += cpuMs() - t;
    return batch;
  };
  if (stored.size <= GRAPH_AT_ONCE_RECORDS) {
    for (let batch = read(undefined); batch.length === GRAPH_SLICE_RELATIONS; ) batch = read(batch[batch.length - 1]);
    return { graph, graphReady: Promise.resolve() };
  }
  const graphReady = (async () => {
    let after: Relation | undefined;
    for (;;) {
      await nextTurn();
      const batch = read(after);
      if (batch.length < GRAPH_SLICE_RELATIONS) break;
      after = batch[batch.length - 1];
    }
  })();
  return { graph, graphReady };
}

/** Relations read from the store per slice. */
const GRAPH_SLICE_RELATIONS = 5_000;

function extend(graph: Graph, extractor: RelationExtractor, records: readonly Incident[], posts: readonly StoryPost[]): void {
  const { relations, labels } = extractor.extract(records, posts);
  graph.add(relations);
  for (const [id, label] of labels) graph.setLabel(id, label);
}

function cpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

import { createHash } from 'node:crypto';
import MiniSearch, { type Options } from 'minisearch';
import type SearchableMap from 'minisearch/SearchableMap';
import { LazyNode, termPairs, termRuns, type TreeNode } from './lazy-term-tree.js';
import type { Steps } from './steps.js';

/** Bumped whenever the snapshot layout or the index options change: an older snapshot is rebuilt, never misread. */
export const SNAPSHOT_VERSION = 3;

/**
 * The snapshot's first characters: format, version and the SHA-256 of everything after them. Valid JSON still, so
 * the whole snapshot parses as one object; the checksum is found without parsing.
 */
const HEADER = /^\{"format":"incident-index","version":(\d+),"sha256":"([0-9a-f]{64})",/;

/** The minisearch 7 internals a snapshot writes and restores (the library is pinned; the round trip is tested). */
interface MiniState {
  _index: SearchableMap<Map<number, Map<number, number>>>;
  _documentCount: number;
  _nextId: number;
  _dirtCount: number;
  _documentIds: Map<number, string>;
  _idToShortId: Map<string, number>;
  _fieldIds: Record<string, number>;
  _fieldLength: Map<number, number[]>;
  _avgFieldLength: number[];
}

/** The counts a snapshot's head restores (both the JSON and the parts form carry them). */
interface SnapshotHead {
  fields: readonly string[];
  documentCount: number;
  nextId: number;
  dirtCount: number;
  averageFieldLength: number[];
}

/** Returns a minisearch index with the snapshot head's counts and nothing else yet, or SnapshotError when it was written with other fields. */
function emptyIndexOf<T>(head: SnapshotHead, options: Options<T>): { mini: MiniSearch<T>; s: MiniState } {
  if (head.fields.join(',') !== options.fields.join(',')) {
    throw new SnapshotError('index snapshot was written with other fields: load it with the options used when writing it, or rebuild it');
  }
  const mini = new MiniSearch<T>(options);
  const s = mini as unknown as MiniState;
  s._documentCount = head.documentCount;
  s._nextId = head.nextId;
  s._dirtCount = head.dirtCount;
  s._avgFieldLength = head.averageFieldLength;
  return { mini, s };
}

/** The snapshot as stored: posting lists are compact strings, decoded per term on first use. */
interface SnapshotJson {
  format: 'incident-index';
  version: number;
  /** SHA-256 (hex) of the snapshot text after the header (see HEADER). */
  sha256: string;
  fields: string[];
  documentCount: number;
  nextId: number;
  dirtCount: number;
  averageFieldLength: number[];
  /** shortId, id, shortId, id, ... */
  documentIds: (number | string)[];
  /** shortId followed by one length per field, repeated. */
  fieldLength: number[];
  /** term, postings, term, postings, ... (postings: `field:doc,freq,doc,freq|field:...` in base 36). */
  terms: string[];
}

/** Returns a term's postings in the snapshot's compact form: `field:doc,freq,doc,freq|field:...`, in base 36. */
function postingsText(fields: Map<number, Map<number, number>>): string {
  const parts: string[] = [];
  for (const [fieldId, docs] of fields) {
    const nums: string[] = [];
    for (const [doc, freq] of docs) nums.push(doc.toString(36), freq.toString(36));
    parts.push(`${fieldId.toString(36)}:${nums.join(',')}`);
  }
  return parts.join('|');
}

/**
 * Returns a snapshot of a minisearch index built with `options`, in the compact lazily-decoded form, led by a
 * checksum of its own content.
 */
export function writeSnapshot(mini: MiniSearch<never> | MiniSearch<any>, options: Options<any>): string {
  const s = mini as unknown as MiniState;
  const documentIds: (number | string)[] = [];
  for (const [shortId, id] of s._documentIds) documentIds.push(shortId, id);
  const fieldLength: number[] = [];
  for (const [shortId, lengths] of s._fieldLength) {
    fieldLength.push(shortId);
    for (let f = 0; f < options.fields.length; f++) fieldLength.push(lengths[f] ?? 0);
  }
  const terms: string[] = [];
  for (const [term, fields] of s._index) terms.push(term, postingsText(fields));
  const content: Omit<SnapshotJson, 'format' | 'version' | 'sha256'> = {
    fields: options.fields,
    documentCount: s._documentCount,
    nextId: s._nextId,
    dirtCount: s._dirtCount,
    averageFieldLength: s._avgFieldLength,
    documentIds,
    fieldLength,
    terms,
  };
  const rest = JSON.stringify(content).slice(1); // the members and the closing brace
  return `{"format":"incident-index","version":${SNAPSHOT_VERSION},"sha256":"${sha256(rest)}",${rest}`;
}

/**
 * A minisearch index as the served snapshot stores it: the same content as the JSON snapshot, but as typed arrays
 * and two long strings, so that loading parses no JSON (at 100k records JSON.parse alone took over 100 ms) and the
 * file stores the text once, as UTF-8. It carries no checksum: the served snapshot's covers it.
 */
export interface IndexParts {
  fields: string[];
  documentCount: number;
  nextId: number;
  dirtCount: number;
  averageFieldLength: number[];
  /** The documents' short ids, in minisearch's order; `ids` holds their ids, in the same order. */
  shortIds: Uint32Array;
  ids: string[];
  /** One length per field for each document, in the order of `shortIds`. */
  fieldLength: Uint32Array;
  /** Every term, one after another, in the tree's order; the `i`th ends at `termEnds[i]`. */
  terms: string;
  termEnds: Uint32Array;
  /** Each term's postings (see `postingsText`), one after another; the `i`th ends at `postingEnds[i]`. */
  postings: string;
  postingEnds: Uint32Array;
}

/** Terms written per step: a few milliseconds of work (see `snapshotPartsSteps`). */
const TERMS_PER_STEP = 2_000;

/** Returns the parts of a minisearch index built with `options`, yielding between steps (see `Steps`). */
export function* snapshotPartsSteps(mini: MiniSearch<never> | MiniSearch<any>, options: Options<any>): Steps<IndexParts> {
  const s = mini as unknown as MiniState;
  const shortIds = new Uint32Array(s._documentIds.size);
  const ids: string[] = [];
  for (const [shortId, id] of s._documentIds) shortIds[ids.push(id) - 1] = shortId;
  const fields = options.fields.length;
  const fieldLength = new Uint32Array(shortIds.length * fields);
  shortIds.forEach((shortId, d) => {
    const lengths = s._fieldLength.get(shortId) ?? [];
    for (let f = 0; f < fields; f++) fieldLength[d * fields + f] = lengths[f] ?? 0;
  });
  yield;
  const terms: string[] = [];
  const postings: string[] = [];
  const termEnds: number[] = [];
  const postingEnds: number[] = [];
  let termEnd = 0;
  let postingEnd = 0;
  for (const [term, data] of s._index) {
    const text = postingsText(data);
    terms.push(term);
    postings.push(text);
    termEnds.push((termEnd += term.length));
    postingEnds.push((postingEnd += text.length));
    if (terms.length % TERMS_PER_STEP === 0) yield;
  }
  return {
    fields: options.fields,
    documentCount: s._documentCount,
    nextId: s._nextId,
    dirtCount: s._dirtCount,
    averageFieldLength: s._avgFieldLength,
    shortIds,
    ids,
    fieldLength,
    terms: terms.join(''),
    termEnds: Uint32Array.from(termEnds),
    postings: postings.join(''),
    postingEnds: Uint32Array.from(postingEnds),
  };
}

/**
 * One of minisearch's per-document tables (id by short id, short id by id, field lengths), filled from the parts on
 * first use of any of them: at 100k records filling them takes ~80 ms, which start-up need not wait for (see
 * `fillDocTablesSteps`).
 */
class DocTable<K, V> extends Map<K, V> {
  private fill: (() => void) | undefined;

  constructor(fill: () => void) {
    super();
    this.fill = fill;
  }

  private ready(): void {
    const fill = this.fill;
    this.fill = undefined;
    fill?.();
  }

  override get(key: K) {
    this.ready();
    return super.get(key);
  }
  override has(key: K) {
    this.ready();
    return super.has(key);
  }
  override set(key: K, value: V) {
    this.ready();
    return super.set(key, value);
  }
  override delete(key: K) {
    this.ready();
    return super.delete(key);
  }
  override clear() {
    this.fill = undefined;
    super.clear();
  }
  override get size() {
    this.ready();
    return super.size;
  }
  override keys() {
    this.ready();
    return super.keys();
  }
  override values() {
    this.ready();
    return super.values();
  }
  override entries() {
    this.ready();
    return super.entries();
  }
  override forEach(fn: (value: V, key: K, map: Map<K, V>) => void, thisArg?: unknown) {
    this.ready();
    super.forEach(fn, thisArg);
  }
  override [Symbol.iterator]() {
    return this.entries();
  }
}

/** How to fill the tables of an index `readSnapshotParts` returned, a part at a time (see `fillDocTablesSteps`). */
const pendingFills = new WeakMap<object, { fillTo(end: number): void; documents: number }>();

/** Documents whose table entries are filled per step: a few milliseconds. */
const FILL_STEP_DOCUMENTS = 5_000;

/**
 * Fills the per-document tables of an index `readSnapshotParts` returned ahead of their first use, yielding between
 * steps (see `Steps`); a query meanwhile fills the rest at once.
 */
export function* fillDocTablesSteps(mini: MiniSearch<any>): Steps<void> {
  const pending = pendingFills.get(mini);
  if (!pending) return;
  for (let end = FILL_STEP_DOCUMENTS; end < pending.documents + FILL_STEP_DOCUMENTS; end += FILL_STEP_DOCUMENTS) {
    pending.fillTo(end);
    yield;
  }
  pendingFills.delete(mini);
}

/**
 * Returns the minisearch index `parts` hold; `options` must be the ones they were written with (SnapshotError
 * otherwise). The term tree is built as queries walk it, as for a JSON snapshot (see LazyNode).
 */
export function readSnapshotParts<T>(parts: IndexParts, options: Options<T>): MiniSearch<T> {
  const { mini, s } = emptyIndexOf(parts, options);
  const fields = options.fields.length;
  let filled = 0;
  // Fills the tables with the documents up to `end` (exclusive), from where the last call stopped.
  const fillTo = (end: number) => {
    for (; filled < Math.min(end, parts.shortIds.length); filled++) {
      const d = filled;
      const shortId = parts.shortIds[d];
      const id = parts.ids[d];
      Map.prototype.set.call(s._documentIds, shortId, id);
      Map.prototype.set.call(s._idToShortId, id, shortId);
      const lengths = new Array<number>(fields);
      for (let f = 0; f < fields; f++) lengths[f] = parts.fieldLength[d * fields + f];
      Map.prototype.set.call(s._fieldLength, shortId, lengths);
    }
  };
  const fill = () => fillTo(Infinity);
  s._documentIds = new DocTable(fill);
  s._idToShortId = new DocTable(fill);
  s._fieldLength = new DocTable(fill);
  pendingFills.set(mini, { fillTo, documents: parts.shortIds.length });
  (s._index as unknown as { _tree: TreeNode })._tree = new LazyNode(termRuns(parts), 0, parts.termEnds.length, 0);
  return mini;
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** Thrown when a snapshot cannot be used (another version or other options); the caller rebuilds the index. */
export class SnapshotError extends Error {
  override name = 'SnapshotError';
}

/**
 * Returns the minisearch index a snapshot holds; `options` must be the ones it was written with. Throws
 * SnapshotError when the snapshot is of another version or options, or its content does not match its checksum
 * (a torn write, a flipped byte, an edit): a damaged index would answer wrongly without any other sign.
 */
export function readSnapshot<T>(snapshot: string, options: Options<T>): MiniSearch<T> {
  const header = HEADER.exec(snapshot.slice(0, 200));
  let verified = false;
  if (header && Number(header[1]) === SNAPSHOT_VERSION) {
    if (sha256(snapshot.slice(header[0].length)) !== header[2]) {
      throw new SnapshotError('index snapshot does not match its checksum (damaged or changed since it was written); rebuild it');
    }
    verified = true;
  }
  let json: SnapshotJson;
  try {
    json = JSON.parse(snapshot) as SnapshotJson;
  } catch (error) {
    throw new SnapshotError(`index snapshot is not valid JSON (${(error as Error).message}); rebuild it`);
  }
  if (json?.format !== 'incident-index' || json.version !== SNAPSHOT_VERSION) {
    throw new SnapshotError(`index snapshot has format ${String(json?.format)} v${String(json?.version)}, expected incident-index v${SNAPSHOT_VERSION}; rebuild it`);
  }
  // The header itself was damaged (the version still reads right): the checksum could not be found, so nothing is
  // known about the rest. Checked after the fields, so an index read with other options says that first.
  if (json.fields.join(',') === options.fields.join(',') && !verified) throw new SnapshotError('index snapshot has no readable checksum (damaged header); rebuild it');
  const { mini, s } = emptyIndexOf(json, options);
  for (let i = 0; i + 1 < json.documentIds.length; i += 2) {
    const shortId = json.documentIds[i] as number;
    const id = json.documentIds[i + 1] as string;
    s._documentIds.set(shortId, id);
    s._idToShortId.set(id, shortId);
  }
  const stride = options.fields.length + 1;
  for (let i = 0; i + stride <= json.fieldLength.length; i += stride) {
    s._fieldLength.set(json.fieldLength[i], json.fieldLength.slice(i + 1, i + stride));
  }
  // The term tree is built as queries walk it (see LazyNode); minisearch keeps it in `_tree` and counts it on demand.
  (s._index as unknown as { _tree: TreeNode })._tree = new LazyNode(termPairs(json.terms), 0, Math.floor(json.terms.length / 2), 0);
  return mini;
}

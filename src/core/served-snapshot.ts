import { createHash } from 'node:crypto';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { deserialize, serialize } from 'node:v8';
import { SnapshotError } from './index-snapshot.js';
import type { Graph } from './graph.js';
import { IncidentIndex } from './incident-index.js';
import type { IndexParts } from './index-snapshot.js';
import type { Incident } from './incident.js';
import { RelationExtractor } from './relations.js';
import { graphFromStored, type Knowledge, type StoredRelations } from './served.js';
import { runAtOnce, runSliced, type Steps } from './steps.js';

/** Bumped whenever the served snapshot's layout changes: an older file is rebuilt, never misread. */
export const SERVED_SNAPSHOT_VERSION = 2;

/** Records parsed per turn of the event loop when the lazy records are read ahead in the background. */
const WARM_SLICE_RECORDS = 2_000;

/**
 * The first line of a served snapshot: format, version, the SHA-256 of the body after the line, and the key of the
 * inputs it was written for (see `snapshotFingerprint` in bootstrap). ASCII, so it is read without the body.
 */
const HEADER = /^incident-served v(\d+) sha256:([0-9a-f]{64}) key:(\S+)\n/;
/** Bytes read to find the header: its fixed part and a key of a few hundred characters at most. */
export const HEADER_BYTES = 1_024;

/**
 * The body after the header line: the length of the head (uint32, little-endian), the head (v8-serialized), then the
 * sections the head lists, raw: the records' JSON texts and the indexes' terms and postings, as UTF-8. Raw sections
 * are used where they lie in the file's buffer (records) or decoded once (terms), never copied by deserialising: at
 * 100k records they are ~130 MB of the ~135.
 */
interface ServedHead {
  /** The served records' ids, in order. */
  ids: string[];
  /** Where each record's text ends in the records section, as `ids`. */
  ends: Uint32Array;
  /** Every id merged into another record -> the id it is served as. */
  canonical: Array<[string, string]>;
  /** The name index and the full-text index, without their terms and postings (which are sections). */
  names: IndexHead;
  text: IndexHead;
  /** Byte lengths of the sections after the head: records, names' terms and postings, text's terms and postings. */
  sections: number[];
}

/** An index's parts without its terms and postings; `ids` null when they are the records' ids, in order (as usual). */
type IndexHead = Omit<IndexParts, 'terms' | 'postings' | 'ids'> & { ids: string[] | null };

/** What start-up gets from a served snapshot: the records (parsed on first use), merged ids, and the index. */
export interface LoadedServed {
  records: LazyRecords;
  canonical: Map<string, string>;
  index: IncidentIndex;
}

/**
 * Records by id, each kept as its JSON text until first read. Parsing 100k records costs about a second, which
 * start-up must not pay; answers read a handful of records, and `warm()` parses the rest in slices afterwards.
 */
export class LazyRecords extends Map<string, Incident> {
  /** The records' texts, until every record is parsed. */
  private texts: { bytes: Uint8Array; ends: ArrayLike<number> } | undefined;

  /** Returns a map over records whose JSON texts lie one after another in `bytes`, the `i`th ending at `ends[i]`. */
  static of(ids: readonly string[], bytes: Uint8Array, ends: ArrayLike<number>): LazyRecords {
    const map = new LazyRecords();
    map.texts = { bytes, ends };
    // The record's position stands in for it until it is read (see `get`); insertion order is kept.
    ids.forEach((id, i) => Map.prototype.set.call(map, id, i));
    return map;
  }

  override get(id: string): Incident | undefined {
    const value: unknown = super.get(id);
    if (typeof value !== 'number') return value as Incident | undefined;
    const { bytes, ends } = this.texts!;
    const record = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8', value === 0 ? 0 : ends[value - 1], ends[value])) as Incident;
    super.set(id, record);
    return record;
  }

  override *values(): MapIterator<Incident> {
    for (const id of super.keys()) yield this.get(id)!;
  }

  override *entries(): MapIterator<[string, Incident]> {
    for (const id of super.keys()) yield [id, this.get(id)!];
  }

  override [Symbol.iterator](): MapIterator<[string, Incident]> {
    return this.entries();
  }

  override forEach(fn: (value: Incident, key: string, map: Map<string, Incident>) => void, thisArg?: unknown): void {
    for (const [id, record] of this.entries()) fn.call(thisArg, record, id, this);
  }

  /** Parses every record not read yet, a slice per turn of the event loop; resolves when all are parsed. */
  async warm(sliceRecords = WARM_SLICE_RECORDS): Promise<void> {
    const ids = [...super.keys()];
    for (let i = 0; i < ids.length; i += sliceRecords) {
      await nextTurn();
      for (const id of ids.slice(i, i + sliceRecords)) this.get(id);
    }
    // Every record is an object now: the texts can go.
    if ([...super.values()].every((v) => typeof v !== 'number')) this.texts = undefined;
  }
}

/** Records serialised per step when a served snapshot is written (see `servedSnapshotSteps`). */
const RECORDS_PER_STEP = 1_000;
/** Bytes hashed per step: ~15 ms of SHA-256 here. */
const HASH_STEP_BYTES = 16 << 20;

/**
 * Returns the served snapshot of these records, merged ids and index, keyed by `key`, as buffers to write one after
 * another: a header line with the checksum of the rest, then the body (see `ServedHead`). Yields between steps, so the
 * bot writes it without holding the event loop (see `runSliced`).
 */
export function* servedSnapshotSteps(key: string, records: Iterable<Incident>, canonical: Iterable<[string, string]>, index: IncidentIndex): Steps<Buffer[]> {
  return yield* unchanged(index, servedSnapshotParts(key, records, canonical, index));
}

/**
 * Runs `steps` over `index`, throwing when the index changes between two steps (a feed story upserted while the bot
 * writes its snapshot): a snapshot mixing two states of the index under one key would answer wrongly from then on.
 */
function* unchanged<T>(index: IncidentIndex, steps: Steps<T>): Steps<T> {
  const changes = index.changes;
  for (;;) {
    const next = steps.next();
    if (next.done) return next.value;
    yield;
    if (index.changes !== changes) throw new Error('the index changed while its snapshot was being written; the next start writes one');
  }
}

function* servedSnapshotParts(key: string, records: Iterable<Incident>, canonical: Iterable<[string, string]>, index: IncidentIndex): Steps<Buffer[]> {
  const ids: string[] = [];
  const ends: number[] = [];
  const recordChunks: Buffer[] = [];
  let texts: string[] = [];
  let end = 0;
  for (const r of records) {
    const text = JSON.stringify(r);
    ids.push(r.id);
    texts.push(text);
    ends.push((end += Buffer.byteLength(text, 'utf8')));
    if (texts.length === RECORDS_PER_STEP) {
      recordChunks.push(Buffer.from(texts.join(''), 'utf8'));
      texts = [];
      yield;
    }
  }
  recordChunks.push(Buffer.from(texts.join(''), 'utf8'));
  // Record ends are stored as 32-bit numbers; no corpus comes near (100k records are ~90 MB).
  if (end >= 2 ** 32) throw new Error('the records take 4 GB or more: too many for a served snapshot');
  const parts = yield* index.snapshotPartsSteps();
  const sectionBytes = [
    ...recordChunks,
    ...[parts.names, parts.text].flatMap((p) => [Buffer.from(p.terms, 'utf8'), Buffer.from(p.postings, 'utf8')]),
  ];
  const sameIds = (other: string[]) => other.length === ids.length && other.every((id, i) => id === ids[i]);
  const withoutText = ({ terms: _t, postings: _p, ids: own, ...rest }: IndexParts): IndexHead => ({ ...rest, ids: sameIds(own) ? null : own });
  const head: ServedHead = {
    ids,
    ends: Uint32Array.from(ends),
    canonical: [...canonical],
    names: withoutText(parts.names),
    text: withoutText(parts.text),
    sections: [end, ...sectionBytes.slice(recordChunks.length).map((b) => b.length)],
  };
  const headBytes = serialize(head);
  const length = Buffer.alloc(4);
  length.writeUInt32LE(headBytes.length);
  yield;
  const body = [length, headBytes, ...sectionBytes];
  const hash = createHash('sha256');
  for (const chunk of body) {
    for (let at = 0; at < chunk.length; at += HASH_STEP_BYTES) {
      hash.update(chunk.subarray(at, at + HASH_STEP_BYTES));
      yield;
    }
  }
  const header = `incident-served v${SERVED_SNAPSHOT_VERSION} sha256:${hash.digest('hex')} key:${key}\n`;
  return [Buffer.from(header, 'ascii'), ...body];
}

/** Returns the served snapshot of these records, merged ids and index, keyed by `key`, in one buffer (see `servedSnapshotSteps`). */
export function writeServedSnapshot(key: string, records: Iterable<Incident>, canonical: Iterable<[string, string]>, index: IncidentIndex): Buffer {
  return Buffer.concat(runAtOnce(servedSnapshotSteps(key, records, canonical, index)));
}

/** A served snapshot file's header: its version, checksum and key, and how many bytes the header line takes. */
export interface ServedHeader {
  version: number;
  sha256: string;
  key: string;
  length: number;
}

/** Returns the header at the start of a served snapshot, or undefined when there is none (damaged, another format). */
export function servedSnapshotHeader(start: Buffer): ServedHeader | undefined {
  const header = HEADER.exec(start.subarray(0, HEADER_BYTES).toString('latin1'));
  return header ? { version: Number(header[1]), sha256: header[2], key: header[3], length: Buffer.byteLength(header[0], 'latin1') } : undefined;
}

/** Returns the key a served snapshot was written for, or undefined when its header is not one this version reads. */
export function servedSnapshotKey(file: Buffer): string | undefined {
  const header = servedSnapshotHeader(file);
  return header?.version === SERVED_SNAPSHOT_VERSION ? header.key : undefined;
}

/** Throws SnapshotError (saying to rebuild) unless `header` is one of this version's. */
export function checkHeader(header: ServedHeader | undefined): ServedHeader {
  if (!header) throw new SnapshotError('served snapshot has no readable header (damaged or of another format); rebuild it');
  if (header.version !== SERVED_SNAPSHOT_VERSION) throw new SnapshotError(`served snapshot is v${header.version}, expected v${SERVED_SNAPSHOT_VERSION}; rebuild it`);
  return header;
}

/** What a served snapshot whose body does not match its checksum is refused with. */
export const CHECKSUM_MISMATCH = 'served snapshot does not match its checksum (damaged or changed since it was written); rebuild it';

/**
 * Returns the records, merged ids and index a served snapshot holds. Throws SnapshotError (saying to rebuild) when it
 * is of another version, or its body does not match its checksum: a torn write or a flipped byte would otherwise
 * serve wrong records without any other sign. With `deferText`, the index's full-text part loads a moment later
 * (`index.textReady`).
 */
export function readServedSnapshot(file: Buffer, options: { deferText?: boolean } = {}): LoadedServed {
  const header = checkHeader(servedSnapshotHeader(file));
  const body = file.subarray(header.length);
  if (createHash('sha256').update(body).digest('hex') !== header.sha256) throw new SnapshotError(CHECKSUM_MISMATCH);
  return runAtOnce(servedBodySteps(body, options));
}

/** Returns what a served snapshot's body holds, parsed a step per turn of the event loop (see `servedBodySteps`). */
export function loadServedBody(body: Buffer, options: { deferText?: boolean } = {}): Promise<LoadedServed> {
  return runSliced(servedBodySteps(body, options));
}

/** Returns the records, merged ids and index a served snapshot's body holds (checked already), yielding between steps. */
function* servedBodySteps(body: Buffer, options: { deferText?: boolean }): Steps<LoadedServed> {
  const headLength = body.length >= 4 ? body.readUInt32LE(0) : 0;
  let head: ServedHead;
  try {
    head = deserialize(body.subarray(4, 4 + headLength)) as ServedHead;
  } catch (error) {
    // Only a snapshot written by a bug gets here: the checksum matched.
    throw new SnapshotError(`served snapshot's head does not read (${(error as Error).message}); rebuild it`);
  }
  let at = 4 + headLength;
  const section = () => body.subarray(at, (at += head.sections.shift() ?? 0));
  const records = LazyRecords.of(head.ids, section(), head.ends);
  yield;
  const text = (bytes: Buffer) => bytes.toString('utf8');
  const names: IndexParts = { ...head.names, ids: head.names.ids ?? head.ids, terms: text(section()), postings: text(section()) };
  const textTerms = section();
  const textPostings = section();
  yield;
  // The full text's terms are decoded when it loads (a moment later with `deferText`).
  const fullText = { ...head.text, ids: head.text.ids ?? head.ids, get terms() { return text(textTerms); }, get postings() { return text(textPostings); } };
  const index = IncidentIndex.fromSnapshotParts({ names, text: fullText }, records, options);
  yield;
  return { records, canonical: new Map(head.canonical), index };
}

/**
 * Returns what the service needs besides the index, for a loaded served snapshot: the graph read from the stored
 * relations (in slices on a large corpus; `graphReady` resolves when complete), the merged ids, and a relation
 * extractor made on first use (a feed story upserted later), since it reads every record.
 */
export function knowledgeOf(loaded: LoadedServed, stored: StoredRelations): Knowledge & { graphReady: Promise<void> } {
  const { graph, graphReady }: { graph: Graph; graphReady: Promise<void> } = graphFromStored(stored);
  let extractor: RelationExtractor | undefined;
  return {
    graph,
    graphReady,
    canonical: loaded.canonical,
    get extractor() {
      extractor ??= new RelationExtractor([...loaded.records.values()], loaded.canonical);
      return extractor;
    },
  };
}



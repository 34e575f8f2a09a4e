import { createHash } from 'node:crypto';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { deserialize, serialize } from 'node:v8';
import { SnapshotError } from './index-snapshot.js';
import type { Graph } from './graph.js';
import { IncidentIndex } from './incident-index.js';
import type { Incident } from './incident.js';
import { RelationExtractor } from './relations.js';
import { graphFromStored, type Knowledge, type StoredRelations } from './served.js';

/** Bumped whenever the served snapshot's layout changes: an older file is rebuilt, never misread. */
export const SERVED_SNAPSHOT_VERSION = 1;

/** Records parsed per turn of the event loop when the lazy records are read ahead in the background. */
const WARM_SLICE_RECORDS = 2_000;

/**
 * The first line of a served snapshot: format, version, the SHA-256 of the payload after the line, and the key of
 * the inputs it was written for (see `snapshotFingerprint` in bootstrap). ASCII, so it is read without the payload.
 */
const HEADER = /^incident-served v(\d+) sha256:([0-9a-f]{64}) key:(\S+)\n/;

/** What a served snapshot holds, v8-serialized: cheap to read back (a few strings and arrays, no object graph). */
interface ServedPayload {
  /** The served records' ids, in order. */
  ids: string[];
  /** The served (merged) records' JSON texts, one after another (UTF-8): each is parsed when first read. */
  records: Uint8Array;
  /** Where each record's text ends in `records`, as `ids`. */
  ends: number[];
  /** Every id merged into another record -> the id it is served as. */
  canonical: Array<[string, string]>;
  /** The index over the records (`IncidentIndex.toSnapshot()`). */
  index: string;
}

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
  private texts: { bytes: Uint8Array; ends: number[] } | undefined;

  /** Returns a map over records whose JSON texts lie one after another in `bytes`, the `i`th ending at `ends[i]`. */
  static of(ids: readonly string[], bytes: Uint8Array, ends: number[]): LazyRecords {
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

/**
 * Returns the served snapshot of these records, merged ids and index, keyed by `key`: a header line with its
 * checksum, then the v8-serialized payload.
 */
export function writeServedSnapshot(key: string, records: Iterable<Incident>, canonical: Iterable<[string, string]>, index: IncidentIndex): Buffer {
  const ids: string[] = [];
  const texts: Buffer[] = [];
  const ends: number[] = [];
  let end = 0;
  for (const r of records) {
    const text = Buffer.from(JSON.stringify(r), 'utf8');
    ids.push(r.id);
    texts.push(text);
    ends.push((end += text.length));
  }
  const payload: ServedPayload = { ids, records: Buffer.concat(texts), ends, canonical: [...canonical], index: index.toSnapshot() };
  const body = serialize(payload);
  const header = `incident-served v${SERVED_SNAPSHOT_VERSION} sha256:${sha256(body)} key:${key}\n`;
  return Buffer.concat([Buffer.from(header, 'ascii'), body]);
}

/** Returns the key a served snapshot was written for, or undefined when its header is not one this version reads. */
export function servedSnapshotKey(file: Buffer): string | undefined {
  const header = HEADER.exec(file.subarray(0, 300).toString('latin1'));
  return header && Number(header[1]) === SERVED_SNAPSHOT_VERSION ? header[3] : undefined;
}

/**
 * Returns the records, merged ids and index a served snapshot holds. Throws SnapshotError (saying to rebuild) when it
 * is of another version, or its payload does not match its checksum: a torn write or a flipped byte would otherwise
 * serve wrong records without any other sign. With `deferText`, the index's full-text part loads a moment later
 * (`index.textReady`).
 */
export function readServedSnapshot(file: Buffer, options: { deferText?: boolean } = {}): LoadedServed {
  const header = HEADER.exec(file.subarray(0, 300).toString('latin1'));
  if (!header) throw new SnapshotError('served snapshot has no readable header (damaged or of another format); rebuild it');
  if (Number(header[1]) !== SERVED_SNAPSHOT_VERSION) throw new SnapshotError(`served snapshot is v${header[1]}, expected v${SERVED_SNAPSHOT_VERSION}; rebuild it`);
  const body = file.subarray(Buffer.byteLength(header[0], 'latin1'));
  if (sha256(body) !== header[2]) throw new SnapshotError('served snapshot does not match its checksum (damaged or changed since it was written); rebuild it');
  const payload = deserialize(body) as ServedPayload;
  const records = LazyRecords.of(payload.ids, payload.records, payload.ends);
  return { records, canonical: new Map(payload.canonical), index: IncidentIndex.fromSnapshotRecords(payload.index, records, options) };
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

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

import MiniSearch from 'minisearch';
import type { RankedHit } from './candidates.js';
import { DateOrder } from './date-order.js';
import { FacetIndex } from './facet-index.js';
import { fillDocTablesSteps, readSnapshot, readSnapshotParts, SnapshotError, snapshotPartsSteps, writeSnapshot, type IndexParts } from './index-snapshot.js';
import { NameText } from './name-text.js';
import type { Incident } from './incident.js';
import { INDEX_OPTIONS, toIndexDoc, type IndexDoc } from './index-doc.js';
import { fieldIdsOf, searchIndex, type SearchableIndex } from './index-search.js';
import { idsWithTerm, type MiniInternals, type Work } from './postings.js';
import { parseQuery, words, type ParsedQuery } from './query.js';
import { profileOf, type Profile } from './rerank.js';
import { runSliced, type Steps } from './steps.js';
import { TextIndex } from './text-index.js';
import { compactName } from './text.js';

export { compactNamesOf, INDEX_OPTIONS, MAX_INDEXED_SUMMARY_CHARS, recordNames, toIndexDoc, type IndexDoc } from './index-doc.js';
export { COMMON_DF, MAX_COMMON_SCAN } from './index-search.js';
export { transpositions } from './rank-signals.js';
export type { Work } from './postings.js';
export type { RankedHit } from './candidates.js';

/** An index in the served snapshot's form: the name index and the full-text index (see `IndexParts`). */
export interface IndexSnapshotParts {
  names: IndexParts;
  text: IndexParts;
}

/** How long after start-up a put-off full-text index loads: the console prompt and first answers come first. */
const TEXT_LOAD_DELAY_MS = 50;

/**
 * The shared index over incidents and context records: a name index (names, entities, tags, dates, lead summary)
 * and a full-text index (whole descriptions), with a re-ranker on top: name identity, coverage of the query's
 * words, dates, kind hints, and incidents before context that matches as well.
 */
export class IncidentIndex {
  readonly mini: MiniSearch<IndexDoc>;
  /** Resolves when the full-text index is in (at once, unless its loading was put off: see `fromSnapshotRecords`). */
  textReady: Promise<void> = Promise.resolve();
  private fullText: TextIndex;
  /** Ids upserted or removed while the full-text index was still loading: replayed into it once it is in. */
  private textBacklog: Set<string> | undefined;
  /** How many upserts and removals the index has taken: a snapshot written across turns checks it did not change. */
  changes = 0;
  /** Postings read by the most recent search: the bound on work per query, made observable. */
  lastWork: Work = { postings: 0 };
  /** The records, by id: answers need them whole, and re-ranking reads names and entities of candidates. */
  private readonly records: Map<string, Incident>;
  /** Re-ranking signals of recently seen candidates, computed on demand (bounded; cleared when full). */
  private readonly profiles = new Map<string, Profile>();
  /** The dated records in date order, built on the first list that needs it and kept current by upsert and remove. */
  private dates: DateOrder | undefined;
  /** The vendor and product words of the records, built on first use and kept current like `dates`. */
  private facetWords: FacetIndex | undefined;
  /** Every record's folded names in one string, built on first use and kept current like `dates`. */
  private nameText: NameText | undefined;
  private readonly internals: MiniInternals;
  private readonly compactField: number;
  /** What `search` reads of this index (see index-search.ts). */
  private readonly searchable: SearchableIndex;

  private constructor(mini: MiniSearch<IndexDoc>, text: TextIndex, incidents: readonly Incident[], records = new Map<string, Incident>()) {
    this.records = records;
    this.mini = mini;
    this.fullText = text;
    this.internals = mini as unknown as MiniInternals;
    const fields = fieldIdsOf(this.internals);
    this.compactField = fields.compact;
    const index = this;
    this.searchable = {
      mini,
      internals: this.internals,
      // A getter: the full-text index loaded after start-up replaces the empty one.
      get text() {
        return index.fullText;
      },
      fields,
      hitFor: (id) => this.hitFor(id),
      profile: (id) => this.profile(id),
    };
    for (const i of incidents) this.records.set(i.id, i);
  }

  /** Returns an index built from these records. */
  static build(incidents: readonly Incident[]): IncidentIndex {
    const index = new IncidentIndex(new MiniSearch<IndexDoc>(INDEX_OPTIONS), TextIndex.empty(), []);
    index.upsert(incidents);
    return index;
  }

  /**
   * Returns an index loaded from a snapshot (`toSnapshot()`) of the same records. Everything else the index needs is
   * in minisearch's own tables or derived per query, so loading costs no more than minisearch's own load.
   */
  static fromSnapshot(snapshot: string, incidents: readonly Incident[]): IncidentIndex {
    // Two parts, one per line: JSON escapes line breaks inside strings, so the first one ends the name index.
    const newline = snapshot.indexOf('\n');
    const names = readSnapshot<IndexDoc>(newline < 0 ? snapshot : snapshot.slice(0, newline), INDEX_OPTIONS);
    if (newline < 0) throw new SnapshotError('index snapshot has no full-text part; rebuild it');
    return new IncidentIndex(names, TextIndex.fromSnapshot(snapshot.slice(newline + 1)), incidents);
  }

  /**
   * Returns an index loaded from the parts `snapshotPartsSteps()` wrote, serving the records `records` holds (which
   * may parse each record on first read: see LazyRecords). With `deferText`, the full-text part loads on a later turn
   * of the event loop (`textReady`): answers meanwhile come from the name index, and start-up does not pay for it.
   */
  static fromSnapshotParts(parts: IndexSnapshotParts, records: Map<string, Incident>, options: { deferText?: boolean } = {}): IncidentIndex {
    const names = readSnapshotParts<IndexDoc>(parts.names, INDEX_OPTIONS);
    if (!options.deferText) return new IncidentIndex(names, TextIndex.fromParts(parts.text), [], records);
    const index = new IncidentIndex(names, TextIndex.empty(), [], records);
    index.textBacklog = new Set();
    index.textReady = new Promise<void>((resolve) => setTimeout(resolve, TEXT_LOAD_DELAY_MS)).then(async () => {
      // The name index's tables first (unless a query filled them already), then the full text, in slices.
      await runSliced(fillDocTablesSteps(names));
      try {
        const text = TextIndex.fromParts(parts.text);
        await runSliced(fillDocTablesSteps(text.mini));
        for (const id of index.textBacklog ?? []) {
          const record = index.records.get(id);
          if (record) text.add(record);
          else text.remove(id);
        }
        index.fullText = text;
      } finally {
        index.textBacklog = undefined;
      }
    });
    return index;
  }

  /** Returns this index in the served snapshot's form (see `fromSnapshotParts`), yielding between steps. */
  *snapshotPartsSteps(): Steps<IndexSnapshotParts> {
    const names = yield* snapshotPartsSteps(this.mini, INDEX_OPTIONS);
    return { names, text: yield* this.text.snapshotPartsSteps() };
  }

  /** The whole text of every record: searched for rare words only (see TextIndex). */
  get text(): TextIndex {
    return this.fullText;
  }

  /** Returns a snapshot of this index (the name index, a line break, the full-text index), for `fromSnapshot`. */
  toSnapshot(): string {
    return `${writeSnapshot(this.mini, INDEX_OPTIONS)}\n${this.text.toSnapshot()}`;
  }

  /** Number of records indexed. */
  get size(): number {
    return this.mini.documentCount;
  }

  /** Returns one record by id. */
  get(id: string): Incident | undefined {
    return this.records.get(id);
  }

  /** Returns every record (in insertion order). */
  all(): IterableIterator<Incident> {
    return this.records.values();
  }

  /** Returns the dated records newest first, per kind (built on first use; kept current as records change). */
  byDate(): DateOrder {
    this.dates ??= DateOrder.build(this.records.values());
    return this.dates;
  }

  /** Returns the vendor and product words of the records (built on first use; kept current as records change). */
  facets(): FacetIndex {
    this.facetWords ??= FacetIndex.build(this.records.values());
    return this.facetWords;
  }

  /** Returns every record's folded names and tag values, searchable for a word (built on first use; kept current). */
  names(): NameText {
    this.nameText ??= NameText.build(this.records.values());
    return this.nameText;
  }

  /** Adds or replaces records. */
  upsert(incidents: readonly Incident[]): void {
    this.changes++;
    for (const incident of incidents) {
      const previous = this.records.get(incident.id);
      this.dates?.upsert(incident, previous);
      this.facetWords?.upsert(incident, previous);
      this.nameText?.upsert(incident);
      if (this.mini.has(incident.id)) this.mini.discard(incident.id);
      this.mini.add(toIndexDoc(incident));
      this.text.add(incident);
      this.textBacklog?.add(incident.id);
      this.records.set(incident.id, incident);
      this.profiles.delete(incident.id);
    }
  }

  /** Removes records by id (unknown ids are ignored). */
  remove(ids: Iterable<string>): void {
    this.changes++;
    for (const id of ids) {
      const previous = this.records.get(id);
      if (previous) {
        this.dates?.remove(previous);
        this.facetWords?.remove(previous);
      }
      this.nameText?.remove(id);
      if (this.mini.has(id)) this.mini.discard(id);
      this.text.remove(id);
      this.textBacklog?.add(id);
      this.records.delete(id);
      this.profiles.delete(id);
    }
  }

  private hitFor(id: string): RankedHit | undefined {
    const r = this.records.get(id);
    return r && { id, title: r.title, kind: r.kind, date: r.date?.value ?? null, score: 0, exactName: false };
  }

  /** Returns the ids of records whose `field` holds exactly this term (a compact name, a date key), at most `max`. */
  private idsWithTerm(term: string, fieldId: number, work: Work, max = Infinity): string[] {
    return idsWithTerm(this.internals, term, fieldId, work, max);
  }

  private profile(id: string): Profile | undefined {
    let p = this.profiles.get(id);
    if (p) return p;
    const incident = this.records.get(id);
    if (!incident) return undefined;
    p = profileOf(incident);
    if (this.profiles.size >= MAX_CACHED_PROFILES) this.profiles.clear();
    this.profiles.set(id, p);
    return p;
  }

  /** Returns ranked hits for a query (already parsed or raw), best first; empty when nothing matches. */
  search(query: string | ParsedQuery, limit = 10, filter?: (hit: RankedHit) => boolean): RankedHit[] {
    const q = typeof query === 'string' ? parseQuery(query) : query;
    const work: Work = { postings: 0 };
    this.lastWork = work;
    return searchIndex(this.searchable, q, work, limit, filter);
  }

  /** Returns the ids of up to `max` records one of whose names, run together, is exactly `compact` (compactName form). */
  namedExactly(compact: string, max = 10): string[] {
    return this.idsWithTerm(compact, this.compactField, this.lastWork, max);
  }

  /** Returns up to `limit` records whose names start with the typed text (compact match), then word matches. */
  suggest(prefix: string, limit = 25): { id: string; name: string }[] {
    const key = compactName(prefix.slice(0, 100));
    const out: { id: string; name: string }[] = [];
    const seen = new Set<string>();
    const push = (id: string, name: string) => {
      if (out.length >= limit || seen.has(id)) return;
      seen.add(id);
      out.push({ id, name });
    };
    const work: Work = { postings: 0 };
    if (key.length > 0) {
      // Names sharing the prefix, shortest first ("sky" -> "Sky ECC" before "Skywalker Campaign 2021").
      const names: string[] = [];
      for (const [term, fields] of this.internals._index.atPrefix(key)) {
        if (fields.has(this.compactField)) names.push(term);
        if (names.length >= MAX_PREFIX_NAMES) break;
      }
      names.sort((x, y) => x.length - y.length || (x < y ? -1 : 1));
      for (const name of names) {
        for (const id of this.idsWithTerm(name, this.compactField, work)) push(id, this.records.get(id)?.title ?? id);
        if (out.length >= limit) break;
      }
    }
    if (out.length < limit && words(prefix).length > 0) {
      for (const hit of this.search(prefix, limit)) push(hit.id, hit.title);
    }
    return out;
  }
}

/** Names read under one prefix for autocomplete: a short prefix matches thousands; the shortest few are enough. */
const MAX_PREFIX_NAMES = 200;

/** Profiles kept between queries: enough for the candidates of many queries, bounded for memory. */
const MAX_CACHED_PROFILES = 20_000;

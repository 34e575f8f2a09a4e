import MiniSearch from 'minisearch';
import { CANDIDATES, CandidateSet, type RankedHit } from './candidates.js';
import { DateOrder } from './date-order.js';
import { FacetIndex } from './facet-index.js';
import { fillDocTablesSteps, readSnapshot, readSnapshotParts, SnapshotError, snapshotPartsSteps, writeSnapshot, type IndexParts } from './index-snapshot.js';
import { NameText } from './name-text.js';
import type { Incident } from './incident.js';
import { BOOST, dateKeys, FIELD_BOOSTS, INDEX_OPTIONS, toIndexDoc, type IndexDoc } from './index-doc.js';
import { documentFrequency, idsWithTerm, postingCount, prefixWithin, scanPostings, TermLookup, type MiniInternals, type Work } from './postings.js';
import { isStopWord, MAX_TERM_CHARS, parseQuery, words, type ParsedQuery } from './query.js';
import { CORRECTION_WEIGHT, fuzzyFor, transpositions, TYPO_BONUS } from './rank-signals.js';
import { profileOf, rerank, type Profile } from './rerank.js';
import { runSliced, type Steps } from './steps.js';
import { TextIndex } from './text-index.js';
import { compactName } from './text.js';

export { compactNamesOf, INDEX_OPTIONS, MAX_INDEXED_SUMMARY_CHARS, recordNames, toIndexDoc, type IndexDoc } from './index-doc.js';
export { transpositions } from './rank-signals.js';
export type { Work } from './postings.js';
export type { RankedHit } from './candidates.js';

/**
 * A term carried by more records than this is checked against candidates, not searched: a fixed bound, so that
 * the work per query does not grow with the corpus (at 100k records a common word has tens of thousands of postings).
 * It applies to the name index and to the full-text index alike: long texts make postings longer, not this bound.
 */
export const COMMON_DF = 400;
/** Postings the name and text searches of one query may read together (rarest words first). */
const SEARCH_BUDGET = 3_000;
/** Most texts a word the name index also knows may appear in, for its text postings to be searched. */
const KNOWN_WORD_TEXT_DF = 100;
/** Most postings read to find candidates when every word of a query is common (a bounded scan, not a search). */
export const MAX_COMMON_SCAN = 2_000;
/** Most words a typed prefix may expand to, and most postings they may carry, before it counts as a whole word. */
const MAX_PREFIX_TERMS = 50;
const MAX_PREFIX_POSTINGS = 2_000;
/**
 * How much the full-text search counts against the name index's: a record named by the query always outranks one
 * whose text mentions it (names add exact-name and contained-name bonuses on top; text never does).
 */
const TEXT_WEIGHT = 0.7;

/** An index in the served snapshot's form: the name index and the full-text index (see `IndexParts`). */
export interface IndexSnapshotParts {
  names: IndexParts;
  text: IndexParts;
}

/** How long after start-up a put-off full-text index loads: the console prompt and first answers come first. */
const TEXT_LOAD_DELAY_MS = 50;

/** Share of its text score a record keeps for words its names, entities or tags already matched. */
const OVERLAP_SHARE = 0.25;

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
  private readonly datesField: number;
  private readonly nameFields: number[];
  private readonly allFields: number[];

  private constructor(mini: MiniSearch<IndexDoc>, text: TextIndex, incidents: readonly Incident[], records = new Map<string, Incident>()) {
    this.records = records;
    this.mini = mini;
    this.fullText = text;
    this.internals = mini as unknown as MiniInternals;
    this.compactField = this.internals._fieldIds.compact;
    this.datesField = this.internals._fieldIds.dates;
    this.nameFields = NAME_FIELDS.map((f) => this.internals._fieldIds[f]);
    this.allFields = Object.values(this.internals._fieldIds);
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

  /** Returns the indexed words a typed word may have meant: swaps first, then one edit, then two for long words. */
  private corrections(term: string): string[] {
    const allowed = fuzzyFor(term);
    if (allowed === 0) return [];
    const found = transpositions(term).filter((t) => documentFrequency(this.internals, t) > 0);
    if (found.length === 0) {
      for (const distance of allowed >= 2 ? [1, 2] : [1]) {
        for (const [t, [, d]] of this.internals._index.fuzzyGet(term, distance)) if (d > 0) found.push(t);
        if (found.length > 0) break;
      }
    }
    return found.slice(0, MAX_CORRECTIONS);
  }

  /** Returns the ids of records whose `field` holds exactly this term (a compact name, a date key), at most `max`. */
  private idsWithTerm(term: string, fieldId: number, work: Work, max = Infinity): string[] {
    return idsWithTerm(this.internals, term, fieldId, work, max);
  }

  /** Returns whether prefix expansion of `term` stays within bounds (few words, few postings); counts what it reads. */
  private prefixAffordable(term: string, fieldIds: readonly number[] | undefined, work: Work): boolean {
    return prefixWithin(this.internals, term, fieldIds, { terms: MAX_PREFIX_TERMS, postings: MAX_PREFIX_POSTINGS }, work);
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
    const candidates = new CandidateSet((id) => this.hitFor(id));
    const add = candidates.addResults.bind(candidates);

    // Work per query grows with the postings of its terms: a word carried by thousands of records ("vulnerability",
    // "microsoft") costs the most and discriminates the least. Search the rare words, then check the common
    // ones against the candidates only (the way Lucene's MaxScore skips low-impact terms).
    const internals = this.internals;
    // A word the index does not know is a typo: search the indexed words one or two edits away instead, found by a
    // walk of the term tree (cheapest first). Corrections that are common words are checked per candidate below.
    // A word only descriptions carry is no typo: the full-text search below finds it.
    const correctedFrom = new Map<string, string[]>();
    const correctionsOf = new Map<string, string[]>();
    const searchTerms: string[] = [];
    const joinedNames = new Map<string, string[]>();
    let unknownWords = 0;
    for (const t of q.terms) {
      if (documentFrequency(internals, t) > 0) {
        searchTerms.push(t);
        continue;
      }
      if (this.text.df(t) > 0) continue;
      const fixes = this.corrections(t);
      correctionsOf.set(t, fixes);
      if (fixes.length === 0) unknownWords++;
      for (const f of fixes) {
        correctedFrom.set(f, [t]);
        searchTerms.push(f);
      }
    }
    // Two typed words that a name writes as one ("cuckoo bees" for "CuckooBees") are searched as that word.
    for (let i = 0; i + 1 < q.terms.length; i++) {
      const joined = q.terms[i] + q.terms[i + 1];
      if (joined.length > MAX_TERM_CHARS || searchTerms.includes(joined) || documentFrequency(internals, joined) === 0) continue;
      joinedNames.set(joined, [q.terms[i], q.terms[i + 1]]);
      searchTerms.push(joined);
    }
    const coversOf = new Map([...correctedFrom, ...joinedNames]);
    const rareInNames: string[] = [];
    const common: { term: string; df: number }[] = [];
    for (const t of searchTerms) {
      const df = documentFrequency(internals, t);
      if (df > COMMON_DF) common.push({ term: t, df });
      else rareInNames.push(t);
    }
    // The whole texts: rare words (and two typed words that a text writes as one, "print nightmare").
    const rareInText: string[] = [];
    const joinedFrom = new Map<string, string[]>();
    for (const t of q.terms) {
      // A word that names or tags records already finds its candidates there: its text postings are read only
      // when few, where they add records the names miss.
      const df = this.text.df(t);
      if (df > 0 && df <= (documentFrequency(internals, t) > 0 ? KNOWN_WORD_TEXT_DF : COMMON_DF)) rareInText.push(t);
    }
    for (let i = 0; i + 1 < q.terms.length; i++) {
      const joined = q.terms[i] + q.terms[i + 1];
      const df = joined.length <= MAX_TERM_CHARS ? this.text.df(joined) : 0;
      if (df > 0 && df <= COMMON_DF && !rareInText.includes(joined)) {
        rareInText.push(joined);
        joinedFrom.set(joined, [q.terms[i], q.terms[i + 1]]);
      }
    }
    // One budget of postings for both searches, spent on the rarest words first (they discriminate most); the words
    // it leaves out are checked per candidate like common ones. Many words of middling frequency (a long product
    // name) then cost no more than a few.
    const plan = [
      ...rareInNames.map((t) => ({ t, text: false, cost: postingCount(internals, t) })),
      ...rareInText.map((t) => ({ t, text: true, cost: this.text.cost(t) })),
    ].sort((a, b) => a.cost - b.cost);
    const rare: string[] = [];
    const textTerms: string[] = [];
    let budget = SEARCH_BUDGET;
    for (const item of plan) {
      if (item.cost > budget && rare.length + textTerms.length > 0) continue;
      budget -= item.cost;
      (item.text ? textTerms : rare).push(item.t);
    }
    if (rare.length === 0) for (const t of rareInNames) common.push({ term: t, df: documentFrequency(internals, t) });
    if (rare.length > 0) {
      const lastTyped = q.terms[q.terms.length - 1];
      // Only a name being typed ends in a partial word; questions are complete, and prefix expansion is costly.
      const prefixed = !q.isQuestion && lastTyped !== undefined && lastTyped.length >= 4 && rare.includes(lastTyped) && this.prefixAffordable(lastTyped, undefined, work);
      for (const t of rare) work.postings += postingCount(internals, t);
      add(
        this.mini.search(rare.join(' '), {
          boost: BOOST,
          prefix: (term) => prefixed && term === lastTyped,
          boostTerm: (term) => (correctedFrom.has(term) ? CORRECTION_WEIGHT : 1),
          combineWith: 'OR',
        }),
        1,
        true,
        coversOf,
      );
    } else if (common.length > 0) {
      // With only common words, candidates come from the postings of the rarest one that names records (else of the
      // rarest one); the others are checked per candidate. Read whole when short, else scanned up to a bound.
      common.sort((a, b) => a.df - b.df);
      const naming = common.find((c) => postingCount(internals, c.term, this.nameFields) > 0);
      const rarest = (naming ?? common[0]).term;
      const fieldIds = naming ? this.nameFields : this.allFields;
      const postings = postingCount(internals, rarest, fieldIds);
      if (postings <= MAX_COMMON_SCAN) {
        work.postings += postings;
        const fields = naming ? NAME_FIELDS : undefined;
        add(this.mini.search(rarest, { boost: BOOST, fields, boostTerm: (term) => (correctedFrom.has(term) ? CORRECTION_WEIGHT : 1) }), 1, true, coversOf);
      } else {
        add(scanPostings(this.internals, rarest, fieldIds, common.map((c) => c.term), FIELD_BOOSTS, MAX_COMMON_SCAN, work).slice(0, CANDIDATES), 1, true, coversOf);
      }
    }

    // Names that no record bears, only texts mention ("ViaSat"): the records that mention them are the best answers.
    const onlyInText = new Set(textTerms.filter((t) => documentFrequency(internals, t) === 0));
    const byText = this.text.search(textTerms, CANDIDATES, work, onlyInText);
    candidates.addText(byText, TEXT_WEIGHT, OVERLAP_SHARE, joinedFrom);
    if (candidates.size === 0) {
      // Nothing rare anywhere, and no common word names a record: a bounded sample of the records whose texts carry
      // the rarest of the words; re-ranking below checks the others.
      const textCommon = q.terms.map((t) => ({ t, df: this.text.df(t) })).filter((x) => x.df > COMMON_DF).sort((a, b) => a.df - b.df);
      if (textCommon.length > 0) {
        for (const id of this.text.scan(textCommon[0].t, MAX_COMMON_SCAN, work)) candidates.ensure(id);
      }
    }
    const namedInText = new Map<string, number>();
    for (const r of byText) if (r.named > 0) namedInText.set(r.id, r.named);
    // A name only texts carry, in a record that cites one or two CVEs, likely names what it cites ("exploiting the
    // Log4Shell vulnerability ... CVE-2021-44228"): the cited vulnerabilities join the candidates, below the record.
    const textMax = byText[0]?.score ?? 1;
    for (const r of byText.slice(0, CITING_HITS)) {
      if (r.named === 0) continue;
      const cited = this.profile(r.id)?.cited ?? [];
      if (cited.length === 0 || cited.length > MAX_CITED) continue;
      for (const cve of cited) {
        for (const id of this.idsWithTerm(compactName(cve), this.compactField, work)) {
          if (id === r.id) continue;
          const c = candidates.ensure(id);
          if (!c) continue;
          c.textBase += CITED_SHARE * TEXT_WEIGHT * (r.score / textMax);
          for (const t of r.queryTerms) for (const typed of joinedFrom.get(t) ?? [t]) c.coverage.add(typed);
          namedInText.set(id, Math.max(namedInText.get(id) ?? 0, CITED_SHARE * r.named));
        }
      }
    }

    const compactQuery = compactName(q.terms.join(''));
    const compactAll = compactName(q.words.filter((w) => w.length <= MAX_TERM_CHARS).join(''));
    // Run-together names ("skyecc", "sky ecc") meet the compact field; typos in them are handled by the one-edit
    // lookups below, which cost far less than fuzzy search over every compact name.
    for (const c of new Set([compactQuery, compactAll])) {
      if (c.length < 3 || c.length > MAX_TERM_CHARS || (q.terms.length === 1 && c === q.terms[0])) continue;
      const prefixed = !q.isQuestion && c.length >= 4 && this.prefixAffordable(c, [this.compactField], work);
      if (!prefixed) work.postings += postingCount(internals, c, [this.compactField]);
      add(this.mini.search(c, { fields: ['compact'], prefix: prefixed }), 1.2, false);
    }
    for (const cve of q.cves) {
      work.postings += postingCount(internals, compactName(cve));
      add(this.mini.search(compactName(cve), { fields: ['compact', 'entities'], boost: { compact: 3, entities: 1 } }), 1.5, false);
    }

    const exactIds = new Set<string>();
    for (const key of new Set([compactQuery, compactAll, ...q.cves.map(compactName)])) {
      for (const id of this.idsWithTerm(key, this.compactField, work)) exactIds.add(id);
    }
    // One typo in a name (a dropped, doubled, swapped or wrong letter) still names the record. Swaps are looked up
    // directly (n variants); the rest through a one-edit walk of the names' radix tree, not of every indexed word.
    const nearIds = new Map<string, number>();
    const named = compactName(q.words.filter((w) => !isStopWord(w) && w.length <= MAX_TERM_CHARS).join(''));
    const note = (name: string, bonus: number) => {
      for (const id of this.idsWithTerm(name, this.compactField, work)) {
        if (!exactIds.has(id) && bonus > (nearIds.get(id) ?? 0)) nearIds.set(id, bonus);
      }
    };
    for (const key of new Set([compactQuery, named])) {
      if (key.length < 4 || key.length > MAX_TYPO_CHARS) continue;
      for (const swapped of transpositions(key)) note(swapped, TYPO_BONUS.swap);
      for (const [name, [fields, distance]] of this.internals._index.fuzzyGet(key, 1)) {
        if (distance === 0 || !fields.has(this.compactField)) continue;
        // Typists double a letter or skip one more often than they hit a wrong key: rank those names first.
        const bonus = name.length < key.length ? TYPO_BONUS.extraLetter : name.length > key.length ? TYPO_BONUS.missingLetter : TYPO_BONUS.wrongLetter;
        note(name, bonus);
      }
    }
    const dated: string[] = [];
    for (const d of q.dates) {
      if (d.month === undefined) continue;
      const key = dateKeys(`${d.year}-${String(d.month).padStart(2, '0')}${d.day ? `-${String(d.day).padStart(2, '0')}` : ''}`)[0];
      dated.push(...this.idsWithTerm(key, this.datesField, work, MAX_DATED_CANDIDATES - dated.length));
    }
    // Exact names that minisearch ranked below the candidate cut still belong in the candidate set.
    for (const id of [...exactIds, ...nearIds.keys(), ...dated]) candidates.ensure(id, 0.5);

    const textCarriers = new Map<string, (id: string) => boolean>();
    const inText = (t: string, id: string) => {
      let test = textCarriers.get(t);
      if (!test) textCarriers.set(t, (test = this.text.carriers(t, work)));
      return test(id);
    };
    return rerank(
      candidates.values(),
      {
        q,
        terms: new TermLookup(internals),
        inText,
        shortIdOf: (id) => internals._idToShortId.get(id),
        profileOf: (id) => this.profile(id),
        correctionsOf,
        unknownWords,
        exactIds,
        nearIds,
        namedInText,
        compactQuery,
        compactAll,
        work,
      },
      filter,
    ).slice(0, limit);
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

/** The fields that name a record: what a query of only common words is looked up in. */
const NAME_FIELDS = ['title', 'aliases', 'compact'];

/** Most records a date in the query brings into the candidate set (a busy month must not make a query slow). */
const MAX_DATED_CANDIDATES = 300;

/** Text hits whose cited CVEs may join the candidates, most CVEs one may cite, and their share of its score. */
const CITING_HITS = 5;
const MAX_CITED = 2;
const CITED_SHARE = 0.8;

/** Names read under one prefix for autocomplete: a short prefix matches thousands; the shortest few are enough. */
const MAX_PREFIX_NAMES = 200;

/** Most corrections searched for one unknown word. */
const MAX_CORRECTIONS = 6;

/** Profiles kept between queries: enough for the candidates of many queries, bounded for memory. */
const MAX_CACHED_PROFILES = 20_000;

/** Longest compact query for which one-edit name variants are tried (names are shorter than this). */
const MAX_TYPO_CHARS = 32;

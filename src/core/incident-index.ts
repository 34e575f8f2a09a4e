import MiniSearch, { type SearchResult } from 'minisearch';
import SearchableMap from 'minisearch/SearchableMap';
import { readSnapshot, writeSnapshot } from './index-snapshot.js';
import { CONTEXT_KINDS, type Incident, type IncidentKind } from './incident.js';
import { BOOST, compactNamesOf, dateKeys, FIELD_BOOSTS, INDEX_OPTIONS, toIndexDoc, type IndexDoc } from './index-doc.js';
import { isStopWord, MAX_TERM_CHARS, parseQuery, words, type ParsedQuery } from './query.js';
import { dateFactor, fuzzyFor, hintFactor, transpositions, TYPO_BONUS } from './rank-signals.js';
import { compactName } from './text.js';

export { compactNamesOf, INDEX_OPTIONS, MAX_INDEXED_SUMMARY_CHARS, recordNames, toIndexDoc, type IndexDoc } from './index-doc.js';
export { transpositions } from './rank-signals.js';

/** A candidate with the signals the re-ranker combines. */
export interface RankedHit {
  id: string;
  title: string;
  kind: IncidentKind;
  date: string | null;
  score: number;
  /** Whether the whole query is one of this record's names (after compacting). */
  exactName: boolean;
}

/** Search bounds: how many candidates are re-ranked; more costs time and rarely changes the top. */
const CANDIDATES = 60;

/**
 * The shared minisearch index over incidents and context records, with a re-ranker on top: name identity,
 * coverage of the query's words, dates, kind hints, and incidents before context that matches as well.
 */
export class IncidentIndex {
  readonly mini: MiniSearch<IndexDoc>;
  /** The records, by id: answers need them whole, and re-ranking reads names and entities of candidates. */
  private readonly records = new Map<string, Incident>();
  /** Re-ranking signals of recently seen candidates, computed on demand (bounded; cleared when full). */
  private readonly profiles = new Map<string, Profile>();
  private readonly internals: MiniInternals;
  private readonly compactField: number;
  private readonly datesField: number;

  private constructor(mini: MiniSearch<IndexDoc>, incidents: readonly Incident[]) {
    this.mini = mini;
    this.internals = mini as unknown as MiniInternals;
    this.compactField = this.internals._fieldIds.compact;
    this.datesField = this.internals._fieldIds.dates;
    for (const i of incidents) this.records.set(i.id, i);
  }

  /** Returns an index built from these records. */
  static build(incidents: readonly Incident[]): IncidentIndex {
    const index = new IncidentIndex(new MiniSearch<IndexDoc>(INDEX_OPTIONS), []);
    index.upsert(incidents);
    return index;
  }

  /**
   * Returns an index loaded from a snapshot (`toSnapshot()`) of the same records. Everything else the index needs is
   * in minisearch's own tables or derived per query, so loading costs no more than minisearch's own load.
   */
  static fromSnapshot(snapshot: string, incidents: readonly Incident[]): IncidentIndex {
    return new IncidentIndex(readSnapshot<IndexDoc>(snapshot, INDEX_OPTIONS), incidents);
  }

  /** Returns a snapshot of this index (JSON), for `fromSnapshot` with the same records. */
  toSnapshot(): string {
    return writeSnapshot(this.mini, INDEX_OPTIONS);
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

  /** Adds or replaces records. */
  upsert(incidents: readonly Incident[]): void {
    for (const incident of incidents) {
      if (this.mini.has(incident.id)) this.mini.discard(incident.id);
      this.mini.add(toIndexDoc(incident));
      this.records.set(incident.id, incident);
      this.profiles.delete(incident.id);
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

  /** Returns the ids of records whose `field` holds exactly this term (a compact name, a date key). */
  private idsWithTerm(term: string, fieldId: number): string[] {
    const docs = this.internals._index.get(term)?.get(fieldId);
    if (!docs) return [];
    const out: string[] = [];
    for (const shortId of docs.keys()) {
      const id = this.internals._documentIds.get(shortId);
      if (id !== undefined) out.push(id);
    }
    return out;
  }

  private profile(id: string): Profile | undefined {
    let p = this.profiles.get(id);
    if (p) return p;
    const incident = this.records.get(id);
    if (!incident) return undefined;
    const e = incident.entities;
    p = {
      names: compactNamesOf(incident),
      entities: [...new Set([...e.actors, ...e.software, ...e.victims, ...e.cves].map(compactName).filter((c) => c.length > 2))],
      date: incident.date?.value ?? null,
      dateEnd: incident.dateEnd?.value ?? null,
    };
    if (this.profiles.size >= MAX_CACHED_PROFILES) this.profiles.clear();
    this.profiles.set(id, p);
    return p;
  }

  /** Returns ranked hits for a query (already parsed or raw), best first; empty when nothing matches. */
  search(query: string | ParsedQuery, limit = 10, filter?: (hit: RankedHit) => boolean): RankedHit[] {
    const q = typeof query === 'string' ? parseQuery(query) : query;
    const candidates = new Map<string, { hit: RankedHit; base: number; coverage: Set<string> }>();
    const add = (results: SearchResult[], weight: number, countsTerms: boolean, correctedFrom?: Map<string, string>) => {
      const max = results[0]?.score ?? 1;
      for (const r of results.slice(0, CANDIDATES)) {
        let c = candidates.get(r.id);
        if (!c) {
          const hit = this.hitFor(r.id);
          if (!hit) continue;
          c = { hit, base: 0, coverage: new Set<string>() };
          candidates.set(r.id, c);
        }
        c.base += weight * (r.score / max);
        if (countsTerms) for (const t of r.queryTerms) c.coverage.add(correctedFrom?.get(t) ?? t);
      }
    };

    // Work per query grows with the postings of its terms: a word carried by thousands of records ("vulnerability",
    // "microsoft") costs the most and discriminates the least. Search the rare words, then check the common
    // ones against the candidates only (the way Lucene's MaxScore skips low-impact terms).
    const internals = this.internals;
    // A word the index does not know is a typo: search the indexed words one or two edits away instead, found by a
    // walk of the term tree (cheapest first). Corrections that are common words are checked per candidate below.
    const correctedFrom = new Map<string, string>();
    const correctionsOf = new Map<string, string[]>();
    const searchTerms: string[] = [];
    for (const t of q.terms) {
      if (documentFrequency(internals, t) > 0) {
        searchTerms.push(t);
        continue;
      }
      const fixes = this.corrections(t);
      correctionsOf.set(t, fixes);
      for (const f of fixes) {
        correctedFrom.set(f, t);
        searchTerms.push(f);
      }
    }
    const rare: string[] = [];
    const common: { term: string; df: number }[] = [];
    for (const t of searchTerms) {
      const df = documentFrequency(internals, t);
      if (df > COMMON_DF) common.push({ term: t, df });
      else rare.push(t);
    }
    // With only common words, search the rarest one in the name fields; the others are checked per candidate.
    common.sort((a, b) => a.df - b.df);
    const searched = rare.length > 0 ? rare : common.slice(0, 1).map((c) => c.term);
    if (searched.length > 0) {
      const lastTyped = q.terms[q.terms.length - 1];
      add(
        this.mini.search(searched.join(' '), {
          boost: BOOST,
          // Only a name being typed ends in a partial word; questions are complete, and prefix expansion is costly.
          prefix: (term) => !q.isQuestion && rare.length > 0 && term === lastTyped && term.length >= 4,
          boostTerm: (term) => (correctedFrom.has(term) ? CORRECTION_WEIGHT : 1),
          combineWith: 'OR',
          ...(rare.length === 0 ? { fields: ['title', 'aliases', 'compact'] } : {}),
        }),
        1,
        true,
        correctedFrom,
      );
    }
    const compactQuery = compactName(q.terms.join(''));
    const compactAll = compactName(q.words.filter((w) => w.length <= MAX_TERM_CHARS).join(''));
    // Run-together names ("skyecc", "sky ecc") meet the compact field; typos in them are handled by the one-edit
    // lookups below, which cost far less than fuzzy search over every compact name.
    for (const c of new Set([compactQuery, compactAll])) {
      if (c.length < 3 || c.length > MAX_TERM_CHARS || (q.terms.length === 1 && c === q.terms[0])) continue;
      add(this.mini.search(c, { fields: ['compact'], prefix: !q.isQuestion && c.length >= 4 }), 1.2, false);
    }
    for (const cve of q.cves) {
      add(this.mini.search(compactName(cve), { fields: ['compact', 'entities'], boost: { compact: 3, entities: 1 } }), 1.5, false);
    }

    const exactIds = new Set<string>();
    for (const key of new Set([compactQuery, compactAll, ...q.cves.map(compactName)])) {
      for (const id of this.idsWithTerm(key, this.compactField)) exactIds.add(id);
    }
    // One typo in a name (a dropped, doubled, swapped or wrong letter) still names the record. Swaps are looked up
    // directly (n variants); the rest through a one-edit walk of the names' radix tree, not of every indexed word.
    const nearIds = new Map<string, number>();
    const named = compactName(q.words.filter((w) => !isStopWord(w) && w.length <= MAX_TERM_CHARS).join(''));
    const note = (name: string, bonus: number) => {
      for (const id of this.idsWithTerm(name, this.compactField)) {
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
      dated.push(...this.idsWithTerm(key, this.datesField).slice(0, MAX_DATED_CANDIDATES - dated.length));
    }
    // Exact names that minisearch ranked below the candidate cut still belong in the candidate set.
    for (const id of [...exactIds, ...nearIds.keys(), ...dated]) {
      const hit = candidates.has(id) ? undefined : this.hitFor(id);
      if (hit) candidates.set(id, { hit, base: 0.5, coverage: new Set<string>() });
    }

    const termCount = Math.max(1, q.terms.length + q.cves.length);
    const queryWords = new Set(q.words);
    // Short names ("Reg", "Arp") only count as a whole word; longer ones also inside run-together text.
    const mentions = (name: string) => (name.length >= 4 ? compactAll.includes(name) : queryWords.has(name));
    const out: RankedHit[] = [];
    for (const { hit, base, coverage } of candidates.values()) {
      const profile = this.profile(hit.id);
      let score = base;
      // Coverage: a record that matches every meaningful word beats one that matches a single word strongly.
      let covered = coverage.size;
      // Words the search did not credit (common words, or records reached by name or date) are checked exactly.
      const shortId = internals._idToShortId.get(hit.id);
      if (shortId !== undefined) {
        for (const t of q.terms) {
          if (coverage.has(t)) continue;
          const fixes = correctionsOf.get(t);
          const w = fixes ? Math.max(0, ...fixes.map((f) => CORRECTION_WEIGHT * termWeight(internals, f, shortId))) : termWeight(internals, t, shortId);
          if (w > 0) {
            covered++;
            score += COMMON_TERM_SCORE * w;
          }
        }
      }
      const compactWords = compactAll;
      let entityHits = 0;
      let nameContained = 0;
      if (profile) {
        for (const cve of q.cves) if (profile.names.includes(compactName(cve)) || profile.entities.includes(compactName(cve))) covered++;
        const ownNames = new Set<string>();
        for (const n of profile.names) {
          if (!mentions(n)) continue;
          ownNames.add(n);
          nameContained = Math.max(nameContained, n.length);
        }
        // A group named after its malware ("Carbanak") must not score that one name twice.
        for (const n of profile.entities) if (!ownNames.has(n) && mentions(n)) entityHits++;
      }
      const cov = Math.min(1, covered / termCount);
      score *= 0.35 + 0.65 * cov * cov;
      if (exactIds.has(hit.id)) {
        hit.exactName = true;
        score += 2;
      } else if (nearIds.has(hit.id)) {
        score += nearIds.get(hit.id)!;
      } else if (nameContained > 0) {
        score += 0.8 * Math.min(1, nameContained / Math.max(8, compactQuery.length)) + 0.3;
      }
      if (entityHits > 0) score += 0.5 * Math.min(entityHits, 3);
      if (q.dates.length > 0) score *= dateFactor(q.dates, profile?.date ?? null, profile?.dateEnd ?? null);
      if (q.kindHint) score *= hintFactor(q.kindHint, hit.kind, q.weakHint);
      // "tool" vs "malware", "campaign": the hint word itself may be carried by the record's tags.
      if (shortId !== undefined) for (const w of q.hintWords) if (termWeight(internals, w, shortId) > 0) score *= 1.2;
      // Context records (groups, software, CVEs) must not outrank an incident that matches as well.
      if (CONTEXT_KINDS.has(hit.kind)) score *= 0.92;
      hit.score = score;
      if (!filter || filter(hit)) out.push(hit);
    }
    out.sort((a, b) => b.score - a.score || a.id.localeCompare(b.id));
    return out.slice(0, limit);
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
    if (key.length > 0) {
      // Names sharing the prefix, shortest first ("sky" -> "Sky ECC" before "Skywalker Campaign 2021").
      const names: string[] = [];
      for (const [term, fields] of this.internals._index.atPrefix(key)) {
        if (fields.has(this.compactField)) names.push(term);
        if (names.length >= MAX_PREFIX_NAMES) break;
      }
      names.sort((x, y) => x.length - y.length || (x < y ? -1 : 1));
      for (const name of names) {
        for (const id of this.idsWithTerm(name, this.compactField)) push(id, this.records.get(id)?.title ?? id);
        if (out.length >= limit) break;
      }
    }
    if (out.length < limit && words(prefix).length > 0) {
      for (const hit of this.search(prefix, limit)) push(hit.id, hit.title);
    }
    return out;
  }
}

/**
 * A term carried by more records than this is checked against candidates, not searched: a fixed bound, so that
 * the work per query does not grow with the corpus (at 100k records a common word has tens of thousands of postings).
 */
const COMMON_DF = 400;
/** Score a common term adds per unit of field weight, comparable to a normalised rare-term match. */
const COMMON_TERM_SCORE = 0.04;

/** The parts of minisearch 7's index we read to check common terms against candidates (pinned version; tested). */
interface MiniInternals {
  _index: SearchableMap<Map<number, Map<number, number>>>;
  _idToShortId: Map<string, number>;
  _documentIds: Map<number, string>;
  _fieldIds: Record<string, number>;
}

function documentFrequency(mini: MiniInternals, term: string): number {
  const fields = mini._index.get(term);
  if (!fields) return 0;
  let df = 0;
  for (const docs of fields.values()) df = Math.max(df, docs.size);
  return df;
}

/** Returns the summed field weights of the fields where the record carries the term (0 when it does not). */
function termWeight(mini: MiniInternals, term: string, shortId: number): number {
  const fields = mini._index.get(term);
  if (!fields) return 0;
  let w = 0;
  for (const [fieldId, docs] of fields) {
    if (docs.has(shortId)) w += FIELD_BOOSTS[fieldId] ?? 1;
  }
  return w;
}

/** Most records a date in the query brings into the candidate set (a busy month must not make a query slow). */
const MAX_DATED_CANDIDATES = 300;

/** Re-ranking signals of one record. */
interface Profile {
  names: string[];
  entities: string[];
  date: string | null;
  dateEnd: string | null;
}

/** Names read under one prefix for autocomplete: a short prefix matches thousands; the shortest few are enough. */
const MAX_PREFIX_NAMES = 200;

/** Most corrections searched for one unknown word, and how much a corrected word counts against a typed one. */
const MAX_CORRECTIONS = 6;
const CORRECTION_WEIGHT = 0.5;

/** Profiles kept between queries: enough for the candidates of many queries, bounded for memory. */
const MAX_CACHED_PROFILES = 20_000;

/** Longest compact query for which one-edit name variants are tried (names are shorter than this). */
const MAX_TYPO_CHARS = 32;


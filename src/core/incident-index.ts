import MiniSearch, { type Options, type SearchResult } from 'minisearch';
import SearchableMap from 'minisearch/SearchableMap';
import { readSnapshot, writeSnapshot } from './index-snapshot.js';
import { CONTEXT_KINDS, monthName, type Incident, type IncidentKind } from './incident.js';
import { isStopWord, MAX_TERM_CHARS, parseQuery, words, type ParsedQuery, type QueryDate } from './query.js';
import { compactName, foldText, stripMarkup } from './text.js';

/** The flattened, bounded text of one record as minisearch indexes it. */
export interface IndexDoc {
  id: string;
  title: string;
  aliases: string;
  compact: string;
  entities: string;
  tags: string;
  dates: string;
  summary: string;
}

/** Summary characters indexed per record: enough for the lead sentences; minisearch's cost grows with indexed text. */
export const MAX_INDEXED_SUMMARY_CHARS = 200;

// Indexing keeps stop words out so that postings stay small; a question's function words match nothing useful.
const INDEX_STOP = new Set('a an the of and or to in on for by with at from as is are was were be been it its this that'.split(' '));

/**
 * One options constant for building and for loading a snapshot: minisearch requires the same options for both
 * (loadJSON "should be given the same options used when serializing the index").
 */
export const INDEX_OPTIONS: Options<IndexDoc> = {
  idField: 'id',
  fields: ['title', 'aliases', 'compact', 'entities', 'tags', 'dates', 'summary'],
  // Nothing stored: the index keeps the records themselves, and stored fields would double the snapshot's load work.
  storeFields: [],
  tokenize: (text) => text.split(/[^\p{L}\p{N}]+/u),
  processTerm: (term) => {
    const t = foldText(term);
    return t.length === 0 || t.length > MAX_TERM_CHARS || INDEX_STOP.has(t) ? null : t;
  },
};

// Field weights: what names an incident counts most; the summary only breaks ties and answers questions.
const BOOST = { title: 5, aliases: 4, compact: 5, entities: 2, tags: 1.2, dates: 1, summary: 0.6 };

/** Tag prefixes whose values are bookkeeping, not something a user would type. */
const SILENT_TAG_PREFIXES = new Set(['dataset', 'domain', 'stix', 'cwe', 'type']);

/** Returns every name a record is known by: title, aliases. */
export function recordNames(incident: Incident): string[] {
  return [incident.title, ...incident.aliases];
}

/** Returns the index document for a record: names, a compact form of each, entities, tag values, date words, lead summary. */
export function toIndexDoc(incident: Incident): IndexDoc {
  const e = incident.entities;
  const tagValues: string[] = [];
  for (const tag of incident.tags) {
    const colon = tag.indexOf(':');
    const prefix = colon > 0 ? tag.slice(0, colon) : '';
    const value = colon > 0 ? tag.slice(colon + 1) : tag;
    if (prefix === 'ransomware-use') {
      if (/known/i.test(value) && !/unknown/i.test(value)) tagValues.push('ransomware');
      continue;
    }
    if (SILENT_TAG_PREFIXES.has(prefix)) {
      if (prefix === 'stix' || prefix === 'type') tagValues.push(value);
      continue;
    }
    tagValues.push(value);
  }
  return {
    id: incident.id,
    title: stripMarkup(incident.title),
    aliases: incident.aliases.join(' · '),
    compact: compactNamesOf(incident).join(' '),
    entities: [...e.actors, ...e.victims, ...e.software, ...e.countries, ...e.cves.map(compactName)].join(' · '),
    tags: tagValues.join(' · '),
    dates: dateWords(incident),
    // Context records (groups, software, CVEs) are found by their names, entities and tags; their long texts
    // would triple the index (and its snapshot and load time) for little gain.
    summary: CONTEXT_KINDS.has(incident.kind) ? '' : stripMarkup(incident.summary).slice(0, MAX_INDEXED_SUMMARY_CHARS),
  };
}

/**
 * Returns the compact forms of every name of a record: title, aliases and, for products (KEV), the product with and
 * without its vendor ("Cisco" + "IOS XE Web UI"). A vendor alone names no one record, so it is not among them.
 */
export function compactNamesOf(incident: Incident): string[] {
  const names = [...recordNames(incident)];
  const vendor = incident.tags.find((t) => t.startsWith('vendor:'))?.slice(7).trim();
  for (const tag of incident.tags) {
    if (!tag.startsWith('product:')) continue;
    const product = tag.slice(8).trim();
    names.push(product);
    if (vendor && !foldText(product).startsWith(foldText(vendor))) names.push(`${vendor} ${product}`);
  }
  const out = new Set<string>();
  for (const n of names) {
    const c = compactName(n);
    if (c.length > 1 && c.length <= MAX_TERM_CHARS) out.add(c);
  }
  return [...out];
}

/** Returns the date words of a record: year and month name for reading, and `m<YYYYMM>` / `d<YYYYMMDD>` keys for lookup. */
function dateWords(incident: Incident): string {
  const out: string[] = [];
  for (const d of [incident.date, incident.dateEnd]) {
    if (!d) continue;
    const [y, m] = d.value.split('-');
    out.push(y);
    if (m) out.push(monthName(Number(m)));
  }
  if (incident.date) out.push(...dateKeys(incident.date.value));
  return out.join(' ');
}

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

/** Returns the fuzzy edit distance allowed for a term: none for short words, where a typo is another word. */
function fuzzyFor(term: string): number {
  // Beyond this length a word is run-together text, not a typed name; fuzzy cost grows with length.
  if (term.length > 24) return 0;
  if (term.length >= 8) return 2;
  if (term.length >= 5) return 1;
  return 0;
}

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

  /** Removes records by id (unknown ids are ignored). */
  remove(ids: readonly string[]): void {
    for (const id of ids) {
      if (this.mini.has(id)) this.mini.discard(id);
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

/** Field boosts by minisearch field id (ids follow the order of INDEX_OPTIONS.fields). */
const FIELD_BOOSTS = (INDEX_OPTIONS.fields as (keyof typeof BOOST)[]).map((f) => BOOST[f]);

/** Most records a date in the query brings into the candidate set (a busy month must not make a query slow). */
const MAX_DATED_CANDIDATES = 300;

/** Returns the lookup keys of a date, most precise first: `d20240304` and `m202403` for a day, `m202403` for a month. */
function dateKeys(value: string | null): string[] {
  if (!value) return [];
  const compact = value.replace(/-/g, '');
  return value.length === 10 ? [`d${compact}`, `m${compact.slice(0, 6)}`] : value.length === 7 ? [`m${compact}`] : [];
}

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

/** Score bonus for a record whose name is one edit from the query, by the kind of edit. */
const TYPO_BONUS = { extraLetter: 1.55, swap: 1.5, missingLetter: 1.45, wrongLetter: 1.4 } as const;

/** Returns every string made by swapping two adjacent letters of `s` (Levenshtein counts a swap as two edits). */
export function transpositions(s: string): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < s.length; i++) {
    if (s[i] !== s[i + 1]) out.push(s.slice(0, i) + s[i + 1] + s[i] + s.slice(i + 2));
  }
  return out;
}

function dateFactor(dates: QueryDate[], date: string | null, dateEnd: string | null): number {
  if (!date) return 0.85;
  let best = 0.8;
  for (const d of dates) {
    const [y, m, day] = date.split('-').map(Number);
    if (y !== d.year) {
      const [ey] = (dateEnd ?? '').split('-').map(Number);
      if (ey && d.year >= y && d.year <= ey) best = Math.max(best, 1);
      continue;
    }
    if (d.month === undefined || m === undefined) best = Math.max(best, 1.15);
    else if (d.month === m) best = Math.max(best, d.day !== undefined && day === d.day ? 1.6 : d.day !== undefined && day !== undefined ? 1.1 : 1.35);
    else best = Math.max(best, 0.95);
  }
  return best;
}

function hintFactor(hint: IncidentKind, kind: IncidentKind, weak: boolean): number {
  if (weak) return hint === kind ? 1.2 : 0.75;
  return hint === kind ? 1.25 : 0.7;
}

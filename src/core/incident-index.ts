import MiniSearch, { type Options, type SearchResult } from 'minisearch';
import SearchableMap from 'minisearch/SearchableMap';
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
  kind: IncidentKind;
  date: string | null;
}

/** Summary characters indexed per record: enough for the lead sentences; minisearch's cost grows with indexed text. */
export const MAX_INDEXED_SUMMARY_CHARS = 400;

// Indexing keeps stop words out so that postings stay small; a question's function words match nothing useful.
const INDEX_STOP = new Set('a an the of and or to in on for by with at from as is are was were be been it its this that'.split(' '));

/**
 * One options constant for building and for loading a snapshot: minisearch requires the same options for both
 * (loadJSON "should be given the same options used when serializing the index").
 */
export const INDEX_OPTIONS: Options<IndexDoc> = {
  idField: 'id',
  fields: ['title', 'aliases', 'compact', 'entities', 'tags', 'dates', 'summary'],
  storeFields: ['title', 'kind', 'date'],
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
  const names = recordNames(incident);
  const e = incident.entities;
  const cves = e.cves;
  const tagValues: string[] = [];
  const productNames: string[] = [];
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
    if (prefix === 'vendor' || prefix === 'product') productNames.push(value);
    tagValues.push(value);
  }
  const compact = new Set<string>();
  for (const n of [...names, ...productNames, ...cves]) {
    const c = compactName(n);
    if (c.length > 1 && c.length <= MAX_TERM_CHARS) compact.add(c);
  }
  return {
    id: incident.id,
    title: stripMarkup(incident.title),
    aliases: incident.aliases.join(' · '),
    compact: [...compact].join(' '),
    entities: [...e.actors, ...e.victims, ...e.software, ...e.countries, ...cves.map(compactName)].join(' · '),
    tags: tagValues.join(' · '),
    dates: dateWords(incident),
    summary: stripMarkup(incident.summary).slice(0, MAX_INDEXED_SUMMARY_CHARS),
    kind: incident.kind,
    date: incident.date?.value ?? null,
  };
}

function dateWords(incident: Incident): string {
  const out: string[] = [];
  for (const d of [incident.date, incident.dateEnd]) {
    if (!d) continue;
    const [y, m] = d.value.split('-');
    out.push(y);
    if (m) out.push(monthName(Number(m)));
  }
  return out.join(' ');
}

/** Stored fields minisearch keeps per hit. */
interface Stored {
  title: string;
  kind: IncidentKind;
  date: string | null;
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
  /** compact name -> ids that carry it, for exact-name identity and autocomplete. */
  private readonly names = new SearchableMap<Set<string>>();
  /** id -> the compact names and entity names of a record, for containment checks in re-ranking. */
  private readonly profiles = new Map<string, { names: string[]; entities: string[]; date: string | null; dateEnd: string | null }>();
  /** 'YYYY-MM' and 'YYYY-MM-DD' -> ids dated then, so a dated question can reach records its words alone rank low. */
  private readonly byDate = new Map<string, Set<string>>();
  private sortedNames: { key: string; display: string; id: string }[] | null = null;

  private constructor(mini: MiniSearch<IndexDoc>) {
    this.mini = mini;
  }

  /** Returns an index built from these records. */
  static build(incidents: readonly Incident[]): IncidentIndex {
    const index = new IncidentIndex(new MiniSearch<IndexDoc>(INDEX_OPTIONS));
    index.upsert(incidents);
    return index;
  }

  /** Returns an index loaded from a snapshot (`toSnapshot()`), with its side tables rebuilt from the records. */
  static fromSnapshot(snapshot: string, incidents: readonly Incident[]): IncidentIndex {
    const index = new IncidentIndex(MiniSearch.loadJSON<IndexDoc>(snapshot, INDEX_OPTIONS));
    for (const incident of incidents) index.remember(incident);
    return index;
  }

  /** Returns the minisearch snapshot (JSON) of this index. */
  toSnapshot(): string {
    return JSON.stringify(this.mini);
  }

  /** Number of records indexed. */
  get size(): number {
    return this.mini.documentCount;
  }

  /** Adds or replaces records. */
  upsert(incidents: readonly Incident[]): void {
    for (const incident of incidents) {
      if (this.mini.has(incident.id)) {
        this.forget(incident.id);
        this.mini.discard(incident.id);
      }
      this.mini.add(toIndexDoc(incident));
      this.remember(incident);
    }
    this.sortedNames = null;
  }

  private remember(incident: Incident): void {
    const compactNames = recordNames(incident).map(compactName).filter((c) => c.length > 1);
    // KEV names a product by vendor and product ("Cisco" + "IOS XE Web UI"): users type both together or either.
    const vendor = incident.tags.find((t) => t.startsWith('vendor:'))?.slice(7);
    for (const tag of incident.tags) {
      if (!tag.startsWith('product:')) continue;
      const product = tag.slice(8);
      compactNames.push(compactName(product));
      if (vendor && !foldText(product).startsWith(foldText(vendor))) compactNames.push(compactName(`${vendor} ${product}`));
    }
    for (const c of compactNames) {
      let set = this.names.get(c);
      if (!set) this.names.set(c, (set = new Set()));
      set.add(incident.id);
    }
    for (const key of dateKeys(incident.date?.value ?? null)) {
      let set = this.byDate.get(key);
      if (!set) this.byDate.set(key, (set = new Set()));
      set.add(incident.id);
    }
    const e = incident.entities;
    this.profiles.set(incident.id, {
      names: [...new Set(compactNames)],
      entities: [...new Set([...e.actors, ...e.software, ...e.victims, ...e.cves].map(compactName).filter((c) => c.length > 2))],
      date: incident.date?.value ?? null,
      dateEnd: incident.dateEnd?.value ?? null,
    });
  }

  private forget(id: string): void {
    const profile = this.profiles.get(id);
    if (!profile) return;
    for (const c of profile.names) this.names.get(c)?.delete(id);
    for (const key of dateKeys(profile.date)) this.byDate.get(key)?.delete(id);
    this.profiles.delete(id);
  }

  /** Returns ranked hits for a query (already parsed or raw), best first; empty when nothing matches. */
  search(query: string | ParsedQuery, limit = 10, filter?: (hit: RankedHit) => boolean): RankedHit[] {
    const q = typeof query === 'string' ? parseQuery(query) : query;
    const candidates = new Map<string, { hit: RankedHit; base: number; coverage: Set<string> }>();
    const add = (results: SearchResult[], weight: number, countsTerms: boolean) => {
      const max = results[0]?.score ?? 1;
      for (const r of results.slice(0, CANDIDATES)) {
        let c = candidates.get(r.id);
        if (!c) {
          const s = r as unknown as SearchResult & Stored;
          c = { hit: { id: r.id, title: s.title, kind: s.kind, date: s.date, score: 0, exactName: false }, base: 0, coverage: new Set<string>() };
          candidates.set(r.id, c);
        }
        c.base += weight * (r.score / max);
        if (countsTerms) for (const t of r.queryTerms) c.coverage.add(t);
      }
    };

    // Work per query grows with the postings of its terms: a word carried by thousands of records ("vulnerability",
    // "microsoft") costs the most and discriminates the least. Search the rare words, then check the common
    // ones against the candidates only (the way Lucene's MaxScore skips low-impact terms).
    const internals = this.mini as unknown as MiniInternals;
    const rare: string[] = [];
    const common: { term: string; df: number }[] = [];
    for (const t of q.terms) {
      const df = documentFrequency(internals, t);
      if (df > COMMON_DF) common.push({ term: t, df });
      else rare.push(t);
    }
    // With only common words, search the rarest one in the name fields; the others are checked per candidate.
    common.sort((a, b) => a.df - b.df);
    const searched = rare.length > 0 ? rare : common.slice(0, 1).map((c) => c.term);
    if (searched.length > 0) {
      add(
        this.mini.search(searched.join(' '), {
          boost: BOOST,
          // Only a name being typed ends in a partial word; questions are complete, and prefix expansion is costly.
          prefix: (term, i, terms) => !q.isQuestion && i === terms.length - 1 && term.length >= 4,
          // A word the index knows is taken as typed: fuzzing it would turn "inception" into "exception".
          fuzzy: (term) => (documentFrequency(internals, term) > 0 ? 0 : fuzzyFor(term)),
          maxFuzzy: 2,
          combineWith: 'OR',
          ...(rare.length === 0 ? { fields: ['title', 'aliases', 'compact'], fuzzy: false, prefix: false } : {}),
        }),
        1,
        true,
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
      for (const id of this.names.get(key) ?? []) exactIds.add(id);
    }
    // One typo in a name (a dropped, doubled, swapped or wrong letter) still names the record. Swaps are looked up
    // directly (n variants); the rest through a one-edit walk of the names' radix tree, not of every indexed word.
    const nearIds = new Map<string, number>();
    const named = compactName(q.words.filter((w) => !isStopWord(w) && w.length <= MAX_TERM_CHARS).join(''));
    const note = (name: string, bonus: number) => {
      for (const id of this.names.get(name) ?? []) {
        if (!exactIds.has(id) && bonus > (nearIds.get(id) ?? 0)) nearIds.set(id, bonus);
      }
    };
    for (const key of new Set([compactQuery, named])) {
      if (key.length < 4 || key.length > MAX_TYPO_CHARS) continue;
      for (const swapped of transpositions(key)) note(swapped, TYPO_BONUS.swap);
      for (const [name, [, distance]] of this.names.fuzzyGet(key, 1)) {
        if (distance === 0) continue;
        // Typists double a letter or skip one more often than they hit a wrong key: rank those names first.
        const bonus = name.length < key.length ? TYPO_BONUS.extraLetter : name.length > key.length ? TYPO_BONUS.missingLetter : TYPO_BONUS.wrongLetter;
        note(name, bonus);
      }
    }
    const dated: string[] = [];
    for (const d of q.dates) {
      if (d.month === undefined) continue;
      const key = `${d.year}-${String(d.month).padStart(2, '0')}${d.day ? `-${String(d.day).padStart(2, '0')}` : ''}`;
      for (const id of this.byDate.get(key) ?? []) {
        if (dated.length >= MAX_DATED_CANDIDATES) break;
        dated.push(id);
      }
    }
    // Exact names that minisearch ranked below the candidate cut still belong in the candidate set.
    for (const id of [...exactIds, ...nearIds.keys(), ...dated]) {
      if (!candidates.has(id)) {
        const stored = this.mini.getStoredFields(id) as unknown as Stored | undefined;
        if (stored) candidates.set(id, { hit: { id, title: stored.title, kind: stored.kind, date: stored.date, score: 0, exactName: false }, base: 0.5, coverage: new Set<string>() });
      }
    }

    const termCount = Math.max(1, q.terms.length + q.cves.length);
    const queryWords = new Set(q.words);
    // Short names ("Reg", "Arp") only count as a whole word; longer ones also inside run-together text.
    const mentions = (name: string) => (name.length >= 4 ? compactAll.includes(name) : queryWords.has(name));
    const out: RankedHit[] = [];
    for (const { hit, base, coverage } of candidates.values()) {
      const profile = this.profiles.get(hit.id);
      let score = base;
      // Coverage: a record that matches every meaningful word beats one that matches a single word strongly.
      let covered = coverage.size;
      // Words the search did not credit (common words, or records reached by name or date) are checked exactly.
      const shortId = internals._idToShortId.get(hit.id);
      if (shortId !== undefined) {
        for (const t of q.terms) {
          if (coverage.has(t)) continue;
          const w = termWeight(internals, t, shortId);
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

  /** Returns up to `limit` records whose names start with the typed text (compact match), then word-prefix matches. */
  suggest(prefix: string, limit = 25): { id: string; name: string }[] {
    const key = compactName(prefix.slice(0, 100));
    const out: { id: string; name: string }[] = [];
    const seen = new Set<string>();
    if (key.length > 0) {
      const names = this.sorted();
      let lo = 0;
      let hi = names.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (names[mid].key < key) lo = mid + 1;
        else hi = mid;
      }
      for (let i = lo; i < names.length && out.length < limit && names[i].key.startsWith(key); i++) {
        const n = names[i];
        if (seen.has(n.id)) continue;
        seen.add(n.id);
        out.push({ id: n.id, name: n.display });
      }
    }
    if (out.length < limit && words(prefix).length > 0) {
      for (const hit of this.search(prefix, limit)) {
        if (out.length >= limit) break;
        if (seen.has(hit.id)) continue;
        seen.add(hit.id);
        out.push({ id: hit.id, name: hit.title });
      }
    }
    return out;
  }

  private sorted(): { key: string; display: string; id: string }[] {
    if (this.sortedNames) return this.sortedNames;
    const list: { key: string; display: string; id: string }[] = [];
    for (const id of this.profiles.keys()) {
      const stored = this.mini.getStoredFields(id) as unknown as Stored | undefined;
      if (!stored) continue;
      list.push({ key: compactName(stored.title), display: stored.title, id });
    }
    list.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    this.sortedNames = list;
    return list;
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
  _index: { get(term: string): Map<number, Map<number, number>> | undefined };
  _idToShortId: Map<string, number>;
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

function dateKeys(value: string | null): string[] {
  if (!value) return [];
  return value.length === 10 ? [value, value.slice(0, 7)] : value.length === 7 ? [value] : [];
}

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

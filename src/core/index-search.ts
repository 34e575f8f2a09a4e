import type MiniSearch from 'minisearch';
import { CANDIDATES, CandidateSet, type RankedHit } from './candidates.js';
import { BOOST, dateKeys, FIELD_BOOSTS, type IndexDoc } from './index-doc.js';
import { documentFrequency, idsWithTerm, postingCount, prefixWithin, scanPostings, TermLookup, type MiniInternals, type Work } from './postings.js';
import { isStopWord, MAX_TERM_CHARS, type ParsedQuery } from './query.js';
import { CORRECTION_WEIGHT, fuzzyFor, transpositions, TYPO_BONUS } from './rank-signals.js';
import { rerank, type Profile } from './rerank.js';
import type { TextIndex } from './text-index.js';
import { compactName } from './text.js';

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

/** Share of its text score a record keeps for words its names, entities or tags already matched. */
const OVERLAP_SHARE = 0.25;

/** The fields that name a record: the names a query of only common words is looked up in. */
export const NAME_FIELDS = ['title', 'aliases', 'compact'];

/** Most records a date in the query brings into the candidate set (a busy month must not make a query slow). */
const MAX_DATED_CANDIDATES = 300;

/** Text hits whose cited CVEs may join the candidates, most CVEs one may cite, and their share of its score. */
const CITING_HITS = 5;
const MAX_CITED = 2;
const CITED_SHARE = 0.8;

/** Most corrections searched for one unknown word. */
const MAX_CORRECTIONS = 6;

/** Longest compact query for which one-edit name variants are tried (names are shorter than this). */
const MAX_TYPO_CHARS = 32;

/** The minisearch field ids a search reads: the compact names, the date keys, the naming fields and every field. */
export interface IndexFieldIds {
  compact: number;
  dates: number;
  names: number[];
  all: number[];
}

/** What a search reads of an index: the name index and its tables, the full text, and per-record lookups. */
export interface SearchableIndex {
  readonly mini: MiniSearch<IndexDoc>;
  readonly internals: MiniInternals;
  /** The full-text index in service now (it may be swapped in after start-up, so read it per search). */
  readonly text: TextIndex;
  readonly fields: IndexFieldIds;
  /** Returns a hit for a record by id, unscored; undefined for an unknown id. */
  hitFor(id: string): RankedHit | undefined;
  /** Returns the re-ranking signals of a record (cached by the index); undefined for an unknown id. */
  profile(id: string): Profile | undefined;
}

/** Returns the field ids a search of this name index reads. */
export function fieldIdsOf(internals: MiniInternals): IndexFieldIds {
  return {
    compact: internals._fieldIds.compact,
    dates: internals._fieldIds.dates,
    names: NAME_FIELDS.map((f) => internals._fieldIds[f]),
    all: Object.values(internals._fieldIds),
  };
}

/** Returns whether prefix expansion of `term` stays within bounds (few words, few postings); counts what it reads. */
export function prefixAffordable(ix: SearchableIndex, term: string, fieldIds: readonly number[] | undefined, work: Work): boolean {
  return prefixWithin(ix.internals, term, fieldIds, { terms: MAX_PREFIX_TERMS, postings: MAX_PREFIX_POSTINGS }, work);
}

/** Returns the indexed words a typed word may have meant: swaps first, then one edit, then two for long words. */
function corrections(ix: SearchableIndex, term: string): string[] {
  const allowed = fuzzyFor(term);
  if (allowed === 0) return [];
  const found = transpositions(term).filter((t) => documentFrequency(ix.internals, t) > 0);
  if (found.length === 0) {
    for (const distance of allowed >= 2 ? [1, 2] : [1]) {
      for (const [t, [, d]] of ix.internals._index.fuzzyGet(term, distance)) if (d > 0) found.push(t);
      if (found.length > 0) break;
    }
  }
  return found.slice(0, MAX_CORRECTIONS);
}

/** Which words of a query are searched where: names or full text within the budget, or checked per candidate. */
interface TermPlan {
  /** Corrections searched, each with the typed word it stands for. */
  correctedFrom: Map<string, string[]>;
  /** Per unknown typed word, the corrections searched for it. */
  correctionsOf: Map<string, string[]>;
  unknownWords: number;
  /** Searched words that stand for typed ones (corrections, two words a name runs together). */
  coversOf: Map<string, string[]>;
  /** Words searched in the name index. */
  rare: string[];
  /** Words only checked per candidate, with their document frequency in the name index. */
  common: { term: string; df: number }[];
  /** Words searched in the full text. */
  textTerms: string[];
  /** Two typed words a text writes as one, by the joined word. */
  joinedFrom: Map<string, string[]>;
}

function planTerms(ix: SearchableIndex, q: ParsedQuery): TermPlan {
  // Work per query grows with the postings of its terms: a word carried by thousands of records ("vulnerability",
  // "microsoft") costs the most and discriminates the least. Search the rare words, then check the common
  // ones against the candidates only (the way Lucene's MaxScore skips low-impact terms).
  const internals = ix.internals;
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
    if (ix.text.df(t) > 0) continue;
    const fixes = corrections(ix, t);
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
    const df = ix.text.df(t);
    if (df > 0 && df <= (documentFrequency(internals, t) > 0 ? KNOWN_WORD_TEXT_DF : COMMON_DF)) rareInText.push(t);
  }
  for (let i = 0; i + 1 < q.terms.length; i++) {
    const joined = q.terms[i] + q.terms[i + 1];
    const df = joined.length <= MAX_TERM_CHARS ? ix.text.df(joined) : 0;
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
    ...rareInText.map((t) => ({ t, text: true, cost: ix.text.cost(t) })),
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
  return { correctedFrom, correctionsOf, unknownWords, coversOf, rare, common, textTerms, joinedFrom };
}

/** Returns ranked hits for a parsed query, best first, at most `limit`; counts the postings it reads in `work`. */
export function searchIndex(ix: SearchableIndex, q: ParsedQuery, work: Work, limit: number, filter?: (hit: RankedHit) => boolean): RankedHit[] {
  const candidates = new CandidateSet((id) => ix.hitFor(id));
  const add = candidates.addResults.bind(candidates);
  const { correctedFrom, correctionsOf, unknownWords, coversOf, rare, common, textTerms, joinedFrom } = planTerms(ix, q);
  const internals = ix.internals;
  if (rare.length > 0) {
    const lastTyped = q.terms[q.terms.length - 1];
    // Only a name being typed ends in a partial word; questions are complete, and prefix expansion is costly.
    const prefixed = !q.isQuestion && lastTyped !== undefined && lastTyped.length >= 4 && rare.includes(lastTyped) && prefixAffordable(ix, lastTyped, undefined, work);
    for (const t of rare) work.postings += postingCount(internals, t);
    add(
      ix.mini.search(rare.join(' '), {
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
    const naming = common.find((c) => postingCount(internals, c.term, ix.fields.names) > 0);
    const rarest = (naming ?? common[0]).term;
    const fieldIds = naming ? ix.fields.names : ix.fields.all;
    const postings = postingCount(internals, rarest, fieldIds);
    if (postings <= MAX_COMMON_SCAN) {
      work.postings += postings;
      const fields = naming ? NAME_FIELDS : undefined;
      add(ix.mini.search(rarest, { boost: BOOST, fields, boostTerm: (term) => (correctedFrom.has(term) ? CORRECTION_WEIGHT : 1) }), 1, true, coversOf);
    } else {
      add(scanPostings(internals, rarest, fieldIds, common.map((c) => c.term), FIELD_BOOSTS, MAX_COMMON_SCAN, work).slice(0, CANDIDATES), 1, true, coversOf);
    }
  }

  // Names that no record bears, only texts mention ("ViaSat"): the records that mention them are the best answers.
  const onlyInText = new Set(textTerms.filter((t) => documentFrequency(internals, t) === 0));
  const byText = ix.text.search(textTerms, CANDIDATES, work, onlyInText);
  candidates.addText(byText, TEXT_WEIGHT, OVERLAP_SHARE, joinedFrom);
  if (candidates.size === 0) {
    // Nothing rare anywhere, and no common word names a record: a bounded sample of the records whose texts carry
    // the rarest of the words; re-ranking below checks the others.
    const textCommon = q.terms.map((t) => ({ t, df: ix.text.df(t) })).filter((x) => x.df > COMMON_DF).sort((a, b) => a.df - b.df);
    if (textCommon.length > 0) {
      for (const id of ix.text.scan(textCommon[0].t, MAX_COMMON_SCAN, work)) candidates.ensure(id);
    }
  }
  const namedInText = new Map<string, number>();
  for (const r of byText) if (r.named > 0) namedInText.set(r.id, r.named);
  // A name only texts carry, in a record that cites one or two CVEs, likely names what it cites ("exploiting the
  // Log4Shell vulnerability ... CVE-2021-44228"): the cited vulnerabilities join the candidates, below the record.
  const textMax = byText[0]?.score ?? 1;
  for (const r of byText.slice(0, CITING_HITS)) {
    if (r.named === 0) continue;
    const cited = ix.profile(r.id)?.cited ?? [];
    if (cited.length === 0 || cited.length > MAX_CITED) continue;
    for (const cve of cited) {
      for (const id of idsWithTerm(internals, compactName(cve), ix.fields.compact, work)) {
        if (id === r.id) continue;
        const c = candidates.ensure(id);
        if (!c) continue;
        c.textBase += CITED_SHARE * TEXT_WEIGHT * (r.score / textMax);
        for (const t of r.queryTerms) for (const typed of joinedFrom.get(t) ?? [t]) c.coverage.add(typed);
        namedInText.set(id, Math.max(namedInText.get(id) ?? 0, CITED_SHARE * r.named));
      }
    }
  }

  const { compactQuery, compactAll, exactIds, nearIds } = nameMatches(ix, q, work, candidates);

  const textCarriers = new Map<string, (id: string) => boolean>();
  const inText = (t: string, id: string) => {
    let test = textCarriers.get(t);
    if (!test) textCarriers.set(t, (test = ix.text.carriers(t, work)));
    return test(id);
  };
  return rerank(
    candidates.values(),
    {
      q,
      terms: new TermLookup(internals),
      inText,
      shortIdOf: (id) => internals._idToShortId.get(id),
      profileOf: (id) => ix.profile(id),
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

/** Adds the records the query names run together, exactly or with one typo, and those of its dates; returns the names. */
function nameMatches(ix: SearchableIndex, q: ParsedQuery, work: Work, candidates: CandidateSet) {
  const add = candidates.addResults.bind(candidates);
  const internals = ix.internals;
  const compactQuery = compactName(q.terms.join(''));
  const compactAll = compactName(q.words.filter((w) => w.length <= MAX_TERM_CHARS).join(''));
  // Run-together names ("skyecc", "sky ecc") meet the compact field; typos in them are handled by the one-edit
  // lookups below, which cost far less than fuzzy search over every compact name.
  for (const c of new Set([compactQuery, compactAll])) {
    if (c.length < 3 || c.length > MAX_TERM_CHARS || (q.terms.length === 1 && c === q.terms[0])) continue;
    const prefixed = !q.isQuestion && c.length >= 4 && prefixAffordable(ix, c, [ix.fields.compact], work);
    if (!prefixed) work.postings += postingCount(internals, c, [ix.fields.compact]);
    add(ix.mini.search(c, { fields: ['compact'], prefix: prefixed }), 1.2, false);
  }
  for (const cve of q.cves) {
    work.postings += postingCount(internals, compactName(cve));
    add(ix.mini.search(compactName(cve), { fields: ['compact', 'entities'], boost: { compact: 3, entities: 1 } }), 1.5, false);
  }

  const exactIds = new Set<string>();
  for (const key of new Set([compactQuery, compactAll, ...q.cves.map(compactName)])) {
    for (const id of idsWithTerm(internals, key, ix.fields.compact, work)) exactIds.add(id);
  }
  // One typo in a name (a dropped, doubled, swapped or wrong letter) still names the record. Swaps are looked up
  // directly (n variants); the rest through a one-edit walk of the names' radix tree, not of every indexed word.
  const nearIds = new Map<string, number>();
  const named = compactName(q.words.filter((w) => !isStopWord(w) && w.length <= MAX_TERM_CHARS).join(''));
  const note = (name: string, bonus: number) => {
    for (const id of idsWithTerm(internals, name, ix.fields.compact, work)) {
      if (!exactIds.has(id) && bonus > (nearIds.get(id) ?? 0)) nearIds.set(id, bonus);
    }
  };
  for (const key of new Set([compactQuery, named])) {
    if (key.length < 4 || key.length > MAX_TYPO_CHARS) continue;
    for (const swapped of transpositions(key)) note(swapped, TYPO_BONUS.swap);
    for (const [name, [fields, distance]] of internals._index.fuzzyGet(key, 1)) {
      if (distance === 0 || !fields.has(ix.fields.compact)) continue;
      // Typists double a letter or skip one more often than they hit a wrong key: rank those names first.
      const bonus = name.length < key.length ? TYPO_BONUS.extraLetter : name.length > key.length ? TYPO_BONUS.missingLetter : TYPO_BONUS.wrongLetter;
      note(name, bonus);
    }
  }
  const dated: string[] = [];
  for (const d of q.dates) {
    if (d.month === undefined) continue;
    const key = dateKeys(`${d.year}-${String(d.month).padStart(2, '0')}${d.day ? `-${String(d.day).padStart(2, '0')}` : ''}`)[0];
    dated.push(...idsWithTerm(internals, key, ix.fields.dates, work, MAX_DATED_CANDIDATES - dated.length));
  }
  // Exact names that minisearch ranked below the candidate cut still belong in the candidate set.
  for (const id of [...exactIds, ...nearIds.keys(), ...dated]) candidates.ensure(id, 0.5);
  return { compactQuery, compactAll, exactIds, nearIds };
}

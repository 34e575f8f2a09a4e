import type { Candidate, RankedHit } from './candidates.js';
import { CONTEXT_KINDS, type Incident } from './incident.js';
import { compactNamesOf, FIELD_BOOSTS, recordNames } from './index-doc.js';
import { nameCoverage, nameWord, nameWordsOf, type NameWord } from './name-cover.js';
import type { TermLookup, Work } from './postings.js';
import type { ParsedQuery } from './query.js';
import { CORRECTION_WEIGHT, dateFactor, hintFactor } from './rank-signals.js';
import { compactName } from './text.js';

/** Re-ranking signals of one record, derived from it once and cached by the index. */
export interface Profile {
  names: string[];
  entities: string[];
  date: string | null;
  dateEnd: string | null;
  /** CVE ids the record cites: its entities and the ids its text writes. */
  cited: string[];
  /** The identifying words of each name, for word-by-word matching (keyed on first use: most candidates never need them). */
  nameWords?: NameWord[][];
  /** The record's names, for `nameWords`. */
  nameList: string[];
}

const CVE_ID = /\bCVE-\d{4}-\d{4,7}\b/gi;

/** Returns the re-ranking signals of a record: compact names, compact entity names, dates, cited CVEs. */
export function profileOf(incident: Incident): Profile {
  const e = incident.entities;
  return {
    names: compactNamesOf(incident),
    entities: [...new Set([...e.actors, ...e.software, ...e.victims, ...e.cves].map(compactName).filter((c) => c.length > 2))],
    date: incident.date?.value ?? null,
    dateEnd: incident.dateEnd?.value ?? null,
    cited: [...new Set([...e.cves, ...(`${incident.summary}\n${incident.body ?? ''}`.match(CVE_ID) ?? [])].map((c) => c.toUpperCase()))],
    nameList: recordNames(incident),
  };
}

/** Score a common term adds per unit of field weight, comparable to a normalised rare-term match. */
const COMMON_TERM_SCORE = 0.04;
/** Field weight of a word found only in a record's text, for the per-candidate check (the lead summary has 0.6). */
const TEXT_TERM_WEIGHT = 0.4;
/**
 * Bonus for a name of several words that the query covers word by word (each word as typed, of its family, one slip
 * away or sounding alike), times the coverage both ways: below a whole-name typo (TYPO_BONUS), above a contained name.
 */
const NAME_WORDS_BONUS = 1.3;
/** Leading candidates whose names are read word by word. */
const NAME_WORDS_HEAD = 30;
/** Bonus for a query word that the record's text writes as a name, times the word's nameness (0..1). */
const MENTION_BONUS = 0.4;

/** What re-ranking needs to know about a query beyond its candidates. */
export interface RerankContext {
  q: ParsedQuery;
  /** Name-index lookups of the query's words. */
  terms: TermLookup;
  /** Returns whether a record's text carries a (folded) word. */
  inText: (word: string, id: string) => boolean;
  shortIdOf: (id: string) => number | undefined;
  profileOf: (id: string) => Profile | undefined;
  /** For each typed word the index did not know: the indexed words it may have meant. */
  correctionsOf: ReadonlyMap<string, readonly string[]>;
  /** Query words no index knows and no correction explains. */
  unknownWords: number;
  /** Records one of whose names the whole query is. */
  exactIds: ReadonlySet<string>;
  /** Records one of whose names is one typo from the query, with the bonus for that kind of typo. */
  nearIds: ReadonlyMap<string, number>;
  /** Records whose text writes a query word as a name only texts carry, with that word's nameness. */
  namedInText: ReadonlyMap<string, number>;
  /** The query's meaningful words run together, and all its words run together. */
  compactQuery: string;
  compactAll: string;
  work: Work;
}

/**
 * Returns the candidates scored, best first: search evidence weighed by coverage of the query's words, then name
 * identity (exact, one typo, contained), entities named, names only texts carry, dates, kind hints, and incidents
 * before context that matches as well. `filter` drops hits after scoring.
 */
export function rerank(candidates: Iterable<Candidate>, ctx: RerankContext, filter?: (hit: RankedHit) => boolean): RankedHit[] {
  const { q, terms, work } = ctx;
  const termCount = Math.max(1, q.terms.length + q.cves.length);
  const queryWords = new Set(q.words);
  // Short names ("Reg", "Arp") only count as a whole word; longer ones also inside run-together text.
  const mentions = (name: string) => (name.length >= 4 ? ctx.compactAll.includes(name) : queryWords.has(name));
  const scored: { hit: RankedHit; profile?: Profile; score: number; contained: number; factor: number }[] = [];
  for (const { hit, base, textBase, coverage } of candidates) {
    const profile = ctx.profileOf(hit.id);
    let score = base;
    // Coverage: a record that matches every meaningful word beats one that matches a single word strongly.
    let covered = coverage.size;
    // Words the search did not credit (common words, or records reached by name or date) are checked exactly:
    // in the name index first, then in the record's whole text.
    const shortId = ctx.shortIdOf(hit.id);
    if (shortId !== undefined) {
      for (const t of q.terms) {
        if (coverage.has(t)) continue;
        const fixes = ctx.correctionsOf.get(t);
        work.postings += fixes ? fixes.length : 1;
        let w = fixes ? Math.max(0, ...fixes.map((f) => CORRECTION_WEIGHT * terms.weight(f, shortId, FIELD_BOOSTS))) : terms.weight(t, shortId, FIELD_BOOSTS);
        if (w === 0 && !fixes && ctx.inText(t, hit.id)) w = TEXT_TERM_WEIGHT;
        if (w > 0) {
          covered++;
          score += COMMON_TERM_SCORE * w;
        }
      }
    }
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
    // A strong name match on part of the query still answers ("sky ecc takedown"); text that shares only part of
    // the query's words ("Desert Falcon" for "amber falcon") counts in proportion, with no floor.
    score = score * (0.35 + 0.65 * cov * cov) + textBase * cov * cov;
    if (ctx.exactIds.has(hit.id)) {
      hit.exactName = true;
      score += 2;
    } else if (ctx.nearIds.has(hit.id)) {
      score += ctx.nearIds.get(hit.id)!;
    }
    const byName = ctx.exactIds.has(hit.id) || ctx.nearIds.has(hit.id);
    const contained = !byName && nameContained > 0 ? 0.8 * Math.min(1, nameContained / Math.max(8, ctx.compactQuery.length)) + 0.3 : 0;
    score += contained;
    if (entityHits > 0) score += 0.5 * Math.min(entityHits, 3);
    // A word the record's text writes as a name ("ViaSat") names something the record is about: a small bonus,
    // well below a name of its own, so a record named X still outranks one that mentions X. Not when another word
    // of the query is unknown everywhere: then the query names something we have never seen ("violet comet"), and
    // a text that mentions "Comet" is no answer to it.
    if (ctx.unknownWords === 0) score += MENTION_BONUS * (ctx.namedInText.get(hit.id) ?? 0);
    let factor = 1;
    if (q.dates.length > 0) factor *= dateFactor(q.dates, profile?.date ?? null, profile?.dateEnd ?? null);
    if (q.kindHint) factor *= hintFactor(q.kindHint, hit.kind, q.weakHint);
    // "tool" vs "malware", "campaign": the hint word itself may be carried by the record's tags.
    if (shortId !== undefined) for (const w of q.hintWords) if (terms.weight(w, shortId, FIELD_BOOSTS) > 0) factor *= 1.2;
    // Context records (groups, software, CVEs) must not outrank an incident that matches as well.
    if (CONTEXT_KINDS.has(hit.kind)) factor *= 0.92;
    hit.score = score * factor;
    if (!filter || filter(hit)) scored.push({ hit, profile, score, contained: byName ? -1 : contained, factor });
  }
  scored.sort((a, b) => b.hit.score - a.hit.score);
  // Names of several words matched word by word: read for the leading candidates only (keying names costs more than
  // the rest of re-ranking), where the records a query names are.
  if (q.terms.length >= 2) {
    const typed = q.terms.map(nameWord);
    for (const s of scored.slice(0, NAME_WORDS_HEAD)) {
      if (s.contained < 0 || !s.profile) continue;
      const byWords = NAME_WORDS_BONUS * nameCoverage(typed, (s.profile.nameWords ??= nameWordsOf(s.profile.nameList))).share;
      if (byWords > s.contained) s.hit.score = (s.score - s.contained + byWords) * s.factor;
    }
  }
  return scored.map((s) => s.hit).sort((a, b) => b.score - a.score || a.id.localeCompare(b.id));
}

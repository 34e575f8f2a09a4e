import type { SearchResult } from 'minisearch';
import type SearchableMap from 'minisearch/SearchableMap';

/** The parts of minisearch 7's index we read directly (the library is pinned; snapshot round trips are tested). */
export interface MiniInternals {
  _index: SearchableMap<Map<number, Map<number, number>>>;
  _idToShortId: Map<string, number>;
  _documentIds: Map<number, string>;
  _fieldIds: Record<string, number>;
}

/** Counts the postings a query reads, so the bound on work per query can be tested rather than timed. */
export interface Work {
  postings: number;
}

/** Returns how many records carry the term in its busiest field (0 when no record does). */
export function documentFrequency(mini: MiniInternals, term: string): number {
  const fields = mini._index.get(term);
  if (!fields) return 0;
  let df = 0;
  for (const docs of fields.values()) df = Math.max(df, docs.size);
  return df;
}

/** Returns the number of postings of a term in the given fields (all fields when none are given). */
export function postingCount(mini: MiniInternals, term: string, fieldIds?: readonly number[]): number {
  const fields = mini._index.get(term);
  if (!fields) return 0;
  let n = 0;
  for (const [fieldId, docs] of fields) if (!fieldIds || fieldIds.includes(fieldId)) n += docs.size;
  return n;
}

/** Returns the summed weights of the fields where the record carries the term (0 when it does not). */
export function termWeight(mini: MiniInternals, term: string, shortId: number, boosts: readonly number[]): number {
  const fields = mini._index.get(term);
  if (!fields) return 0;
  let w = 0;
  for (const [fieldId, docs] of fields) {
    if (docs.has(shortId)) w += boosts[fieldId] ?? 1;
  }
  return w;
}

/**
 * Term lookups for one query: each term's postings are found once (a walk of the term tree), then checked per
 * candidate as a map lookup. Re-ranking checks every query word against every candidate.
 */
export class TermLookup {
  private readonly cache = new Map<string, Map<number, Map<number, number>> | undefined>();

  constructor(private readonly mini: MiniInternals) {}

  /** Returns the term's postings by field id, or undefined when no record carries it. */
  fields(term: string): Map<number, Map<number, number>> | undefined {
    if (this.cache.has(term)) return this.cache.get(term);
    const found = this.mini._index.get(term);
    this.cache.set(term, found);
    return found;
  }

  /** Returns the summed weights of the fields where the record carries the term (0 when it does not). */
  weight(term: string, shortId: number, boosts: readonly number[]): number {
    const fields = this.fields(term);
    if (!fields) return 0;
    let w = 0;
    for (const [fieldId, docs] of fields) if (docs.has(shortId)) w += boosts[fieldId] ?? 1;
    return w;
  }
}

/** Returns the ids of records whose `field` holds exactly this term (a compact name, a date key), at most `max`. */
export function idsWithTerm(mini: MiniInternals, term: string, fieldId: number, work: Work, max = Infinity): string[] {
  const docs = mini._index.get(term)?.get(fieldId);
  if (!docs) return [];
  const out: string[] = [];
  for (const shortId of docs.keys()) {
    if (out.length >= max) break;
    const id = mini._documentIds.get(shortId);
    if (id !== undefined) out.push(id);
  }
  work.postings += out.length;
  return out;
}

/** Returns whether the words a prefix expands to stay within the limits (in number, and in postings); counts them. */
export function prefixWithin(mini: MiniInternals, prefix: string, fieldIds: readonly number[] | undefined, limits: { terms: number; postings: number }, work: Work): boolean {
  let terms = 0;
  let postings = 0;
  for (const [word] of mini._index.atPrefix(prefix)) {
    if (++terms > limits.terms) return false;
    postings += postingCount(mini, word, fieldIds);
    if (postings > limits.postings) return false;
  }
  work.postings += postings;
  return true;
}

/**
 * Returns the records among the first `max` postings of `term` in the given fields, each scored by the summed field
 * weights of the `terms` it carries, best first: candidates for a query of common words, which a search would read
 * whole.
 */
export function scanPostings(mini: MiniInternals, term: string, fieldIds: readonly number[], terms: readonly string[], boosts: readonly number[], max: number, work: Work): SearchResult[] {
  const fields = mini._index.get(term);
  const seen = new Set<number>();
  const out: SearchResult[] = [];
  scan: for (const fieldId of fieldIds) {
    for (const shortId of fields?.get(fieldId)?.keys() ?? []) {
      if (seen.size >= max) break scan;
      if (seen.has(shortId)) continue;
      seen.add(shortId);
      const id = mini._documentIds.get(shortId);
      if (id === undefined) continue;
      const queryTerms: string[] = [];
      let score = 0;
      for (const t of terms) {
        const w = termWeight(mini, t, shortId, boosts);
        if (w > 0) queryTerms.push(t);
        score += w;
      }
      out.push({ id, score: score * queryTerms.length, terms: queryTerms, queryTerms, match: {} });
    }
  }
  work.postings += seen.size * (1 + terms.length);
  return out.sort((a, b) => b.score - a.score);
}

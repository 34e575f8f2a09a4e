import type { IncidentIndex } from './incident-index.js';
import type { ParsedQuery } from './query.js';
import { alternativeWords, type Alternative } from './synonyms.js';

/**
 * Most postings one description's text search may read (rarest words first). A description has many words; common
 * ones ("network", "remote") would read thousands of postings each and discriminate little, so the budget keeps the
 * search bounded whatever the corpus size.
 */
const DESCRIBE_BUDGET = 4_000;
/** Most records a word may be carried by to be searched here: commoner words are left to the evidence check. */
const MAX_DESCRIBE_DF = 400;
/** How much a word the question did not use, but a synonym of one it did, counts in the text search. */
const ALTERNATIVE_BOOST = 0.6;

/**
 * Returns the ids of up to `limit` records whose whole texts best tell what a description says, best first: BM25 over
 * the full text for the question's words and, at a discount, the words reports use for the same things (synonyms.ts)
 * and the other names of groups and tools it names (`alsoSaid`).
 * The name index ranks by names, so a record that tells the story in other words may sit far down its list; these
 * join the records answering re-weighs by evidence.
 */
export function describeCandidates(index: IncidentIndex, q: ParsedQuery, limit: number, keep?: (id: string) => boolean, alsoSaid?: ReadonlyMap<string, readonly Alternative[]>): string[] {
  const typed = new Set(q.terms);
  const words = new Set<string>(q.terms);
  for (const t of q.terms) {
    for (const w of alternativeWords(t)) words.add(w);
    for (const alt of alsoSaid?.get(t) ?? []) for (const w of alt.words) words.add(w);
  }
  const plan = [...words]
    .map((w) => ({ w, df: index.text.df(w) }))
    .filter((x) => x.df > 0 && x.df <= MAX_DESCRIBE_DF)
    .sort((a, b) => a.df - b.df);
  const chosen: string[] = [];
  let budget = DESCRIBE_BUDGET;
  for (const { w, df } of plan) {
    if (df > budget) break;
    budget -= df;
    chosen.push(w);
  }
  if (chosen.length === 0) return [];
  const boosts = new Map(chosen.map((w) => [w, typed.has(w) ? 1 : ALTERNATIVE_BOOST]));
  const hits = index.text.searchWeighted(chosen, boosts, limit * 2);
  return hits.filter((id) => !keep || keep(id)).slice(0, limit);
}

import type { Incident } from './incident.js';
import type { ParsedQuery } from './query.js';
import { stem } from './stem.js';
import { compactName, stripMarkup } from './text.js';
import { words } from './query.js';

/**
 * Below this share of the question's evidence found in the best record, the bot says it is not sure instead of
 * answering with that record. Calibrated on held-out natural questions: right answers to topics and facts carry 0.49
 * and more of their question's weight, the best records for questions about things the data does not hold carry
 * 0.13-0.38 (a made-up actor whose first word is a real tool's carries 0.53: see `unknownMissing`).
 */
export const MIN_EVIDENCE = 0.45;

/** How much a word weighs as evidence, from the number of records whose text carries it (rarer weighs more). */
export type WordWeight = (word: string) => number;

/**
 * Returns the share (0..1) of the query's terms, weighted by rarity, that the record's names and text carry. A term
 * counts when the record holds it, a word of its family (same stem), a word one edit away (a typo), or holds it run
 * together in a name ("nightdragon"). Terms no record carries weigh the most: the question names something the data
 * does not know.
 */
export function evidenceFor(incident: Incident, q: ParsedQuery, weight: WordWeight): number {
  return weighEvidence(incident, q, weight).share;
}

/** The evidence a record gives for a query: the weighted share it carries, and whether it lacks a word no record knows. */
export interface Evidence {
  share: number;
  /** The query holds a word no record carries (weight `unknownWeight`) and this record lacks it: a name the data lacks. */
  unknownMissing: boolean;
}

/** Returns the evidence the record gives for the query; `unknownWeight` is the weight of a word no record carries. */
export function weighEvidence(incident: Incident, q: ParsedQuery, weight: WordWeight, unknownWeight = Infinity): Evidence {
  const terms = q.terms.filter((t) => !/^\d{1,2}$/.test(t));
  if (terms.length === 0) return { share: 1, unknownMissing: false };
  const names = [incident.title, ...incident.aliases];
  const text = [...names, stripMarkup(incident.summary), incident.body ? stripMarkup(incident.body).slice(0, 20_000) : '', incident.tags.join(' ')].join(' ');
  const own = new Set(words(text));
  const stems = new Set([...own].map(stem));
  const compact = names.map(compactName).join(' ');
  let total = 0;
  let found = 0;
  let unknownMissing = false;
  for (const t of terms) {
    const w = weight(t);
    total += w;
    if (own.has(t) || stems.has(stem(t)) || (t.length >= 4 && compact.includes(t)) || (t.length >= 5 && nearWord(t, own)) || (t.length >= 5 && inCompound(t, own))) found += w;
    else if (w >= unknownWeight) unknownMissing = true;
  }
  return { share: total === 0 ? 1 : found / total, unknownMissing };
}

/** Whether a word of the text starts or ends with the term ("print" and "nightmare" in "printnightmare"). */
function inCompound(term: string, own: ReadonlySet<string>): boolean {
  for (const w of own) if (w.length > term.length + 2 && (w.startsWith(term) || w.endsWith(term))) return true;
  return false;
}

function nearWord(term: string, own: ReadonlySet<string>): boolean {
  for (const w of own) if (Math.abs(w.length - term.length) <= 1 && w[0] === term[0] && withinOneEdit(w, term)) return true;
  return false;
}

function withinOneEdit(a: string, b: string): boolean {
  if (a === b) return true;
  if (Math.abs(a.length - b.length) > 1) return false;
  let i = 0;
  let j = 0;
  let edits = 0;
  while (i < a.length && j < b.length) {
    if (a[i] === b[j]) {
      i++;
      j++;
      continue;
    }
    if (++edits > 1) return false;
    if (a.length > b.length) i++;
    else if (b.length > a.length) j++;
    else {
      i++;
      j++;
    }
  }
  return edits + (a.length - i) + (b.length - j) <= 1;
}

import type { Incident } from './incident.js';
import type { ParsedQuery } from './query.js';
import { stem } from './stem.js';
import { compactName, stripMarkup } from './text.js';
import { words } from './query.js';

/**
 * Below this share of the question's evidence found in the best record, the bot says it is not sure instead of
 * answering with that record. Calibrated on held-out questions (the public natural file and our own): correct
 * answers to topics and facts cover 0.6 and more of their question's weight, answers to questions about things the
 * data does not hold ("marriott starwood data breach", a made-up actor) cover 0.45 and less.
 */
export const MIN_EVIDENCE = 0.5;

/** How much a word weighs as evidence, from the number of records whose text carries it (rarer weighs more). */
export type WordWeight = (word: string) => number;

/**
 * Returns the share (0..1) of the query's terms, weighted by rarity, that the record's names and text carry. A term
 * counts when the record holds it, a word of its family (same stem), a word one edit away (a typo), or holds it run
 * together in a name ("nightdragon"). Terms no record carries weigh the most: the question names something the data
 * does not know.
 */
export function evidenceFor(incident: Incident, q: ParsedQuery, weight: WordWeight): number {
  const terms = q.terms.filter((t) => !/^\d{1,2}$/.test(t));
  if (terms.length === 0) return 1;
  const names = [incident.title, ...incident.aliases];
  const text = [...names, stripMarkup(incident.summary), incident.body ? stripMarkup(incident.body).slice(0, 20_000) : '', incident.tags.join(' ')].join(' ');
  const own = new Set(words(text));
  const stems = new Set([...own].map(stem));
  const compact = names.map(compactName).join(' ');
  let total = 0;
  let found = 0;
  for (const t of terms) {
    const w = weight(t);
    total += w;
    if (own.has(t) || stems.has(stem(t)) || (t.length >= 4 && compact.includes(t)) || (t.length >= 5 && nearWord(t, own))) found += w;
  }
  return total === 0 ? 1 : found / total;
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

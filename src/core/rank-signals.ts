import type { IncidentKind } from './incident.js';
import type { QueryDate } from './query.js';

/** Score bonus for a record whose name is one edit from the query, by the kind of edit. */
export const TYPO_BONUS = { extraLetter: 1.55, swap: 1.5, missingLetter: 1.45, wrongLetter: 1.4 } as const;

/** Returns the fuzzy edit distance allowed for a term: none for short words, where a typo is another word. */
export function fuzzyFor(term: string): number {
  // Beyond this length a word is run-together text, not a typed name; fuzzy cost grows with length.
  if (term.length > 24) return 0;
  if (term.length >= 8) return 2;
  if (term.length >= 5) return 1;
  return 0;
}

/** Returns every string made by swapping two adjacent letters of `s` (Levenshtein counts a swap as two edits). */
export function transpositions(s: string): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < s.length; i++) {
    if (s[i] !== s[i + 1]) out.push(s.slice(0, i) + s[i + 1] + s[i] + s.slice(i + 2));
  }
  return out;
}

/** Returns the score factor for a record's dates against the dates a query names (above 1 for a match). */
export function dateFactor(dates: QueryDate[], date: string | null, dateEnd: string | null): number {
  if (!date) return 0.85;
  let best = 0.8;
  const [y, m, day] = date.split('-').map(Number);
  const ey = dateEnd ? Number(dateEnd.slice(0, 4)) : 0;
  for (const d of dates) {
    if (y !== d.year) {
      if (ey && d.year >= y && d.year <= ey) best = Math.max(best, 1);
      continue;
    }
    if (d.month === undefined || m === undefined) best = Math.max(best, 1.15);
    else if (d.month === m) best = Math.max(best, d.day !== undefined && day === d.day ? 1.6 : d.day !== undefined && day !== undefined ? 1.1 : 1.35);
    else best = Math.max(best, 0.95);
  }
  return best;
}

/** Returns the score factor for a record's kind against the kind the query asks for. */
export function hintFactor(hint: IncidentKind, kind: IncidentKind, weak: boolean): number {
  if (weak) return hint === kind ? 1.2 : 0.75;
  return hint === kind ? 1.25 : 0.7;
}

/** How much a corrected word counts against a word typed as indexed. */
export const CORRECTION_WEIGHT = 0.5;

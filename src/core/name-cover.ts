import { doubleMetaphone } from 'double-metaphone';
import { fuzzyFor } from './rank-signals.js';
import { isKindWord, isStopWord, words } from './query.js';
import { stem } from './stem.js';

/**
 * How the words of a query cover a record's names, word by word: "nite dragon" is "Night Dragon" (one word spelt as
 * it sounds), "unitronics defacements" is most of "Unitronics Defacement Campaign", "cuckoo bees" is
 * "Operation CuckooBees" (one name word typed as two). Whole-name typos are the compact lookups' job (one edit in
 * the run-together name); this reads names of several words, where each word may carry its own slip.
 */

/** One word of a record's name, with the keys it is matched by. */
export interface NameWord {
  word: string;
  stem: string;
  /** Double Metaphone's primary key: words that sound alike share it ("nite", "night"). */
  sound: string;
}

/** Shortest sound key that identifies a word: shorter ones ("NT") are shared by too many words. */
const MIN_SOUND_WORD_CHARS = 4;

/** Returns the words of each name that identify it (no grammar, no kind words like "campaign" unless asked), with their keys. */
export function nameWordsOf(names: readonly string[], dropKindWords = true): NameWord[][] {
  // A bracketed part of a name annotates it ("(CVE-2024-1234 & CVE-2024-5678)"): people type the name without it.
  return names.map((n) => words(n.replace(/\([^)]*\)/g, ' ')).filter((w) => !isStopWord(w) && !(dropKindWords && isKindWord(w))).map(nameWord)).filter((ws) => ws.length > 0);
}

/** Returns a typed word with its keys (a query's terms, keyed once per query for `nameCoverage`). */
export function nameWord(word: string): NameWord {
  return { word, stem: stem(word), sound: word.length >= MIN_SOUND_WORD_CHARS - 1 ? doubleMetaphone(word)[0] : '' };
}

/** How the query's terms cover a record's best-covered name. */
export interface NameCover {
  /**
   * Square root of the share of the terms matched times the share of the name's words matched, 0..1 (0 unless two
   * terms or more match): the name is weighed whole more than the question is, which may name it in passing.
   */
  share: number;
  /** Share of the terms matched times share of the name's words matched: 1 when the question is just the name. */
  whole: number;
  /** The terms that matched that name. */
  terms: Set<string>;
}

/**
 * Returns how well the query's terms cover one of the names (the best one). A term matches a name word when it is that
 * word, of its family (stem), within the typo distance its length allows, or sounds alike (same first letter and
 * Double Metaphone key); two terms match one word they spell when run together.
 */
export function nameCoverage(terms: readonly string[] | readonly NameWord[], names: readonly NameWord[][]): NameCover {
  const best: NameCover = { share: 0, whole: 0, terms: new Set() };
  if (terms.length < 2 || names.length === 0) return best;
  const typed = terms.map((t) => (typeof t === 'string' ? nameWord(t) : t));
  for (const name of names) {
    const usedTerms = new Set<number>();
    let wordsMatched = 0;
    for (const nw of name) {
      let hit = false;
      for (let i = 0; i < typed.length && !hit; i++) {
        if (usedTerms.has(i)) continue;
        if (wordMatches(typed[i], nw)) {
          usedTerms.add(i);
          hit = true;
        } else if (i + 1 < typed.length && !usedTerms.has(i + 1) && typed[i].word + typed[i + 1].word === nw.word) {
          usedTerms.add(i).add(i + 1);
          hit = true;
        }
      }
      if (hit) wordsMatched++;
    }
    // One word in common is a shared word ("Dragon"), which the name index already weighs; this reads names of which
    // the query types several words.
    if (usedTerms.size < 2) continue;
    const termShare = usedTerms.size / typed.length;
    const share = Math.sqrt(termShare) * (wordsMatched / name.length);
    if (share > best.share) {
      best.share = share;
      best.whole = termShare * (wordsMatched / name.length);
      best.terms = new Set([...usedTerms].map((i) => typed[i].word));
    }
  }
  return best;
}

/** Whether a typed word is a name's word: the same, of its family, a typo within the allowed distance, or alike in sound. */
export function wordMatches(t: NameWord, n: NameWord): boolean {
  if (t.word === n.word || t.stem === n.stem) return true;
  if (t.sound && t.sound === n.sound && t.word.length >= MIN_SOUND_WORD_CHARS && t.word[0] === n.word[0]) return true;
  const allowed = fuzzyFor(t.word);
  return allowed > 0 && t.word[0] === n.word[0] && withinEdits(t.word, n.word, allowed);
}

/** Whether two words are at most `max` edits (insert, delete, substitute) apart; bounded work. */
export function withinEdits(a: string, b: string, max: number): boolean {
  if (Math.abs(a.length - b.length) > max) return false;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const v = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
      row.push(v);
      rowMin = Math.min(rowMin, v);
    }
    if (rowMin > max) return false;
    prev = row;
  }
  return prev[b.length] <= max;
}

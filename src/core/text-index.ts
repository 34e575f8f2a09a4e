import MiniSearch, { type Options, type SearchResult } from 'minisearch';
import { readSnapshot, readSnapshotParts, snapshotPartsSteps, writeSnapshot, type IndexParts } from './index-snapshot.js';
import type { Incident } from './incident.js';
import { foldWord, processIndexTerm, recordNames, tokenizeWords } from './index-doc.js';
import { postingCount, type MiniInternals, type Work } from './postings.js';
import { stem } from './stem.js';
import type { Steps } from './steps.js';
import { foldText, stripMarkup } from './text.js';

/** One record's whole text (summary and body, markup stripped) as the full-text index holds it. */
export interface TextDoc {
  id: string;
  /** The names the text mentions: words written as names (capitalised mid-sentence, mixed case, letters and digits). */
  mentions: string;
  /** Every word of the text (stemmed when indexed). */
  text: string;
}

/**
 * Characters of text indexed per record: every real description is far shorter (ATT&CK's longest is ~2,200), so
 * this only stops a pasted book from making one record's postings, and the snapshot, huge.
 */
export const MAX_TEXT_CHARS = 20_000;

/** Returns the indexed form of a word of running text: folded, then stemmed ("hacking" -> "hack"). */
const textTerm = (word: string): string | null => {
  const t = processIndexTerm(word);
  return t === null ? null : stem(t);
};

/** Options for building and for loading a snapshot of the full-text index (minisearch needs the same for both). */
export const TEXT_INDEX_OPTIONS: Options<TextDoc> = {
  idField: 'id',
  fields: ['mentions', 'text'],
  storeFields: [],
  tokenize: tokenizeWords,
  // Names are matched as written; running text by stem, so a word's family counts as one word.
  processTerm: (term, field) => (field === 'text' ? textTerm(term) : processIndexTerm(term)),
};

/** How much a word written as a name counts over the same word in running text (scaled by the word's nameness). */
const MENTION_BOOST = 2;
/**
 * BM25 for descriptions, with less length normalisation than minisearch's default (b 0.7): a name mentioned in a
 * long description is no less mentioned than in a short one.
 */
const TEXT_BM25 = { k: 1.2, b: 0.3, d: 0.5 };

/**
 * Returns the full-text document of a record: its summary and body, markup stripped, bounded, without the words of
 * the record's own names. Every description repeats its subject's name ("AcidRain is..."); the name index already
 * holds those words, and counting them again would lift any record whose name shares one word with a query.
 */
export function toTextDoc(incident: Incident): TextDoc {
  const parts = [stripMarkup(incident.summary)];
  if (incident.body) parts.push(stripMarkup(incident.body));
  const text = parts.join('\n').slice(0, MAX_TEXT_CHARS);
  const own = new Set(recordNames(incident).flatMap((n) => tokenizeWords(foldText(n))));
  const notOwn = (word: string) => !own.has(foldWord(word));
  return { id: incident.id, mentions: mentionedNames(text).filter(notOwn).join(' '), text: tokenizeWords(text).filter(notOwn).join(' ') };
}

// A word written as a name: capitalised after a lower-case word or a comma (not a sentence's first word), mixed case
// inside ("ViaSat", "PrintNightmare", "KA"), or letters with digits ("Log4Shell", "APT28").
const NAME_WORD = /(?<=[\p{Ll}\p{N},;)]\s+)\p{Lu}[\p{L}\p{N}]*|\b\p{L}+\p{Lu}[\p{L}\p{N}]*|\b[\p{L}\p{N}]*(?:\p{L}\p{N}|\p{N}\p{L})[\p{L}\p{N}]*/gu;

/** Returns the words a text writes as names, in order (a word that is only capitalised to open a sentence is not one). */
export function mentionedNames(text: string): string[] {
  return text.match(NAME_WORD) ?? [];
}

/** A full-text match: minisearch's result, plus how much of a name the best word the text mentions as a name is. */
export interface TextHit extends SearchResult {
  /** The highest nameness (0..1) among the query words this text writes as a name; 0 when it only has them as words. */
  named: number;
}

/**
 * The whole text of every record, in its own minisearch index beside the name index: searched for exact words
 * only (no prefix, no fuzzy), and only for words rare enough that their postings are short; common words are
 * checked against candidates instead. Its vocabulary stays out of the name index, so typo correction and prefix
 * expansion there walk names, not every word of every description.
 */
export class TextIndex {
  private readonly internals: MiniInternals;
  private readonly mentionsField: number;
  private readonly textField: number;

  private constructor(readonly mini: MiniSearch<TextDoc>) {
    this.internals = mini as unknown as MiniInternals;
    this.mentionsField = this.internals._fieldIds.mentions;
    this.textField = this.internals._fieldIds.text;
  }

  /** Returns an empty full-text index. */
  static empty(): TextIndex {
    return new TextIndex(new MiniSearch<TextDoc>(TEXT_INDEX_OPTIONS));
  }

  /** Returns the full-text index a snapshot (`toSnapshot()`) holds. */
  static fromSnapshot(snapshot: string): TextIndex {
    return new TextIndex(readSnapshot<TextDoc>(snapshot, TEXT_INDEX_OPTIONS));
  }

  /** Returns a snapshot of this index (JSON). */
  toSnapshot(): string {
    return writeSnapshot(this.mini, TEXT_INDEX_OPTIONS);
  }

  /** Returns the full-text index `snapshotPartsSteps()` wrote. */
  static fromParts(parts: IndexParts): TextIndex {
    return new TextIndex(readSnapshotParts<TextDoc>(parts, TEXT_INDEX_OPTIONS));
  }

  /** Returns this index in the served snapshot's form, yielding between steps (see `Steps`). */
  snapshotPartsSteps(): Steps<IndexParts> {
    return snapshotPartsSteps(this.mini, TEXT_INDEX_OPTIONS);
  }

  /** Adds a record's text, replacing what was indexed under its id. */
  add(incident: Incident): void {
    this.remove(incident.id);
    this.mini.add(toTextDoc(incident));
  }

  /** Removes a record's text (nothing happens for an unknown id). */
  remove(id: string): void {
    if (this.mini.has(id)) this.mini.discard(id);
  }

  /** Returns how many records' texts carry the word (or a word of its family: same stem). */
  df(word: string): number {
    return postingCount(this.internals, stem(word), [this.textField]);
  }

  /** Returns the postings a search for the (folded) word reads: its mentions and its family in running text. */
  cost(word: string): number {
    return postingCount(this.internals, word, [this.mentionsField]) + postingCount(this.internals, stem(word), [this.textField]);
  }

  /**
   * Returns the records whose text carries any of the (folded) words, best first, at most `limit`: BM25 over the
   * whole text, plus the same over the names the text mentions, weighted by how much the corpus treats the word as
   * a name. `queryTerms` of each result are the words as given; `named` considers only `nameCandidates`.
   */
  search(words: readonly string[], limit: number, work: Work, nameCandidates: ReadonlySet<string> = new Set(words)): TextHit[] {
    if (words.length === 0) return [];
    const typedOf = new Map<string, string[]>();
    const nameness = new Map<string, number>();
    for (const w of words) {
      const s = stem(w);
      typedOf.set(s, [...(typedOf.get(s) ?? []), w]);
      if (s !== w) typedOf.set(w, [...(typedOf.get(w) ?? []), w]);
      const asName = postingCount(this.internals, w, [this.mentionsField]);
      const anywhere = postingCount(this.internals, s, [this.textField]);
      work.postings += asName + anywhere;
      // "ViaSat" is written as a name wherever it appears; "hack" is also written in lower case ("hacking",
      // "hacked"): an ordinary word that a name ("Hack Back") happens to contain. Only the first kind makes a
      // mention a strong match.
      nameness.set(w, anywhere > 0 ? Math.min(1, asName / anywhere) : 0);
    }
    const query = { queries: [...words], combineWith: 'OR' as const };
    // Each list comes sorted; the best `limit` of each are enough to find the best `limit` of their sum.
    const byText = this.mini.search(query, { fields: ['text'], bm25: TEXT_BM25, processTerm: textTerm }).slice(0, limit);
    const byName = this.mini
      .search(query, { fields: ['mentions'], bm25: TEXT_BM25, processTerm: processIndexTerm, boostTerm: (t) => MENTION_BOOST * (nameness.get(t) ?? 0) })
      .slice(0, limit);
    const merged = new Map<string, TextHit>();
    for (const [results, asName] of [[byText, false], [byName, true]] as const) {
      for (const r of results) {
        let hit = merged.get(r.id);
        if (!hit) {
          hit = { id: r.id, score: 0, terms: r.terms, queryTerms: [], match: r.match, named: 0 };
          merged.set(r.id, hit);
        }
        hit.score += r.score;
        for (const t of r.queryTerms) {
          for (const typed of typedOf.get(t) ?? [t]) if (!hit.queryTerms.includes(typed)) hit.queryTerms.push(typed);
          if (asName && nameCandidates.has(t)) hit.named = Math.max(hit.named, nameness.get(t) ?? 0);
        }
      }
    }
    return [...merged.values()].sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : 1)).slice(0, limit);
  }

  /**
   * Returns the ids of up to `limit` records whose running text best matches the (folded) words, best first: BM25
   * with each word's score times its boost (absent: 1). Reads every posting of the words: callers bound them.
   */
  searchWeighted(words: readonly string[], boosts: ReadonlyMap<string, number>, limit: number): string[] {
    const byStem = new Map<string, number>();
    for (const w of words) byStem.set(stem(w), Math.max(byStem.get(stem(w)) ?? 0, boosts.get(w) ?? 1));
    return this.mini
      .search({ queries: [...words], combineWith: 'OR' }, { fields: ['text'], bm25: TEXT_BM25, processTerm: textTerm, boostTerm: (t) => byStem.get(t) ?? 1 })
      .slice(0, limit)
      .map((r) => String(r.id));
  }

  /** Returns the ids of up to `max` records whose texts carry the (folded) word or its family, in posting order. */
  scan(word: string, max: number, work: Work): string[] {
    const out: string[] = [];
    for (const shortId of this.internals._index.get(stem(word))?.get(this.textField)?.keys() ?? []) {
      if (out.length >= max) break;
      const id = this.internals._documentIds.get(shortId);
      if (id !== undefined) out.push(id);
    }
    work.postings += out.length;
    return out;
  }

  /** Returns a test of whether a record's text carries the (folded) word or a word of its family (one lookup, then per id). */
  carriers(word: string, work: Work): (id: string) => boolean {
    const docs = this.internals._index.get(stem(word))?.get(this.textField);
    return (id) => {
      work.postings++;
      const shortId = this.internals._idToShortId.get(id);
      return docs !== undefined && shortId !== undefined && docs.has(shortId);
    };
  }
}

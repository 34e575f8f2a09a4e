import type { Incident } from './incident.js';
import type { ParsedQuery } from './query.js';
import { stem } from './stem.js';
import { compactName, foldText, stripMarkup } from './text.js';
import { words } from './query.js';
import { nameCoverage, nameWordsOf, withinEdits, type NameWord } from './name-cover.js';
import { alternativesOf, type Alternative } from './synonyms.js';
import { countryCode, countryName } from './countries.js';
import { DEMONYMS } from './intents.js';

/**
 * Below this share of the question's weight found in the best record, the bot says it is not sure instead of
 * answering with that record. Calibrated on the natural questions (the public file, our first 40, and 53 topic and
 * absent questions of our own) with the answers' records' shares printed, synonyms counted: the right records of
 * topics carry 0.41 and more (most 0.5-1.0; "viasat satellite hack" 0.41 among lookups); the best records for absent
 * things 0.13-0.54, most under 0.40. The two overlap (an absent "insider at a car dealership selling customer credit
 * card numbers" shares five of eight words with a group, 0.54, while right topics told in other words sit at
 * 0.41-0.54): 0.40 keeps every right topic seen and leaves three of our 19 absent descriptions answered; 0.55 would
 * catch those and lose seven right topics. Absent names that share a word with a real one ("crimson osprey" 0.53) are
 * caught by the word no record carries (Evidence.unknownMissing).
 * The overlap is what DESCRIPTION_DOUBTS resolves: it looks at what the record fails to say, not at how much it says.
 * Re-checked with them (bench/calibration.ts) on the same dev questions: right descriptions 0.41-1.00 (median 0.73),
 * none doubted; absent best matches 0.27-0.54, every one at 0.40 or more doubted. On 44 held-out questions written
 * before tuning: right 0.36-0.92, absent 0.16-0.62, four absent ones at 0.40 or more undoubted.
 */
export const MIN_EVIDENCE = 0.4;

/**
 * Doubts about the best record for a description (five terms or more, as answer.ts counts them) that the share of its
 * weight cannot see: a long question shares many words with some record by chance (the best of some 40 candidates is
 * kept), so its share alone overlaps between right and unrelated records (see MIN_EVIDENCE). Each rule here looks at
 * what the record fails to say instead.
 */
export const DESCRIPTION_DOUBTS = {
  /** Fewest terms for these rules: shorter questions are names, with their own rules (one unknown word is a name the data lacks). */
  minTerms: 5,
  /**
   * Most things the question says that no record's text carries, and the answer lacks, before it is doubted: one is
   * casual wording ("cobbled", "on-prem", a city); two (a "dental" practice in "ohio") say the story is one the data
   * does not hold, since a right record would have had to miss two words the rest of the data never uses either.
   */
  maxUnknownMissing: 1,
  /**
   * A country the question names (or its people's adjective) that neither the record nor the records it links to (its
   * actors: a campaign rarely restates its group's country) mention: it tells of another place's events.
   */
  placeMustBeMentioned: true,
  /**
   * Fewest terms for the place rule: a country and two more words already tell a story ("chilean hackers phishing
   * water utilities" is four once the place is read); a record that never names the place tells another one.
   */
  placeMinTerms: 3,
} as const;

/**
 * Returns why the record is doubted as the answer to a description (an unknown thing or a place it lacks), or
 * undefined; `linked` are the records it links to (its groups, tools), which may say the place for it.
 */
export function descriptionDoubt(incident: Incident, q: ParsedQuery, evidence: Evidence, linked: readonly Incident[] = []): string | undefined {
  if (q.terms.length >= DESCRIPTION_DOUBTS.minTerms && evidence.unknownMissingCount > DESCRIPTION_DOUBTS.maxUnknownMissing) return 'unknown';
  if (DESCRIPTION_DOUBTS.placeMustBeMentioned && q.terms.length >= DESCRIPTION_DOUBTS.placeMinTerms) {
    const missing = new Set(placesMissing(incident, q));
    for (const other of linked) {
      if (missing.size === 0) break;
      const still = new Set(placesMissing(other, q));
      for (const p of missing) if (!still.has(p)) missing.delete(p);
    }
    if (missing.size > 0) return 'place';
  }
  return undefined;
}

/**
 * Share of a word's weight a record earns by saying it in other words (synonyms.ts: "crew" for "group"): the
 * record tells the same thing, but a word the question and the text share is surer evidence than a synonym. The
 * weight is the lesser of the question's word and the record's: a record that says it with a common word earns little.
 */
export const SYNONYM_CREDIT = 0.8;

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
  /** The weight of the query's rarest term when this record carries it, else 0: a word almost no record holds is a name. */
  rarestCarried: number;
  /** Each weighed term: its weight and the share of it the record earns (1 carried, SYNONYM_CREDIT-ish said otherwise, 0 missing). */
  terms: TermEvidence[];
  /**
   * How many things the question says that no record's text carries, and this record lacks (weight `unknownWeight`):
   * the words of one hyphenated compound ("booby-trapped") count once, being one thing said.
   */
  unknownMissingCount: number;
}

/** How much of one query term a record carries. */
export interface TermEvidence {
  term: string;
  weight: number;
  /** 0..1: 1 when the record carries the word (or its family, a slip, a name run together), less when said otherwise. */
  credit: number;
}

/**
 * Returns the evidence the record gives for the query; `unknownWeight` is the weight of a word no record carries, and
 * `alsoSaid` the other ways a word may be said besides synonyms.ts (another name of a group the question names).
 */
export function weighEvidence(incident: Incident, q: ParsedQuery, weight: WordWeight, unknownWeight = Infinity, alsoSaid?: ReadonlyMap<string, readonly Alternative[]>): Evidence {
  const terms = q.terms.filter((t) => !/^\d{1,2}$/.test(t));
  if (terms.length === 0) return { share: 1, unknownMissing: false, rarestCarried: 0, terms: [], unknownMissingCount: 0 };
  const { own, stems, compact, nameWords } = wordsOf(incident);
  // Words of a name typed as they sound or with a slip each ("lazerus grup") are that name's words.
  const byName = nameCoverage(terms, nameWords).terms;
  let total = 0;
  let found = 0;
  let unknownMissing = false;
  let rarest = { weight: -1, carried: false };
  const weighed: TermEvidence[] = [];
  const unknownThings = new Set<string>();
  const compoundOf = compoundsOf(q.text);
  for (const t of terms) {
    const w = weight(t);
    total += w;
    const carried = byName.has(t) || own.has(t) || stems.has(stem(t)) || (t.length >= 4 && compact.includes(t)) || (t.length >= 5 && (nearWord(t, own) || inCompound(t, own)));
    let earned = 0;
    if (carried) earned = w;
    else {
      const said = saidOtherwise([...alternativesOf(t), ...(alsoSaid?.get(t) ?? [])], stems, weight);
      if (said > 0) earned = SYNONYM_CREDIT * Math.min(w, said);
      else if (w >= unknownWeight) {
        unknownMissing = true;
        unknownThings.add(compoundOf.get(t) ?? t);
      }
    }
    found += earned;
    weighed.push({ term: t, weight: w, credit: w > 0 ? earned / w : carried ? 1 : 0 });
    if (w > rarest.weight) rarest = { weight: w, carried };
  }
  return { share: total === 0 ? 1 : found / total, unknownMissing, rarestCarried: rarest.carried ? rarest.weight : 0, terms: weighed, unknownMissingCount: unknownThings.size };
}

/** Returns the places the question names (countries, by name or by the adjective: "iranian") that the record never mentions in any form. */
export function placesMissing(incident: Incident, q: ParsedQuery): string[] {
  const asked = placesAsked(q.words);
  if (asked.length === 0) return [];
  const { own } = wordsOf(incident);
  return asked.filter((p) => !mentionsPlace(incident, own, p.code)).map((p) => p.said);
}

/** Returns each word of the text's hyphenated compounds ("booby-trapped") mapped to the whole compound. */
function compoundsOf(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of foldText(text).matchAll(/[\p{L}\p{N}]+(?:-[\p{L}\p{N}]+)+/gu)) for (const part of m[0].split('-')) out.set(part, m[0]);
  return out;
}

/**
 * Returns the countries a question names: a country's name of one or two words, or the adjective for its people.
 * One-word names shorter than three letters are left out: "us" (and "in", "no", "it" if ever listed) is more often a
 * plain word of the question than a country.
 */
export function placesAsked(ws: readonly string[]): { said: string; code: string }[] {
  const out: { said: string; code: string }[] = [];
  for (let i = 0; i < ws.length; i++) {
    const two = i + 1 < ws.length ? `${ws[i]} ${ws[i + 1]}` : undefined;
    const code2 = two ? DEMONYMS[two] ?? countryCode(two) : undefined;
    if (two && code2) {
      out.push({ said: two, code: code2 });
      i++;
      continue;
    }
    const code = DEMONYMS[ws[i]] ?? (ws[i].length >= 3 ? countryCode(ws[i]) : undefined);
    if (code) out.push({ said: ws[i], code });
  }
  return out;
}

/**
 * Whether a record mentions a country in any form: its countries, its name's words, a short form ("usa", "uk"), the
 * adjective for its people, or its code written with dots ("U.S."), which splits into letters as words. Lenient on
 * purpose ("us" the pronoun counts): a doubt must come from a place the record surely does not name.
 */
function mentionsPlace(incident: Incident, own: ReadonlySet<string>, code: string): boolean {
  if (incident.entities.countries.some((c) => countryCode(c) === code)) return true;
  const name = countryName(code);
  if (name && words(name.replace(/\s*\(.*\)$/, '')).every((w) => own.has(w))) return true;
  for (const w of own) if (DEMONYMS[w] === code || (w.length >= 2 && countryCode(w) === code)) return true;
  const dotted = new RegExp(`\\b${code[0]}\\.\\s?${code[1]}\\.`);
  return dotted.test(incident.summary) || (incident.body !== undefined && dotted.test(incident.body));
}

/** What evidence reads of a record: its words, their stems, its names run together, and its names' words. */
interface RecordWords {
  own: Set<string>;
  stems: Set<string>;
  compact: string;
  nameWords: NameWord[][];
}

/**
 * Records' words kept between questions: a description re-weighs some 40 records, and reading a record's whole text
 * (with stems and name sounds) costs more than the rest of weighing it. Bounded (cleared when full) for memory.
 */
const wordsCache = new Map<Incident, RecordWords>();
const MAX_CACHED_RECORDS = 4_000;

function wordsOf(incident: Incident): RecordWords {
  let cached = wordsCache.get(incident);
  if (cached) return cached;
  const names = [incident.title, ...incident.aliases];
  const text = [...names, stripMarkup(incident.summary), incident.body ? stripMarkup(incident.body).slice(0, 20_000) : '', incident.tags.join(' ')].join(' ');
  const own = new Set(words(text));
  cached = { own, stems: new Set([...own].map(stem)), compact: names.map(compactName).join(' '), nameWords: nameWordsOf(names) };
  // Records are replaced, not changed, when data updates: a replaced record is a new key, and the old one ages out.
  if (wordsCache.size >= MAX_CACHED_RECORDS) wordsCache.clear();
  wordsCache.set(incident, cached);
  return cached;
}

/**
 * Returns the weight of the rarest way the text says the term in other words (a synonym, or a phrase whose words it
 * all holds, weighed by its rarest word), or 0. A common synonym ("group" for "crew") is weak evidence.
 */
function saidOtherwise(alternatives: readonly Alternative[], stems: ReadonlySet<string>, weight: WordWeight): number {
  let best = 0;
  for (const alt of alternatives) {
    if (!alt.stems.every((s) => stems.has(s))) continue;
    best = Math.max(best, ...alt.words.map(weight));
  }
  return best;
}

/** Whether a word of the text starts or ends with the term ("print" and "nightmare" in "printnightmare"). */
function inCompound(term: string, own: ReadonlySet<string>): boolean {
  for (const w of own) if (w.length > term.length + 2 && (w.startsWith(term) || w.endsWith(term))) return true;
  return false;
}

function nearWord(term: string, own: ReadonlySet<string>): boolean {
  for (const w of own) if (Math.abs(w.length - term.length) <= 1 && w[0] === term[0] && withinEdits(w, term, 1)) return true;
  return false;
}

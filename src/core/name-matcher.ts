import type { Incident } from './incident.js';
import { KIND_WORDS, nameKey, nameWords } from './names.js';

/** Shortest distinctive name, in compact characters: "Lv", "Cmd", "RTM" name too many things across vendors. */
export const MIN_DISTINCTIVE_CHARS = 4;
/** A name that is a building block of this many other names ("Cobalt Strike", "Cobalt Kitty") is generic. */
export const BUILDING_BLOCK_NAMES = 2;
/** A plain word written in lower case in this many groups' or software's texts is an ordinary word of the field ("agent", "locker"). */
export const ORDINARY_WORD_RECORDS = 2;

/**
 * Finds the ATT&CK record a MISP record shares a distinctive name with. A name is distinctive when it has at least
 * MIN_DISTINCTIVE_CHARS letters or digits, is not all digits, is not a building block of other names (its words
 * form part of BUILDING_BLOCK_NAMES other groups' or software's names next to other words: "Dark", "Agent", "Locker",
 * "Cobalt"), and, when it is one plain word, that word is not written in lower case as an ordinary word in
 * ORDINARY_WORD_RECORDS descriptions of groups or software ("ransom", "dark"): a common word of this field is one its
 * texts use as a word. Whatever the corpus, a name that is one plain word in every spelling ("Royal", "Locker",
 * "IRIDIUM") only counts when the two records also cite one report or share another name. Work is done for candidate
 * pairs only, in one pass over the names and one over the texts.
 */
export class NameMatcher {
  private readonly byName = new Map<string, Incident[]>();

  constructor(
    private readonly all: readonly Incident[],
    references: readonly Incident[],
  ) {
    for (const r of references) {
      for (const n of new Set(namesOf(r).map(nameKey))) {
        if (n === '') continue;
        const list = this.byName.get(n);
        if (list) list.push(r);
        else this.byName.set(n, [r]);
      }
    }
  }

  /** Returns, per record, the one reference record it is and the name they share (records with none are left out). */
  matchAll(records: readonly Incident[]): Map<Incident, { record: Incident; name: string }> {
    interface Pair {
      ref: Incident;
      name: string;
      key: string;
      word?: string;
    }
    const pairs = new Map<Incident, Pair[]>();
    const keys = new Set<string>();
    const words = new Set<string>();
    for (const r of records) {
      const ransomware = r.tags.includes('ransomware');
      const ownTitle = nameKey(r.title);
      const found: Pair[] = [];
      for (const name of namesOf(r)) {
        const key = nameKey(name);
        if (key.length < MIN_DISTINCTIVE_CHARS || /^\d+$/.test(key)) continue;
        for (const ref of this.byName.get(key) ?? []) {
          if (ref.kind !== r.kind || found.some((f) => f.ref === ref)) continue;
          // Two alternative names that happen to agree prove less than a name one side goes by first.
          if (key !== ownTitle && key !== nameKey(ref.title)) continue;
          if (ransomware && !describesRansomware(ref)) continue;
          const word = plainWord([name, ...namesOf(ref).filter((n) => nameKey(n) === key)]);
          // One plain word is not enough on its own: the two must also cite one report or share another name.
          if (word && !corroborated(r, ref, key)) continue;
          found.push({ ref, name, key, word });
          keys.add(key);
          if (word) words.add(word);
        }
      }
      if (found.length > 0) pairs.set(r, found);
    }
    const blocks = this.buildingBlocks(keys);
    const ordinary = this.ordinaryUse(words);
    const out = new Map<Incident, { record: Incident; name: string }>();
    for (const [r, found] of pairs) {
      const distinct = found.filter((p) => {
        const parties = [r.id, p.ref.id];
        const holders = [...(blocks.get(p.key)?.values() ?? [])].filter((id) => !parties.includes(id));
        if (holders.length >= BUILDING_BLOCK_NAMES) return false;
        if (p.word && [...(ordinary.get(p.word) ?? [])].filter((id) => !parties.includes(id)).length >= ORDINARY_WORD_RECORDS) return false;
        return true;
      });
      if (distinct.length === 1) out.set(r, { record: distinct[0].ref, name: distinct[0].name });
      else if (distinct.length > 1) {
        const title = nameKey(r.title);
        const titled = distinct.filter((p) => nameKey(p.ref.title) === title);
        if (titled.length === 1) out.set(r, { record: titled[0].ref, name: titled[0].name });
      }
    }
    return out;
  }

  /** For each key: the longer names (compact, with the record carrying each) that hold it beside other words. */
  private buildingBlocks(keys: ReadonlySet<string>): Map<string, Map<string, string>> {
    const blocks = new Map<string, Map<string, string>>();
    if (keys.size === 0) return blocks;
    for (const r of this.all) {
      // Names only: campaign and vulnerability titles describe ("Clop MOVEit Transfer Vulnerability Exploitation").
      if (r.kind !== 'group' && r.kind !== 'software') continue;
      for (const name of namesOf(r)) {
        const words = nameWords(name);
        if (words.length < 2 || words.length > 8) continue;
        for (let i = 0; i < words.length; i++) {
          let run = '';
          for (let j = i + 1; j <= Math.min(words.length, i + 4); j++) {
            run += words[j - 1];
            if ((i === 0 && j === words.length) || !keys.has(run)) continue;
            // Beside the run, a word that names something else ("Strike", "Kitty"), not a version or a kind word.
            const rest = [...words.slice(0, i), ...words.slice(j)];
            if (!rest.some((w) => /\p{L}{2,}/u.test(w) && !KIND_WORDS.has(w) && !/^v\d/.test(w))) continue;
            let holders = blocks.get(run);
            if (!holders) blocks.set(run, (holders = new Map()));
            const whole = words.join('');
            if (!holders.has(whole)) holders.set(whole, r.id);
          }
        }
      }
    }
    return blocks;
  }

  /** For each word: the records (a few are enough) whose text writes it in lower case, as a word of its own. */
  private ordinaryUse(words: ReadonlySet<string>): Map<string, Set<string>> {
    const seen = new Map<string, Set<string>>();
    if (words.size === 0) return seen;
    const list = [...words].join('|');
    // ASCII words need no Unicode-aware scan, which costs several times more over the whole corpus.
    const pattern = /^[a-z|]+$/.test(list) ? new RegExp(`\\b(?:${list})\\b`, 'g') : new RegExp(`(?<![\\p{L}\\p{N}])(?:${list})(?![\\p{L}\\p{N}])`, 'gu');
    for (const r of this.all) {
      // The descriptions of groups and software: the field's own prose, and bounded however many stories and CVEs come.
      if (r.kind !== 'group' && r.kind !== 'software') continue;
      for (const m of r.summary.matchAll(pattern)) {
        let ids = seen.get(m[0]);
        if (!ids) seen.set(m[0], (ids = new Set()));
        // Two parties and the threshold: more would never change a decision.
        if (ids.size <= ORDINARY_WORD_RECORDS + 2) ids.add(r.id);
      }
    }
    return seen;
  }
}

/**
 * Returns the word when every spelling of a name is one plain word of letters ("Royal", "IRIDIUM", "locker"),
 * undefined when any spelling is coined (camel case, digits, several words: "RansomHub", "Pay2Key", "Bad Rabbit").
 */
function plainWord(spellings: readonly string[]): string | undefined {
  let word: string | undefined;
  for (const spelling of spellings) {
    const words = nameWords(spelling).filter((w) => !KIND_WORDS.has(w) && w !== 'the');
    if (words.length !== 1 || !/^\p{L}+$/u.test(words[0])) return undefined;
    word = words[0];
  }
  return word;
}

/** Whether two records also cite one report, or share a name besides `key`. */
function corroborated(a: Incident, b: Incident, key: string): boolean {
  const urls = new Set(a.sources.flatMap((s) => (s.url ? [urlKey(s.url)] : [])));
  if (b.sources.some((s) => s.url && urls.has(urlKey(s.url)))) return true;
  const names = new Set(namesOf(a).map(nameKey));
  names.delete(key);
  return namesOf(b).some((n) => {
    const k = nameKey(n);
    return k !== key && k.length >= MIN_DISTINCTIVE_CHARS && names.has(k);
  });
}

function urlKey(url: string): string {
  return url
    .toLowerCase()
    .replace(/^https?:\/\/(www\.)?/, '')
    .replace(/[/#?]+$/, '');
}

/** Whether a record's own description says it is ransomware (in its first two sentences, where publishers define it). */
function describesRansomware(r: Incident): boolean {
  if (r.tags.includes('ransomware')) return true;
  const lead = r.summary.split(/(?<=[.!?])\s+/).slice(0, 2).join(' ');
  return /ransomware/i.test(lead);
}

/** Returns every name of a record: its title, then its aliases. */
export function namesOf(r: Incident): string[] {
  return [r.title, ...r.aliases];
}

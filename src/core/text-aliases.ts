import type { Incident } from './incident.js';
import { fastCompact, KIND_WORDS, nameKey } from './names.js';
import { compactName, splitSentences } from './text.js';

// The phrases publishers use to introduce another name for what they describe: "also known as", "dubbed",
// "also called", "aka", "referred to as", "tracked as", "nicknamed", "codenamed", "known under the moniker of",
// "has the moniker of", "goes by the name of".
const TRIGGER = new RegExp(
  String.raw`(?<![\p{L}\p{N}])(?:(?:also|sometimes|formerly|previously|commonly|publicly|otherwise|widely)\s+)?` +
    String.raw`(?:known\s+(?:as|under\s+the\s+(?:names?|monikers?)(?:\s+of)?)|dubbed|called|referred\s+to\s+as|tracked\s+as|nicknamed|code-?named|` +
    String.raw`a\.k\.a\.?|aka|goes\s+by(?:\s+the\s+names?(?:\s+of)?)?|(?:has|have|had|with|given|under|got)\s+the\s+(?:moniker|nickname)(?:\s+of)?)` +
    String.raw`(?![\p{L}\p{N}])\s*`,
  'giu',
);
const ANY_TRIGGER = new RegExp(TRIGGER.source, 'iu');
// Cheap first test, case-sensitive (several times faster over 100k texts): a trigger never opens a sentence, since
// the record it names must come first, so its words are in lower case.
const HINT = /known|dubbed|called|referred|tracked|nicknamed|code-?named|aka|a\.k\.a|goes by|moniker|nickname/;

// Words between the subject and the trigger that do not change who the subject is.
const LINKING = /(?:[\s,(–—-]|\b(?:is|was|are|were|has|have|been|being|also|sometimes|formerly|previously|commonly|publicly|otherwise|widely|now|since|later|itself)\b)+$/i;
// "It", "This group", "The ransomware", "This vulnerability": the text's own subject.
const SELF_REFERENCE =
  /^(?:it|this|the)(?:\s+(?:new|same|latter|former|threat))?(?:\s+(?:group|actor|malware|ransomware|vulnerability|flaw|bug|campaign|operation|backdoor|trojan|tool|family|botnet|variant|software|activity|intrusion\s+set|exploit|strain|loader|implant|worm|wiper|rat|attack|incident|framework|toolkit|kit))?$/i;
// A name: words that start with a capital or a digit (or carry one after lower-case letters: "iSpy", "njRAT").
const NAME_TOKEN = String.raw`(?:[\p{Lu}\p{N}]|\p{Ll}+[\p{Lu}\p{N}])[\p{L}\p{N}$&@_+'’.-]*`;
// A name may end in a lower-case word saying what it names: "the Retefe gang", "Colddraw ransomware".
const UNQUOTED = new RegExp(String.raw`^(?:the\s+)?(${NAME_TOKEN}(?:\s+${NAME_TOKEN})*(?:\s+(?:gang|group|team|crew|ransomware|malware|botnet|backdoor|trojan|loader|stealer|worm|wiper)(?![\p{L}\p{N}]))?)`, 'u');
const QUOTED = /^(?:the\s+)?["“'‘]([^"”'’\n]{2,60}?)[.,]?["”'’]/u;
const SEPARATOR = /^(?:\s*,\s*(?:and\s+|or\s+)?|\s+(?:and|or)\s+|\s*\/\s*)/;
// Capitalised words that open sentences or clauses, not names.
const NOT_NAMES = new Set(
  'a an the this that these those it its in on at of for by and or but as with from to after before since when while which who there here they we he she our their his her'.split(' '),
);
/** Most words in an unquoted name: longer runs of capitals are titles of things ("Windows Print Spooler Remote Code ..."). */
export const MAX_NAME_WORDS = 5;
/** Most characters in an introduced name. */
export const MAX_NAME_CHARS = 60;

/**
 * Returns the other names a record's own text introduces for it ("ArcRypt (also known as ARCrypter or ChileLocker)",
 * "X, dubbed Y,", "This vulnerability has the moniker of "Dirty Pipe"", "it is also called Z"), in order of
 * appearance, without its title or aliases. Strict on purpose: the phrase must be about the record itself (its
 * subject is the record's name, "it"/"this group"/"the malware", or the name that opens the text), and each name
 * must look like one (capitalised words, at most MAX_NAME_WORDS, or a quoted name); a clause never is.
 */
export function namesIntroduced(incident: Incident): string[] {
  const texts = [incident.summary, incident.body ?? ''].filter((t) => t !== '' && HINT.test(t) && ANY_TRIGGER.test(t));
  if (texts.length === 0) return [];
  const known = new Set([incident.title, ...incident.aliases].flatMap((n) => [compactName(n), nameKey(n)]));
  const out: string[] = [];
  texts.forEach((text, t) => {
    // "a.k.a." ends in a period the sentence splitter would take for a full stop.
    splitSentences(text.replace(/\ba\.k\.a\.?(?=\s)/gi, 'aka')).forEach((sentence, s) => {
      for (const m of sentence.matchAll(TRIGGER)) {
        const before = sentence.slice(0, m.index);
        if (!aboutItself(before, known, t === 0 && s === 0)) continue;
        const inParens = /\([^()]*$/.test(before);
        for (const name of namesAfter(sentence.slice(m.index + m[0].length), inParens)) {
          const key = nameKey(name);
          if (known.has(key) || known.has(compactName(name))) continue;
          known.add(key);
          out.push(name);
        }
      }
    });
  });
  return out;
}

/**
 * Returns the records with the names their texts introduce added to their aliases, except names another record
 * already goes by: the data names that record ("PLEAD has been referred to as TSCookie" while TSCookie is a record of
 * its own). Records without new names are returned as they are.
 */
export function addIntroducedNames(records: readonly Incident[]): { records: Incident[]; added: number } {
  const found = new Map<number, string[]>();
  records.forEach((r, i) => {
    const names = namesIntroduced(r);
    if (names.length > 0) found.set(i, names);
  });
  if (found.size === 0) return { records: [...records], added: 0 };
  // Who goes by each name: compact spellings only (cheap for every name of every record); a candidate's key is then
  // looked up with the spellings that fold to it ("X", "The X", "X ransomware").
  const owner = new Map<string, string>();
  for (const r of records) for (const n of [r.title, ...r.aliases]) if (!owner.has(fastCompact(n))) owner.set(fastCompact(n), r.id);
  const ownerOf = (name: string): string | undefined => {
    const key = nameKey(name);
    for (const spelling of [key, `the${key}`]) {
      const direct = owner.get(spelling);
      if (direct) return direct;
      for (const kind of KIND_WORDS) {
        const id = owner.get(spelling + kind);
        if (id) return id;
      }
    }
    return undefined;
  };
  let added = 0;
  const out = records.map((r, i) => {
    const names = (found.get(i) ?? []).filter((n) => (ownerOf(n) ?? r.id) === r.id);
    added += names.length;
    return names.length === 0 ? r : { ...r, aliases: [...r.aliases, ...names] };
  });
  return { records: out, added };
}

function aboutItself(before: string, known: ReadonlySet<string>, opensText: boolean): boolean {
  const subject = before.replace(LINKING, '').trim();
  if (subject === '') return false;
  if (SELF_REFERENCE.test(subject)) return true;
  if (known.has(compactName(subject))) return true;
  // The name a text opens with is what it describes: "ArcRypt (also known as ...) was first identified ...".
  return opensText && isNameShaped(subject);
}

function isNameShaped(text: string): boolean {
  const words = text.split(/\s+/);
  if (words.length > MAX_NAME_WORDS + 1) return false;
  const rest = /^the$/i.test(words[0]) && words.length > 1 ? words.slice(1) : words;
  return rest.every((w) => new RegExp(`^${NAME_TOKEN}$`, 'u').test(w) && !NOT_NAMES.has(w.toLowerCase()));
}

/** Returns the names listed at the start of `text` ("X", "X, Y and Z", "X or Y"), stopping at anything else. */
function namesAfter(text: string, inParens: boolean): string[] {
  const names: string[] = [];
  let rest = text;
  for (;;) {
    const name = leadingName(rest);
    if (!name) break;
    rest = rest.slice(name.length);
    const clean = name.text.replace(/[.,;:]+$/, '').replace(/^the\s+/, '').trim();
    if (!validName(clean)) break;
    names.push(clean);
    if (inParens && /^\s*\)/.test(rest)) break;
    const sep = SEPARATOR.exec(rest);
    if (!sep) break;
    rest = rest.slice(sep[0].length);
  }
  return names;
}

function leadingName(text: string): { text: string; length: number } | undefined {
  const quoted = QUOTED.exec(text);
  if (quoted) return { text: quoted[1], length: quoted[0].length };
  const plain = UNQUOTED.exec(text);
  if (!plain) return undefined;
  const words = plain[1].split(/\s+/);
  // A run of capitals longer than a name is a title or a heading, not a name: take none of it rather than a part.
  if (words.length > MAX_NAME_WORDS) return undefined;
  // A sentence-final period belongs to the sentence; dots inside ("Agent.btz", "TEMP.Veles") belong to the name.
  return { text: plain[0], length: plain[0].length };
}

function validName(name: string): boolean {
  if (name.length < 2 || name.length > MAX_NAME_CHARS) return false;
  if (!/\p{L}/u.test(name)) return false;
  const words = name.split(/\s+/).map((w) => w.toLowerCase());
  if (words.length === 1) return !NOT_NAMES.has(words[0]);
  return words[0] === 'the' || !NOT_NAMES.has(words[0]);
}

import { compactName, foldText } from './text.js';

/** Words that say what kind of thing a name names, not which one: "Ryuk ransomware" is Ryuk, "Lazarus Group" Lazarus. */
export const KIND_WORDS: ReadonlySet<string> = new Set(['ransomware', 'malware', 'group', 'team', 'gang', 'crew', 'actor', 'actors', 'apt', 'family', 'botnet', 'variant']);

/** Returns the words of a name: split at spaces and punctuation, camel case ("LockerGoga") and letter-digit edges. */
export function nameWords(name: string): string[] {
  if (PLAIN.test(name)) {
    return name
      .replace(/(?<=[a-z])(?=[A-Z])|(?<=[A-Za-z])(?=[0-9])|(?<=[0-9])(?=[A-Za-z])/g, ' ')
      .toLowerCase()
      .split(/[^a-z0-9]+/)
      .filter((w) => w !== '');
  }
  return name
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .replace(/(?<=\p{Ll})(?=\p{Lu})|(?<=\p{L})(?=\p{N})|(?<=\p{N})(?=\p{L})/gu, ' ')
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter((w) => w !== '');
}

/** Returns the key two names are compared by: compact, without a leading "the" and trailing kind words. */
export function nameKey(name: string): string {
  // Most names are plain ASCII: folding them needs no Unicode normalisation (this runs for every name at start-up).
  const words = (PLAIN.test(name) ? name.toLowerCase().split(/[^a-z0-9]+/) : foldText(name).split(/[^\p{L}\p{N}]+/u)).filter((w) => w !== '');
  if (words.length > 1 && words[0] === 'the') words.shift();
  while (words.length > 1 && KIND_WORDS.has(words[words.length - 1])) words.pop();
  return words.join('');
}

/** Returns `compactName(name)`, faster for plain ASCII names. */
export function fastCompact(name: string): string {
  return PLAIN.test(name) ? name.toLowerCase().replace(/[^a-z0-9]+/g, '') : compactName(name);
}

// Names in plain ASCII need no Unicode normalisation to fold: most do, and this runs for every name at start-up.
const PLAIN = /^[\x20-\x7e]*$/;

import { createRequire } from 'node:module';
import type { convert as Convert } from 'html-to-text';

// Loaded on the first text that carries HTML (feed posts; few records): its ~30 modules would otherwise cost every
// start-up, console included. Synchronous, as stripMarkup is: the package's CommonJS build.
let convertHtml: typeof Convert | undefined;
const convert: typeof Convert = (html, options) => {
  convertHtml ??= (createRequire(import.meta.url)('html-to-text') as { convert: typeof Convert }).convert;
  return convertHtml(html, options);
};

// Markup that real data carries: ATT&CK markdown links and "(Citation: ...)" markers, Tidal
// "<sup>[[n](/references/uuid)]</sup>" reference tags, and HTML from feeds.
const SUP_TAG = /<sup>[\s\S]*?<\/sup>/gi;
const CITATION = /\s*\(Citation:[^)]*\)/g;
const MD_LINK = /\[([^\]]*)\]\((?:[^()\s]|\([^()\s]*\))*\)/g;
const HTML_HINT = /<\/?[a-z][^>]*>|&(?:[a-z]+|#\d+|#x[0-9a-f]+);/i;

/** Returns plain text: markdown links reduced to their text, citations and reference tags removed, HTML converted. */
export function stripMarkup(text: string): string {
  let out = text.replace(SUP_TAG, '').replace(CITATION, '').replace(MD_LINK, '$1');
  if (HTML_HINT.test(out)) {
    out = convert(out, {
      wordwrap: false,
      selectors: [
        { selector: 'a', options: { ignoreHref: true } },
        { selector: 'img', format: 'skip' },
      ],
    });
  }
  return out.replace(/[ \t]+/g, ' ').replace(/\s*\n\s*/g, '\n').replace(/\n{2,}/g, '\n').trim();
}

/** Returns the text's sentences (a light splitter: abbreviations like "U.S." and "e.g." are kept whole). */
export function splitSentences(text: string): string[] {
  const flat = text.replace(/\s+/g, ' ').trim();
  if (!flat) return [];
  const parts = flat.split(/(?<=[.!?]["”)]?)\s+(?=[A-Z0-9"“(])/);
  const sentences: string[] = [];
  let carry = '';
  for (const raw of parts) {
    const piece = carry ? `${carry} ${raw}` : raw;
    // Keep "U.S." / "e.g." / "No." / single initials with what follows.
    if (/(?:\b[A-Z]\.|\b(?:e\.g|i\.e|etc|vs|No|Mr|Dr|St|approx|U\.S|U\.K)\.)$/.test(piece.trim())) {
      carry = piece;
      continue;
    }
    carry = '';
    const s = piece.trim();
    if (s) sentences.push(s);
  }
  if (carry.trim()) sentences.push(carry.trim());
  return sentences;
}

/** Returns text cut to at most `max` characters at a word boundary, with an ellipsis when cut. */
export function truncateWords(text: string, max: number): string {
  if (text.length <= max) return text;
  if (max <= 1) return '…'.slice(0, max);
  const cut = text.slice(0, max - 1);
  const space = cut.lastIndexOf(' ');
  const base = space > max * 0.5 ? cut.slice(0, space) : cut;
  return base.replace(/[\s,;:.-]+$/, '') + '…';
}

/** Returns a name folded for matching: lower case, accents removed, spaces and punctuation dropped ("Sky ECC" -> "skyecc"). */
export function compactName(name: string): string {
  return foldText(name).replace(/[^\p{L}\p{N}]+/gu, '');
}

/** Returns text lower-cased with accents removed (NFKD), for matching only. */
export function foldText(text: string): string {
  return text.normalize('NFKD').replace(/\p{M}+/gu, '').toLowerCase();
}

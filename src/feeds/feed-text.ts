import { compile } from 'html-to-text';
import iconv from 'iconv-lite';

/** Feed text to clean plain text: HTML converted within bounds, mojibake repaired, whitespace tidied. */

/** A text field as feedsmith gives it for Atom (a value with its type and xml:base). */
export interface LooseText {
  value?: string;
  type?: string;
  xml?: { base?: string };
}

/** HTML beyond this is not converted: a 2,000-character summary needs only the start, and html-to-text costs ~1 ms per 10 KB. */
/** Longest summary kept (FeedItem contract: "at most about 2,000 characters"). */
export const MAX_SUMMARY = 2000;
/** Characters XML forbids and real feeds still carry: removed before parsing and from text. */
export const CONTROL_CHARS = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g;
const MAX_HTML_INPUT = 30_000;
const FIRST_HTML_SLICE = 8_000;

// [^<>] rather than [^>]: a field full of unclosed "<a " must cost a linear scan, not a quadratic one.
const HTML_HINT = /<\/?[a-z][a-z0-9]*(?:\s[^<>]*)?\/?>|<!--|&(?:[a-z][a-z0-9]*|#\d+|#x[0-9a-f]+);/i;

const htmlConverter = compile({
  wordwrap: false,
  preserveNewlines: false,
  decodeEntities: true,
  limits: { maxInputLength: MAX_HTML_INPUT, ellipsis: '…' },
  selectors: [
    { selector: 'a', options: { ignoreHref: true } },
    { selector: 'img', format: 'skip' },
    // Executable and invisible content is never text (sanitizer payloads in feedparser's tests).
    { selector: 'script', format: 'skip' },
    { selector: 'style', format: 'skip' },
    { selector: 'noscript', format: 'skip' },
    { selector: 'iframe', format: 'skip' },
    { selector: 'object', format: 'skip' },
    { selector: 'embed', format: 'skip' },
    { selector: 'svg', format: 'skip' },
    { selector: 'template', format: 'skip' },
    { selector: 'head', format: 'skip' },
    { selector: 'form', format: 'skip' },
    { selector: 'h1', options: { uppercase: false } },
    { selector: 'h2', options: { uppercase: false } },
    { selector: 'h3', options: { uppercase: false } },
    { selector: 'h4', options: { uppercase: false } },
    { selector: 'h5', options: { uppercase: false } },
    { selector: 'h6', options: { uppercase: false } },
    { selector: 'table', format: 'block' },
    { selector: 'tr', format: 'block' },
    { selector: 'td', format: 'inline' },
    { selector: 'th', format: 'inline' },
    { selector: 'ul', options: { itemPrefix: '• ' } },
    { selector: 'hr', format: 'skip' },
  ],
});

/**
 * Deepest element nesting converted. Real feed HTML nests a few dozen levels; the converter walks the tree recursively,
 * so a document nested thousands deep is refused rather than left to exhaust the stack (whose size differs between
 * the main thread and workers).
 */
export const MAX_HTML_DEPTH = 1000;
// Elements that never nest (void) or whose end tag may be left out (the parser closes them): not counted as depth.
const NO_DEPTH = new Set(
  'area base br col embed hr img input link meta source track wbr p li dt dd tr td th thead tbody tfoot option optgroup rt rp colgroup caption'.split(' '),
);
const TAG = /<(\/?)([a-zA-Z][\w:-]*)[^<>]*?(\/?)>/g;

/** Returns the deepest element nesting of an HTML fragment, counted from its tags (a cheap scan, no tree is built). */
export function htmlDepth(html: string): number {
  let depth = 0;
  let max = 0;
  for (const m of html.matchAll(TAG)) {
    if (NO_DEPTH.has(m[2]!.toLowerCase()) || m[3]) continue;
    if (m[1]) depth = Math.max(0, depth - 1);
    else if (++depth > max) max = depth;
  }
  return max;
}

/** Converts feed HTML to clean plain text (scripts, styles and images dropped, links reduced to their text). */
export function htmlToPlainText(html: string): string {
  if (html.includes('<') && htmlDepth(html.length > MAX_HTML_INPUT ? html.slice(0, MAX_HTML_INPUT) : html) > MAX_HTML_DEPTH) {
    throw new Error(`markup nested too deeply (more than ${MAX_HTML_DEPTH} elements)`);
  }
  // Most summaries need only the first few KB; convert more only when those held too little text.
  if (html.length > FIRST_HTML_SLICE) {
    const first = tidy(htmlConverter(html.slice(0, FIRST_HTML_SLICE)));
    if (first.length >= MAX_SUMMARY) return first;
  }
  return tidy(htmlConverter(html.length > MAX_HTML_INPUT ? html.slice(0, MAX_HTML_INPUT) : html));
}

/**
 * Text of a feed field. 'text' is literal; 'html' is converted; 'auto' (RSS, where titles and descriptions are
 * HTML in practice) is converted only when it contains markup or entities; 'atom' follows the Atom type attribute
 * (text is literal, html/xhtml converted; Atom 0.3 MIME types accepted).
 */
export function textOf(v: string | LooseText | undefined | null, mode: 'text' | 'html' | 'auto' | 'atom'): string {
  if (v === undefined || v === null) return '';
  let s: string;
  let m = mode;
  if (typeof v === 'object') {
    s = typeof v.value === 'string' ? v.value : '';
    if (mode === 'atom') m = v.type && /html/i.test(v.type) ? 'html' : 'text';
  } else {
    s = typeof v === 'string' ? v : String(v);
    if (mode === 'atom') m = 'text';
  }
  if (!s) return '';
  // Every field is cut before any regular expression or converter sees it: nothing kept needs more (summaries are
  // cut to 2,000 characters, titles to 300), and a megabyte field must cost no more than a normal one.
  if (s.length > MAX_HTML_INPUT) s = s.slice(0, MAX_HTML_INPUT);
  if (m === 'html' || (m === 'auto' && HTML_HINT.test(s))) return htmlToPlainText(s);
  return tidy(s);
}

// UTF-8 read as windows-1252 and re-encoded ("â€™" for "’", "Ã©" for "é", "Ð¿" for "п"). Only the lead
// characters that real mojibake produces and real text almost never puts before these symbols are accepted
// (not "ß“" or "é»", which German and French write).
const MOJIBAKE = /[ÂÃ][\u0080-\u00bf€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ]|[ÐÑ][\u0080-\u00bf€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ]|â€[\u0080-\u00bf€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ]|ï»¿/g;

/** Repairs double-encoded UTF-8 where the bytes form valid UTF-8 again; anything else is left alone. */
export function fixMojibake(s: string): string {
  if (!/[ÂÃÐÑâï]/.test(s)) return s;
  return s.replace(MOJIBAKE, (m) => {
    const bytes = iconv.encode(m, 'windows-1252');
    if (bytes.includes(0x3f) && !m.includes('?')) return m; // a character windows-1252 cannot hold: not mojibake
    try {
      return utf8Strict.decode(bytes);
    } catch {
      return m;
    }
  });
}

const utf8Strict = new TextDecoder('utf-8', { fatal: true });

function tidy(s: string): string {
  return fixMojibake(s)
    .replace(CONTROL_CHARS, '')
    .replace(/[\u200b\u00ad]/g, '')
    .replace(/[ \t\u00a0\r\f\v]+/g, ' ')
    .replace(/ ?\n[\s]*/g, '\n')
    .trim();
}

export function oneLine(s: string): string {
  return s.replace(/\s+/g, ' ').trim();
}

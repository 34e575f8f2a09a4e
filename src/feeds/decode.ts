import { constants as zlibConstants, gunzipSync } from 'node:zlib';
import iconv from 'iconv-lite';

/** Largest gunzipped body accepted from a gzip file saved as a feed (the fetch cap, 10 MB). */
const MAX_GUNZIPPED_BYTES = 10 * 1024 * 1024;

/** How a body's encoding was chosen (tests and diagnostics). */
export interface DecodedBody {
  text: string;
  /** The encoding used, as iconv-lite / WHATWG names it (e.g. "utf-8", "windows-1252", "big5"). */
  encoding: string;
  /** Where the encoding came from. */
  source: 'bom' | 'pattern' | 'http' | 'declaration' | 'json' | 'utf8-check' | 'fallback';
}

/** Decodes a fetched or stored feed body to a string; see decodeFeedBodyDetailed. */
export function decodeFeedBody(body: Buffer, contentType?: string): string {
  return decodeFeedBodyDetailed(body, contentType).text;
}

/**
 * Decodes a feed body: gunzips gzip files saved as-is, then picks the encoding from, in order, a byte-order mark,
 * the XML spec's Appendix F byte patterns (UTF-16/32 without BOM), the HTTP charset, the XML declaration (JSON is
 * UTF-8 by RFC 8259), and finally a UTF-8 validity check, decoding invalid bytes as windows-1252. Never throws.
 */
export function decodeFeedBodyDetailed(input: Buffer, contentType?: string): DecodedBody {
  const body = maybeGunzip(input);

  const bom = sniffBom(body);
  if (bom) return finish(decodeWith(body.subarray(bom.length), bom.encoding), bom.encoding, 'bom');

  const pattern = sniffUtf16or32(body);
  if (pattern) return finish(decodeWith(body, pattern), pattern, 'pattern');

  const utf8Valid = isValidUtf8(body);
  const declared = normaliseLabel(sniffXmlDeclaration(body));
  const http = normaliseLabel(charsetFromContentType(contentType));

  if (http && !isUtf16or32(http)) {
    // Server-wide charset defaults often contradict the file. A UTF-8 header over bytes that are not UTF-8, or a
    // Latin-1 header over valid multi-byte UTF-8 (improbable in real Latin-1 text), is a default, not a fact:
    // the document's declaration, or the bytes, know better then.
    if (http === 'utf-8' && !utf8Valid) {
      if (!declared || declared === 'utf-8' || isUtf16or32(declared)) return finish(decodeUtf8Lenient(body), 'utf-8+windows-1252', 'fallback');
    } else if (http === 'windows-1252' && utf8Valid && !isAscii(body) && (!declared || declared === 'utf-8')) {
      return finish(decodeWith(body, 'utf-8'), 'utf-8', 'utf8-check');
    } else {
      return finish(decodeWith(body, http), http, 'http');
    }
  }
  // UTF-16/32 declared but the bytes are ASCII-compatible (we could read the declaration): the label is wrong.
  if (declared && !isUtf16or32(declared)) {
    if (declared === 'utf-8' && !utf8Valid) return finish(decodeUtf8Lenient(body), 'utf-8+windows-1252', 'fallback');
    return finish(decodeWith(body, declared), declared, 'declaration');
  }
  if (looksLikeJson(body)) {
    return utf8Valid ? finish(decodeWith(body, 'utf-8'), 'utf-8', 'json') : finish(decodeUtf8Lenient(body), 'utf-8+windows-1252', 'fallback');
  }
  if (utf8Valid) return finish(decodeWith(body, 'utf-8'), 'utf-8', 'utf8-check');
  return finish(decodeUtf8Lenient(body), 'utf-8+windows-1252', 'fallback');
}

/**
 * Decodes bytes that are not valid UTF-8: valid UTF-8 sequences as UTF-8, every other byte as windows-1252.
 * Covers both Latin-1/windows-1252 files without a declaration (no valid multi-byte sequences occur in real
 * Latin text) and UTF-8 files with a few stray windows-1252 bytes pasted in.
 */
export function decodeUtf8Lenient(b: Buffer): string {
  let out = '';
  let runStart = 0; // start of the pending run of valid UTF-8 bytes
  let i = 0;
  const flush = (end: number) => {
    if (end > runStart) out += b.toString('utf8', runStart, end);
  };
  while (i < b.length) {
    const c = b[i]!;
    if (c < 0x80) {
      i++;
      continue;
    }
    const len = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
    let ok = len > 0 && i + len <= b.length;
    for (let k = 1; ok && k < len; k++) ok = (b[i + k]! & 0xc0) === 0x80;
    if (ok && len === 3) ok = !(c === 0xe0 && b[i + 1]! < 0xa0) && !(c === 0xed && b[i + 1]! > 0x9f);
    if (ok && len === 4) ok = !(c === 0xf0 && b[i + 1]! < 0x90) && !(c === 0xf4 && b[i + 1]! > 0x8f);
    if (ok) {
      i += len;
      continue;
    }
    flush(i);
    out += iconv.decode(b.subarray(i, i + 1), 'windows-1252');
    i++;
    runStart = i;
  }
  flush(b.length);
  return out;
}

function finish(text: string, encoding: string, source: DecodedBody['source']): DecodedBody {
  // A BOM that survived (declared encoding plus BOM, or a BOM in the middle of a concatenation) is not content.
  return { text: fixC1Controls(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text), encoding, source };
}

// windows-1252 characters for code points U+0080-U+009F ('' where windows-1252 has no character).
const CP1252_C1 = '€\u0000‚ƒ„…†‡ˆ‰Š‹Œ\u0000Ž\u0000\u0000‘’“”•–—˜™š›œ\u0000žŸ';
const C1 = /[\u0080-\u009f]/g;

/**
 * Replaces C1 control characters with the windows-1252 characters their publisher meant ("don\u0092t" ->
 * "don’t"): C1 controls never appear in real text, while windows-1252 bytes mislabelled as Latin-1 or
 * re-encoded to UTF-8 are common (feedparser calls this "demoronizing").
 */
export function fixC1Controls(text: string): string {
  if (!C1.test(text)) return text;
  C1.lastIndex = 0;
  return text.replace(C1, (c) => {
    const r = CP1252_C1[c.charCodeAt(0) - 0x80]!;
    return r === '\u0000' ? '' : r;
  });
}

function maybeGunzip(body: Buffer): Buffer {
  if (body.length < 3 || body[0] !== 0x1f || body[1] !== 0x8b || body[2] !== 0x08) return body;
  try {
    return gunzipSync(body, { maxOutputLength: MAX_GUNZIPPED_BYTES });
  } catch {
    try {
      // Truncated captures: keep what inflates.
      return gunzipSync(body, { maxOutputLength: MAX_GUNZIPPED_BYTES, finishFlush: zlibConstants.Z_SYNC_FLUSH });
    } catch {
      return body;
    }
  }
}

function sniffBom(b: Buffer): { encoding: string; length: number } | undefined {
  if (b.length >= 4 && b[0] === 0xff && b[1] === 0xfe && b[2] === 0 && b[3] === 0) return { encoding: 'utf-32le', length: 4 };
  if (b.length >= 4 && b[0] === 0 && b[1] === 0 && b[2] === 0xfe && b[3] === 0xff) return { encoding: 'utf-32be', length: 4 };
  if (b.length >= 3 && b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf) return { encoding: 'utf-8', length: 3 };
  if (b.length >= 2 && b[0] === 0xff && b[1] === 0xfe) return { encoding: 'utf-16le', length: 2 };
  if (b.length >= 2 && b[0] === 0xfe && b[1] === 0xff) return { encoding: 'utf-16be', length: 2 };
  return undefined;
}

/** XML 1.0 Appendix F: the first character ('<', or whitespace / '{' for sloppy feeds) as 2- or 4-byte units. */
function sniffUtf16or32(b: Buffer): string | undefined {
  if (b.length < 4) return undefined;
  const [a, c, d, e] = [b[0]!, b[1]!, b[2]!, b[3]!];
  if (a !== 0 && c === 0 && d === 0 && e === 0) return 'utf-32le';
  if (a === 0 && c === 0 && d === 0 && e !== 0) return 'utf-32be';
  if (a !== 0 && c === 0 && d !== 0 && e === 0) return 'utf-16le';
  if (a === 0 && c !== 0 && d === 0 && e !== 0) return 'utf-16be';
  return undefined;
}

function isUtf16or32(enc: string): boolean {
  return /^utf-?(16|32)|^ucs-?(2|4)$/.test(enc);
}

function sniffXmlDeclaration(b: Buffer): string | undefined {
  const head = b.subarray(0, 1024).toString('latin1');
  const m = /^\s*<\?xml\s[^>]*?\bencoding\s*=\s*["']\s*([^"'\s]+)\s*["']/i.exec(head);
  return m?.[1];
}

/** The charset parameter of a Content-Type header, if any. */
export function charsetFromContentType(contentType?: string): string | undefined {
  if (!contentType) return undefined;
  const m = /;\s*charset\s*=\s*("?)([^";\s]+)\1/i.exec(contentType);
  return m?.[2];
}

function looksLikeJson(b: Buffer): boolean {
  for (let i = 0; i < Math.min(b.length, 256); i++) {
    const c = b[i]!;
    if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) continue;
    return c === 0x7b || c === 0x5b;
  }
  return false;
}

const utf8Fatal = new TextDecoder('utf-8', { fatal: true });

function isAscii(b: Buffer): boolean {
  for (let i = 0; i < b.length; i++) if (b[i]! >= 0x80) return false;
  return true;
}

function isValidUtf8(b: Buffer): boolean {
  if (isAscii(b)) return true; // fast path: most feeds are pure ASCII
  try {
    utf8Fatal.decode(b);
    return true;
  } catch {
    return false;
  }
}

/**
 * Maps a charset label to an encoding iconv-lite knows, or undefined for bogus labels. Labels follow the WHATWG
 * Encoding Standard where it differs from the IANA name: ISO-8859-1 and US-ASCII mean windows-1252 (browsers
 * and real feeds use the C1 range for curly quotes), and the Korean/Chinese legacy labels mean their supersets.
 */
export function normaliseLabel(label?: string): string | undefined {
  if (!label) return undefined;
  const l = label.trim().toLowerCase().replace(/^["']|["']$/g, '');
  if (!l) return undefined;
  if (/^(utf-?8|unicode-1-1-utf-8|utf8mb4)$/.test(l)) return 'utf-8';
  if (/^(iso[-_ ]?8859-?1|iso_8859-1(:1987)?|latin-?1|l1|us-ascii|ascii|ansi_x3\.4-1968|cp819|ibm819|iso-ir-100|windows-1252|cp1252|x-cp1252)$/.test(l)) return 'windows-1252';
  if (/^(ks_c_5601-1987|ks_c_5601|ksc5601|euc-kr|cp949|windows-949|x-windows-949|korean)$/.test(l)) return 'cp949';
  if (/^(gb2312|gb_2312-80|x-gbk|gbk|cp936|chinese|csgb2312|euc-cn)$/.test(l)) return 'gbk';
  if (/^(x-sjis|shift-jis|shift_jis|sjis|ms_kanji|windows-31j|cp932)$/.test(l)) return 'shift_jis';
  if (/^(big5|big5-hkscs|cn-big5|x-x-big5|csbig5)$/.test(l)) return 'big5';
  if (/^(utf-?16)$/.test(l)) return 'utf-16le';
  if (/^(utf-?32)$/.test(l)) return 'utf-32le';
  if (/^(utf-?16-?le|ucs-2|ucs-2le)$/.test(l)) return 'utf-16le';
  if (/^(utf-?16-?be|ucs-2be|unicodefffe)$/.test(l)) return 'utf-16be';
  if (/^(utf-?32-?le|ucs-4|ucs-4le)$/.test(l)) return 'utf-32le';
  if (/^(utf-?32-?be|ucs-4be)$/.test(l)) return 'utf-32be';
  // UTF-7 can smuggle markup past filters (CVE-class issue in old browsers); WHATWG maps it to "replacement".
  if (/^(utf-?7|unicode-1-1-utf-7|csunicode11utf7)$/.test(l)) return undefined;
  return iconv.encodingExists(l) ? l : undefined;
}

function decodeWith(b: Buffer, encoding: string): string {
  if (encoding === 'utf-8') return b.toString('utf8');
  if (encoding === 'utf-16le') return b.toString('utf16le');
  try {
    return iconv.decode(b, encoding, { stripBOM: true });
  } catch {
    return b.toString('utf8');
  }
}

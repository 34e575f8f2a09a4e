import type { Source } from '../core/incident.js';

/** Thrown for any input an importer cannot use; the message names the file (and line or record) and what to do. */
export class ImportError extends Error {
  override name = 'ImportError';
}

/** Returns the parsed JSON document, or throws an ImportError naming the position and whether the file looks cut short. */
export function parseJsonDocument(text: string, origin: string): unknown {
  const body = stripBom(text);
  try {
    return JSON.parse(body);
  } catch (err) {
    if (looksLikeJsonLines(body)) {
      throw new ImportError(`${origin} is JSON Lines (one JSON object per line), not a single JSON document: import it with format "jsonl"`, { cause: err });
    }
    throw jsonError(text, origin, err);
  }
}

/** Returns true when the text's first two non-blank lines each hold a complete JSON object (JSON Lines, not one document). */
export function looksLikeJsonLines(text: string): boolean {
  const lines = text.split('\n', 50).filter((l) => l.trim() !== '').slice(0, 2);
  if (lines.length === 0) return false;
  return lines.every((line) => {
    try {
      return isObject(JSON.parse(line));
    } catch {
      return false;
    }
  });
}

/** Returns `text` without a leading UTF-8 byte order mark (some Windows tools add one; JSON.parse rejects it). */
export function stripBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/** Returns an ImportError for a JSON.parse failure, with position, line and column, and a hint when the text ends early. */
export function jsonError(text: string, origin: string, err: unknown): ImportError {
  const reason = err instanceof Error ? err.message : String(err);
  const body = stripBom(text);
  // V8 reports "... at position N" for most errors, but not for "Unexpected token" or "Unexpected end of JSON input".
  const match = /position (\d+)/.exec(reason);
  const position = match ? Number(match[1]) : syntaxErrorOffset(body);
  const before = body.slice(0, position);
  const line = before.split('\n').length;
  const column = position - before.lastIndexOf('\n');
  const truncated = position >= body.trimEnd().length;
  const what = truncated
    ? '(truncated file?): the document ends before it is complete; download or export it again'
    : `(line ${line}, column ${column}): ${reason.replace(/ in JSON at position \d+.*$/, '')}`;
  return new ImportError(`${origin}: invalid JSON at position ${position} ${what}`, { cause: err });
}

/** Returns the offset of the first JSON syntax error in `text` (its length when the text ends early), or -1 when it is valid. */
export function syntaxErrorOffset(text: string): number {
  let i = 0;
  const skipSpace = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i])) i++;
  };
  const literal = (word: string): boolean => {
    for (const ch of word) {
      if (text[i] !== ch) return false;
      i++;
    }
    return true;
  };
  const string = (): boolean => {
    i++;
    while (i < text.length) {
      const ch = text[i];
      if (ch === '"') {
        i++;
        return true;
      }
      if (ch < ' ') return false;
      if (ch === '\\') {
        const next = text[i + 1];
        if (next === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) return (i = Math.min(i + 2, text.length)), false;
          i += 6;
        } else if (next !== undefined && '"\\/bfnrt'.includes(next)) i += 2;
        else return (i = Math.min(i + 1, text.length)), false;
        continue;
      }
      i++;
    }
    return false;
  };
  const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
  const value = (): boolean => {
    skipSpace();
    const ch = text[i];
    if (ch === '{' || ch === '[') {
      const close = ch === '{' ? '}' : ']';
      i++;
      skipSpace();
      if (text[i] === close) return i++, true;
      for (;;) {
        if (ch === '{') {
          skipSpace();
          if (text[i] !== '"' || !string()) return false;
          skipSpace();
          if (text[i] !== ':') return false;
          i++;
        }
        if (!value()) return false;
        skipSpace();
        if (text[i] === ',') i++;
        else if (text[i] === close) return i++, true;
        else return false;
      }
    }
    if (ch === '"') return string();
    if (ch === 't') return literal('true');
    if (ch === 'f') return literal('false');
    if (ch === 'n') return literal('null');
    NUMBER.lastIndex = i;
    const num = NUMBER.exec(text);
    if (!num || num[0] === '' || num[0] === '-') return false;
    i += num[0].length;
    return true;
  };
  try {
    if (!value()) return Math.min(i, text.length);
  } catch {
    // Nesting deep enough to exhaust the stack: report the end rather than fail while reporting.
    return text.length;
  }
  skipSpace();
  return i < text.length ? i : -1;
}

/** Returns a hint naming the format the document looks like, for "wrong format" errors. */
export function shapeHint(doc: unknown): string {
  if (Array.isArray(doc)) return ' (got a JSON array)';
  if (!isObject(doc)) return ` (got ${doc === null ? 'null' : typeof doc})`;
  if (Array.isArray(doc.vulnerabilities) && 'catalogVersion' in doc) return '; this looks like a CISA KEV catalog: import it with format "kev"';
  if (Array.isArray(doc.values) && 'uuid' in doc && 'type' in doc) return '; this looks like a MISP galaxy cluster file: import it with format "misp-galaxy"';
  if (doc.type === 'bundle') {
    return Array.isArray(doc.objects) ? '; this looks like a STIX bundle: import it with format "stix"' : ' (the bundle has no "objects" array)';
  }
  if ('id' in doc && 'title' in doc) return '; this looks like a single incident record: import it with format "jsonl"';
  return '';
}

/** Returns true for a plain JSON object (not null, not an array). */
export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Returns the value when it is a non-empty string after trimming, else undefined. */
export function nonEmptyString(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
}

// Publishers named after the host; the rest are shown as their bare host name.
const PUBLISHERS: Record<string, string> = {
  'attack.mitre.org': 'MITRE ATT&CK',
  'nvd.nist.gov': 'NVD',
  'cisa.gov': 'CISA',
  'us-cert.cisa.gov': 'CISA',
  'app.tidalcyber.com': 'Tidal Cyber',
};

/** Returns a display name for a URL's publisher: a known name for well-known hosts, else the host without `www.`. */
export function publisherFor(url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  const host = parsed.hostname.toLowerCase().replace(/^www\./, '');
  // An archived copy is credited to the site it preserves; the Wayback path embeds the original URL.
  if (host === 'web.archive.org') {
    // Seen in the wild: "/web/<ts>/https://x", "/web/<ts>/https:/x" (slashes collapsed) and "/web/<ts>/www.x/...".
    const original = /^\/web\/[^/]+\/(.+)$/i.exec(parsed.pathname + parsed.search)?.[1];
    const inner = original ? publisherFor(/^https?:/i.test(original) ? original.replace(/^(https?:)\/*/i, '$1//') : `http://${original}`) : undefined;
    return inner ? `${inner} (archived)` : 'web.archive.org';
  }
  return PUBLISHERS[host] ?? (host || undefined);
}

// Trailing punctuation that publishers' prose glues to a link ("see https://x/y." / "https://x/y\",").
const TRAILING_JUNK = /[.,;:'"]+$/;

/** Returns the URLs found in a source string: split where several are glued together, trailing punctuation removed. */
export function splitUrls(raw: string): string[] {
  return raw
    .split(/[\s,;]+(?=https?:\/\/)|\s+/i)
    .map((u) => {
      let url = u.replace(TRAILING_JUNK, '');
      // A closing parenthesis belongs to the URL only when it has an opening one (Wikipedia-style paths).
      while (url.endsWith(')') && (url.match(/\(/g)?.length ?? 0) < (url.match(/\)/g)?.length ?? 0)) {
        url = url.slice(0, -1).replace(TRAILING_JUNK, '');
      }
      return url;
    })
    .filter((u) => u !== '');
}

/** Returns the URL in canonical form when it is a well-formed http(s) URL, else undefined (javascript:, mailto:, garbage). */
export function httpUrl(raw: string): string | undefined {
  if (!/^https?:\/\//i.test(raw)) return undefined;
  try {
    const url = new URL(raw);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
    // Keep the publisher's spelling: URL.href would re-encode characters and make ids of sources drift.
    return raw;
  } catch {
    return undefined;
  }
}

/** Returns sources with only usable http(s) links, each URL once, publishers filled from the host where missing. */
export function normaliseSources(sources: ReadonlyArray<string | Source>): Source[] {
  const seen = new Map<string, Source>();
  const out: Source[] = [];
  for (const entry of sources) {
    const given: Source = typeof entry === 'string' ? { url: entry } : entry;
    if (given.url === undefined) {
      if (given.publisher) out.push(given);
      continue;
    }
    for (const piece of splitUrls(given.url)) {
      const url = httpUrl(piece);
      if (!url) continue;
      const earlier = seen.get(url);
      if (earlier) {
        // The same link cited twice: keep the first place, but take a title or date only the later mention carries.
        for (const key of ['title', 'published'] as const) if (earlier[key] === undefined && given[key] !== undefined) earlier[key] = given[key];
        continue;
      }
      const publisher = given.publisher ?? publisherFor(url);
      const source: Source = { ...given, url, ...(publisher ? { publisher } : {}) };
      seen.set(url, source);
      out.push(source);
    }
  }
  return out;
}

/** Returns the items without duplicates, first occurrence kept, in their original order. */
export function unique<T>(items: Iterable<T>): T[] {
  return [...new Set(items)];
}

import { decodeFeedBody, fixC1Controls } from './decode.js';
import { parseFeedDate } from './feed-dates.js';
import { mapFeed, type FeedsmithResult } from './feed-items.js';
import { fastXml, feedsmith } from './feed-libs.js';
import { CONTROL_CHARS } from './feed-text.js';
import type { ParsedFeed } from './types.js';

/** Why a document was refused. */
export type FeedParseFailure = 'empty' | 'html' | 'json' | 'opml' | 'malformed' | 'not-a-feed';

/** Thrown when a document is not a feed or is too broken to read; the message says what it looks like. */
export class FeedParseError extends Error {
  override name = 'FeedParseError';
  constructor(
    message: string,
    /** What kind of refusal this is (for logs and status). */
    readonly reason: FeedParseFailure,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Options for parseFeedDocument. */
export interface ParseFeedOptions {
  /** The feed's URL (final URL after redirects): the base for relative links. */
  url: string;
  /** HTTP Content-Type, used only for its charset. */
  contentType?: string;
}


/**
 * Parses a feed document (bytes or already-decoded text) into a ParsedFeed. The format is detected from the
 * content (feedsmith), whatever the URL's extension or the Content-Type claim. Throws FeedParseError, never
 * anything else, for documents that are not feeds or are too broken.
 */
export function parseFeedDocument(body: Buffer | string, options: ParseFeedOptions): ParsedFeed {
  let text: string;
  try {
    text = typeof body === 'string' ? fixC1Controls(body) : decodeFeedBody(body, options.contentType);
  } catch (err) {
    throw new FeedParseError(`${label(options.url)}: cannot decode the body (${(err as Error).message})`, 'malformed', { cause: err });
  }
  // Leading whitespace, a stray BOM, or a newline before <?xml makes XML parsers refuse; it carries nothing.
  text = text.replace(/^[\s\ufeff]+/, '');
  if (!text) throw new FeedParseError(`${label(options.url)}: empty document`, 'empty');

  const raw = readWithFeedsmith(text, options.url);
  try {
    return mapFeed(raw, options.url);
  } catch (err) {
    if (err instanceof FeedParseError) throw err;
    throw new FeedParseError(`${label(options.url)}: unexpected feed structure (${(err as Error).message})`, 'malformed', { cause: err });
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Reading with feedsmith, with one pre-cleaned retry for the quirks real feeds have.


function readWithFeedsmith(text: string, url: string): FeedsmithResult {
  let first: unknown;
  let last: unknown;
  const expanded = expandInternalEntities(text);
  try {
    return feedsmith().parseFeed(expanded);
  } catch (err) {
    first = last = err;
  }
  const cleaned = preClean(expanded);
  if (cleaned !== expanded) {
    try {
      return feedsmith().parseFeed(cleaned);
    } catch (err) {
      last = err;
    }
  }
  // feedsmith refuses a well-formed feed with nothing in it (<rss></rss>, a channel without fields): that is an
  // empty feed, not an error (a new blog, a quiet advisory list).
  if ((last as Error)?.name === 'ParseError') {
    const root = rootElement(cleaned);
    const format = root === 'rss' ? 'rss' : root === 'feed' ? 'atom' : root === 'rdf:rdf' ? 'rdf' : undefined;
    if (format && fastXml().XMLValidator.validate(cleaned) === true) return { format, feed: {} } as unknown as FeedsmithResult;
  }
  throw diagnose(text, url, first);
}

/** The document element's name (lower case), skipping the XML declaration, comments, PIs and DOCTYPE. */
function rootElement(text: string): string | undefined {
  const head = text.slice(0, 8192).replace(/^(?:\s+|<\?[\s\S]*?\?>|<!--[\s\S]*?-->|<!DOCTYPE[^[>]*(?:\[[\s\S]*?\])?\s*>)*/i, '');
  return /^<([A-Za-z_][\w:.-]*)/.exec(head)?.[1]?.toLowerCase();
}

/** Entities a DOCTYPE may define: a few, short, plain text; total growth capped (no "billion laughs"). */
const MAX_ENTITIES = 64;
const MAX_ENTITY_VALUE = 1000;
const MAX_ENTITY_GROWTH = 1_000_000;

/**
 * Expands simple internal DTD entities (<!ENTITY id "tag:example.com,">), which feedsmith leaves as "&id;".
 * Only plain-text values without markup or references are expanded, and growth is bounded.
 */
function expandInternalEntities(text: string): string {
  const head = text.slice(0, 20_000);
  if (!head.includes('<!ENTITY')) return text;
  const dt = /<!DOCTYPE[^[>]*\[([\s\S]*?)\]\s*>/i.exec(head);
  if (!dt) return text;
  const entities = new Map<string, string>();
  for (const m of dt[1]!.matchAll(/<!ENTITY\s+([A-Za-z_][\w.-]*)\s+(?:"([^"]*)"|'([^']*)')\s*>/g)) {
    const value = m[2] ?? m[3] ?? '';
    if (entities.size < MAX_ENTITIES && value.length <= MAX_ENTITY_VALUE && !/[<&%]/.test(value)) entities.set(m[1]!, value);
  }
  if (entities.size === 0) return text;
  let growth = 0;
  const rest = text.slice(dt.index + dt[0].length).replace(/&([A-Za-z_][\w.-]*);/g, (whole, name: string) => {
    const v = entities.get(name);
    if (v === undefined || growth > MAX_ENTITY_GROWTH) return whole;
    growth += v.length;
    return v.replace(/"/g, '&quot;').replace(/'/g, '&apos;');
  });
  return text.slice(0, dt.index) + rest;
}

const BARE_AMP = /&(?!(?:[a-zA-Z][a-zA-Z0-9._-]*|#[0-9]+|#x[0-9a-fA-F]+);)/g;

/**
 * The minimal repairs that make common broken feeds readable: control characters XML forbids, bare `&`
 * outside CDATA, a DOCTYPE (entities declared there are not expanded anyway), an end tag cut off at EOF,
 * RSS items without a <channel>, and JSON Feeds whose version is a bare number.
 */
function preClean(text: string): string {
  const t = text.trimStart();
  if (t.startsWith('{')) return fixJsonFeedVersion(t);
  let out = text.replace(CONTROL_CHARS, '');
  // Anything before the first tag (a PHP warning, a stray word) breaks XML parsers.
  const lt = out.indexOf('<');
  if (lt > 0) out = out.slice(lt);
  out = out.replace(/<!DOCTYPE[^[>]*(\[[\s\S]*?\])?\s*>/i, '');
  out = escapeBareAmpersands(out);
  out = out.replace(/<\/([A-Za-z_][\w:.-]*)\s*$/, '</$1>');
  if (/<rss[\s>]/i.test(out) && !/<channel[\s>]/i.test(out)) {
    out = out.replace(/(<rss\b[^>]*>)/i, '$1<channel>').replace(/<\/rss\s*>/i, '</channel></rss>');
  }
  return out;
}

function escapeBareAmpersands(xml: string): string {
  if (!xml.includes('&')) return xml;
  // CDATA content is literal: an & there is text, not markup.
  return xml
    .split(/(<!\[CDATA\[[\s\S]*?\]\]>)/)
    .map((part, i) => (i % 2 === 1 ? part : part.replace(BARE_AMP, '&amp;')))
    .join('');
}

function fixJsonFeedVersion(json: string): string {
  try {
    const obj = JSON.parse(json) as Record<string, unknown>;
    if (obj && typeof obj === 'object' && !Array.isArray(obj) && Array.isArray(obj.items)) {
      const v = typeof obj.version === 'string' ? obj.version : '';
      if (!v.includes('jsonfeed.org/version/')) {
        obj.version = `https://jsonfeed.org/version/${/^1\.0/.test(v) ? '1' : '1.1'}`;
        return JSON.stringify(obj);
      }
    }
  } catch {
    // not JSON: diagnosed later
  }
  return json;
}

function diagnose(text: string, url: string, cause: unknown): FeedParseError {
  const where = label(url);
  const head = text.slice(0, 2048);
  const lower = head.toLowerCase();
  if (head.startsWith('{') || head.startsWith('[')) {
    try {
      JSON.parse(text);
    } catch (err) {
      return new FeedParseError(`${where}: malformed JSON (${(err as Error).message})`, 'json', { cause: err });
    }
    return new FeedParseError(`${where}: JSON document that is not a JSON Feed (no "version"/"items")`, 'json', { cause });
  }
  const withoutProlog = lower.replace(/^(?:<\?[\s\S]*?\?>\s*|<!--[\s\S]*?-->\s*)*/, '');
  if (/^<!doctype html|^<html[\s>]|^<head[\s>]|^<body[\s>]/.test(withoutProlog) || (/<html[\s>]/.test(lower) && /<body[\s>]/.test(lower))) {
    const title = /<title[^>]*>([^<]{0,120})/i.exec(text)?.[1]?.replace(/\s+/g, ' ').trim();
    return new FeedParseError(`${where}: this is an HTML page${title ? ` ("${title}")` : ''}, not a feed`, 'html', { cause });
  }
  if (/^<opml[\s>]/.test(withoutProlog)) {
    return new FeedParseError(`${where}: this is an OPML subscription list, not a feed (import it as a feed list)`, 'opml', { cause });
  }
  if (!head.startsWith('<')) {
    const start = head.slice(0, 40).replace(/\s+/g, ' ');
    return new FeedParseError(`${where}: not a feed (the document starts with "${start}")`, 'not-a-feed', { cause });
  }
  const root = rootElement(text);
  if (!root) return new FeedParseError(`${where}: no XML element in the document (only a declaration or comments)`, 'empty', { cause });
  // Publishers often put a comment before <?xml ...?>; validate from the declaration so the real error shows.
  const decl = text.indexOf('<?xml');
  const from = decl > 0 && /^(?:\s|<!--[\s\S]*?-->)*$/.test(text.slice(0, decl)) ? decl : 0;
  const valid = fastXml().XMLValidator.validate(text.slice(from, from + 4_000_000));
  if (valid !== true) {
    const line = valid.err.line + (from ? text.slice(0, from).split('\n').length - 1 : 0);
    const col = valid.err.col ? `, column ${valid.err.col}` : '';
    // The validator reports unclosed elements as "Invalid '[ "rss", "channel" ]' found."
    const unclosed = /^Invalid '\[([\s\S]*)\]' found/.exec(valid.err.msg);
    const msg = unclosed
      ? `the document ends inside ${unclosed[1]!.replace(/[\s"]/g, '').split(',').map((n) => `<${n}>`).join(' ')} (truncated, or an unclosed CDATA/comment)`
      : valid.err.msg;
    return new FeedParseError(`${where}: malformed XML at line ${line}${col}: ${msg}`, 'malformed', { cause });
  }
  return new FeedParseError(
    `${where}: XML document${root ? ` with root <${root}>` : ''} that is not RSS, RDF or Atom`,
    'not-a-feed',
    { cause },
  );
}

function label(url: string): string {
  return url ? `feed ${url}` : 'feed';
}

export { parseFeedDate };
export { MAX_ITEMS_PER_DOCUMENT } from './feed-items.js';
export { fixMojibake, htmlDepth, htmlToPlainText, MAX_HTML_DEPTH } from './feed-text.js';

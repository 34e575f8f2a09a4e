import { createHash } from 'node:crypto';
import { compile } from 'html-to-text';
import iconv from 'iconv-lite';
import { INCIDENT_BOUNDS } from '../core/incident.js';
import { truncateWords } from '../core/text.js';
import { decodeFeedBody, fixC1Controls } from './decode.js';
import { fastXml, feedsmith } from './feed-libs.js';
import type { FeedFormat, FeedItem, ParsedFeed, SkippedFeedItem } from './types.js';

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

/** Longest summary kept (FeedItem contract: "at most about 2,000 characters"). */
const MAX_SUMMARY = 2000;
/** Longest item title kept: the incident schema's title bound (a longer one is a flood, not a headline). */
const MAX_TITLE = INCIDENT_BOUNDS.title;
/** Longest feed title kept (it becomes the feed's name in lists and alerts). */
const MAX_FEED_TITLE = 200;
/** Guids longer than this are stored as their hash. */
const MAX_KEY = 1000;
/** Most authors and categories read per item, and their longest kept length. */
const MAX_NAMES = 50;
const MAX_NAME_CHARS = 200;
/** Items read per document: 10 MB of real feed holds about 30,000; a tail beyond this is reported, not read. */
export const MAX_ITEMS_PER_DOCUMENT = 50_000;
/** Unreadable items listed one by one per document; more are counted in the last entry. */
const MAX_SKIPPED_LISTED = 100;
/** HTML beyond this is not converted: a 2,000-character summary needs only the start, and html-to-text costs ~1 ms per 10 KB. */
const MAX_HTML_INPUT = 30_000;
const FIRST_HTML_SLICE = 8_000;

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

type Raw = ReturnType<ReturnType<typeof feedsmith>['parseFeed']>;

function readWithFeedsmith(text: string, url: string): Raw {
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
    if (format && fastXml().XMLValidator.validate(cleaned) === true) return { format, feed: {} } as unknown as Raw;
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

const CONTROL_CHARS = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g;
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

// ---------------------------------------------------------------------------------------------------------------
// Mapping feedsmith's per-format shapes to FeedItem.

/** The fields we read, across feedsmith's RSS / RDF / Atom / JSON Feed item shapes (all optional). */
interface LooseText {
  value?: string;
  type?: string;
  xml?: { base?: string };
}
interface LooseLink {
  href?: string;
  rel?: string;
  type?: string;
}
interface LooseItem {
  title?: string | LooseText;
  link?: string;
  links?: LooseLink[];
  description?: string;
  summary?: string | LooseText;
  content?: string | LooseText | { encoded?: string };
  guid?: { value?: string; isPermaLink?: boolean } | string;
  id?: string;
  url?: string;
  external_url?: string;
  content_text?: string;
  content_html?: string;
  pubDate?: string;
  published?: string;
  updated?: string;
  issued?: string;
  modified?: string;
  created?: string;
  date_published?: string;
  date_modified?: string;
  authors?: Array<{ name?: string; email?: string } | string>;
  author?: { name?: string } | string;
  categories?: Array<{ name?: string; term?: string; label?: string } | string>;
  tags?: string[];
  dc?: { creators?: string[]; dates?: string[]; subjects?: string[]; titles?: string[]; descriptions?: string[] };
  dcterms?: { issued?: string[]; created?: string[]; modified?: string[]; available?: string[] };
  atom?: { links?: LooseLink[]; updated?: string; published?: string };
  rdf?: { about?: string };
  xml?: { base?: string };
  media?: { title?: { value?: string }; description?: { value?: string } };
}
interface LooseFeed extends LooseItem {
  home_page_url?: string;
  items?: LooseItem[];
  entries?: LooseItem[];
}

function mapFeed(raw: Raw, url: string): ParsedFeed {
  const format = raw.format as FeedFormat;
  const feed = raw.feed as unknown as LooseFeed;
  const docBase = safeUrl(url);
  const feedBase = resolveBase(feed.xml?.base, docBase);
  const rawItems = (format === 'atom' ? feed.entries : feed.items) ?? [];

  const items: FeedItem[] = [];
  const skipped: SkippedFeedItem[] = [];
  const seen = new Set<string>();
  const count = Math.min(rawItems.length, MAX_ITEMS_PER_DOCUMENT);
  for (let i = 0; i < count; i++) {
    const raw = rawItems[i];
    if (!raw || typeof raw !== 'object') continue;
    let item: FeedItem | undefined;
    try {
      item = mapItem(raw, format, feedBase);
    } catch (err) {
      // One unreadable item (HTML nested too deep for the converter, a shape no feed should have) costs that item
      // only: the document's other items still arrive.
      if (skipped.length < MAX_SKIPPED_LISTED) skipped.push(skippedItem(raw, format, feedBase, i, err));
      else skipped[skipped.length - 1]!.count = (skipped[skipped.length - 1]!.count ?? 1) + 1;
      continue;
    }
    if (!item || seen.has(item.key)) continue;
    seen.add(item.key);
    items.push(item);
  }
  if (rawItems.length > count) {
    skipped.push({ reason: `the document has ${rawItems.length} items; only the first ${MAX_ITEMS_PER_DOCUMENT} are read`, count: rawItems.length - count });
  }

  const rawTitle = textOf(feed.title, format === 'json' ? 'text' : format === 'atom' ? 'atom' : 'auto');
  const title = rawTitle ? truncateWords(oneLine(rawTitle), MAX_FEED_TITLE) : '';
  const link = format === 'json' ? httpUrl(feed.home_page_url, feedBase) : format === 'atom' ? pickAtomLink(feed.links, feedBase) : httpUrl(feed.link, feedBase);
  return { format, ...(title ? { title } : {}), ...(link ? { link } : {}), items, ...(skipped.length ? { skipped } : {}) };
}

/** What is known of an item that could not be read: its key when its identity can be read, and why. */
function skippedItem(raw: LooseItem, format: FeedFormat, feedBase: URL | undefined, index: number, err: unknown): SkippedFeedItem {
  const e = err as Error;
  const why = e instanceof RangeError && /call stack/i.test(e.message) ? 'markup nested too deeply to convert' : (e?.message ?? String(err)).slice(0, 200);
  let key: string | undefined;
  try {
    const { guid, link } = identityOf(raw, format, resolveBase(raw.xml?.base, feedBase));
    key = guid ?? link;
  } catch {
    // no identity either: reported without a key
  }
  return { ...(key ? { key } : {}), reason: `item ${index + 1}: ${why}` };
}

/** An item's guid/id and link, as mapItem reads them (no text conversion, so they survive items whose text cannot be read). */
function identityOf(it: LooseItem, format: FeedFormat, base: URL | undefined): { guid?: string; link?: string } {
  let guid: string | undefined;
  let link: string | undefined;
  if (format === 'json') {
    link = httpUrl(it.url, base) ?? httpUrl(it.external_url, base);
    guid = idOf(typeof it.id === 'string' || typeof it.id === 'number' ? String(it.id) : undefined, base, true);
  } else if (format === 'atom') {
    link = pickAtomLink(it.links, base);
    guid = idOf(typeof it.id === 'string' ? it.id : undefined, base, true);
  } else {
    // RSS 0.9x/2.0 and RDF (RSS 1.0)
    const g = typeof it.guid === 'string' ? { value: it.guid } : it.guid;
    const gv = g?.value?.trim();
    const permalink = g?.isPermaLink !== false;
    guid = gv ? idOf(gv, base, permalink) : undefined;
    link = httpUrl(it.link, base) ?? pickAtomLink(it.atom?.links, base);
    // RSS 2.0: a guid is a permalink unless isPermaLink="false"; only a URL-looking one can stand in for <link>.
    if (!link && gv && permalink && guid && /^https?:\/\//i.test(guid) && (g?.isPermaLink === true || /^https?:\/\//i.test(gv))) {
      link = httpUrl(guid, undefined);
    }
    if (!guid && format === 'rdf' && it.rdf?.about) guid = idOf(it.rdf.about, base, true);
  }
  // A key is stored once per item and compared on every poll: an overlong guid stands as its hash.
  if (guid && guid.length > MAX_KEY) guid = 'sha256:' + createHash('sha256').update(guid).digest('hex');
  return { ...(guid ? { guid } : {}), ...(link ? { link } : {}) };
}

function mapItem(it: LooseItem, format: FeedFormat, feedBase: URL | undefined): FeedItem | undefined {
  const base = resolveBase(it.xml?.base, feedBase);
  const { guid, link } = identityOf(it, format, base);
  let titleRaw: string;
  let summaryRaw: string;
  let published: string | undefined;
  let updated: string | undefined;

  if (format === 'json') {
    titleRaw = textOf(it.title, 'text');
    summaryRaw =
      textOf(it.summary, 'text') || (it.content_text ? textOf(it.content_text, 'text') : '') || textOf(it.content_html, 'html');
    published = parseFeedDate(it.date_published);
    updated = parseFeedDate(it.date_modified);
  } else if (format === 'atom') {
    titleRaw = textOf(it.title, 'atom');
    summaryRaw = textOf(it.summary, 'atom') || textOf(it.content as LooseText | undefined, 'atom');
    published = parseFeedDate(it.published) ?? parseFeedDate(it.issued) ?? parseFeedDate(it.created) ?? firstDate(it.dc?.dates);
    updated = parseFeedDate(it.updated) ?? parseFeedDate(it.modified);
  } else {
    titleRaw = textOf(it.title, 'auto') || textOf(it.dc?.titles?.[0], 'auto') || textOf(it.media?.title?.value, 'auto');
    const content = typeof it.content === 'object' ? (it.content as { encoded?: string }).encoded : undefined;
    summaryRaw =
      textOf(it.description, 'auto') ||
      textOf(it.dc?.descriptions?.[0], 'auto') ||
      textOf(content, 'html') ||
      textOf(it.media?.description?.value, 'auto');
    published =
      parseFeedDate(it.pubDate) ??
      firstDate(it.dc?.dates) ??
      firstDate(it.dcterms?.issued) ??
      firstDate(it.dcterms?.created) ??
      firstDate(it.dcterms?.available) ??
      parseFeedDate(it.atom?.published);
    updated = firstDate(it.dcterms?.modified) ?? parseFeedDate(it.atom?.updated);
  }

  const summary = truncateWords(summaryRaw, MAX_SUMMARY);
  let title = truncateWords(oneLine(titleRaw), MAX_TITLE);
  if (!title && !summary && !link && !guid) return undefined; // an empty <item/>: nothing to show or identify
  if (!title) title = summary ? truncateWords(oneLine(summary), 120) : truncateWords(link ?? guid ?? '(untitled)', MAX_TITLE);

  const key = guid ?? link ?? 'sha1:' + createHash('sha1').update(`${title}\n${published ?? updated ?? ''}`).digest('hex');
  const item: FeedItem = { key, title, summary, authors: authorsOf(it, format), categories: categoriesOf(it) };
  if (guid) item.guid = guid;
  if (link) item.link = link;
  if (published) item.published = published;
  if (updated) item.updated = updated;
  if (!item.published && updated) item.published = updated;
  return item;
}

function firstDate(values: string[] | undefined): string | undefined {
  if (!values) return undefined;
  for (const v of values) {
    const d = parseFeedDate(v);
    if (d) return d;
  }
  return undefined;
}

function authorsOf(it: LooseItem, format: FeedFormat): string[] {
  const out: string[] = [];
  const add = (s: string | undefined) => {
    if (out.length >= MAX_NAMES) return;
    const v = s ? truncateWords(oneLine(textOf(s, 'auto')), MAX_NAME_CHARS) : '';
    if (v && !out.includes(v)) out.push(v);
  };
  for (const a of it.authors ?? []) {
    if (typeof a === 'string') add(a);
    else add(a?.name ?? (format === 'rss' ? a?.email : undefined));
  }
  if (it.author) add(typeof it.author === 'string' ? it.author : it.author.name);
  for (const c of it.dc?.creators ?? []) add(c);
  return out;
}

function categoriesOf(it: LooseItem): string[] {
  const out: string[] = [];
  const add = (s: string | undefined) => {
    if (out.length >= MAX_NAMES) return;
    const v = s ? truncateWords(oneLine(textOf(s, 'auto')), MAX_NAME_CHARS) : '';
    if (v && !out.includes(v)) out.push(v);
  };
  for (const c of it.categories ?? []) add(typeof c === 'string' ? c : (c?.label ?? c?.term ?? c?.name));
  for (const t of it.tags ?? []) if (typeof t === 'string') add(t);
  for (const s of it.dc?.subjects ?? []) add(s);
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// URLs: xml:base chains, http(s) only.

function safeUrl(s: string | undefined, base?: URL): URL | undefined {
  if (!s) return undefined;
  try {
    return new URL(s.trim(), base);
  } catch {
    return undefined;
  }
}

/** xml:base resolved against its parent; a base that is not http(s) (javascript:, data:) is ignored. */
function resolveBase(xmlBase: string | undefined, parent: URL | undefined): URL | undefined {
  if (xmlBase === undefined) return parent;
  const u = safeUrl(xmlBase, parent);
  return u && (u.protocol === 'http:' || u.protocol === 'https:') ? u : parent;
}

/** An absolute http(s) URL, or undefined (other schemes are dropped: they are no links for a chat alert). */
function httpUrl(s: string | undefined, base: URL | undefined): string | undefined {
  if (typeof s !== 'string') return undefined;
  const v = s.trim();
  // A link longer than any record may hold is no link (a clipped one would lead nowhere).
  if (!v || v.length > INCIDENT_BOUNDS.sourceUrl) return undefined;
  const u = safeUrl(v, base);
  if (!u || (u.protocol !== 'http:' && u.protocol !== 'https:') || !u.hostname) return undefined;
  return u.href;
}

/**
 * A guid/id, resolved against xml:base and the feed URL when it is a relative reference that may be a link:
 * ids with a scheme (tag:, urn:, http:) stay as given, as do opaque tokens ("abc", "12345") and non-permalinks.
 */
function idOf(raw: string | undefined, base: URL | undefined, mayBeLink: boolean): string | undefined {
  const v = raw?.trim();
  if (!v) return undefined;
  if (/^[a-z][a-z0-9+.-]*:/i.test(v)) return v; // absolute: kept as given, so keys stay byte-stable
  if (!mayBeLink || !base) return v;
  // Only path-like ids are relative URLs; a bare number or word is an opaque id (RSS guid "not resolved as a URL").
  if (!/^(\/|\.\.?\/|\?|#)|\/|\.(s?html?|php|aspx?)$/i.test(v)) return v;
  return httpUrl(v, base) ?? v;
}

const ALTERNATE_SKIP = new Set(['self', 'edit', 'enclosure', 'replies', 'hub', 'next', 'previous', 'prev', 'first', 'last', 'license', 'payment', 'edit-media', 'via', 'service.post', 'service.edit', 'service.feed']);

function pickAtomLink(links: LooseLink[] | undefined, base: URL | undefined): string | undefined {
  if (!Array.isArray(links) || links.length === 0) return undefined;
  const alternates = links.filter((l) => !l.rel || l.rel === 'alternate');
  const ordered = [
    ...alternates.filter((l) => !l.type || /html/i.test(l.type)),
    ...alternates,
    ...links.filter((l) => l.rel && !ALTERNATE_SKIP.has(l.rel)),
  ];
  for (const l of ordered) {
    const u = httpUrl(l.href, base);
    if (u) return u;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// Text: HTML to clean plain text.

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
function textOf(v: string | LooseText | undefined | null, mode: 'text' | 'html' | 'auto' | 'atom'): string {
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

function oneLine(s: string): string {
  return s.replace(/\s+/g, ' ').trim();
}

// ---------------------------------------------------------------------------------------------------------------
// Dates.

const MONTHS: Record<string, number> = {};
function addMonths(names: string, offset = 0): void {
  names.split(/\s+/).forEach((group, i) => {
    for (const n of group.split('|')) if (n) MONTHS[n] = i + 1 + offset;
  });
}
// English, then the languages real feeds use; each group is one month (full|abbreviations).
addMonths('january|jan february|feb march|mar april|apr may june|jun july|jul august|aug september|sep|sept october|oct november|nov december|dec');
addMonths('gennaio|gen febbraio|feb marzo|mar aprile|apr maggio|mag giugno|giu luglio|lug agosto|ago settembre|set ottobre|ott novembre|nov dicembre|dic');
addMonths('janvier|janv février|fevrier|févr|fevr|fév|fev mars avril|avr mai juin juillet|juil août|aout|aoû septembre octobre novembre décembre|decembre|déc');
addMonths('januar|jän|jaen februar märz|maerz|mär|mrz april mai juni juli august september oktober|okt november dezember|dez');
addMonths('enero|ene febrero marzo abril|abr mayo junio julio agosto septiembre|setiembre octubre noviembre diciembre');
addMonths('janeiro fevereiro|fev março|marco abril maio junho julho agosto setembro outubro|out novembro dezembro|dez');
addMonths('januari februari maart|mrt april mei juni juli augustus september oktober november december');
addMonths('stycznia|styczeń|sty lutego|luty|lut marca|marzec kwietnia|kwiecień|kwi maja|maj czerwca|czerwiec|cze lipca|lipiec|lip sierpnia|sierpień|sie września|wrzesień|wrz października|październik|paź listopada|listopad|lis grudnia|grudzień|gru');
addMonths('januari februari mars april maj juni juli augusti september oktober november december');
addMonths('январь|января|янв февраль|февраля|фев март|марта|мар апрель|апреля|апр май|мая июнь|июня|июн июль|июля|июл август|августа|авг сентябрь|сентября|сен октябрь|октября|окт ноябрь|ноября|ноя декабрь|декабря|дек');
// Greek and Hungarian, as feedparser reads them.
addMonths('ιαν|ιανουάριος φεβ|φεβρουάριος μάώ|μάρ|μαρ|μάρτιος απρ|απρίλιος μάι|μαϊ|μαι|μάιος ιούν|ιον|ιουν|ιούνιος ιούλ|ιολ|ιουλ|ιούλιος αύγ|αυγ|αύγουστος σεπ|σεπτέμβριος οκτ|οκτώβριος νοέ|νοε|νοέμβριος δεκ|δεκέμβριος');
addMonths('január február március április május június július augusztus szeptember október november december');

/** Zone abbreviations seen in feeds, in minutes east of UTC (RFC 822 plus the common North American / European ones). */
const ZONES: Record<string, number> = {
  ut: 0, utc: 0, gmt: 0, z: 0, 'etc/gmt': 0, 'etc/utc': 0, wet: 0,
  est: -300, edt: -240, cst: -360, cdt: -300, mst: -420, mdt: -360, pst: -480, pdt: -420,
  ast: -240, adt: -180, akst: -540, akdt: -480, hst: -600, nst: -210, ndt: -150,
  at: -240, et: -300, ct: -360, mt: -420, pt: -480,
  met: 60, mest: 120, cet: 60, cest: 120, mez: 60, mesz: 120, west: 60, bst: 60, ist: 330, eet: 120, eest: 180,
  msk: 180, gst: 240, pkt: 300, ict: 420, wib: 420, hkt: 480, sgt: 480, awst: 480, cst8: 480,
  jst: 540, kst: 540, acst: 570, acdt: 630, aest: 600, aedt: 660, nzst: 720, nzdt: 780,
  brt: -180, art: -180, clt: -240, sast: 120, cat: 120, eat: 180, wat: 60,
};

/** Returns the date as ISO 8601 UTC, or undefined when unparseable. Strings without a zone are taken as UTC. */
export function parseFeedDate(raw: string | undefined | null): string | undefined {
  if (typeof raw !== 'string') return undefined;
  const s = raw.replace(/\s+/g, ' ').trim();
  if (!s || s.length > 100) return undefined;
  const ms = parseIsoLike(s) ?? parseKorean(s) ?? parseRfc822Like(s);
  if (ms === undefined || Number.isNaN(ms)) return undefined;
  const d = new Date(ms);
  const y = d.getUTCFullYear();
  if (Number.isNaN(d.getTime()) || y < 1 || y > 9999) return undefined;
  return d.toISOString();
}

function utc(y: number, mo: number, d: number, h = 0, mi = 0, sec = 0, msec = 0, offsetMin = 0): number | undefined {
  if (mo < 1 || mo > 12 || d < 1 || h > 24 || mi > 59 || sec > 60) return undefined;
  if (h === 24 && (mi > 0 || sec > 0)) return undefined;
  const dim = new Date(Date.UTC(2000, mo, 0)).getUTCDate(); // days in month (leap-year Feb checked below)
  if (d > dim) return undefined;
  if (mo === 2 && d === 29 && !(y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0))) return undefined;
  const date = new Date(Date.UTC(2000, mo - 1, d, h, mi, Math.min(sec, 59), msec));
  date.setUTCFullYear(y); // Date.UTC maps years 0-99 to 1900-1999
  if (date.getUTCMonth() !== mo - 1 && !(h === 24)) return undefined;
  return date.getTime() - offsetMin * 60_000;
}

function zoneOffset(z: string | undefined): number | undefined {
  if (!z) return 0; // no zone: UTC (the issue's rule; feeds without zones are almost always UTC servers)
  const t = z.trim().toLowerCase();
  if (t in ZONES) return ZONES[t];
  const m = /^(?:gmt|utc|ut)?([+-])(\d{1,2})(?::?(\d{2}))?$/.exec(t);
  if (m) {
    const h = Number(m[2]);
    const mi = m[3] ? Number(m[3]) : 0;
    if (h > 14 || mi > 59) return undefined;
    return (m[1] === '-' ? -1 : 1) * (h * 60 + mi);
  }
  if (/^[a-z]{1,5}$/.test(t)) return 0; // unknown named zone: UTC rather than losing the date
  return undefined;
}

function twoDigitYear(y: number): number {
  // RFC 2822 §4.3: 00-49 are 2000-2049, 50-99 are 1950-1999.
  return y < 50 ? 2000 + y : 1900 + y;
}

function parseIsoLike(s: string): number | undefined {
  // W3C-DTF / ISO 8601 / RFC 3339, with space instead of T, with or without zone, fractions; month may be a name
  // (Hungarian "2004-július-13").
  let m = /^(\d{4})-(\d{1,3}|[\p{L}.]+)-(\d{1,2})(?:[T ](\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)? ?(Z|[+-]\d{2}(?::?\d{2})?|[A-Za-z]{1,5})?)?$/iu.exec(s);
  if (m) {
    const mo = /^\d+$/.test(m[2]!) ? Number(m[2]) : MONTHS[m[2]!.toLowerCase().replace(/\.$/, '')];
    if (!mo) return undefined;
    const off = zoneOffset(m[8]);
    if (off === undefined) return undefined;
    const frac = m[7] ? Math.floor(Number(`0.${m[7]}`) * 1000) : 0;
    return utc(Number(m[1]), mo, Number(m[3]), Number(m[4] ?? 0), Number(m[5] ?? 0), Number(m[6] ?? 0), frac, off);
  }
  if ((m = /^(\d{4})(\d{2})(\d{2})(?:T(\d{2}):?(\d{2}):?(\d{2})?(?:\.\d+)?(Z|[+-]\d{2}:?\d{2})?)?$/.exec(s))) {
    const off = zoneOffset(m[7]);
    if (off === undefined) return undefined;
    return utc(Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4] ?? 0), Number(m[5] ?? 0), Number(m[6] ?? 0), 0, off);
  }
  if ((m = /^(\d{4})(?:-(\d{2}))?$/.exec(s))) return utc(Number(m[1]), Number(m[2] ?? 1), 1);
  // Truncated ISO 8601 forms with 2-digit years that feedparser accepts (YY-MM-DD, -YY-MM, -YYMM, YYMMDD).
  if ((m = /^(\d{2})-(\d{2})-(\d{2})$/.exec(s))) return utc(twoDigitYear(Number(m[1])), Number(m[2]), Number(m[3]));
  if ((m = /^-(\d{2})-?(\d{2})$/.exec(s))) return utc(twoDigitYear(Number(m[1])), Number(m[2]), 1);
  if ((m = /^(\d{2})(\d{2})(\d{2})$/.exec(s))) return utc(twoDigitYear(Number(m[1])), Number(m[2]), Number(m[3]));
  return undefined;
}

function parseKorean(s: string): number | undefined {
  // Korean blog engines (OnBlog "2004년 05월 28일 01:31:15", Nate "2004-05-25 오후 11:23:17"), KST = UTC+9.
  let m = /^(\d{4})년 ?(\d{1,2})월 ?(\d{1,2})일 ?(\d{1,2}):(\d{2}):(\d{2})$/.exec(s);
  if (m) return utc(Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]), 0, 540);
  m = /^(\d{4})-(\d{1,2})-(\d{1,2}) (오전|오후) (\d{1,2}):(\d{2}):(\d{2})$/.exec(s);
  if (m) {
    let h = Number(m[5]) % 12;
    if (m[4] === '오후') h += 12;
    return utc(Number(m[1]), Number(m[2]), Number(m[3]), h, Number(m[6]), Number(m[7]), 0, 540);
  }
  return undefined;
}

const WEEKDAYS = new Set([
  'mon', 'tue', 'tues', 'wed', 'thu', 'thur', 'thurs', 'fri', 'sat', 'sun',
  'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday',
]);

/**
 * RFC 822/2822 and the variants feeds produce: any weekday (or none), "D Mon Y" or "Mon D, Y", asctime
 * ("Sun Jan  4 16:29:06 2004", year after the time), Perforce "2006/09/15", full or foreign month names,
 * 2-digit years, missing seconds or time, AM/PM, zones as names, "+hhmm", "+hh:mm", "GMT-01:01" or glued to
 * the time ("00:00:00-0500").
 */
function parseRfc822Like(input: string): number | undefined {
  let s = input.replace(/\([^)]*\)/g, ' ').replace(/,/g, ' ').replace(/\s+/g, ' ').trim();
  // Leading weekday: any word followed by a comma in the original ("mar," "Seg," "Κυρ,") or a known weekday.
  const lead = /^([\p{L}.]+)(,| )\s*/u.exec(input.trim());
  if (lead && (lead[2] === ',' || WEEKDAYS.has(lead[1]!.toLowerCase().replace(/\.$/, '')))) {
    s = s.slice(s.indexOf(' ') + 1);
  }
  const tokens = s.split(' ').filter(Boolean);
  let day: number | undefined;
  let month: number | undefined;
  let year: number | undefined;
  let yearDigits = 0;
  let time: [number, number, number] | undefined;
  let zone: string | undefined;
  let ampm: 'am' | 'pm' | undefined;

  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    const lower = t.toLowerCase().replace(/\.$/, '');
    let m: RegExpExecArray | null;
    if ((m = /^(\d{4})\/(\d{1,2})\/(\d{1,2})$/.exec(t))) {
      if (year !== undefined) return undefined;
      year = Number(m[1]);
      yearDigits = 4;
      month = Number(m[2]);
      day = Number(m[3]);
      continue;
    }
    if ((m = /^(\d{1,2}):(\d{1,2})(?::(\d{1,2}))?(?:\.\d+)?((?:[+-]\d{1,2}(?::?\d{2})?|z))?$/i.exec(t))) {
      if (time) return undefined;
      time = [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)];
      if (m[4]) zone = m[4];
      continue;
    }
    if (/^(am|pm|a\.m\.|p\.m\.)$/i.test(t)) {
      ampm = t.toLowerCase().startsWith('a') ? 'am' : 'pm';
      continue;
    }
    if (/^\d{1,4}$/.test(t)) {
      // The first 1-2 digit number is the day ("16 Dec 2012", "Dec 16 2012"); a later one, or 3-4 digits, the year.
      if (t.length <= 2 && day === undefined) day = Number(t);
      else if (year === undefined) {
        year = Number(t);
        yearDigits = t.length;
      } else return undefined;
      continue;
    }
    if (/^[+-]\d{2}:?\d{2}$/.test(t) || /^(gmt|utc|ut)[+-]\d{1,2}(:?\d{2})?$/i.test(t)) {
      if (zone !== undefined) return undefined;
      zone = t;
      continue;
    }
    if (month === undefined && MONTHS[lower] !== undefined) {
      month = MONTHS[lower];
      continue;
    }
    if (WEEKDAYS.has(lower)) continue;
    if (zone === undefined && (lower in ZONES || /^[a-z]{2,5}$/.test(lower))) {
      zone = lower;
      continue;
    }
    return undefined;
  }
  if (day === undefined || month === undefined || year === undefined) return undefined;
  if (yearDigits <= 2) year = twoDigitYear(year);
  else if (yearDigits === 3) year += 1900; // old Perl/Java feeds writing years since 1900
  let [h, mi, sec] = time ?? [0, 0, 0];
  if (ampm) {
    if (h < 1 || h > 12) return undefined;
    h = (h % 12) + (ampm === 'pm' ? 12 : 0);
  }
  const off = zoneOffset(zone);
  if (off === undefined) return undefined;
  return utc(year, month, day, h, mi, sec, 0, off);
}

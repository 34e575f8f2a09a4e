import { createHash } from 'node:crypto';
import { INCIDENT_BOUNDS } from '../core/incident.js';
import { truncateWords } from '../core/text.js';
import { decodeFeedBody, fixC1Controls } from './decode.js';
import { parseFeedDate } from './feed-dates.js';
import { fastXml, feedsmith } from './feed-libs.js';
import { CONTROL_CHARS, MAX_SUMMARY, oneLine, textOf, type LooseText } from './feed-text.js';
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

export { parseFeedDate };
export { fixMojibake, htmlDepth, htmlToPlainText, MAX_HTML_DEPTH } from './feed-text.js';

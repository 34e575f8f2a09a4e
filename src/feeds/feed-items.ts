import { createHash } from 'node:crypto';
import { INCIDENT_BOUNDS } from '../core/incident.js';
import { truncateWords } from '../core/text.js';
import { parseFeedDate } from './feed-dates.js';
import type { feedsmith } from './feed-libs.js';
import { MAX_SUMMARY, oneLine, textOf, type LooseText } from './feed-text.js';
import type { FeedFormat, FeedItem, ParsedFeed, SkippedFeedItem } from './types.js';

/** What feedsmith returns for a document: its detected format and the format's own feed shape. */
export type FeedsmithResult = ReturnType<ReturnType<typeof feedsmith>['parseFeed']>;

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

/** Returns the feed's title, link and items read from feedsmith's per-format shape; unreadable items are listed as skipped. */
export function mapFeed(raw: FeedsmithResult, url: string): ParsedFeed {
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

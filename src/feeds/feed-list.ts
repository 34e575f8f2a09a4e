import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { feedsmith } from './feed-libs.js';
import type { FeedSpec } from './types.js';

/** The default feed list shipped with the bot: the project's `data/feeds.json` (absolute path). */
export const DEFAULT_FEEDS_FILE = fileURLToPath(new URL('../../data/feeds.json', import.meta.url));

/** Thrown when a feed list cannot be read; the message names the file and, when relevant, the entry. */
export class FeedListError extends Error {
  override name = 'FeedListError';
}

/** Shortest per-feed interval accepted (FEED_POLL_SECONDS goes down to 1 for tests and local feeds). */
const MIN_INTERVAL_SECONDS = 1;

/**
 * Reads a feed list: a JSON array of URL strings or `{url, name?, intervalSeconds?}` objects, or an OPML file
 * (nested outlines flattened; outlines without xmlUrl are folders). Duplicate URLs are kept once. Throws
 * FeedListError naming the file and the entry at fault.
 */
export function loadFeedList(path: string): FeedSpec[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new FeedListError(`${path}: cannot read the feed list${code ? ` (${code})` : ''}`, { cause: err });
  }
  return parseFeedList(text, path);
}

/** Parses feed-list text (JSON or OPML, told apart by content); `source` names it in error messages. */
export function parseFeedList(text: string, source: string): FeedSpec[] {
  const t = text.replace(/^[\s\ufeff]+/, '');
  if (!t) throw new FeedListError(`${source}: the feed list is empty`);
  const specs = t.startsWith('<') ? fromOpml(t, source) : fromJson(t, source);
  const seen = new Set<string>();
  return specs.filter((s) => (seen.has(s.url) ? false : (seen.add(s.url), true)));
}

function fromJson(text: string, source: string): FeedSpec[] {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new FeedListError(`${source}: not valid JSON (${(err as Error).message})`, { cause: err });
  }
  if (!Array.isArray(data)) {
    throw new FeedListError(`${source}: expected a JSON array of feed URLs or {url, name?, intervalSeconds?} objects`);
  }
  return data.map((entry, i) => {
    const where = `${source}: entry ${i + 1}`;
    if (typeof entry === 'string') return { url: checkUrl(entry, where) };
    if (!entry || typeof entry !== 'object' || Array.isArray(entry)) {
      throw new FeedListError(`${where}: expected a URL string or an object with "url" (got ${JSON.stringify(entry)?.slice(0, 80)})`);
    }
    const o = entry as Record<string, unknown>;
    if (typeof o.url !== 'string') throw new FeedListError(`${where}: "url" is missing or not a string`);
    const known = new Set(['url', 'name', 'intervalSeconds']);
    const unknown = Object.keys(o).filter((k) => !known.has(k));
    if (unknown.length) throw new FeedListError(`${where}: unknown field${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `"${k}"`).join(', ')} (allowed: url, name, intervalSeconds)`);
    const spec: FeedSpec = { url: checkUrl(o.url, where) };
    if (o.name !== undefined) {
      if (typeof o.name !== 'string') throw new FeedListError(`${where}: "name" must be a string`);
      if (o.name.trim()) spec.name = o.name.trim();
    }
    if (o.intervalSeconds !== undefined) spec.intervalSeconds = checkInterval(o.intervalSeconds, where);
    return spec;
  });
}

interface OutlineLike {
  text?: string;
  title?: string;
  xmlUrl?: string;
  outlines?: OutlineLike[];
}

function fromOpml(text: string, source: string): FeedSpec[] {
  let doc: { body?: { outlines?: OutlineLike[] } };
  try {
    doc = feedsmith().parseOpml(text) as typeof doc;
  } catch (err) {
    throw new FeedListError(`${source}: not a valid OPML file (${(err as Error).message})`, { cause: err });
  }
  const out: FeedSpec[] = [];
  const walk = (outlines: OutlineLike[] | undefined, path: string[]) => {
    for (const o of outlines ?? []) {
      const name = (o.title ?? o.text)?.trim();
      if (o.xmlUrl) {
        const spec: FeedSpec = { url: checkUrl(o.xmlUrl, `${source}: outline "${[...path, name ?? '?'].join(' / ')}"`) };
        if (name) spec.name = name;
        out.push(spec);
      }
      if (o.outlines?.length) walk(o.outlines, name ? [...path, name] : path);
    }
  };
  walk(doc.body?.outlines, []);
  if (out.length === 0) throw new FeedListError(`${source}: the OPML file has no outline with an xmlUrl`);
  return out;
}

function checkUrl(raw: string, where: string): string {
  const v = raw.trim();
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    throw new FeedListError(`${where}: "${v.slice(0, 200)}" is not an absolute URL`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new FeedListError(`${where}: "${v.slice(0, 200)}" is not an http(s) URL`);
  }
  return u.href;
}

function checkInterval(v: unknown, where: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < MIN_INTERVAL_SECONDS) {
    throw new FeedListError(`${where}: "intervalSeconds" must be a whole number of seconds >= ${MIN_INTERVAL_SECONDS} (got ${JSON.stringify(v)})`);
  }
  return v;
}

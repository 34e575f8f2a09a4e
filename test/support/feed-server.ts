import { readFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { gzipSync } from 'node:zlib';

/** One request the feed server received. */
export interface FeedRequest {
  method: string;
  /** Path with query string, as requested. */
  path: string;
  /** Request headers (lower-case names). */
  headers: IncomingHttpHeaders;
  /** Arrival time (Date.now()). */
  at: number;
  /** What the server answered (status code). */
  status: number;
}

/**
 * A canned answer. `etag` / `lastModified` are sent as headers and make the server answer 304 when the request's
 * If-None-Match / If-Modified-Since match them (the same values may also be put in `headers` by hand).
 */
export interface FeedRouteSpec {
  status?: number;
  headers?: Record<string, string | number | string[]>;
  body?: string | Buffer;
  /** Absolute path of a file served as the body (read at request time). */
  file?: string;
  /** Wait this long before answering (timeouts). */
  delayMs?: number;
  /** gzip the body and send Content-Encoding: gzip. */
  gzip?: boolean;
  /** ETag to send and to match against If-None-Match (304). */
  etag?: string;
  /** Last-Modified to send and to match against If-Modified-Since (304). */
  lastModified?: string;
  /** Answer 302 (or `status` when 3xx) with Location set to this URL. */
  redirectTo?: string;
}

/** A handler taking over one route entirely. */
export type FeedRouteHandler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

/** The running server: URLs, replaceable routes and the request log. */
export interface FeedServer {
  /** Base URL, e.g. "http://127.0.0.1:12345". */
  readonly origin: string;
  /** Absolute URL of a path on this server. */
  url(path: string): string;
  /** Sets (or replaces, between polls) what a path returns; unknown paths answer 404. */
  route(path: string, spec: FeedRouteHandler | FeedRouteSpec): void;
  /** Removes a route (it answers 404 afterwards). */
  unroute(path: string): void;
  /** Requests received for a path (query string ignored), oldest first; all requests when path is omitted. */
  requests(path?: string): FeedRequest[];
  /** Forgets the request log. */
  clearRequests(): void;
  /** Stops the server, cutting open connections (pending delays included). */
  close(): Promise<void>;
}

/** Starts a feed server on 127.0.0.1 with an ephemeral port. */
export async function startFeedServer(): Promise<FeedServer> {
  const routes = new Map<string, FeedRouteHandler | FeedRouteSpec>();
  const log: FeedRequest[] = [];
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();

  const server: Server = createServer((req, res) => {
    const rawPath = req.url ?? '/';
    const path = rawPath.split('?')[0] ?? '/';
    const entry: FeedRequest = { method: req.method ?? 'GET', path: rawPath, headers: req.headers, at: Date.now(), status: 0 };
    log.push(entry);
    res.on('finish', () => {
      entry.status = res.statusCode;
    });
    const spec = routes.get(path) ?? routes.get(rawPath);
    if (!spec) {
      entry.status = 404;
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    if (typeof spec === 'function') {
      Promise.resolve(spec(req, res)).catch((err) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(String(err));
      });
      return;
    }
    const answer = () => serveSpec(req, res, spec);
    if (spec.delayMs && spec.delayMs > 0) {
      // Headers are held back too, so a client timeout fires before anything arrives.
      const t = setTimeout(() => {
        timers.delete(t);
        if (!res.destroyed) answer();
      }, spec.delayMs);
      timers.add(t);
    } else {
      answer();
    }
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const origin = `http://127.0.0.1:${port}`;
  const norm = (p: string) => (p.startsWith('/') ? p : `/${p}`);

  return {
    origin,
    url: (p) => origin + norm(p),
    route: (p, spec) => {
      routes.set(norm(p), spec);
    },
    unroute: (p) => {
      routes.delete(norm(p));
    },
    requests: (p) => (p === undefined ? [...log] : log.filter((r) => r.path.split('?')[0] === norm(p).split('?')[0])),
    clearRequests: () => {
      log.length = 0;
    },
    close: async () => {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function serveSpec(req: IncomingMessage, res: ServerResponse, spec: FeedRouteSpec): void {
  const headers: Record<string, string | number | string[]> = { ...(spec.headers ?? {}) };
  const lower = new Map(Object.keys(headers).map((k) => [k.toLowerCase(), k]));
  const header = (name: string) => {
    const k = lower.get(name);
    const v = k === undefined ? undefined : headers[k];
    return v === undefined ? undefined : String(v);
  };
  if (spec.etag !== undefined && !lower.has('etag')) headers['ETag'] = spec.etag;
  if (spec.lastModified !== undefined && !lower.has('last-modified')) headers['Last-Modified'] = spec.lastModified;
  const etag = spec.etag ?? header('etag');
  const lastModified = spec.lastModified ?? header('last-modified');

  if (spec.redirectTo !== undefined) {
    const status = spec.status && spec.status >= 300 && spec.status < 400 ? spec.status : 302;
    res.writeHead(status, { ...headers, Location: spec.redirectTo }).end();
    return;
  }

  // 304 only when a validator was set and the client sent the matching one (RFC 9110 §13.1: If-None-Match wins).
  const inm = req.headers['if-none-match'];
  const ims = req.headers['if-modified-since'];
  const status = spec.status ?? 200;
  if (status === 200) {
    let notModified = false;
    if (inm !== undefined && etag !== undefined) {
      notModified = inm.split(',').map((s) => s.trim()).includes(etag) || inm.trim() === '*';
    } else if (ims !== undefined && lastModified !== undefined) {
      const a = Date.parse(ims);
      const b = Date.parse(lastModified);
      notModified = ims === lastModified || (!Number.isNaN(a) && !Number.isNaN(b) && b <= a);
    }
    if (notModified) {
      const h: Record<string, string | number | string[]> = {};
      if (etag !== undefined) h['ETag'] = etag;
      if (lastModified !== undefined) h['Last-Modified'] = lastModified;
      const cc = header('cache-control');
      if (cc !== undefined) h['Cache-Control'] = cc;
      res.writeHead(304, h).end();
      return;
    }
  }

  let body: Buffer = spec.file !== undefined ? readFileSync(spec.file) : Buffer.from(spec.body ?? '');
  if (spec.gzip) {
    body = gzipSync(body);
    headers['Content-Encoding'] = 'gzip';
  }
  if (!lower.has('content-type')) headers['Content-Type'] = guessType(spec.file, body);
  headers['Content-Length'] = body.length;
  res.writeHead(status, headers);
  res.end(req.method === 'HEAD' ? undefined : body);
}

function guessType(file: string | undefined, body: Buffer): string {
  if (file?.endsWith('.json')) return 'application/json';
  const head = body.subarray(0, 64).toString('latin1').trimStart();
  if (head.startsWith('{')) return 'application/feed+json';
  return 'application/xml';
}

/** One item for the feed builders. */
export interface TestFeedItem {
  guid?: string;
  link?: string;
  title: string;
  description?: string;
  /** RFC 822 for RSS (Date objects are formatted), ISO 8601 for Atom. */
  pubDate?: string | Date;
}

/** Options for the feed builders. */
export interface TestFeedOptions {
  title?: string;
  link?: string;
  /** Marks RSS guids isPermaLink="false" (default true when the guid is not a URL). */
  guidIsPermaLink?: boolean;
  /** Extra XML inserted in the channel / feed element. */
  extra?: string;
}

/** XML-escapes text for element content and attribute values. */
export function xmlEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Builds a small RSS 2.0 document. */
export function rssFeed(items: TestFeedItem[], opts: TestFeedOptions = {}): string {
  const out: string[] = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<rss version="2.0"><channel>',
    `<title>${xmlEscape(opts.title ?? 'Test feed')}</title>`,
    `<link>${xmlEscape(opts.link ?? 'https://example.com/')}</link>`,
    '<description>Feed for tests</description>',
  ];
  if (opts.extra) out.push(opts.extra);
  for (const it of items) out.push(rssItem(it, opts));
  out.push('</channel></rss>');
  return out.join('\n');
}

function rssItem(it: TestFeedItem, opts: TestFeedOptions): string {
  let s = '<item>';
  s += `<title>${xmlEscape(it.title)}</title>`;
  if (it.link !== undefined) s += `<link>${xmlEscape(it.link)}</link>`;
  if (it.guid !== undefined) {
    const perma = opts.guidIsPermaLink ?? /^https?:\/\//.test(it.guid);
    s += `<guid isPermaLink="${perma}">${xmlEscape(it.guid)}</guid>`;
  }
  if (it.description !== undefined) s += `<description>${xmlEscape(it.description)}</description>`;
  if (it.pubDate !== undefined) s += `<pubDate>${it.pubDate instanceof Date ? it.pubDate.toUTCString() : xmlEscape(it.pubDate)}</pubDate>`;
  return s + '</item>';
}

/** Builds a small Atom 1.0 document (guid -> id, description -> summary, pubDate -> published and updated). */
export function atomFeed(items: TestFeedItem[], opts: TestFeedOptions = {}): string {
  const now = new Date('2025-01-01T00:00:00Z').toISOString();
  const out: string[] = [
    '<?xml version="1.0" encoding="utf-8"?>',
    '<feed xmlns="http://www.w3.org/2005/Atom">',
    `<title>${xmlEscape(opts.title ?? 'Test feed')}</title>`,
    `<link href="${xmlEscape(opts.link ?? 'https://example.com/')}"/>`,
    `<id>${xmlEscape(opts.link ?? 'https://example.com/')}</id>`,
    `<updated>${now}</updated>`,
  ];
  if (opts.extra) out.push(opts.extra);
  for (const it of items) {
    const date = it.pubDate instanceof Date ? it.pubDate.toISOString() : it.pubDate;
    let s = '<entry>';
    s += `<title>${xmlEscape(it.title)}</title>`;
    if (it.link !== undefined) s += `<link rel="alternate" href="${xmlEscape(it.link)}"/>`;
    if (it.guid !== undefined) s += `<id>${xmlEscape(it.guid)}</id>`;
    if (it.description !== undefined) s += `<summary type="html">${xmlEscape(it.description)}</summary>`;
    if (date !== undefined) s += `<published>${xmlEscape(date)}</published><updated>${xmlEscape(date)}</updated>`;
    out.push(s + '</entry>');
  }
  out.push('</feed>');
  return out.join('\n');
}

/**
 * An n-item RSS 2.0 document on a single line (the 4 MB / 15,000-item shape seen in the wild); items are
 * numbered from `start` (default 0), newest first, one minute apart from `t0` (default: 90 days before today, so
 * the items are inside a feed's retention window whenever the test runs), with guids `urn:test:item:<i>`.
 */
export function bigRssFeed(n: number, opts: { start?: number; baseUrl?: string; t0?: number } = {}): string {
  const start = opts.start ?? 0;
  const base = opts.baseUrl ?? 'https://example.com/posts/';
  const t0 = opts.t0 ?? (Math.floor(Date.now() / 86_400_000) - 90) * 86_400_000;
  const parts: string[] = [
    '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>Big feed</title><link>https://example.com/</link><description>Generated</description>',
  ];
  for (let k = n - 1; k >= 0; k--) {
    const i = start + k;
    // ~270 bytes an item: 15,000 items make the ~4 MB single-line document seen in the wild.
    parts.push(
      `<item><title>Advisory ${i}: flaw in product ${i % 97}</title><link>${base}${i}</link>` +
        `<guid isPermaLink="false">urn:test:item:${i}</guid>` +
        `<description>&lt;p&gt;Attackers exploit &lt;b&gt;CVE-2025-${10000 + i}&lt;/b&gt;.&lt;/p&gt;</description>` +
        `<pubDate>${new Date(t0 + i * 60_000).toUTCString()}</pubDate></item>`,
    );
  }
  parts.push('</channel></rss>');
  return parts.join('');
}

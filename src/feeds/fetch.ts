import { request as httpRequest, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { createBrotliDecompress, createGunzip, createInflate, constants as zlibConstants } from 'node:zlib';
import type { LookupFunction } from 'node:net';
import type { Readable } from 'node:stream';
import { assertFeedUrlAllowed, connectTimeLookup, FeedUrlError, type FeedResolver } from './ssrf.js';
import type { FetchOptions, FetchResult } from './types.js';

/** User-Agent sent when FetchOptions.userAgent is not given: names the bot, as feed publishers ask. */
export const DEFAULT_USER_AGENT = 'incident-bot/0.1 (feed watcher)';
/** Whole-request timeout: 15 s, so one slow host cannot hold a poll slot for long. */
export const DEFAULT_TIMEOUT_MS = 15_000;
/** Cap on the decompressed body: 10 MB, far above any real feed, so a hostile one cannot fill memory. */
export const DEFAULT_MAX_BYTES = 10 * 1024 * 1024;
/** Redirects followed at most: 5, enough for real moves (http to https, a new domain), not for a loop. */
export const DEFAULT_MAX_REDIRECTS = 5;

const ACCEPT =
  'application/rss+xml, application/atom+xml, application/feed+json, application/rdf+xml;q=0.9, ' +
  'application/xml;q=0.9, text/xml;q=0.9, application/json;q=0.8, */*;q=0.5';

/** What went wrong with a fetch. */
export type FeedFetchErrorKind = 'http' | 'timeout' | 'too-large' | 'blocked' | 'network' | 'redirects';

/** Thrown by fetchFeed; `kind` says what failed, with the HTTP status and Retry-After when the server gave them. */
export class FeedFetchError extends Error {
  override name = 'FeedFetchError';
  /** HTTP status of the failing answer (kind 'http'). */
  readonly httpStatus?: number;
  /** Seconds the server asked us to wait (Retry-After on 429/503). */
  readonly retryAfterSeconds?: number;
  /** The URL of the hop that failed. */
  readonly url?: string;
  constructor(
    message: string,
    readonly kind: FeedFetchErrorKind,
    details: { httpStatus?: number; retryAfterSeconds?: number; url?: string; cause?: unknown } = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    if (details.httpStatus !== undefined) this.httpStatus = details.httpStatus;
    if (details.retryAfterSeconds !== undefined) this.retryAfterSeconds = details.retryAfterSeconds;
    if (details.url !== undefined) this.url = details.url;
  }
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/**
 * Fetches a feed with a conditional GET. Resolves with the body (2xx) or "not-modified" (304); throws
 * FeedFetchError for everything else. Redirects are followed by hand, each hop checked by the SSRF guard, and the
 * guard also runs on the addresses actually connected to (so a DNS answer that changes between check and connect
 * cannot reach a private address).
 */
export function fetchFeed(url: string, options: FetchOptions = {}): Promise<FetchResult> {
  return fetchFeedWith(url, options, {});
}

/** Replaceable parts of fetchFeed (tests: a per-hop URL check that treats one local server as public). */
export interface FetchHooks {
  /** Per-hop SSRF check (default assertFeedUrlAllowed). */
  checkUrl?: (url: string, options: { allowPrivate: boolean }) => Promise<void>;
  /** DNS used when connecting, where the guard runs again on the answer (default dns.promises.lookup). */
  resolve?: FeedResolver;
}

/** fetchFeed with replaceable parts; production code calls fetchFeed. */
export async function fetchFeedWith(url: string, options: FetchOptions, hooks: FetchHooks): Promise<FetchResult> {
  const checkUrl = hooks.checkUrl ?? ((u: string, o: { allowPrivate: boolean }) => assertFeedUrlAllowed(u, o));
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  const maxRedirects = options.maxRedirects ?? DEFAULT_MAX_REDIRECTS;
  const allowPrivate = options.allowPrivate ?? false;
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  timer.unref?.();
  const stopOnAbort = () => controller.abort();
  if (options.signal?.aborted) controller.abort();
  options.signal?.addEventListener('abort', stopOnAbort, { once: true });

  const headers: OutgoingHttpHeaders = {
    'user-agent': options.userAgent ?? DEFAULT_USER_AGENT,
    accept: options.accept ?? ACCEPT,
    // gzip is what feed servers implement; deflate and br are still decoded if a server sends them unasked.
    'accept-encoding': 'gzip',
  };
  if (options.etag) headers['if-none-match'] = options.etag;
  if (options.lastModified) headers['if-modified-since'] = options.lastModified;

  let current = url;
  try {
    for (let hop = 0; ; hop++) {
      try {
        await untilAborted(checkUrl(current, { allowPrivate }), controller.signal);
      } catch (err) {
        if (err instanceof FeedUrlError) {
          const kind = err.problem === 'dns' ? 'network' : 'blocked';
          const via = hop > 0 ? ` (redirected from ${url})` : '';
          throw new FeedFetchError(`${err.message}${via}`, kind, { url: current, cause: err });
        }
        throw err;
      }
      if (controller.signal.aborted) throw timeoutError(current, timeoutMs);

      const res = await send(current, headers, controller.signal, allowPrivate ? undefined : connectTimeLookup(hooks.resolve), timeoutMs);
      const status = res.statusCode ?? 0;

      if (REDIRECTS.has(status) && res.headers.location) {
        res.resume();
        if (hop >= maxRedirects) {
          throw new FeedFetchError(`${url}: more than ${maxRedirects} redirects (last to ${res.headers.location})`, 'redirects', {
            url: current,
          });
        }
        let next: string;
        try {
          next = new URL(res.headers.location, current).href;
        } catch (err) {
          throw new FeedFetchError(`${current}: redirect to an invalid URL "${res.headers.location}"`, 'http', { httpStatus: status, url: current, cause: err });
        }
        current = next;
        continue;
      }

      const etag = header(res, 'etag');
      const lastModified = header(res, 'last-modified');
      const maxAgeSeconds = parseMaxAge(header(res, 'cache-control'));
      if (status === 304) {
        res.resume();
        const out: FetchResult = { status: 'not-modified', httpStatus: 304, finalUrl: current };
        const e = etag ?? options.etag;
        const lm = lastModified ?? options.lastModified;
        if (e) out.etag = e;
        if (lm) out.lastModified = lm;
        if (maxAgeSeconds !== undefined) out.maxAgeSeconds = maxAgeSeconds;
        return out;
      }
      if (status < 200 || status >= 300) {
        res.resume();
        const retryAfterSeconds = parseRetryAfter(header(res, 'retry-after'));
        const why = status === 429 ? 'rate limited' : status >= 500 ? 'server error' : status === 404 || status === 410 ? 'feed not found' : 'refused';
        throw new FeedFetchError(
          `${current}: HTTP ${status} (${why})${retryAfterSeconds !== undefined ? `, retry after ${retryAfterSeconds} s` : ''}`,
          'http',
          { httpStatus: status, url: current, ...(retryAfterSeconds !== undefined ? { retryAfterSeconds } : {}) },
        );
      }

      const body = await readBody(res, current, maxBytes, controller.signal, timeoutMs, options.onProgress);
      const out: FetchResult = { status: 'ok', httpStatus: status, body, finalUrl: current };
      const contentType = header(res, 'content-type');
      if (contentType) out.contentType = contentType;
      if (etag) out.etag = etag;
      if (lastModified) out.lastModified = lastModified;
      if (maxAgeSeconds !== undefined) out.maxAgeSeconds = maxAgeSeconds;
      return out;
    }
  } catch (err) {
    if (err instanceof FeedFetchError) throw err;
    if (controller.signal.aborted) throw timeoutError(current, timeoutMs, err);
    throw networkError(current, err);
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', stopOnAbort);
  }
}

/** Rejects when the signal aborts first (a DNS lookup has no signal of its own and must not outlive the timeout). */
function untilAborted<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(new Error('aborted'));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new Error('aborted'));
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

function header(res: IncomingMessage, name: string): string | undefined {
  const v = res.headers[name];
  const s = Array.isArray(v) ? v[0] : v;
  return s === undefined || s === '' ? undefined : s;
}

function timeoutError(url: string, ms: number, cause?: unknown): FeedFetchError {
  return new FeedFetchError(`${url}: no complete answer within ${formatMs(ms)}`, 'timeout', { url, cause });
}

function formatMs(ms: number): string {
  return ms >= 1000 ? `${Math.round(ms / 100) / 10} s` : `${ms} ms`;
}

function networkError(url: string, err: unknown): FeedFetchError {
  if (err instanceof FeedFetchError) return err;
  const e = err as NodeJS.ErrnoException;
  if (e?.name === 'FeedUrlError') return new FeedFetchError(e.message, 'blocked', { url, cause: err });
  const code = e?.code ? ` (${e.code})` : '';
  const what =
    e?.code === 'ECONNREFUSED' ? 'connection refused' :
    e?.code === 'ENOTFOUND' || e?.code === 'EAI_AGAIN' ? 'host not found' :
    e?.code === 'ECONNRESET' ? 'connection reset' :
    e?.code?.startsWith('ERR_TLS') || e?.code?.includes('CERT') ? 'TLS error' :
    e?.code === 'Z_DATA_ERROR' || e?.code === 'Z_BUF_ERROR' ? 'corrupt compressed body' :
    (e?.message ?? String(err));
  return new FeedFetchError(`${url}: ${what}${code}`, 'network', { url, cause: err });
}

/** Sends the GET; `lookup` (unless private targets are allowed) refuses a private address at connect time. */
function send(url: string, headers: OutgoingHttpHeaders, signal: AbortSignal, lookup: LookupFunction | undefined, timeoutMs: number): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const requestFn = u.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = requestFn(u, {
      method: 'GET',
      headers,
      signal,
      // A fresh connection per request: feeds are polled minutes apart, and a pooled socket would skip the lookup.
      agent: false,
      ...(lookup ? { lookup } : {}),
    });
    req.on('response', resolve);
    req.on('error', (err) => reject(signal.aborted ? timeoutError(url, timeoutMs, err) : err));
    req.end();
  });
}

function readBody(
  res: IncomingMessage,
  url: string,
  maxBytes: number,
  signal: AbortSignal,
  timeoutMs: number,
  onProgress?: (received: number, total: number | undefined) => void,
): Promise<Buffer> {
  const declared = Number(res.headers['content-length']);
  const encoding = (header(res, 'content-encoding') ?? 'identity').toLowerCase().trim();
  if (encoding === 'identity' && Number.isFinite(declared) && declared > maxBytes) {
    res.destroy();
    return Promise.reject(tooLarge(url, maxBytes, declared));
  }
  if (onProgress) {
    // Wire bytes (compressed when gzip), against Content-Length, which counts the same bytes.
    let received = 0;
    const total = Number.isFinite(declared) ? declared : undefined;
    res.on('data', (chunk: Buffer) => onProgress((received += chunk.length), total));
  }
  let stream: Readable = res;
  // A bomb stops inflating as soon as the cap is crossed: the decompressor is destroyed with the response.
  if (encoding === 'gzip' || encoding === 'x-gzip') stream = res.pipe(createGunzip({ finishFlush: zlibConstants.Z_SYNC_FLUSH }));
  else if (encoding === 'deflate') stream = res.pipe(createInflate());
  else if (encoding === 'br') stream = res.pipe(createBrotliDecompress());

  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    let done = false;
    const fail = (err: Error) => {
      if (done) return;
      done = true;
      res.destroy();
      if (stream !== res) stream.destroy();
      reject(err);
    };
    stream.on('data', (chunk: Buffer) => {
      total += chunk.length;
      if (total > maxBytes) fail(tooLarge(url, maxBytes));
      else chunks.push(chunk);
    });
    stream.on('end', () => {
      if (done) return;
      done = true;
      resolve(Buffer.concat(chunks, total));
    });
    stream.on('error', (err) => fail(signal.aborted ? timeoutError(url, timeoutMs, err) : networkError(url, err)));
    res.on('error', (err) => fail(signal.aborted ? timeoutError(url, timeoutMs, err) : networkError(url, err)));
    res.on('close', () => {
      if (!res.complete) fail(signal.aborted ? timeoutError(url, timeoutMs) : networkError(url, new Error('connection closed before the body was complete')));
    });
  });
}

function tooLarge(url: string, maxBytes: number, declared?: number): FeedFetchError {
  const mb = (n: number) => (n >= 1024 * 1024 ? `${Math.round((n / 1024 / 1024) * 10) / 10} MB` : `${n} bytes`);
  return new FeedFetchError(
    `${url}: body larger than the ${mb(maxBytes)} cap${declared !== undefined ? ` (Content-Length ${mb(declared)})` : ''}`,
    'too-large',
    { url },
  );
}

/** Cache-Control max-age in seconds (no-store / no-cache mean 0), or undefined when absent. */
export function parseMaxAge(cacheControl: string | undefined): number | undefined {
  if (!cacheControl) return undefined;
  const directives = cacheControl.toLowerCase().split(',').map((d) => d.trim());
  const m = directives.map((d) => /^max-age\s*=\s*"?(\d+)"?$/.exec(d)).find(Boolean);
  if (m) return Math.min(Number(m[1]), 365 * 24 * 3600);
  if (directives.includes('no-store') || directives.includes('no-cache')) return 0;
  return undefined;
}

/** Retry-After (RFC 9110 §10.2.3) in whole seconds from now: delta-seconds or an HTTP-date; undefined if absent. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v);
  const t = Date.parse(v);
  if (Number.isNaN(t)) return undefined;
  return Math.max(0, Math.ceil((t - now) / 1000));
}

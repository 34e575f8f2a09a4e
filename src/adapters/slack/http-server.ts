import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type OutgoingHttpHeaders, type RequestListener, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parse as parseQuery } from 'node:querystring';
import { ReplayCache } from './replay-cache.js';
import type { SlackLogger } from './reply.js';

/** The limits of the HTTP endpoint; every one can only be made stricter. */
export interface SlackHttpLimits {
  /** Largest body read (Slack's payloads are a few KB; a bigger one is refused with 413 before any signature check). */
  maxBodyBytes: number;
  /** Body bytes read but not yet authenticated, all requests together; past it new bytes get 503. */
  maxPendingBodyBytes: number;
  /**
   * Of those, the bytes beyond the first `smallBodyBytes` of each body. Slack's own requests are small, so a few
   * large slow bodies can fill this share without crowding out Slack's requests.
   */
  maxPendingLargeBytes: number;
  /** Where a body starts to count as large (Slack's payloads stay well under it). */
  smallBodyBytes: number;
  /** Largest body of a request without signature headers (only Slack's ssl_check is sent that way). */
  maxUnsignedBodyBytes: number;
  /** Time to receive the request headers. */
  headersTimeoutMs: number;
  /** Time to receive the whole request, body included. */
  requestTimeoutMs: number;
  /** How far a request timestamp may be from our clock, either way (Slack's rule: 5 minutes). */
  timestampToleranceSeconds: number;
  /** Signed requests remembered against replay. */
  replayCapacity: number;
}

/** The defaults, which are also the loosest values allowed. */
export const SLACK_HTTP_LIMITS: Readonly<SlackHttpLimits> = Object.freeze({
  maxBodyBytes: 1024 * 1024,
  maxPendingBodyBytes: 16 * 1024 * 1024,
  maxPendingLargeBytes: 8 * 1024 * 1024,
  smallBodyBytes: 64 * 1024,
  maxUnsignedBodyBytes: 1024,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 10_000,
  timestampToleranceSeconds: 300,
  replayCapacity: 20_000,
});

/** Why a request was not passed on, counted in stats. */
export type SlackHttpRefusal = 'notFound' | 'tooLarge' | 'busy' | 'unsigned' | 'timestamp' | 'signature' | 'replay' | 'incomplete';

/** What the endpoint holds and has refused since it started. */
export interface SlackHttpStats {
  /** Requests whose body is being read. */
  pendingBodies: number;
  /** Bytes of those bodies held in memory now. */
  pendingBodyBytes: number;
  /** Of those, the bytes beyond the first smallBodyBytes of each body. */
  pendingLargeBytes: number;
  /** The most ever held at once. */
  peakPendingBodyBytes: number;
  /** Requests refused, by reason. */
  refused: Record<SlackHttpRefusal, number>;
  /** Keys in the replay cache. */
  replayKeys: number;
}

/** Options for the endpoint. */
export interface SlackHttpServerOptions {
  /** Slack's signing secret (Basic Information); needed with `path`. */
  signingSecret?: string;
  /** The path of Bolt's endpoint (POST, signed); absent when the server only serves pages (Socket Mode's install pages). */
  path?: string;
  /**
   * Browser pages answered to GET, by path (OAuth's install and redirect pages): unsigned by nature, so they get no
   * body and at most MAX_PAGES_IN_FLIGHT run at once.
   */
  pages?: Readonly<Record<string, RequestListener>>;
  /** Bolt's HTTPReceiver.requestListener: called with the body already read into `req.rawBody`, signed and new. */
  listener: RequestListener;
  logger: SlackLogger;
  /** Stricter limits (tests use short timeouts). */
  limits?: Partial<SlackHttpLimits>;
  /** How often Node looks for timed-out requests (default 1 s; Node's own default, 30 s, would triple a 10 s limit). */
  checkIntervalMs?: number;
  /** Clock in ms (default Date.now). */
  now?: () => number;
}

/** The endpoint: listen, close, and what it holds. */
export interface SlackHttpServer {
  /** Listens on `port` (0 picks one) and `host` (default all interfaces); resolves with the port. */
  listen(port: number, host?: string): Promise<number>;
  /** Stops accepting, lets requests in flight finish for up to 3 s, then cuts what is left. */
  close(): Promise<void>;
  /** A copy of the counters. */
  stats(): SlackHttpStats;
  /** The node:http server. */
  readonly server: Server;
}

const FORM = 'application/x-www-form-urlencoded';
const SIGNATURE = /^v0=[0-9a-f]{64}$/;
const TIMESTAMP = /^\d{1,12}$/;
const CLOSE_GRACE_MS = 3000;
/** Pages being answered at once (each OAuth callback makes two Web API calls); past it, 503. */
export const MAX_PAGES_IN_FLIGHT = 16;
/** Refusals of one kind are logged at most this often (an attacker must not be able to fill the log). */
const LOG_EVERY_MS = 60_000;

/**
 * Returns Slack's HTTP endpoint in front of Bolt's receiver. Bolt's own server buffers a body of up to 4 MB before
 * looking at the signature, takes Node's request timeout (5 minutes) and accepts timestamps from any future; this one
 * refuses by headers what it can (size, missing or malformed signature, a timestamp outside 5 minutes either way)
 * before reading a byte, reads at most 1 MB per request and 16 MB across unauthenticated requests (of which at most 8 MB
 * beyond the first 64 KB of each body, so large slow bodies cannot crowd out Slack's small ones), cuts requests that
 * take over 10 s, checks the signature, answers a replayed request (same signature, or a slash command's same team
 * and trigger id) with an empty 200 without running it again, and hands the rest to Bolt. The OAuth install pages,
 * when given, are answered to GET only, without a body, under the same timeouts and at most MAX_PAGES_IN_FLIGHT at once.
 */
export function createSlackHttpServer(options: SlackHttpServerOptions): SlackHttpServer {
  if (options.path && !options.signingSecret) throw new TypeError('the Slack endpoint needs the signing secret');
  const limits = resolveLimits(options.limits);
  const pages = new Map(Object.entries(options.pages ?? {}));
  let pagesInFlight = 0;
  const now = options.now ?? Date.now;
  const logger = options.logger;
  const replay = new ReplayCache(limits.replayCapacity);
  const refused: Record<SlackHttpRefusal, number> = { notFound: 0, tooLarge: 0, busy: 0, unsigned: 0, timestamp: 0, signature: 0, replay: 0, incomplete: 0 };
  const lastLogged = new Map<SlackHttpRefusal, { at: number; skipped: number }>();
  let pendingBodies = 0;
  let pendingBodyBytes = 0;
  let pendingLargeBytes = 0;
  let peakPendingBodyBytes = 0;

  const server = createServer(
    {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      connectionsCheckingInterval: options.checkIntervalMs ?? 1000,
      keepAliveTimeout: 5000,
    },
    (req, res) => {
      handle(req, res).catch((error: unknown) => {
        logger.error(`Slack: the HTTP endpoint failed on a request: ${(error as Error)?.stack ?? String(error)}`);
        if (!res.headersSent) answer(req, res, 500);
        else res.destroy();
      });
    },
  );

  /** Logs a refusal: the first of its kind, then at most once a minute with the number not logged in between. */
  function warn(kind: SlackHttpRefusal, message: string): void {
    const last = lastLogged.get(kind);
    const t = now();
    if (last && t - last.at < LOG_EVERY_MS) {
      last.skipped += 1;
      return;
    }
    const more = last?.skipped ? ` (and ${last.skipped} more like it in the last minute)` : '';
    lastLogged.set(kind, { at: t, skipped: 0 });
    logger.warn(`Slack: refused a request: ${message}${more}`);
  }

  /** Answers with an empty body; an error also closes the connection (what the client still sends is dropped). */
  function answer(req: IncomingMessage, res: ServerResponse, status: number, headers: OutgoingHttpHeaders = {}): void {
    res.writeHead(status, { 'content-length': 0, ...headers, ...(status >= 400 ? { connection: 'close' } : {}) });
    res.end();
    if (status >= 400) {
      // Node closes the socket once the answer is written; a client that stops reading is cut off anyway.
      setTimeout(() => req.socket.destroy(), 2000).unref();
    }
  }

  function refuse(req: IncomingMessage, res: ServerResponse, kind: SlackHttpRefusal, status: number, why?: string, headers?: OutgoingHttpHeaders): void {
    refused[kind] += 1;
    if (why) warn(kind, why);
    if (res.headersSent) req.socket.destroy();
    else answer(req, res, status, headers);
  }

  function servePage(req: IncomingMessage, res: ServerResponse, page: RequestListener): void {
    if (req.method !== 'GET') return refuse(req, res, 'notFound', 405, undefined, { allow: 'GET' });
    if (Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding']) return refuse(req, res, 'tooLarge', 413, 'a body on a GET of an install page');
    if (pagesInFlight >= MAX_PAGES_IN_FLIGHT) return refuse(req, res, 'busy', 503, `${pagesInFlight} install pages already being answered`, { 'retry-after': '1' });
    pagesInFlight += 1;
    res.once('close', () => (pagesInFlight -= 1));
    try {
      page(req, res);
    } catch (error) {
      logger.error(`Slack: an install page failed: ${(error as Error)?.message ?? String(error)}`);
      if (!res.headersSent) answer(req, res, 500);
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = pathOf(req.url);
    const page = path === undefined ? undefined : pages.get(path);
    if (page) return servePage(req, res, page);
    if (!options.path || path !== options.path) return refuse(req, res, 'notFound', 404);
    if (req.method !== 'POST') return refuse(req, res, 'notFound', 405, undefined, { allow: 'POST' });

    const timestamp = single(req.headers['x-slack-request-timestamp']);
    const signature = single(req.headers['x-slack-signature']);
    const unsigned = timestamp === undefined && signature === undefined;
    const cap = unsigned ? limits.maxUnsignedBodyBytes : limits.maxBodyBytes;
    const declared = Number(req.headers['content-length']);
    if (declared > cap) {
      return unsigned
        ? refuse(req, res, 'unsigned', 401, 'no signature headers')
        : refuse(req, res, 'tooLarge', 413, `a body of ${declared} bytes (the limit is ${limits.maxBodyBytes})`);
    }
    if (!unsigned) {
      if (!timestamp || !TIMESTAMP.test(timestamp) || !signature || !SIGNATURE.test(signature)) {
        return refuse(req, res, 'unsigned', 401, 'missing or malformed X-Slack-Request-Timestamp or X-Slack-Signature');
      }
      const skew = Number(timestamp) - now() / 1000;
      if (Math.abs(skew) > limits.timestampToleranceSeconds) {
        const when = skew > 0 ? `${Math.round(skew)} s in the future` : `${Math.round(-skew)} s ago`;
        return refuse(req, res, 'timestamp', 401, `timestamped ${when}; Slack's requests are signed within ${limits.timestampToleranceSeconds / 60} minutes (check the clock if this repeats)`);
      }
    }

    const body = await readBody(req, res, cap, unsigned);
    if (!body) return;
    if (unsigned) {
      // Only Slack's ssl_check comes unsigned; Bolt answers it and runs nothing else.
      const sslCheck = req.headers['content-type'] === FORM && parseQuery(body.toString('utf8')).ssl_check === '1';
      return sslCheck ? passOn(req, res, body) : refuse(req, res, 'unsigned', 401, 'no signature headers');
    }
    const expected = Buffer.from(`v0=${createHmac('sha256', options.signingSecret!).update(`v0:${timestamp}:`).update(body).digest('hex')}`);
    if (!timingSafeEqual(expected, Buffer.from(signature!))) return refuse(req, res, 'signature', 401, 'the signature does not match (another signing secret?)');

    const keys = [`sig:${signature}`];
    if (req.headers['content-type'] === FORM) {
      const form = parseQuery(body.toString('utf8'));
      // Slack never sends a slash command twice; the same trigger id again is someone replaying it.
      if (typeof form.command === 'string' && typeof form.trigger_id === 'string' && form.trigger_id) {
        keys.push(`cmd:${String(form.team_id)}:${form.trigger_id}`);
      }
    }
    // A signature stays acceptable until its timestamp is 5 minutes old; remembered a minute longer for clock steps.
    const expiresAt = (Number(timestamp) + limits.timestampToleranceSeconds + 60) * 1000;
    if (replay.seen(keys, expiresAt, now())) {
      // 200, not an error: a retry of something already answered needs no second answer, and no retry either.
      refused.replay += 1;
      warn('replay', 'a signed request that was already answered (same signature or slash command trigger id); acknowledged, not run again');
      return answer(req, res, 200);
    }
    passOn(req, res, body);
  }

  /** Reads the body into memory within both caps; resolves undefined when it refused or the client went away. */
  function readBody(req: IncomingMessage, res: ServerResponse, cap: number, unsigned: boolean): Promise<Buffer | undefined> {
    return new Promise((resolve) => {
      const chunks: Buffer[] = [];
      let size = 0;
      let done = false;
      const large = (n: number) => Math.max(0, n - limits.smallBodyBytes);
      pendingBodies += 1;
      const finish = (body?: Buffer) => {
        if (done) return;
        done = true;
        pendingBodies -= 1;
        pendingBodyBytes -= size;
        pendingLargeBytes -= large(size);
        // Let go of the bytes now: the request object lives on until its connection closes. Whatever the client
        // still sends after a refusal is read and dropped.
        chunks.length = 0;
        req.off('data', onData);
        req.resume();
        resolve(body);
      };
      const onData = (chunk: Buffer) => {
        if (size + chunk.length > cap) {
          finish();
          if (unsigned) refuse(req, res, 'unsigned', 401, 'no signature headers');
          else refuse(req, res, 'tooLarge', 413, `a body over ${limits.maxBodyBytes} bytes`);
          return;
        }
        const moreLarge = large(size + chunk.length) - large(size);
        if (pendingBodyBytes + chunk.length > limits.maxPendingBodyBytes || pendingLargeBytes + moreLarge > limits.maxPendingLargeBytes) {
          const held = pendingBodies - 1;
          finish();
          refuse(req, res, 'busy', 503, `${held} other unauthenticated bodies already hold ${pendingBodyBytes} bytes`, { 'retry-after': '1' });
          return;
        }
        // A copy of exactly its size: the chunk is a slice of a socket read (headers and all), which it would keep
        // alive whole; with the copy, what is counted is what is held.
        const copy = Buffer.allocUnsafeSlow(chunk.length);
        chunk.copy(copy);
        chunks.push(copy);
        size += chunk.length;
        pendingBodyBytes += chunk.length;
        pendingLargeBytes += moreLarge;
        if (pendingBodyBytes > peakPendingBodyBytes) peakPendingBodyBytes = pendingBodyBytes;
      };
      req.on('data', onData);
      req.on('end', () => finish(Buffer.concat(chunks, size)));
      // Aborted by the client, or cut by the request timeout (Node answers 408 itself): the bytes go with the request.
      const gone = () => {
        if (!done) refused.incomplete += 1;
        finish();
      };
      req.on('close', gone);
      req.on('error', gone);
    });
  }

  function passOn(req: IncomingMessage, res: ServerResponse, body: Buffer): void {
    // Bolt reads `rawBody` when it is already a Buffer (BufferedIncomingMessage) instead of the stream.
    (req as IncomingMessage & { rawBody?: Buffer }).rawBody = body;
    try {
      options.listener(req, res);
    } catch (error) {
      logger.error(`Slack: Bolt could not take a request: ${(error as Error)?.message ?? String(error)}`);
      if (!res.headersSent) answer(req, res, 500);
    }
  }

  return {
    server,
    listen(port, host) {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          resolve((server.address() as AddressInfo).port);
        });
      });
    },
    close() {
      if (!server.listening) return Promise.resolve();
      return new Promise((resolve) => {
        const timer = setTimeout(() => server.closeAllConnections(), CLOSE_GRACE_MS);
        timer.unref();
        server.close(() => {
          clearTimeout(timer);
          resolve();
        });
        server.closeIdleConnections();
      });
    },
    stats: () => ({ pendingBodies, pendingBodyBytes, pendingLargeBytes, peakPendingBodyBytes, refused: { ...refused }, replayKeys: replay.size }),
  };
}

function resolveLimits(given: Partial<SlackHttpLimits> = {}): SlackHttpLimits {
  const limits = { ...SLACK_HTTP_LIMITS };
  for (const [key, value] of Object.entries(given) as [keyof SlackHttpLimits, number | undefined][]) {
    if (value === undefined) continue;
    const loosest = SLACK_HTTP_LIMITS[key];
    if (!(value > 0) || (key !== 'replayCapacity' && value > loosest)) {
      throw new RangeError(`Slack HTTP limit ${key} must be above 0 and at most ${loosest} (got ${value})`);
    }
    limits[key] = value;
  }
  if (limits.headersTimeoutMs > limits.requestTimeoutMs) throw new RangeError('Slack HTTP limit headersTimeoutMs must not exceed requestTimeoutMs');
  return limits;
}

function pathOf(url: string | undefined): string | undefined {
  try {
    return new URL(url ?? '/', 'http://localhost').pathname;
  } catch {
    return undefined;
  }
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? undefined : value;
}

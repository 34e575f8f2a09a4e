import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../logger.js';
import { formatReadiness, type Readiness } from './readiness.js';

/** The paths served, for the 404 body and the docs. */
export const OPS_PATHS = ['/healthz', '/readyz', '/metrics'] as const;

/** Options for createOpsServer. */
export interface OpsServerOptions {
  readiness: Readiness;
  /** The exposition for /metrics. */
  metrics: { render(): Promise<{ contentType: string; body: string }> };
  /** Named in /readyz's first line, so a probe's output says which replica answered. */
  replica: string;
  logger?: Pick<Logger, 'warn' | 'error'>;
}

/** The health and metrics endpoint: listen, close, and the port listened on. */
export interface OpsServer {
  /** Listens on `port` (0 picks one) and `host` (default all interfaces); resolves with the port. */
  listen(port: number, host?: string): Promise<number>;
  /** Stops accepting and closes every connection (Prometheus keeps one open between scrapes). */
  close(): Promise<void>;
  /** The port listened on, once listening. */
  readonly port: number | undefined;
  readonly server: Server;
}

/** Probes and scrapes are small GETs: a client slower than this is cut off rather than held. */
const HEADERS_TIMEOUT_MS = 5000;
const REQUEST_TIMEOUT_MS = 10_000;

/**
 * Returns the server of /healthz (the process answers: 200), /readyz (200 when every part is ready, else 503; the
 * body says which part is not and why) and /metrics (Prometheus text). GET and HEAD only; nothing else is served.
 */
export function createOpsServer(options: OpsServerOptions): OpsServer {
  const server = createServer({ headersTimeout: HEADERS_TIMEOUT_MS, requestTimeout: REQUEST_TIMEOUT_MS, keepAliveTimeout: 5000 }, (req, res) => {
    // A body is never read: drain what a client sends so the connection can be reused.
    req.resume();
    handle(req, res).catch((err: unknown) => {
      options.logger?.error({ err: (err as Error)?.message ?? String(err), path: req.url }, 'health and metrics endpoint failed on a request');
      if (!res.headersSent) send(res, 500, 'internal error\n');
      else res.destroy();
    });
  });
  let port: number | undefined;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = pathOf(req.url);
    if (!OPS_PATHS.includes(path as (typeof OPS_PATHS)[number])) return send(res, 404, `not found; served: ${OPS_PATHS.join(', ')}\n`);
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'only GET and HEAD\n', { allow: 'GET, HEAD' });
    if (path === '/healthz') return send(res, 200, 'ok\n');
    if (path === '/readyz') {
      const report = await options.readiness.report();
      return send(res, report.ready ? 200 : 503, formatReadiness(report, options.replica));
    }
    let exposition: { contentType: string; body: string };
    try {
      exposition = await options.metrics.render();
    } catch (err) {
      options.logger?.warn({ err: (err as Error)?.message ?? String(err) }, 'metrics could not be rendered');
      return send(res, 500, 'metrics unavailable; see the log\n');
    }
    return send(res, 200, exposition.body, { 'content-type': exposition.contentType });
  }

  return {
    server,
    get port() {
      return port;
    },
    listen(wanted, host) {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(wanted, host, () => {
          server.off('error', reject);
          port = (server.address() as AddressInfo).port;
          resolve(port);
        });
      });
    },
    close() {
      if (!server.listening) return Promise.resolve();
      return new Promise((resolve) => {
        server.close(() => resolve());
        // Answers are small and quick: nothing in flight is worth waiting for at shutdown.
        server.closeAllConnections();
      });
    },
  };
}

function send(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  const bytes = Buffer.from(body, 'utf8');
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': bytes.length,
    // A cached verdict or scrape is a wrong one.
    'cache-control': 'no-store',
    ...headers,
  });
  // Node sends no body in answer to HEAD by itself; the length stays that of GET, as HTTP asks.
  res.end(bytes);
}

function pathOf(url: string | undefined): string {
  try {
    return new URL(url ?? '/', 'http://localhost').pathname;
  } catch {
    return '';
  }
}

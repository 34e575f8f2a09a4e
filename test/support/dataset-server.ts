import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import path from 'node:path';
import { gzipSync } from 'node:zlib';

/** One request the dataset server received, with what it answered. */
export interface DatasetRequest {
  path: string;
  headers: IncomingHttpHeaders;
  status: number;
}

/** A fault or replacement for one path, set by a test. */
export type DatasetFault =
  | { status: number }
  /** Sends the headers of the whole file, then this many bytes, then cuts the connection. */
  | { cutAfter: number }
  /** Serves this body instead of the file (with its own validators). */
  | { body: string | Buffer; etag?: string };

/** A static file server for data files: ETag and Last-Modified, 304s, gzip, a request log and injectable faults. */
export interface DatasetServer {
  readonly origin: string;
  url(file: string): string;
  /** Requests received, oldest first (for one file when named). */
  requests(file?: string): DatasetRequest[];
  clearRequests(): void;
  /** Replaces what a file answers until cleared with `fault(file, undefined)`. */
  fault(file: string, fault: DatasetFault | undefined): void;
  /** Serves (or replaces) a file from memory, as if it were in the folder. */
  put(file: string, body: string | Buffer): void;
  close(): Promise<void>;
}

interface Entry {
  raw: Buffer;
  gz?: Buffer;
  etag: string;
  lastModified: string;
}

/**
 * Starts a server on 127.0.0.1 (port 0) serving the files of `dir` (none when undefined) as a CDN would: strong ETags,
 * Last-Modified, 304 on a matching If-None-Match or If-Modified-Since, gzip when asked. Files are read and compressed
 * once, on first request, so that serving costs the client's measurements almost nothing.
 */
export async function startDatasetServer(dir?: string, options: { validators?: 'both' | 'etag' | 'last-modified' | 'none' } = {}): Promise<DatasetServer> {
  const sendEtag = options.validators !== 'last-modified' && options.validators !== 'none';
  const sendLastModified = options.validators !== 'etag' && options.validators !== 'none';
  const files = new Map<string, () => Buffer>();
  if (dir) for (const name of readdirSync(dir)) if (statSync(path.join(dir, name)).isFile()) files.set(name, () => readFileSync(path.join(dir, name)));
  const cache = new Map<string, Entry>();
  const faults = new Map<string, DatasetFault>();
  const log: DatasetRequest[] = [];
  const sockets = new Set<Socket>();
  const started = new Date(Date.UTC(2025, 7, 25, 12, 0, 0)).toUTCString();
  // A file put later is newer, so If-Modified-Since alone also sees the change.
  const modified = new Map<string, string>();
  let puts = 0;

  const entryFor = (name: string): Entry | undefined => {
    let e = cache.get(name);
    if (e) return e;
    const read = files.get(name);
    if (!read) return undefined;
    const raw = read();
    e = { raw, etag: `"${createHash('sha256').update(raw).digest('hex').slice(0, 20)}"`, lastModified: modified.get(name) ?? started };
    cache.set(name, e);
    return e;
  };

  const server: Server = createServer((req, res) => {
    const name = decodeURIComponent((req.url ?? '/').split('?')[0].replace(/^\//, ''));
    const entry: DatasetRequest = { path: `/${name}`, headers: req.headers, status: 0 };
    log.push(entry);
    res.on('finish', () => (entry.status = res.statusCode));
    res.on('close', () => (entry.status ||= res.statusCode));
    const fault = faults.get(name);
    if (fault && 'status' in fault) {
      res.writeHead(fault.status, { 'content-type': 'text/plain' }).end(`status ${fault.status}`);
      return;
    }
    const file = fault && 'body' in fault ? { raw: Buffer.from(fault.body), etag: fault.etag ?? '"replaced"', lastModified: started } : entryFor(name);
    if (!file) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    const validators: Record<string, string> = {
      ...(sendEtag ? { ETag: file.etag } : {}),
      ...(sendLastModified ? { 'Last-Modified': file.lastModified } : {}),
    };
    const inm = req.headers['if-none-match'];
    const ims = req.headers['if-modified-since'];
    // RFC 9110 §13.2.2: If-None-Match, when sent, decides; If-Modified-Since only without it.
    const notModified =
      inm !== undefined ? sendEtag && inm === file.etag : ims !== undefined && sendLastModified && Date.parse(ims) >= Date.parse(file.lastModified);
    if (notModified) {
      res.writeHead(304, validators).end();
      return;
    }
    const gzip = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
    let body = file.raw;
    const headers: Record<string, string | number> = { ...validators, 'Content-Type': 'application/json' };
    if (gzip) {
      if (!('gz' in file) || !file.gz) (file as Entry).gz = gzipSync(file.raw);
      body = (file as Entry).gz!;
      headers['Content-Encoding'] = 'gzip';
    }
    headers['Content-Length'] = body.length;
    res.writeHead(200, headers);
    if (fault && 'cutAfter' in fault) {
      res.write(body.subarray(0, fault.cutAfter), () => res.destroy());
      return;
    }
    res.end(body);
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    url: (file) => `${origin}/${file}`,
    requests: (file) => (file === undefined ? [...log] : log.filter((r) => r.path === `/${file}`)),
    clearRequests: () => void (log.length = 0),
    fault: (file, fault) => void (fault ? faults.set(file, fault) : faults.delete(file)),
    put: (file, body) => {
      files.set(file, () => Buffer.from(body));
      cache.delete(file);
      modified.set(file, new Date(Date.UTC(2025, 7, 25, 12, 0, 0) + ++puts * 60_000).toUTCString());
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

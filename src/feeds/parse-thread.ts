import { setImmediate as nextTurn } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import type { Logger } from '../logger.js';
import { FeedParseError, parseFeedDocument, type FeedParseFailure } from './parse.js';
import type { FeedItem, ParsedFeed } from './types.js';

/**
 * Documents up to this size are parsed on the main thread: a few milliseconds, and even the worst repairs a broken
 * document of this size can need stay well under the 100 ms an interaction may wait.
 */
export const INLINE_PARSE_MAX_BYTES = 32 * 1024;
/** A parse taking longer than this is stopped (the worker is ended) and the poll fails with a timeout. */
export const PARSE_TIMEOUT_MS = 60_000;
/** The worker ends after this long without work, giving its memory back (polls of many feeds keep it alive). */
const IDLE_MS = 120_000;
/** Heap the worker may use: a 10 MB document needs a few hundred MB at most; a crafted one must not take the bot's. */
const WORKER_HEAP_MB = 768;

/** A request to the parse worker. */
export type ParseRequest =
  | { type: 'parse'; id: number; body: Uint8Array; url: string; contentType?: string }
  | { type: 'more'; id: number };

/** A reply from the parse worker. */
export type ParseReply =
  | { type: 'ready' }
  | { type: 'head'; id: number; head: Omit<ParsedFeed, 'items'>; total: number }
  | { type: 'items'; id: number; items: FeedItem[]; done: boolean }
  | { type: 'error'; id: number; message: string; reason: FeedParseFailure };

/** Options for createFeedParser. */
export interface FeedParserOptions {
  logger?: Logger;
  /** Size up to which a body is parsed inline (default INLINE_PARSE_MAX_BYTES; 0 sends everything to the worker). */
  inlineMaxBytes?: number;
  timeoutMs?: number;
}

/** Parses feed documents off the main thread. */
export interface FeedParserThread {
  /** Resolves with the parsed document, or rejects with a FeedParseError (not a feed, timed out, out of memory). */
  parse(body: Buffer, options: { url: string; contentType?: string }): Promise<ParsedFeed>;
  /** Ends the worker (parses in flight fail). */
  close(): Promise<void>;
}

interface Job {
  id: number;
  body: Buffer;
  url: string;
  contentType?: string;
  resolve: (feed: ParsedFeed) => void;
  reject: (err: unknown) => void;
}

/** Returns the worker's entry: the TypeScript source through tsx when running from source, else the compiled file. */
function workerEntry(): URL {
  const self = import.meta.url;
  if (!self.endsWith('.ts')) return new URL('./parse-worker.js', self);
  // Hooks registered on the main thread (tsx) do not reach worker threads: the worker registers them itself.
  const target = new URL('./parse-worker.ts', self).href;
  const tsx = import.meta.resolve('tsx/esm/api');
  const boot = `import { register } from ${JSON.stringify(tsx)}; register(); await import(${JSON.stringify(target)});`;
  return new URL(`data:text/javascript,${encodeURIComponent(boot)}`);
}

/**
 * Returns a parser that reads big documents in a worker thread, one at a time, and hands their items to the main
 * thread in chunks between other work: a 10 MB feed costs the main thread a few milliseconds at a time, never the
 * second or two its parse takes. Small documents are parsed inline. When the worker cannot start, documents are
 * parsed inline (logged once).
 */
export function createFeedParser(options: FeedParserOptions = {}): FeedParserThread {
  const inlineMax = options.inlineMaxBytes ?? INLINE_PARSE_MAX_BYTES;
  const timeoutMs = options.timeoutMs ?? PARSE_TIMEOUT_MS;
  const queue: Job[] = [];
  let worker: Worker | undefined;
  let ready: Promise<boolean> | undefined;
  let broken = false;
  let current: { job: Job; head?: Omit<ParsedFeed, 'items'>; items: FeedItem[]; timer: NodeJS.Timeout } | undefined;
  let idle: NodeJS.Timeout | undefined;
  let nextId = 1;
  let closed = false;

  const inline = (job: Job) => {
    try {
      job.resolve(parseFeedDocument(job.body, { url: job.url, contentType: job.contentType }));
    } catch (err) {
      job.reject(err);
    }
  };

  function start(): Promise<boolean> {
    const w = new Worker(workerEntry(), { resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB } });
    worker = w;
    w.unref();
    return new Promise<boolean>((resolve) => {
      let up = false;
      w.on('message', (msg: ParseReply) => {
        if (msg.type === 'ready') {
          up = true;
          resolve(true);
        } else if (worker === w) onReply(msg);
      });
      w.on('error', (err) => {
        if (!up) {
          broken = true;
          options.logger?.warn({ err: err.message }, 'feed parse worker could not start: parsing on the main thread');
          resolve(false);
        }
        if (detach(w)) fail(new FeedParseError(`${label(current?.job)}: the parser failed (${err.message})`, 'malformed', { cause: err }));
      });
      w.on('exit', () => {
        if (!up) resolve(false);
        // An exit nobody asked for: the heap limit (a document built to need more memory than any feed does).
        if (detach(w)) fail(new FeedParseError(`${label(current?.job)}: the parser stopped (the document needs more than the ${WORKER_HEAP_MB} MB a parse may use)`, 'malformed'));
      });
    });
  }

  /** Forgets the worker `w` if it is the current one (ending it); returns whether it was. */
  function detach(w: Worker): boolean {
    if (worker !== w) return false;
    worker = undefined;
    ready = undefined;
    void w.terminate();
    return true;
  }

  function label(job: Job | undefined): string {
    return job ? `feed ${job.url}` : 'feed';
  }

  function fail(err: Error): void {
    if (!current) return;
    const { job, timer } = current;
    clearTimeout(timer);
    current = undefined;
    job.reject(err);
    void pump();
  }

  function onReply(msg: ParseReply): void {
    if (!current || !('id' in msg) || msg.id !== current.job.id) return;
    if (msg.type === 'error') {
      fail(new FeedParseError(msg.message, msg.reason));
      return;
    }
    if (msg.type === 'head') {
      current.head = msg.head;
      if (msg.total === 0) return finish();
    } else if (msg.type === 'items') {
      for (const item of msg.items) current.items.push(item);
      if (msg.done) return finish();
    }
    // Ask for the next chunk only after the event loop has had a turn: each chunk is one short task.
    const id = current.job.id;
    void nextTurn().then(() => {
      if (current?.job.id === id) worker?.postMessage({ type: 'more', id } satisfies ParseRequest);
    });
  }

  function finish(): void {
    if (!current) return;
    const { job, head, items, timer } = current;
    clearTimeout(timer);
    current = undefined;
    job.resolve({ ...(head as Omit<ParsedFeed, 'items'>), items });
    void pump();
  }

  async function pump(): Promise<void> {
    if (current || closed) return;
    const job = queue.shift();
    if (!job) {
      worker?.unref();
      clearTimeout(idle);
      idle = setTimeout(() => {
        if (worker && !current) detach(worker);
      }, IDLE_MS);
      idle.unref();
      return;
    }
    clearTimeout(idle);
    if (broken) {
      inline(job);
      return pump();
    }
    const timer = setTimeout(() => {
      if (worker) detach(worker);
      fail(new FeedParseError(`${label(job)}: parsing took longer than ${Math.round(timeoutMs / 1000)} s; the document was dropped`, 'malformed'));
    }, timeoutMs);
    current = { job, items: [], timer };
    ready ??= start();
    const up = await ready;
    if (current?.job !== job) return; // timed out while starting
    if (!up || !worker) {
      clearTimeout(timer);
      current = undefined;
      inline(job);
      return pump();
    }
    worker.ref();
    // A copy the worker can own: the fetched Buffer may be a view into a shared pool.
    const body = new Uint8Array(job.body.byteLength);
    body.set(job.body);
    worker.postMessage({ type: 'parse', id: job.id, body, url: job.url, contentType: job.contentType } satisfies ParseRequest, [body.buffer]);
  }

  return {
    parse(body, o) {
      return new Promise<ParsedFeed>((resolve, reject) => {
        const job: Job = { id: nextId++, body, url: o.url, contentType: o.contentType, resolve, reject };
        if (body.byteLength <= inlineMax || closed) return inline(job);
        queue.push(job);
        void pump();
      });
    },
    async close() {
      closed = true;
      clearTimeout(idle);
      for (const job of queue.splice(0)) job.reject(new FeedParseError(`${label(job)}: the parser was closed`, 'malformed'));
      const w = worker;
      worker = undefined;
      ready = undefined;
      fail(new FeedParseError(`${label(current?.job)}: the parser was closed`, 'malformed'));
      await w?.terminate();
    },
  };
}

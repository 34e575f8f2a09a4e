/**
 * The feed parser's worker thread: parses one document at a time and hands its items back in chunks, one per request,
 * so the main thread takes them in small bites between other work.
 */
import { parentPort } from 'node:worker_threads';
import { FeedParseError, parseFeedDocument } from './parse.js';
import type { FeedItem } from './types.js';
import type { ParseReply, ParseRequest } from './parse-thread.js';

/** Items per reply: about 150 KB of text, a millisecond or two to deserialize. */
const CHUNK = 500;

const port = parentPort;
if (!port) throw new Error('parse-worker.ts runs as a worker thread (see parse-thread.ts)');
let pending: { id: number; items: FeedItem[]; at: number } | undefined;

port.on('message', (msg: ParseRequest) => {
  if (msg.type === 'parse') {
    pending = undefined;
    let reply: ParseReply;
    try {
      const body = Buffer.from(msg.body.buffer, msg.body.byteOffset, msg.body.byteLength);
      const { items, ...head } = parseFeedDocument(body, { url: msg.url, contentType: msg.contentType });
      pending = { id: msg.id, items, at: 0 };
      reply = { type: 'head', id: msg.id, head, total: items.length };
    } catch (err) {
      const e = err as Error;
      reply = { type: 'error', id: msg.id, message: e?.message ?? String(err), reason: err instanceof FeedParseError ? err.reason : 'malformed' };
    }
    port.postMessage(reply);
  } else if (msg.type === 'more' && pending?.id === msg.id) {
    const items = pending.items.slice(pending.at, pending.at + CHUNK);
    pending.at += items.length;
    const done = pending.at >= pending.items.length;
    if (done) pending = undefined;
    port.postMessage({ type: 'items', id: msg.id, items, done } satisfies ParseReply);
  }
});
port.postMessage({ type: 'ready' } satisfies ParseReply);

import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { Worker } from 'node:worker_threads';
import { SnapshotError } from './index-snapshot.js';
import { checkHeader, CHECKSUM_MISMATCH, HEADER_BYTES, servedSnapshotHeader } from './served-snapshot.js';

/** A served snapshot file read whole: its key, its body, and the check of the body against the header's checksum. */
export interface ReadSnapshot {
  key: string;
  body: Buffer;
  /** Resolves when the body matches its checksum; rejects with SnapshotError (saying to rebuild) when it does not. */
  verified: Promise<void>;
}

/** Bytes read from the file at a time: each piece is hashed while the next one is read. */
const READ_BYTES = 16 << 20;
/**
 * Bodies up to this size are hashed on the main thread, a piece at a time as they are read (~15 ms per piece here):
 * starting a worker costs more than that (a real corpus of ~6,000 records makes a body of a few MB).
 */
const WORKER_HASH_BYTES = 32 << 20;

/**
 * Hashes pieces of a shared buffer as they are posted, then posts the SHA-256 (hex). Plain CommonJS run with
 * `eval`, so the worker starts in milliseconds without the TypeScript loader the bot runs under.
 */
const HASH_WORKER = `
const { createHash } = require('node:crypto');
const { parentPort } = require('node:worker_threads');
const hash = createHash('sha256');
parentPort.on('message', (m) => {
  if (m.end === undefined) {
    parentPort.postMessage(hash.digest('hex'));
    parentPort.close();
  } else {
    hash.update(new Uint8Array(m.buffer, m.start, m.end - m.start));
  }
});`;

/** Hashes pieces of a body as they are read: in a worker thread, or on this thread if no worker can be started. */
interface PieceHasher {
  update(buffer: SharedArrayBuffer, start: number, end: number): void;
  digest(): Promise<string>;
}

function workerHasher(): PieceHasher {
  let worker: Worker;
  try {
    worker = new Worker(HASH_WORKER, { eval: true, execArgv: [] });
  } catch {
    return mainThreadHasher();
  }
  worker.unref();
  const digest = new Promise<string>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
    worker.once('exit', () => reject(new Error('the checksum worker stopped')));
  });
  return {
    update: (buffer, start, end) => worker.postMessage({ buffer, start, end }),
    digest: () => {
      worker.postMessage({});
      return digest;
    },
  };
}

function mainThreadHasher(): PieceHasher {
  const hash = createHash('sha256');
  return {
    update: (buffer, start, end) => hash.update(new Uint8Array(buffer, start, end - start)),
    digest: async () => hash.digest('hex'),
  };
}

/**
 * Reads a served snapshot file without holding the event loop: the body is read in pieces off the main thread into
 * shared memory, and a worker thread checks it against the header's checksum meanwhile (at 100k records hashing
 * takes ~120 ms, which start-up then does not wait for). Use the body only once `verified` resolves. Rejects with the
 * file system's error (ENOENT when there is none) or SnapshotError when the header is not one this version reads.
 * The file is read through one descriptor, so a snapshot renamed over it meanwhile cannot mix into what is read.
 * `workerAboveBytes` sets the body size above which the worker hashes (tests check both ways).
 */
export async function readServedSnapshotFile(file: string, options: { workerAboveBytes?: number } = {}): Promise<ReadSnapshot> {
  const handle = await open(file, 'r');
  try {
    const { size } = await handle.stat();
    const start = Buffer.alloc(Math.min(HEADER_BYTES, size));
    await handle.read(start, 0, start.length, 0);
    const header = checkHeader(servedSnapshotHeader(start));
    const shared = new SharedArrayBuffer(size - header.length);
    const body = Buffer.from(shared);
    const hasher = body.length > (options.workerAboveBytes ?? WORKER_HASH_BYTES) ? workerHasher() : mainThreadHasher();
    for (let at = 0; at < body.length; ) {
      const { bytesRead } = await handle.read(body, at, Math.min(READ_BYTES, body.length - at), header.length + at);
      if (bytesRead === 0) break; // shorter than it was a moment ago: the checksum says so
      hasher.update(shared, at, at + bytesRead);
      at += bytesRead;
    }
    const verified = hasher.digest().then(
      (digest) => {
        if (digest !== header.sha256) throw new SnapshotError(CHECKSUM_MISMATCH);
      },
      // The worker failed (out of memory, say): the check is done here instead.
      () => {
        if (createHash('sha256').update(body).digest('hex') !== header.sha256) throw new SnapshotError(CHECKSUM_MISMATCH);
      },
    );
    // Settled by whoever awaits it; never an unhandled rejection meanwhile.
    verified.catch(() => undefined);
    return { key: header.key, body, verified };
  } finally {
    await handle.close();
  }
}

import { Worker } from 'node:worker_threads';
import { writeIndexSnapshot } from '../bootstrap.js';
import { servedChanges, type ServedChanges } from '../served-changes.js';
import { recordReposOf } from '../store/repos/index.js';
import type { Store } from '../store/store.js';
import { runImportJob, type ImportJob, type ImportOutcome, type ImportProgress } from './import-job.js';

/** The database the sync worker opens a connection of its own to: a SQLite file, or a PostgreSQL (URL and schema). */
export type ImportTarget = { kind: 'sqlite'; path: string } | { kind: 'postgres'; url: string; schema?: string };

/** A request to the sync worker. */
export type WorkerRequest =
  | { id: number; type: 'import'; target: ImportTarget; job: ImportJob }
  | { id: number; type: 'snapshot'; target: ImportTarget }
  | { id: number; type: 'served'; target: ImportTarget; ids: string[]; previous: Array<[string, string]> }
  | { id: number; type: 'close'; target: ImportTarget };

/** A message from the sync worker about one request. */
export type WorkerReply =
  | { id: number; type: 'progress'; done: number; total: number }
  | { id: number; type: 'done'; outcome?: ImportOutcome; changes?: ServedChanges }
  | { id: number; type: 'error'; name: string; message: string };

/** Imports downloaded versions into the store and refreshes the index snapshot, off the caller's event loop when it can. */
export interface SourceImporter {
  /** Parses and stores one version (one transaction); rejects with the importer's error, the store unchanged. */
  import(job: ImportJob, onProgress?: ImportProgress): Promise<ImportOutcome>;
  /** Rewrites the index snapshot beside the database for the records stored now. */
  writeSnapshot(): Promise<void>;
  /** Returns how what the bot serves changed for these ids, merged as at start-up (see `servedChanges`). */
  served(ids: readonly string[], previous: Iterable<[string, string]>): Promise<ServedChanges>;
  /** Ends the worker, if one was started (waits for the request in hand). */
  close(): Promise<void>;
}

/** An error that happened in the worker, rebuilt with its name (ImportError, SqliteError...) for the caller. */
export class WorkerTaskError extends Error {
  constructor(
    readonly originalName: string,
    message: string,
  ) {
    super(message);
    this.name = originalName;
  }
}

/**
 * Returns the importer for a store: a worker thread with its own connection for a database file or a PostgreSQL (WAL
 * lets the bot go on reading, and only the delta's ids come back), or inline work for an in-memory database, which no
 * other connection can open. The index snapshot lives beside a SQLite file: with PostgreSQL there is none to write.
 */
export function createImporter(store: Store | ImportTarget): SourceImporter {
  if ('kind' in store) return new WorkerImporter(store);
  return store.path === ':memory:' ? inlineImporter(store) : new WorkerImporter({ kind: 'sqlite', path: store.path });
}

/**
 * Returns an importer that works on the caller's thread, through the store's own connection: for in-memory databases,
 * and for tests of what the import does rather than where it runs.
 */
export function inlineImporter(store: Store): SourceImporter {
  return {
    import: (job, onProgress) => runImportJob(recordReposOf(store).sources, job, onProgress),
    writeSnapshot: () => writeIndexSnapshot(store),
    served: async (ids, previous) => servedChanges(store, ids, previous),
    close: async () => {},
  };
}

interface Pending {
  resolve: (outcome: ImportOutcome | ServedChanges | undefined) => void;
  reject: (error: Error) => void;
  onProgress?: ImportProgress;
}

/** The worker's entry: the TypeScript source under tsx (workers do not inherit tsx's hooks, so it is registered first). */
function spawnWorker(): Worker {
  const underTsx = import.meta.url.endsWith('.ts');
  const entry = new URL(`./sync-worker.${underTsx ? 'ts' : 'js'}`, import.meta.url);
  if (!underTsx) return new Worker(entry);
  const tsx = import.meta.resolve('tsx/esm/api');
  const boot = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(entry.href)}); });`;
  return new Worker(boot, { eval: true });
}

class WorkerImporter implements SourceImporter {
  private worker: Worker | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;

  constructor(private readonly target: ImportTarget) {}

  import(job: ImportJob, onProgress?: ImportProgress): Promise<ImportOutcome> {
    const transfer: ArrayBuffer[] = [];
    const own = (bytes: Uint8Array | undefined): Uint8Array | undefined => {
      if (!bytes) return undefined;
      // Moved, not copied, when the bytes own their buffer (a 25 MB body); a slice of a shared pool is copied first.
      const whole = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer ? bytes : new Uint8Array(bytes);
      transfer.push(whole.buffer as ArrayBuffer);
      return whole;
    };
    const sent: ImportJob = { ...job, body: own(job.body)!, ...(job.referencesBody ? { referencesBody: own(job.referencesBody) } : {}) };
    return this.request({ type: 'import', target: this.target, job: sent }, transfer, onProgress) as Promise<ImportOutcome>;
  }

  async writeSnapshot(): Promise<void> {
    if (this.target.kind !== 'sqlite') return;
    await this.request({ type: 'snapshot', target: this.target }, []);
  }

  async served(ids: readonly string[], previous: Iterable<[string, string]>): Promise<ServedChanges> {
    return (await this.request({ type: 'served', target: this.target, ids: [...ids], previous: [...previous] }, [])) as ServedChanges;
  }

  async close(): Promise<void> {
    const worker = this.worker;
    if (!worker) return;
    try {
      await this.request({ type: 'close', target: this.target }, []);
    } catch {
      // Closing a worker that already failed: nothing to wait for.
    }
    this.worker = undefined;
    await worker.terminate();
  }

  private request(body: WorkerRequest extends infer R ? (R extends WorkerRequest ? Omit<R, 'id'> : never) : never, transfer: ArrayBuffer[], onProgress?: ImportProgress): Promise<ImportOutcome | ServedChanges | undefined> {
    const worker = this.ensureWorker();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, onProgress });
      // A pending request keeps the process alive until its answer arrives.
      worker.ref();
      worker.postMessage({ ...body, id } as WorkerRequest, transfer);
    });
  }

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    const worker = spawnWorker();
    // The worker must not keep a finished CLI alive, nor a stopping bot: it only matters while a request is pending.
    worker.unref();
    worker.on('message', (m: WorkerReply) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      if (m.type === 'progress') p.onProgress?.(m.done, m.total);
      else {
        this.pending.delete(m.id);
        if (this.pending.size === 0) worker.unref();
        if (m.type === 'done') p.resolve(m.outcome ?? m.changes);
        else p.reject(new WorkerTaskError(m.name, m.message));
      }
    });
    const failAll = (error: Error) => {
      if (this.worker === worker) this.worker = undefined;
      for (const p of this.pending.values()) p.reject(error);
      this.pending.clear();
    };
    worker.on('error', (error) => failAll(new Error(`the sync worker failed: ${error.message}`)));
    worker.on('exit', (code) => failAll(new Error(`the sync worker stopped (exit code ${code})`)));
    this.worker = worker;
    return worker;
  }
}

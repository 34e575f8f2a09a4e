/**
 * The sync worker's thread: parses downloaded sources and writes them to the database through its own connection,
 * so that neither a 25 MB JSON parse nor a thousand-row transaction holds the bot's event loop. Messages come from
 * SyncWorkerClient (import-runner.ts).
 */
import { parentPort } from 'node:worker_threads';
import { writeIndexSnapshot } from '../bootstrap.js';
import { createPgDb } from '../store/pg-db.js';
import { recordReposOf } from '../store/repos/index.js';
import { createSourceRepo, type SourceRepo } from '../store/repos/sources.js';
import { openStore, storeDb, type Store } from '../store/store.js';
import { servedChanges } from '../served-changes.js';
import { runImportJob } from './import-job.js';
import type { ImportTarget, WorkerReply, WorkerRequest } from './import-runner.js';

const port = parentPort;
if (!port) throw new Error('sync-worker.ts runs as a worker thread only');

/** The worker's connection per database, opened on first use and migrated by the bot that started the worker. */
interface Connection {
  sources: SourceRepo;
  store?: Store;
  close(): Promise<void>;
}

const connections = new Map<string, Connection>();
async function connect(target: ImportTarget): Promise<Connection> {
  const key = JSON.stringify(target);
  let connection = connections.get(key);
  if (!connection) {
    if (target.kind === 'sqlite') {
      const store = openStore(target.path);
      connection = { sources: recordReposOf(store).sources, store, close: () => storeDb(store).close() };
    } else {
      // One connection is all a worker handling one request at a time needs.
      const db = await createPgDb({ url: target.url, max: 1, applicationName: 'incident-bot sync worker', ...(target.schema ? { schema: target.schema } : {}) });
      connection = { sources: createSourceRepo(db), close: () => db.close() };
    }
    connections.set(key, connection);
  }
  return connection;
}

const reply = (message: WorkerReply) => port.postMessage(message);

// Requests are handled one at a time, in order.
let chain = Promise.resolve();
port.on('message', (request: WorkerRequest) => {
  chain = chain.then(async () => {
    try {
      if (request.type === 'import') {
        const { sources } = await connect(request.target);
        const outcome = await runImportJob(sources, request.job, (done, total) => reply({ id: request.id, type: 'progress', done, total }));
        reply({ id: request.id, type: 'done', outcome });
      } else if (request.type === 'served') {
        const { store } = await connect(request.target);
        // The merge reads every served record; only the SQLite store can be read that way from here.
        if (!store) throw new Error('working out served records needs a SQLite store in the sync worker');
        reply({ id: request.id, type: 'done', changes: servedChanges(store, request.ids, request.previous) });
      } else if (request.type === 'snapshot') {
        const { store } = await connect(request.target);
        if (store) await writeIndexSnapshot(store);
        reply({ id: request.id, type: 'done' });
      } else {
        for (const c of connections.values()) await c.close();
        connections.clear();
        reply({ id: request.id, type: 'done' });
      }
    } catch (error) {
      const e = error as Error;
      reply({ id: request.id, type: 'error', name: e?.name ?? 'Error', message: e?.message ?? String(error) });
    }
  });
});

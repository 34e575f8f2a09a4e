/**
 * The sync worker's thread: parses downloaded sources and writes them to the database through its own connection,
 * so that neither a 25 MB JSON parse nor a thousand-row transaction holds the bot's event loop. Messages come from
 * SyncWorkerClient (import-runner.ts).
 */
import { parentPort } from 'node:worker_threads';
import { writeIndexSnapshot } from '../bootstrap.js';
import { SourceStore } from '../store/source-store.js';
import { openStore, type Store } from '../store/store.js';
import { servedChanges } from '../served-changes.js';
import { runImportJob } from './import-job.js';
import type { WorkerReply, WorkerRequest } from './import-runner.js';

const port = parentPort;
if (!port) throw new Error('sync-worker.ts runs as a worker thread only');

const stores = new Map<string, Store>();
function storeAt(path: string): Store {
  let store = stores.get(path);
  if (!store) {
    store = openStore(path);
    stores.set(path, store);
  }
  return store;
}

const reply = (message: WorkerReply) => port.postMessage(message);

// Requests are handled one at a time, in order: each is synchronous apart from the snapshot's file write.
let chain = Promise.resolve();
port.on('message', (request: WorkerRequest) => {
  chain = chain.then(async () => {
    try {
      const store = storeAt(request.dbPath);
      if (request.type === 'import') {
        const outcome = runImportJob(new SourceStore(store.db), request.job, (done, total) => reply({ id: request.id, type: 'progress', done, total }));
        reply({ id: request.id, type: 'done', outcome });
      } else if (request.type === 'served') {
        reply({ id: request.id, type: 'done', changes: servedChanges(store, request.ids, request.previous) });
      } else if (request.type === 'snapshot') {
        await writeIndexSnapshot(store);
        reply({ id: request.id, type: 'done' });
      } else {
        for (const s of stores.values()) s.close();
        stores.clear();
        reply({ id: request.id, type: 'done' });
      }
    } catch (error) {
      const e = error as Error;
      reply({ id: request.id, type: 'error', name: e?.name ?? 'Error', message: e?.message ?? String(error) });
    }
  });
});

import { createServedService } from '../../src/core/create-service.js';
import type { Incident } from '../../src/core/incident.js';
import { buildServed } from '../../src/core/served.js';
import { startReplication } from '../../src/replication.js';
import type { Db } from '../../src/store/db.js';
import { storageOverDb } from '../../src/store/storage.js';

/**
 * Returns a replica as the app makes one over a shared PostgreSQL schema: its own storage (tenants snapshot
 * included), a served index over `records`, and change notices that keep the index and its story posts current.
 */
export async function postsReplica(db: Db, databaseUrl: string, replicaId: string, records: readonly Incident[]) {
  const storage = await storageOverDb(db, replicaId);
  const served = buildServed({ bundled: records });
  const core = createServedService(served);
  const read = async (ids: readonly string[]) => {
    const stored = await storage.records.incidentsById(ids);
    return new Map(ids.map((i) => [i, stored.get(i) ?? records.find((r) => r.id === i)]));
  };
  const replication = await startReplication({ db, databaseUrl, replicaId, service: core, canonical: served.canonical, read, posts: storage.relations, tenants: storage.tenants });
  return { storage, core, replication };
}

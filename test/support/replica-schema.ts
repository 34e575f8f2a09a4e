import type { Db } from '../../src/store/db.js';
import { MIGRATIONS } from '../../src/store/migrations.js';
import { applyPgMigrations } from '../../src/store/pg-migrations.js';

/** Creates the replica tables (leases) in a fresh database of either engine: the PostgreSQL migrations, or SQLite's step 8. */
export async function createReplicaTables(db: Db): Promise<void> {
  if (db.kind === 'postgres') {
    await applyPgMigrations(db);
    return;
  }
  await db.run(MIGRATIONS.find((m) => m.version === 8)!.sql);
}

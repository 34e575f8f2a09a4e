import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { Incident } from '../core/incident.js';
import type { IncidentService } from '../core/incident-service.js';
import type { SourceImporter } from './import-runner.js';

/**
 * Returns the record served now for each id, or undefined for an id not served as itself any more (removed, or merged
 * into another); the map may hold more ids than asked (the records they were or are merged into).
 */
export type ServedResolver = (ids: readonly string[]) => Map<string, Incident | undefined> | Promise<Map<string, Incident | undefined>>;

/** Longest stretch of index work between two yields to the event loop (the bot's budget is ~200 ms per task). */
export const INDEX_SLICE_MS = 25;

/**
 * Brings the live index up to date with changed and removed ids, in slices: each id is resolved to what the bot
 * serves now (another source or a file import may still hold a removed id) and upserted or removed, yielding to the
 * event loop every INDEX_SLICE_MS so that answers keep flowing during a large sync. Returns the counts applied.
 */
export async function applyToIndex(service: IncidentService, resolve: ServedResolver, ids: readonly string[], sliceMs = INDEX_SLICE_MS): Promise<{ upserted: number; removed: number }> {
  let upserted = 0;
  let removed = 0;
  let sliceStart = performance.now();
  // Resolved at once: the resolver merges over every record (in the sync worker), which is not worth doing per chunk.
  const served = new Map<string, Incident | undefined>(ids.map((id) => [id, undefined]));
  for (const [id, record] of await resolve([...served.keys()])) served.set(id, record);
  for (const [id, record] of served) {
    if (record) {
      service.upsert([record]);
      upserted++;
    } else {
      service.remove([id]);
      removed++;
    }
    if (performance.now() - sliceStart >= sliceMs) {
      await yieldToLoop();
      sliceStart = performance.now();
    }
  }
  return { upserted, removed };
}

/**
 * Returns the resolver a running bot uses: what the store serves now for the ids, merged exactly as at start-up
 * (worked out by the importer, off the event loop: see `servedChanges`); `canonical`, the live service's merged ids,
 * is brought up to date on the way, so a newly merged id finds its record.
 */
export function mergedResolver(importer: SourceImporter, canonical: Map<string, string>): ServedResolver {
  return async (ids) => {
    const changes = await importer.served(ids, canonical);
    canonical.clear();
    for (const [from, to] of changes.canonical) canonical.set(from, to);
    return new Map(changes.records.map(([id, record]) => [id, record ?? undefined]));
  };
}

import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { Incident } from '../core/incident.js';
import type { IncidentService } from '../core/incident-service.js';

/** Returns the record served now for each id, or undefined for an id nothing holds any more (read from the store). */
export type ServedResolver = (ids: readonly string[]) => Map<string, Incident | undefined> | Promise<Map<string, Incident | undefined>>;

/** Longest stretch of index work between two yields to the event loop (the bot's budget is ~200 ms per task). */
export const INDEX_SLICE_MS = 25;
/** Ids resolved per store read: small enough that one read and its JSON parsing stay well inside a slice. */
const RESOLVE_CHUNK = 100;

/**
 * Brings the live index up to date with changed and removed ids, in slices: each id is resolved to what the bot
 * serves now (another source or a file import may still hold a removed id) and upserted or removed, yielding to the
 * event loop every INDEX_SLICE_MS so that answers keep flowing during a large sync. Returns the counts applied.
 */
export async function applyToIndex(service: IncidentService, resolve: ServedResolver, ids: readonly string[], sliceMs = INDEX_SLICE_MS): Promise<{ upserted: number; removed: number }> {
  let upserted = 0;
  let removed = 0;
  let sliceStart = performance.now();
  const unique = [...new Set(ids)];
  for (let at = 0; at < unique.length; at += RESOLVE_CHUNK) {
    const chunk = unique.slice(at, at + RESOLVE_CHUNK);
    const served = await resolve(chunk);
    for (const id of chunk) {
      const record = served.get(id);
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
  }
  return { upserted, removed };
}

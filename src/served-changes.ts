import { storedRecords } from './bootstrap.js';
import type { Incident } from './core/incident.js';
import { BUNDLED_DATA_DIR, loadIncidentDir } from './core/load-data.js';
import { mergeSameThings, unionSameIds } from './core/merge.js';
import type { Store } from './store/store.js';

/** What the live index must change after records changed in the store: plain data, so it crosses a worker's port. */
export interface ServedChanges {
  /** Served record per affected id; null for an id no longer served as itself (removed, or merged into another). */
  records: Array<[string, Incident | null]>;
  /** Every merged id -> the id it is served as, now (replaces the previous map). */
  canonical: Array<[string, string]>;
}

/**
 * Returns how what the bot serves changed for `ids` (records a sync wrote or removed), decided by the same merge as
 * start-up (bundled + store, `unionSameIds` then `mergeSameThings`), so a record synced while the bot runs is served
 * exactly as after a restart: a MISP actor that is an ATT&CK group joins that group's record instead of standing
 * beside it. Affected are the ids themselves, the records they were or are now merged into, and the records merged
 * into those. `previous` is the live index's merged ids. Reads and merges every record: run it off the event loop
 * (the sync worker) on a file database.
 */
export function servedChanges(store: Store, ids: readonly string[], previous: Iterable<[string, string]>): ServedChanges {
  const merged = mergeSameThings(unionSameIds([...loadIncidentDir(BUNDLED_DATA_DIR), ...storedRecords(store)]));
  const before = new Map(previous);
  const affected = new Set(ids);
  for (const id of ids) {
    const was = before.get(id);
    const now = merged.canonical.get(id);
    if (was) affected.add(was);
    if (now) affected.add(now);
  }
  // A record that stays or leaves a group changes the group's record, and the group's other members may part with it.
  for (const map of [before, merged.canonical]) for (const [from, to] of map) if (affected.has(to)) affected.add(from);
  const byId = new Map(merged.records.map((r) => [r.id, r]));
  const records: Array<[string, Incident | null]> = [...affected].map((id) => [id, merged.canonical.get(id) ? null : (byId.get(id) ?? null)]);
  return { records, canonical: [...merged.canonical] };
}

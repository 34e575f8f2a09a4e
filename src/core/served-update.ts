import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { Incident } from './incident.js';
import type { IncidentService } from './incident-service.js';
import { applyMerges } from './merge.js';

/**
 * Keeps a served index current from change notices (another replica synced a source or stored feed stories): the
 * records with those ids are read again and replaced in place in the index and the graph, not rebuilt. A record folded
 * into another at start-up (a MISP actor served as its ATT&CK group) is not served under its own id: its change
 * recomputes the merged record of its whole same-as group, the way start-up merges it.
 */

/**
 * Returns what the layers hold now for each id (bundled data, the store, synced sources, unioned as `unionSameIds`
 * does, not merged), or undefined for an id no layer holds any more.
 */
export type RecordReader = (ids: readonly string[]) => Promise<ReadonlyMap<string, Incident | undefined>> | ReadonlyMap<string, Incident | undefined>;

/** What the updater changes: the live index and graph (see `IncidentService.upsert`). */
export type UpdatableService = Pick<IncidentService, 'upsert' | 'remove'>;

/** How a served updater reads and where it writes. */
export interface ServedUpdaterOptions {
  service: UpdatableService;
  /** Every id merged into another record -> the id it is served as (`ServedData.canonical`). */
  canonical: ReadonlyMap<string, string>;
  read: RecordReader;
  /** Longest stretch of index work between two yields to the event loop (default 25 ms; the bot's budget is ~200 ms). */
  sliceMs?: number;
}

/** What one update did: records replaced or added in the index, and ids taken out of it. */
export interface ServedUpdate {
  upserted: number;
  removed: number;
}

/** Applies changed ids to a served index. */
export interface ServedUpdater {
  /** Reads the changed records and replaces them (or their merged group's record) in the index; returns the counts. */
  apply(ids: readonly string[]): Promise<ServedUpdate>;
  /** Whether a change to `id` touches a merged group (its record must be recomputed from the group, not replaced). */
  grouped(id: string): boolean;
}

/** Groups read from the store per batch: one read and its parsing stay well inside a slice. */
const GROUPS_PER_READ = 100;

/**
 * Returns an updater over a served index. New merges are not decided here (deciding needs every record, which only
 * start-up has): a new record is served under its own id until the next start-up merges it; merges decided at
 * start-up are kept, with the group's record recomputed from what its members hold now.
 */
export function createServedUpdater(options: ServedUpdaterOptions): ServedUpdater {
  const { service, canonical, read } = options;
  const sliceMs = options.sliceMs ?? 25;
  let members: Map<string, string[]> | undefined;
  let membersOf = canonical.size;
  const membersByKeep = (): Map<string, string[]> => {
    if (!members || membersOf !== canonical.size) {
      members = new Map();
      for (const [from, keep] of canonical) members.set(keep, [...(members.get(keep) ?? []), from]);
      membersOf = canonical.size;
    }
    return members;
  };
  const groupOf = (id: string): string[] => {
    const keep = canonical.get(id) ?? id;
    return [keep, ...(membersByKeep().get(keep) ?? [])];
  };

  return {
    grouped: (id) => canonical.has(id) || membersByKeep().has(id),
    async apply(ids) {
      const result: ServedUpdate = { upserted: 0, removed: 0 };
      const keeps = [...new Set(ids.map((id) => canonical.get(id) ?? id))];
      let sliceStart = performance.now();
      for (let at = 0; at < keeps.length; at += GROUPS_PER_READ) {
        const groups = keeps.slice(at, at + GROUPS_PER_READ).map(groupOf);
        const held = await read(groups.flat());
        for (const group of groups) {
          const [keep, ...folded] = group as [string, ...string[]];
          const present = group.map((id) => held.get(id)).filter((r): r is Incident => r !== undefined);
          const keepRecord = held.get(keep);
          if (keepRecord) {
            // One record for the group, as start-up makes it; the folded ids are never served on their own.
            const [merged] = applyMerges(present, canonical);
            service.upsert([merged!]);
            service.remove(folded);
            result.upserted++;
          } else {
            // The record the group was kept as is gone: what remains of it is served under its own ids.
            if (present.length) service.upsert(present);
            const gone = group.filter((id) => !held.get(id));
            service.remove(gone);
            result.upserted += present.length;
            result.removed += gone.length;
          }
          if (performance.now() - sliceStart >= sliceMs) {
            await yieldToLoop();
            sliceStart = performance.now();
          }
        }
      }
      return result;
    },
  };
}

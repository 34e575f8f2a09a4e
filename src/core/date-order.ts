import type { Incident, IncidentKind } from './incident.js';
import { incidentDateSpan } from './time-range.js';

/** One dated record in date order: its id, the date as written (the sort key) and the days its date covers. */
interface Dated {
  id: string;
  value: string;
  /** First and last day the date covers (`YYYY-MM-DD`): "2024-05" covers 2024-05-01..2024-05-31. */
  from: string;
  to: string;
}

/** What the order needs of a record: its id, kind and date. */
export type DatedRecord = Pick<Incident, 'id' | 'kind' | 'date'>;

/** The orders kept: every dated record, and the dated records of each kind. */
type OrderKey = IncidentKind | 'all';

// Ties in date are ordered by id as lists always have (localeCompare); one collator, not one per comparison.
const byId = new Intl.Collator().compare;
/** Newest first by the date as written ("2024-05-07" before "2024-05" before "2024"), then by id. */
const newestFirst = (a: Dated, b: Dated) => (a.value === b.value ? byId(a.id, b.id) : a.value < b.value ? 1 : -1);

/**
 * The dated records newest first, per kind and all together, with the days each date covers worked out once: "what
 * happened in May 2024" or "latest campaigns" reads a window of an ordered array instead of reading, filtering and
 * sorting every record per question. Built on first use and kept current record by record (`upsert`, `remove`).
 *
 * In this order the first day a date covers never grows (a date written "2024" comes after every "2024-…"), so the
 * records dated up to a day start at one binary search, and the scan stops at the first record whose year ended before
 * the range began.
 */
export class DateOrder {
  private readonly orders = new Map<OrderKey, Dated[]>();

  /** Returns the order of these records. */
  static build(records: Iterable<DatedRecord>): DateOrder {
    const order = new DateOrder();
    const all: Dated[] = [];
    const kinds = new Map<IncidentKind, Dated[]>();
    for (const r of records) {
      const d = datedOf(r);
      if (!d) continue;
      all.push(d);
      let list = kinds.get(r.kind);
      if (!list) kinds.set(r.kind, (list = []));
      list.push(d);
    }
    order.orders.set('all', all.sort(newestFirst));
    for (const [kind, list] of kinds) order.orders.set(kind, list.sort(newestFirst));
    return order;
  }

  /** Puts a record in its place (`previous`: the record it replaces, which leaves its old place). */
  upsert(record: DatedRecord, previous: DatedRecord | undefined): void {
    if (previous) this.remove(previous);
    const d = datedOf(record);
    if (!d) return;
    for (const key of ['all', record.kind] as const) {
      let list = this.orders.get(key);
      if (!list) this.orders.set(key, (list = []));
      list.splice(lowerBound(list, d), 0, d);
    }
  }

  /** Takes a record out of the order. */
  remove(record: DatedRecord): void {
    const d = datedOf(record);
    if (!d) return;
    for (const key of ['all', record.kind] as const) {
      const list = this.orders.get(key);
      if (!list) continue;
      const at = lowerBound(list, d);
      if (list[at]?.id === d.id) list.splice(at, 1);
    }
  }

  /**
   * Returns the ids of dated records of a kind (every kind when absent) whose date overlaps the range (every dated
   * record when the range is open at both ends), newest first, keeping only those `keep` accepts, at most `limit`.
   */
  inRange(kind: IncidentKind | undefined, range: { from?: string; to?: string } | undefined, keep?: (id: string) => boolean, limit = Infinity): string[] {
    const list = this.orders.get(kind ?? 'all') ?? [];
    const from = range?.from;
    const to = range?.to;
    const start = to ? firstFromAtOrBefore(list, to) : 0;
    // A date's last day is at most the end of its first day's year: before that year nothing can reach `from`.
    const floor = from ? `${from.slice(0, 4)}-01-01` : undefined;
    const out: string[] = [];
    for (let i = start; i < list.length && out.length < limit; i++) {
      const d = list[i]!;
      if (floor && d.from < floor) break;
      if (from && d.to < from) continue;
      if (keep && !keep(d.id)) continue;
      out.push(d.id);
    }
    return out;
  }

  /** Number of dated records of a kind (every kind when absent). */
  count(kind?: IncidentKind): number {
    return this.orders.get(kind ?? 'all')?.length ?? 0;
  }
}

function datedOf(r: DatedRecord): Dated | undefined {
  if (!r.date) return undefined;
  const span = incidentDateSpan(r.date);
  return { id: r.id, value: r.date.value, from: span.from, to: span.to };
}

/** Index of the first entry not before `d` in the order (where `d` goes, or is). */
function lowerBound(list: readonly Dated[], d: Dated): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (newestFirst(list[mid]!, d) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Index of the first entry whose date starts on or before `day` (first days never grow along the order). */
function firstFromAtOrBefore(list: readonly Dated[], day: string): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (list[mid]!.from > day) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DateOrder } from '../../src/core/date-order.js';
import type { Incident, IncidentDate, IncidentKind } from '../../src/core/incident.js';
import { IncidentIndex } from '../../src/core/incident-index.js';
import { dateInRange } from '../../src/core/time-range.js';

const KINDS: IncidentKind[] = ['incident', 'group', 'software', 'vulnerability'];

function record(id: string, kind: IncidentKind, date: IncidentDate | null): Incident {
  return { id, kind, title: `Record ${id}`, aliases: [], date, summary: 'A record.', sources: [], tags: [], entities: { actors: [], victims: [], software: [], cves: [], countries: [] }, related: [] };
}

/** Dates of every precision over a few years, so ranges cut through years, months and days. */
function randomRecords(n: number, seed: number): Incident[] {
  let s = seed;
  const next = () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  return Array.from({ length: n }, (_, i) => {
    const y = 2019 + Math.floor(next() * 5);
    const m = String(1 + Math.floor(next() * 12)).padStart(2, '0');
    const d = String(1 + Math.floor(next() * 28)).padStart(2, '0');
    const p = next();
    const date: IncidentDate | null = p < 0.15 ? null : p < 0.3 ? { value: `${y}`, precision: 'year' } : p < 0.55 ? { value: `${y}-${m}`, precision: 'month' } : { value: `${y}-${m}-${d}`, precision: 'day' };
    return record(`r:${i}`, KINDS[Math.floor(next() * KINDS.length)]!, date);
  });
}

/** What a list of dated records in a range is by definition: every record read, filtered, sorted. */
function bruteForce(records: Iterable<Incident>, kind: IncidentKind | undefined, range: { from?: string; to?: string }): string[] {
  const rows = [...records].filter((r) => r.date && (!kind || r.kind === kind) && dateInRange(r.date, range));
  rows.sort((a, b) => (a.date!.value === b.date!.value ? a.id.localeCompare(b.id) : a.date!.value < b.date!.value ? 1 : -1));
  return rows.map((r) => r.id);
}

const RANGES = [
  {},
  { from: '2021-01-01' },
  { to: '2020-06-30' },
  { from: '2021-03-01', to: '2021-03-31' },
  { from: '2020-12-15', to: '2021-01-10' },
  { from: '2022-05-07', to: '2022-05-07' },
  { from: '2030-01-01' },
];

describe('records in date order', () => {
  it('lists a range as reading, filtering and sorting every record would, per kind and for all kinds', () => {
    const records = randomRecords(600, 7);
    const order = DateOrder.build(records);
    for (const range of RANGES) for (const kind of [undefined, ...KINDS]) assert.deepEqual(order.inRange(kind, range), bruteForce(records, kind, range), JSON.stringify({ kind, range }));
  });

  it('stays in order as records are added, replaced (with a new date or kind) and removed', () => {
    const index = IncidentIndex.build(randomRecords(300, 3));
    index.byDate();
    const more = randomRecords(400, 11);
    index.upsert(more.slice(0, 200));
    // The same ids again, other dates and kinds: each leaves its old place.
    index.upsert(more.slice(100, 200).map((r, i) => ({ ...r, kind: KINDS[i % 4]!, date: i % 5 === 0 ? null : { value: `2023-0${1 + (i % 9)}`, precision: 'month' as const } })));
    index.remove(['r:5', 'r:17', 'r:150', 'r:999']);
    for (const range of RANGES) for (const kind of [undefined, ...KINDS]) assert.deepEqual(index.byDate().inRange(kind, range), bruteForce(index.all(), kind, range), JSON.stringify({ kind, range }));
  });

  it('keeps only what the caller may see', () => {
    const records = randomRecords(100, 5);
    const order = DateOrder.build(records);
    const odd = (id: string) => Number(id.slice(2)) % 2 === 1;
    assert.deepEqual(order.inRange(undefined, {}, odd), bruteForce(records, undefined, {}).filter(odd));
  });
});

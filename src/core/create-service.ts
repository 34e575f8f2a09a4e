import type { Answer, IncidentList } from './answer-model.js';
import { answerQuery, refOf } from './answer.js';
import type { Incident } from './incident.js';
import { IncidentIndex, type RankedHit } from './incident-index.js';
import type { Choice, IncidentService, SearchHit, SearchOptions } from './incident-service.js';
import { foldText, truncateWords } from './text.js';

/** Discord's limit for an autocomplete choice's name and value (and a sane one everywhere). */
export const CHOICE_MAX_CHARS = 100;

/** Returns the shared incident service over these records, with a freshly built index. */
export function createIncidentService(incidents: readonly Incident[]): IncidentService & { index: IncidentIndex } {
  return serviceOver(IncidentIndex.build(incidents));
}

/** Returns the service over an index loaded from a snapshot of the same records. */
export function createIncidentServiceFromSnapshot(snapshot: string, incidents: readonly Incident[]): IncidentService & { index: IncidentIndex } {
  return serviceOver(IncidentIndex.fromSnapshot(snapshot, incidents));
}

/** Returns `{ query, tag, since }` from search text holding `tag:<tag>` and `since:<YYYY[-MM[-DD]]>` filters. */
export function parseFilters(text: string): { query: string; tag?: string; since?: string; error?: string } {
  let tag: string | undefined;
  let since: string | undefined;
  let error: string | undefined;
  const query = text
    .replace(/\b(tag|since):(\S+)/gi, (_m, key: string, value: string) => {
      if (key.toLowerCase() === 'tag') tag = value;
      else if (/^\d{4}(-\d{2}(-\d{2})?)?$/.test(value)) since = value;
      else error = `since: expects YYYY, YYYY-MM or YYYY-MM-DD (got "${value}").`;
      return ' ';
    })
    .replace(/\s+/g, ' ')
    .trim();
  return { query, tag, since, error };
}

function serviceOver(index: IncidentIndex): IncidentService & { index: IncidentIndex } {
  const lookup = (id: string) => index.get(id);

  const matches = (incident: Incident | undefined, options: SearchOptions): boolean => {
    if (!incident) return false;
    if (options.kinds && !options.kinds.includes(incident.kind)) return false;
    if (options.since && (!incident.date || incident.date.value < options.since)) return false;
    if (options.tag) {
      const want = foldText(options.tag);
      if (!incident.tags.some((t) => { const f = foldText(t); return f === want || f.endsWith(`:${want}`); })) return false;
    }
    return true;
  };
  const filtered = (options: SearchOptions) => (h: RankedHit) => matches(index.get(h.id), options);
  const hasFilter = (o: SearchOptions) => Boolean(o.kinds || o.since || o.tag);

  const service: IncidentService & { index: IncidentIndex } = {
    index,
    answer: (query: string): Answer => answerQuery(index, lookup, query),
    search(query, options = {}) {
      const hits = index.search(query, options.limit ?? 10, hasFilter(options) ? filtered(options) : undefined);
      return hits.map((h): SearchHit => ({ id: h.id, title: h.title, kind: h.kind, score: h.score }));
    },
    searchList(text, options = {}): IncidentList {
      const f = parseFilters(text);
      if (f.error) return { title: `Search: ${text}`, items: [], total: 0, note: f.error };
      const merged: SearchOptions = { ...options, tag: f.tag ?? options.tag, since: f.since ?? options.since };
      const limit = options.limit ?? 10;
      let items;
      if (f.query) {
        items = service.search(f.query, { ...merged, limit }).flatMap((h) => refOf(index.get(h.id)) ?? []);
      } else {
        // Filters alone ("tag:takedown since:2023") list the newest matching records.
        items = newest(index.all(), merged, limit).map((i) => refOf(i)!);
      }
      const label = [f.query, f.tag && `tag:${f.tag}`, f.since && `since:${f.since}`].filter(Boolean).join(' ');
      return {
        title: `Search: ${truncateWords(label, 200)}`,
        items,
        total: items.length,
        note: items.length === 0 ? 'No incidents match. Try fewer words, or drop a filter.' : undefined,
      };
    },
    recent(count, options = {}): IncidentList {
      const merged: SearchOptions = { kinds: ['incident'], ...options };
      const items = newest(index.all(), merged, count).map((i) => refOf(i)!);
      return { title: 'Recent incidents', items, total: items.length, note: items.length === 0 ? 'No dated incidents yet.' : undefined };
    },
    autocomplete(prefix, limit = 25): Choice[] {
      const text = prefix.trim();
      // Ask for a few more than needed: ids too long to be a choice's value are dropped below.
      const want = limit + 5;
      const suggestions = text ? index.suggest(text, want) : newest(index.all(), { kinds: ['incident'] }, want).map((i) => ({ id: i.id, name: i.title }));
      return suggestions
        .filter((s) => s.id.length <= CHOICE_MAX_CHARS)
        .slice(0, limit)
        .map((s) => ({ name: truncateWords(s.name, CHOICE_MAX_CHARS), value: s.id }));
    },
    get: lookup,
    upsert(more) {
      index.upsert(more);
    },
    remove(ids) {
      index.remove(ids);
    },
    get size() {
      return index.size;
    },
  };

  function newest(all: Iterable<Incident>, options: SearchOptions, limit: number): Incident[] {
    const out: Incident[] = [];
    for (const i of all) if (i.date && matches(i, options)) out.push(i);
    out.sort((a, b) => (b.date!.value > a.date!.value ? 1 : b.date!.value < a.date!.value ? -1 : a.id.localeCompare(b.id)));
    return out.slice(0, limit);
  }
  return service;
}

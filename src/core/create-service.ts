import type { Answer, IncidentList } from './answer-model.js';
import { refOf } from './answer.js';
import { understandQuery } from './understand.js';
import type { Incident } from './incident.js';
import { FeedPosts } from './feed-posts.js';
import { Graph } from './graph.js';
import { IncidentIndex, type RankedHit } from './incident-index.js';
import type { Choice, IncidentService, SearchHit, SearchOptions } from './incident-service.js';
import type { Knowledge, ServedData } from './served.js';
import { NAME_TEXT_MIN_RECORDS, offsetOf, searchList } from './search-list.js';
import { foldText, truncateWords } from './text.js';

/** What a record id looks like ("attack:G0016", "misp:threat-actor:<uuid>"): such a query is looked up by id first. */
const ID_SHAPE = /^[a-z][a-z0-9-]*:\S+$/;

/** Discord's limit for an autocomplete choice's name and value (and a sane one everywhere). */
export const CHOICE_MAX_CHARS = 100;

/**
 * Returns the shared incident service over these records, with a freshly built index. With `knowledge` (from
 * `buildServed`), answers draw related records from the graph and merged ids resolve to the records they live on.
 */
export function createIncidentService(incidents: readonly Incident[], knowledge?: Knowledge): IncidentService & { index: IncidentIndex; graph: Graph } {
  return serviceOver(IncidentIndex.build(incidents), knowledge);
}

/** Returns the service over an index loaded from a snapshot of the same records. */
export function createIncidentServiceFromSnapshot(
  snapshot: string,
  incidents: readonly Incident[],
  knowledge?: Knowledge,
): IncidentService & { index: IncidentIndex; graph: Graph } {
  return serviceOver(IncidentIndex.fromSnapshot(snapshot, incidents), knowledge);
}

/** Returns the service over an index already loaded (a served snapshot's), with `knowledge` as above. */
export function createIncidentServiceOver(index: IncidentIndex, knowledge?: Knowledge): IncidentService & { index: IncidentIndex; graph: Graph } {
  return serviceOver(index, knowledge);
}

/** Returns the service over everything `buildServed` built (records, graph, merged ids). */
export function createServedService(served: ServedData): IncidentService & { index: IncidentIndex; graph: Graph } {
  return createIncidentService(served.records, served);
}

/** Returns the words and filters of search text (see `SEARCH_FILTERS`); kept here for callers that import it from the service. */
export { parseFilters } from './search-list.js';

function serviceOver(index: IncidentIndex, knowledge?: Knowledge): IncidentService & { index: IncidentIndex; graph: Graph } {
  const canonical = knowledge?.canonical ?? new Map<string, string>();
  const graph = knowledge?.graph ?? new Graph();
  // Any id a record was merged from names it too ("misp:threat-actor:<uuid>" is attack:G0007).
  const lookup = (id: string) => index.get(canonical.get(id) ?? id);
  const posts = FeedPosts.of(knowledge?.posts ?? [], canonical);
  const byId = (query: string) => (ID_SHAPE.test(query.trim()) ? lookup(query.trim()) : undefined);

  const matches = (incident: Incident | undefined, options: SearchOptions): boolean => {
    if (!incident) return false;
    if (options.visible && !options.visible(incident.id)) return false;
    if (options.kinds && !options.kinds.includes(incident.kind)) return false;
    if (options.since && (!incident.date || incident.date.value < options.since)) return false;
    if (options.tag) {
      const want = foldText(options.tag);
      if (!incident.tags.some((t) => { const f = foldText(t); return f === want || f.endsWith(`:${want}`); })) return false;
    }
    return true;
  };
  const filtered = (options: SearchOptions) => (h: RankedHit) => matches(index.get(h.id), options);
  const hasFilter = (o: SearchOptions) => Boolean(o.kinds || o.since || o.tag || o.visible);

  const service: IncidentService & { index: IncidentIndex; graph: Graph } = {
    index,
    graph,
    answer: (query, view = {}): Answer => understandQuery(index, lookup, query, { visible: view.visible, graph, posts, context: view.context, cursor: view.cursor }),
    search(query, options = {}) {
      const hits = index.search(query, options.limit ?? 10, hasFilter(options) ? filtered(options) : undefined);
      const out = hits.map((h): SearchHit => ({ id: h.id, title: h.title, kind: h.kind, score: h.score }));
      // A record's own id (or an id merged into it) finds it first.
      const direct = byId(query);
      if (!direct || !matches(direct, options)) return out;
      const top = { id: direct.id, title: direct.title, kind: direct.kind, score: Math.max(1, out[0]?.score ?? 0) + 1 };
      return [top, ...out.filter((h) => h.id !== direct.id)].slice(0, options.limit ?? 10);
    },
    searchList(text, options = {}): IncidentList {
      return searchList(
        {
          all: () => index.all(),
          get: (id) => index.get(id),
          ranked: (words, limit, keep) => {
            const direct = byId(words);
            const hits = index.search(words, limit, (h) => { const i = index.get(h.id); return i !== undefined && keep(i); }).map((h) => h.id);
            return direct && keep(direct) ? [direct.id, ...hits.filter((id) => id !== direct.id)] : hits;
          },
          actorNamed: (name) => {
            const hit = index.search(name, 5, (h) => h.kind === 'group')[0];
            return hit && index.get(hit.id);
          },
          refOf: (i) => refOf(i)!,
          byDate: () => index.byDate(),
          ...(index.size >= NAME_TEXT_MIN_RECORDS ? { names: () => index.names() } : {}),
        },
        text,
        options,
      );
    },
    recent(count, options = {}): IncidentList {
      const merged: SearchOptions = { kinds: ['incident'], ...options };
      const all = newestIds(merged, Number.POSITIVE_INFINITY);
      const start = offsetOf(options.cursor, all.length);
      const items = all.slice(start, start + count).map((id) => refOf(index.get(id))!);
      const next = start + count < all.length ? String(start + count) : undefined;
      return { title: 'Recent incidents', items, total: all.length, ...(next ? { cursor: next } : {}), note: all.length === 0 ? 'No dated incidents yet.' : undefined };
    },
    autocomplete(prefix, limit = 25, view = {}): Choice[] {
      const text = prefix.trim();
      // Ask for a few more than needed: ids too long to be a choice's value (or hidden from the caller) are dropped below.
      const want = view.visible ? limit * 2 + 5 : limit + 5;
      const suggestions = text ? index.suggest(text, want) : newestIds({ kinds: ['incident'], visible: view.visible }, want).map((id) => ({ id, name: index.get(id)!.title }));
      return suggestions
        .filter((s) => s.id.length <= CHOICE_MAX_CHARS && (!view.visible || view.visible(s.id)))
        .slice(0, limit)
        .map((s) => ({ name: truncateWords(s.name, CHOICE_MAX_CHARS), value: s.id }));
    },
    get: (id, view = {}) => (view.visible && !view.visible(id) ? undefined : lookup(id)),
    upsert(more) {
      index.upsert(more);
      // New feed stories join the graph (CVEs they mention, the stories they report) without a reload.
      if (knowledge) {
        knowledge.extractor.add(more);
        const { relations, labels } = knowledge.extractor.extract(more);
        graph.add(relations);
        for (const [id, label] of labels) graph.setLabel(id, label);
      }
    },
    addPosts(more) {
      posts.add(more, canonical);
      // Each joins the graph as news of the story it reports, as at start-up.
      if (knowledge) graph.add(knowledge.extractor.extract([], more).relations);
      for (const p of more) if (p.title) graph.setLabel(p.postId, p.title);
    },
    remove(ids) {
      index.remove(ids);
      posts.remove(ids);
    },
    get size() {
      return index.size;
    },
  };

  /** The ids of the newest dated records `options` keeps, at most `limit`, from the index's date order (no sort per call). */
  function newestIds(options: SearchOptions, limit: number): string[] {
    const kinds = options.kinds;
    return index.byDate().inRange(kinds?.length === 1 ? kinds[0] : undefined, undefined, (id) => matches(index.get(id), options), limit);
  }
  return service;
}

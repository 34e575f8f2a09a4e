import type { Answer, AnswerSource, IncidentList, IncidentRef } from '../../src/core/answer-model.js';
import { formatIncidentDate, parseIncident, type Incident } from '../../src/core/incident.js';
import type { Choice, IncidentService, SearchHit, SearchOptions } from '../../src/core/incident-service.js';
import { compactName, foldText } from '../../src/core/text.js';
import { listReply, scriptedAnswer, type FakeListOptions, type FakeView, type SeenView } from './fake-lists.js';

/** Three small incidents for the Slack tests (Sky ECC carries the id and title of the bundled record). */
export const FAKE_SLACK_INCIDENTS: Incident[] = [
  parseIncident({
    id: 'seed:skyecc-2021',
    kind: 'incident',
    title: 'Sky ECC takedown',
    date: { value: '2021-03-09', precision: 'day' },
    aliases: ['Sky ECC', 'SkyECC', 'Sky Global'],
    summary:
      'European police decrypted messages on the Sky ECC encrypted phone network and took it down in March 2021. The operation led to hundreds of arrests & seizures.',
    sources: [
      { url: 'https://www.europol.europa.eu/media-press/newsroom/news/new-major-interventions-to-block-encrypted-communications-of-criminal-networks', title: 'Europol: new major interventions', publisher: 'Europol', published: '2021-03-10' },
      { url: 'https://www.justice.gov/opa/pr/sky-global-executive-and-associate-indicted', title: 'DOJ: Sky Global executive indicted', publisher: 'U.S. DOJ' },
    ],
    tags: ['takedown', 'type:operation'],
    entities: { actors: [], victims: ['Sky ECC users'], software: [], cves: [], countries: ['BE', 'NL', 'FR'] },
  }),
  parseIncident({
    id: 'seed:encrochat-2020',
    kind: 'incident',
    title: 'EncroChat takedown',
    date: { value: '2020-07-02', precision: 'day' },
    aliases: ['EncroChat'],
    summary: 'French and Dutch police infiltrated the EncroChat encrypted phone network.',
    sources: [{ url: 'https://www.europol.europa.eu/newsroom/news/dismantling-of-encrypted-network', title: 'Europol: EncroChat' }],
    tags: ['takedown'],
  }),
  parseIncident({
    id: 'seed:lockbit-2024',
    kind: 'incident',
    title: 'Operation Cronos (LockBit)',
    date: { value: '2024-02-19', precision: 'day' },
    aliases: ['LockBit takedown', 'Cronos'],
    summary: 'Law enforcement seized LockBit ransomware infrastructure.',
    sources: [{ publisher: 'NCA', title: 'NCA statement' }],
    tags: ['ransomware', 'type:campaign'],
  }),
];

/** Options for the fake service: records, or a function answering every query (for hostile or huge answers), scripted lists. */
export interface FakeSlackServiceOptions extends FakeListOptions {
  incidents?: Incident[];
  answer?: (query: string) => Answer;
  /** answer() throws for this exact query (a bug in the core, as the adapter must survive it). */
  throwOn?: string;
}

/** A fake IncidentService that also records the queries it was asked (a test can prove nothing ran). */
export interface FakeSlackService extends IncidentService {
  /** Every query passed to answer(), recent() or searchList(), in order. */
  readonly queries: string[];
  /** What each answer() call was handed: the query, the conversation's context, the cursor. */
  readonly views: SeenView[];
}

/** Returns an Answer with defaults for every field, for renderer tests. */
export function buildAnswer(overrides: Partial<Answer> = {}): Answer {
  return {
    query: 'skyecc',
    status: 'found',
    incident: {
      id: 'seed:skyecc-2021',
      title: 'Sky ECC takedown',
      kind: 'incident',
      date: '9 March 2021',
      blurb: 'European police took down the Sky ECC network.',
      url: 'https://www.europol.europa.eu/sky',
      aliases: ['Sky ECC'],
      tags: ['takedown'],
    },
    summary: 'European police decrypted messages on the Sky ECC encrypted phone network and took it down in March 2021.',
    facts: [
      { label: 'When', value: '9 March 2021' },
      { label: 'Where', value: 'Belgium, Netherlands, France' },
    ],
    sources: [{ url: 'https://www.europol.europa.eu/sky', title: 'Europol press release', publisher: 'Europol', published: '2021-03-10' }],
    related: [],
    candidates: [],
    suggestions: [],
    ...overrides,
  };
}

function toRef(incident: Incident): IncidentRef {
  return {
    id: incident.id,
    title: incident.title,
    kind: incident.kind,
    date: incident.date ? formatIncidentDate(incident.date) : null,
    blurb: incident.summary.split('. ')[0],
    url: incident.sources.find((s) => s.url)?.url,
  };
}

function answerFrom(incident: Incident, query: string): Answer {
  const ref = toRef(incident);
  const sources: AnswerSource[] = incident.sources.map((s) => ({
    url: s.url,
    title: s.title ?? (s.url ? new URL(s.url).hostname : s.publisher ?? 'source'),
    publisher: s.publisher,
    published: s.published,
  }));
  return {
    query,
    status: 'found',
    incident: { ...ref, aliases: incident.aliases, tags: incident.tags },
    summary: incident.summary,
    facts: [
      ...(ref.date ? [{ label: 'When' as const, value: ref.date }] : []),
      ...(incident.entities.countries.length ? [{ label: 'Where' as const, value: incident.entities.countries.join(', ') }] : []),
    ],
    sources,
    related: [],
    candidates: [],
    suggestions: [],
  };
}

/** Returns a small in-memory IncidentService: name/alias matching, date-ordered recent, substring search. */
export function createFakeSlackService(options: FakeSlackServiceOptions = {}): FakeSlackService {
  const incidents = [...(options.incidents ?? FAKE_SLACK_INCIDENTS)];
  const queries: string[] = [];
  const views: SeenView[] = [];
  const find = (query: string) => {
    const q = compactName(query);
    if (q.length < 3) return undefined;
    return incidents.find((i) => [i.title, ...i.aliases].some((name) => q.includes(compactName(name)) || compactName(name).includes(q)));
  };
  const list = (title: string, items: Incident[], limit: number): IncidentList => ({
    title,
    items: items.slice(0, limit).map(toRef),
    total: items.length,
  });
  return {
    queries,
    views,
    answer(query, view?: FakeView) {
      queries.push(query);
      views.push({ query, context: view?.context, cursor: view?.cursor });
      if (options.throwOn !== undefined && query === options.throwOn) throw new Error(`fake service failure for "${query}"`);
      if (options.answer) return options.answer(query);
      const scripted = scriptedAnswer(options, query, view);
      if (scripted.answer) return scripted.answer;
      const hit = find(scripted.resolved);
      if (hit) return answerFrom(hit, query);
      return {
        query,
        status: 'not-found',
        summary: `No incident matches "${query}".`,
        facts: [],
        sources: [],
        related: [],
        candidates: [],
        suggestions: incidents.slice(0, 2).map((i) => i.title),
      };
    },
    search(query: string, opts: SearchOptions = {}): SearchHit[] {
      const q = query.toLowerCase();
      return incidents
        .filter((i) => `${i.title} ${i.summary}`.toLowerCase().includes(q))
        .slice(0, opts.limit ?? 10)
        .map((i) => ({ id: i.id, title: i.title, kind: i.kind, score: 1 }));
    },
    searchList(query, opts: SearchOptions & { cursor?: string } = {}) {
      queries.push(query);
      const scripted = options.lists?.[foldText(query.trim())];
      if (scripted) return listReply(`Search: ${query}`, query, scripted, opts.cursor, opts.limit ?? 10);
      const words = query.toLowerCase().split(/\s+/).filter((w) => w && !w.includes(':'));
      const tag = /tag:(\S+)/.exec(query)?.[1];
      const items = incidents.filter(
        (i) => words.every((w) => `${i.title} ${i.summary}`.toLowerCase().includes(w)) && (!tag || i.tags.includes(tag)),
      );
      return list(`Search: ${query}`, items, opts.limit ?? 10);
    },
    recent(count) {
      queries.push(`recent ${count}`);
      const dated = incidents.filter((i) => i.date).sort((a, b) => b.date!.value.localeCompare(a.date!.value));
      return list('Recent incidents', dated, count);
    },
    autocomplete(prefix: string, limit = 25): Choice[] {
      const p = prefix.toLowerCase();
      return incidents.filter((i) => i.title.toLowerCase().startsWith(p)).slice(0, limit).map((i) => ({ name: i.title, value: i.id }));
    },
    get(id) {
      return incidents.find((i) => i.id === id);
    },
    upsert(records) {
      for (const r of records) {
        const at = incidents.findIndex((i) => i.id === r.id);
        if (at >= 0) incidents[at] = r;
        else incidents.push(r);
      }
    },
    remove(ids) {
      for (const id of ids) {
        const at = incidents.findIndex((i) => i.id === id);
        if (at >= 0) incidents.splice(at, 1);
      }
    },
    get size() {
      return incidents.length;
    },
  };
}

/** Returns a service delegating to `inner` that records queries and can fail on one query, like the fake does. */
export function spyOnService(inner: IncidentService, options: { throwOn?: string } = {}): FakeSlackService {
  const queries: string[] = [];
  const views: SeenView[] = [];
  return {
    queries,
    views,
    answer(query, view?: FakeView) {
      queries.push(query);
      views.push({ query, context: view?.context, cursor: view?.cursor });
      if (options.throwOn !== undefined && query === options.throwOn) throw new Error(`fake service failure for "${query}"`);
      return inner.answer(query, view);
    },
    search: (query, opts) => inner.search(query, opts),
    searchList(query, opts) {
      queries.push(query);
      return inner.searchList(query, opts);
    },
    recent(count, opts) {
      queries.push(`recent ${count}`);
      return inner.recent(count, opts);
    },
    autocomplete: (prefix, limit) => inner.autocomplete(prefix, limit),
    get: (id) => inner.get(id),
    upsert: (records) => inner.upsert(records),
    remove: (ids) => inner.remove(ids),
    get size() {
      return inner.size;
    },
  };
}

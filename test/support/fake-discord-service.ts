import type { Answer, AnswerSource, IncidentList, IncidentRef } from '../../src/core/answer-model.js';
import type { Incident } from '../../src/core/incident.js';
import type { Choice, IncidentService, SearchHit, SearchOptions } from '../../src/core/incident-service.js';
import { compactName, foldText } from '../../src/core/text.js';
import { listReply, scriptedAnswer, type FakeListOptions, type FakeView, type SeenView } from './fake-lists.js';

/**
 * A small in-memory IncidentService for the Discord tests: answers are scripted records (found by id, title or
 * alias, compact or not), scripted ambiguous queries, and not-found with suggestions. It stands in for the real
 * service where a test needs data the bundled corpus does not have (huge summaries, hostile titles).
 */

/** A record the fake knows: the answer it gives when found, plus the names that find it. */
export interface FakeRecord {
  answer: Answer;
  names?: string[];
}

/** Returns an IncidentRef with test defaults; override what the test is about. */
export function buildRef(overrides: Partial<IncidentRef> = {}): IncidentRef {
  return {
    id: 'test:example',
    title: 'Example incident',
    kind: 'incident',
    date: '1 January 2024',
    blurb: 'An example incident used in tests.',
    ...overrides,
  };
}

/** Returns a found Answer with test defaults; override what the test is about. */
export function buildAnswer(overrides: Partial<Answer> & { ref?: Partial<IncidentRef> } = {}): Answer {
  const { ref, ...rest } = overrides;
  const base = buildRef(ref);
  return {
    query: base.title,
    status: 'found',
    incident: { ...base, aliases: [], tags: [] },
    summary: base.blurb,
    facts: [{ label: 'When', value: base.date ?? 'unknown' }],
    sources: base.url ? [{ url: base.url, title: base.title }] : [],
    related: [],
    candidates: [],
    suggestions: [],
    ...rest,
  };
}

/** The Sky ECC answer as the real service is expected to give it (summary and source from the seed facts). */
export const SKY_ECC_URL = 'https://statewatch.org/statewatch-database/new-major-interventions-to-block-encrypted-communications-of-criminal-networks';

/** Returns the scripted Sky ECC record. */
export function skyEccRecord(): FakeRecord {
  const ref = buildRef({ id: 'seed:skyecc-2021', title: 'Sky ECC takedown', date: '9 March 2021', url: SKY_ECC_URL, blurb: 'Police in Belgium, France and the Netherlands acted against the Sky ECC encrypted messaging service.' });
  const sources: AnswerSource[] = [{ url: SKY_ECC_URL, title: 'New major interventions to block encrypted communications of criminal networks', publisher: 'Europol', published: '2021-03-10' }];
  return {
    names: ['Sky ECC', 'SkyECC', 'SKY ECC', 'Operation Argus'],
    answer: buildAnswer({
      ref,
      incident: { ...ref, aliases: ['SKY ECC', 'SkyECC', 'Operation Argus'], tags: ['takedown'] },
      summary: 'On 9 March 2021 authorities in Belgium, France and the Netherlands, supported by Europol and Eurojust, acted against the criminal use of the Sky ECC encrypted messaging service. They had monitored the traffic of about 70,000 users since mid-February.',
      facts: [
        { label: 'When', value: '9 March 2021' },
        { label: 'Who', value: 'Belgian, French and Dutch police; Europol; Eurojust' },
        { label: 'Impact', value: 'About 30 arrests in the Netherlands and 48 in Belgium' },
      ],
      sources,
      related: [buildRef({ id: 'seed:encrochat-2020', title: 'EncroChat takedown', date: '2 July 2020' })],
    }),
  };
}

/** Returns the scripted EncroChat record. */
export function encroChatRecord(): FakeRecord {
  const ref = buildRef({ id: 'seed:encrochat-2020', title: 'EncroChat takedown', date: '2 July 2020', blurb: 'French and Dutch police infiltrated the EncroChat encrypted phone network.' });
  return { names: ['EncroChat'], answer: buildAnswer({ ref, summary: ref.blurb }) };
}

/** Options for the fake: the records, queries that are ambiguous between some of them, scripted lists and comparisons. */
export interface FakeServiceOptions extends FakeListOptions {
  records?: FakeRecord[];
  /** Query (folded) -> ids of the candidates, top first. */
  ambiguous?: Record<string, string[]>;
  /** Called on every answer(): lets a test make the service slow or throw. */
  onAnswer?: (query: string) => void;
}

/** Returns an in-memory IncidentService over scripted answers. */
export function createFakeIncidentService(options: FakeServiceOptions = {}): IncidentService & { answered: string[]; views: SeenView[] } {
  const records = options.records ?? [skyEccRecord(), encroChatRecord()];
  const byId = new Map(records.map((r) => [r.answer.incident!.id, r]));
  const byName = new Map<string, FakeRecord>();
  for (const r of records) {
    for (const name of [r.answer.incident!.id, r.answer.incident!.title, ...(r.names ?? [])]) byName.set(compactName(name), r);
  }
  const refOf = (r: FakeRecord): IncidentRef => {
    const { aliases: _a, tags: _t, ...ref } = r.answer.incident!;
    return ref;
  };
  const answered: string[] = [];
  const views: SeenView[] = [];
  const empty = (query: string, status: Answer['status']): Answer => ({
    query,
    status,
    summary: '',
    facts: [],
    sources: [],
    related: [],
    candidates: [],
    suggestions: [],
  });

  const service: IncidentService & { answered: string[]; views: SeenView[] } = {
    answered,
    views,
    answer(asked: string, view?: FakeView): Answer {
      answered.push(asked);
      views.push({ query: asked, context: view?.context, cursor: view?.cursor });
      options.onAnswer?.(asked);
      const scripted = scriptedAnswer(options, asked, view);
      if (scripted.answer) return scripted.answer;
      const query = scripted.resolved;
      const ambiguous = options.ambiguous?.[foldText(query.trim())];
      if (ambiguous) {
        const candidates = ambiguous.map((id) => byId.get(id)).filter((r): r is FakeRecord => Boolean(r));
        return { ...candidates[0].answer, query, status: 'ambiguous', candidates: candidates.map(refOf) };
      }
      const hit = byName.get(compactName(query));
      if (hit) return { ...hit.answer, query: asked };
      const words = foldText(query).split(/\s+/).filter((w) => w.length > 2);
      const suggestions = records
        .map((r) => r.answer.incident!.title)
        .filter((t) => words.some((w) => foldText(t).includes(w.slice(0, 3))));
      return { ...empty(asked, 'not-found'), suggestions };
    },
    search(query: string, searchOptions?: SearchOptions): SearchHit[] {
      const q = foldText(query);
      return records
        .filter((r) => foldText(r.answer.incident!.title).includes(q))
        .slice(0, searchOptions?.limit ?? 10)
        .map((r, i) => ({ id: r.answer.incident!.id, title: r.answer.incident!.title, kind: r.answer.incident!.kind, score: 10 - i }));
    },
    searchList(query: string, searchOptions?: SearchOptions & { cursor?: string }): IncidentList {
      const scripted = options.lists?.[foldText(query.trim())];
      if (scripted) return listReply(`Search: ${query}`, query, scripted, searchOptions?.cursor, searchOptions?.limit ?? 10);
      const hits = service.search(query, searchOptions);
      return { title: `Search: ${query}`, items: hits.map((h) => refOf(byId.get(h.id)!)), total: hits.length };
    },
    recent(count: number): IncidentList {
      const items = records.map(refOf).slice(0, count);
      return { title: 'Recent incidents', items, total: records.length };
    },
    autocomplete(prefix: string, limit = 25): Choice[] {
      const p = compactName(prefix);
      const out: Choice[] = [];
      for (const r of records) {
        const names = [r.answer.incident!.title, ...(r.names ?? [])];
        if (names.some((n) => compactName(n).startsWith(p))) out.push({ name: r.answer.incident!.title, value: r.answer.incident!.title });
      }
      return out.slice(0, limit);
    },
    get(id: string): Incident | undefined {
      const r = byId.get(id);
      if (!r) return undefined;
      const inc = r.answer.incident!;
      return {
        id: inc.id,
        kind: inc.kind,
        title: inc.title,
        date: null,
        aliases: inc.aliases,
        summary: r.answer.summary || inc.blurb,
        sources: [],
        tags: inc.tags,
        entities: { actors: [], victims: [], software: [], cves: [], countries: [] },
        related: [],
      };
    },
    upsert(): void {
      throw new Error('the fake incident service is read-only');
    },
    remove(): void {
      throw new Error('the fake incident service is read-only');
    },
    get size() {
      return records.length;
    },
  };
  return service;
}

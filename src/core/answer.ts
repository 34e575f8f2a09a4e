import type { Answer, AnswerSource, Fact, IncidentRef, Quote } from './answer-model.js';
import type { Graph } from './graph.js';
import { CONTEXT_KINDS, formatIncidentDate, type Incident, type Source } from './incident.js';
import type { IncidentIndex, RankedHit } from './incident-index.js';
import { weighEvidence } from './confidence.js';
import { describeCandidates } from './describe.js';
import { namesOneIncident } from './event-names.js';
import { nameAlternatives } from './name-alternatives.js';
import { stem } from './stem.js';
import { FOCUS_CUES } from './intents.js';
import { isStopWord, parseQuery, words, type ParsedQuery } from './query.js';
import { compactName, splitSentences, stripMarkup, truncateWords } from './text.js';

/** Longest summary an answer carries (about 2-4 sentences): chat answers must be read at a glance. */
export const MAX_SUMMARY_CHARS = 600;
/** Below this re-ranked score nothing matched well enough to call it an answer. */
export const NOT_FOUND_SCORE = 0.35;
/** When the runner-up scores at least this share of the top hit (and the top is no exact name), ask which one. */
export const AMBIGUOUS_RATIO = 0.85;
/** Most candidates offered for an ambiguous query (Discord buttons: 5 per row). */
export const MAX_CANDIDATES = 5;
/** Most related incidents listed. */
export const MAX_RELATED = 5;

/** Looks up a full record by id (the index keeps only what ranking needs). */
export type RecordLookup = (id: string) => Incident | undefined;

/** What a record id looks like; a query shaped so is looked up by id before it is searched. */
const ID_QUERY = /^[a-z][a-z0-9-]*:\S+$/;

/** What answerQuery may use besides the index: who may see what, and the knowledge graph. */
export interface AnswerOptions {
  /** Records it refuses are neither answered, offered as candidates, related nor suggested. */
  visible?: (id: string) => boolean;
  /** Related records come from it first. */
  graph?: Graph;
}

/**
 * Returns the answer to one query: found, ambiguous or not-found, never an exception, whatever the input. A record
 * id (or an id merged into a record) answers with that record.
 */
export function answerQuery(index: IncidentIndex, allRecords: RecordLookup, raw: string, options: AnswerOptions = {}): Answer {
  const { visible, graph } = options;
  const lookup: RecordLookup = visible ? (id) => (visible(id) ? allRecords(id) : undefined) : allRecords;
  const q = parseQuery(raw);
  const empty: Answer = { query: q.text, status: 'not-found', summary: '', facts: [], sources: [], related: [], candidates: [], suggestions: [] };
  const direct = ID_QUERY.test(q.text) ? lookup(q.text) : undefined;
  if (direct) return answerAbout(direct, q, lookup, graph, { quote: false });
  if (q.words.length === 0 && q.cves.length === 0) {
    return { ...empty, summary: 'Ask about an incident by name, alias, CVE id or a question, e.g. "skyecc" or "how many users did Sky ECC have?".' };
  }
  const description = q.terms.length >= DESCRIPTION_TERMS;
  const hits = rankedHits(index, q, visible);
  const top = hits[0];
  // A description's hits are scored by the evidence their texts give; whether the best gives enough is the
  // evidence check's call (MIN_EVIDENCE, in understand.ts), not the name index's score.
  if (!top || top.score <= 0 || (!description && top.score < NOT_FOUND_SCORE)) {
    return {
      ...empty,
      summary: `Nothing in the index matches "${truncateWords(q.text, 80)}".`,
      suggestions: suggestionsFor(index, q, hits, visible),
    };
  }
  const incident = lookup(top.id);
  if (!incident) return { ...empty, summary: 'The index is out of date with its records; try again shortly.' };
  const second = hits[1];
  // Records that share the top hit's name are candidates whatever their scores: the name alone cannot pick one.
  const close = (h: RankedHit) => h.score >= top.score * AMBIGUOUS_RATIO || (h.exactName === top.exactName && sameName(h, top));
  let ambiguous = !q.isQuestion && second !== undefined && close(second) && (!top.exactName || sameName(second, top));
  // A bare name that is one incident's distinctive name, among records that only carry it (a vendor's CVEs): that
  // incident is what it names; the others stay offered as suggestions.
  let alsoNamed: Incident[] = [];
  if (ambiguous) {
    const others = hits.slice(1).filter(close).flatMap((h) => lookup(h.id) ?? []);
    if (namesOneIncident(q, incident, others)) {
      ambiguous = false;
      alsoNamed = others.slice(0, MAX_CANDIDATES - 1);
    }
  }
  const candidates = ambiguous ? hits.filter(close).slice(0, MAX_CANDIDATES).flatMap((h) => refOf(lookup(h.id)) ?? []) : [];
  const sources = rankSources(incident.sources);
  return {
    query: q.text,
    status: ambiguous ? 'ambiguous' : 'found',
    incident: fullRef(incident),
    summary: summarize(incident),
    quote: q.isQuestion ? quoteFor(incident, q, sources[0]) : undefined,
    facts: factsOf(incident),
    sources,
    related: relatedTo(incident, hits, lookup, new Set(candidates.map((c) => c.id)), graph, alsoNamed.map((o) => o.id)),
    candidates,
    suggestions: ambiguous ? candidates.map((c) => c.title) : alsoNamed.map((o) => o.title),
  };
}

/**
 * Returns the found answer about a record already chosen (by id, or a follow-up's referent): its summary, facts,
 * sources and related records, and with `quote` the sentence of its text that answers the question.
 */
export function answerAbout(incident: Incident, q: ParsedQuery, lookup: RecordLookup, graph: Graph | undefined, options: { quote: boolean; intent?: Answer['intent'] }): Answer {
  const sources = rankSources(incident.sources);
  return {
    query: q.text,
    status: 'found',
    incident: fullRef(incident),
    summary: summarize(incident),
    ...(options.quote ? { quote: quoteFor(incident, q, sources[0]) } : {}),
    facts: factsOf(incident),
    sources,
    related: relatedTo(incident, [], lookup, new Set(), graph),
    candidates: [],
    suggestions: [],
    ...(options.intent ? { intent: options.intent } : {}),
  };
}

/** Most leading hits re-weighed by the evidence their whole text gives: each costs a pass over one record's text. */
export const EVIDENCE_RERANK = 10;
/** Fewest query terms for that re-weighing: a short name is settled by the name index, a description is not. */
export const EVIDENCE_MIN_TERMS = 3;
/**
 * Fewest terms of a description ("russian spies emailing signed remote desktop files"): its answer is the record whose
 * text tells most of it, which the name index may rank far down (it ranks by names), so more hits are re-weighed, and
 * evidence decides more (its square).
 */
export const DESCRIPTION_TERMS = 5;
/** Hits re-weighed for a description. */
export const DESCRIPTION_RERANK = 20;
/** Records the full-text search over a description (and its synonyms) adds to the hits re-weighed. */
export const DESCRIBED_CANDIDATES = 20;
/**
 * How much the search's score (over the best hit's) counts beside a description's evidence: names and boosted
 * fields break ties between records whose texts tell as much, but do not outvote what the texts tell.
 */
export const SEARCH_SHARE = 0.4;
/**
 * A description tells of something done (who did what to whom), which is an incident's story; a group or a tool
 * carries the same words in its profile. Context records weigh this much against an incident for a description.
 */
export const DESCRIPTION_CONTEXT_FACTOR = 0.85;

/** Returns the records a query may be answered by, best first: the name index's hits, re-weighed by evidence for longer questions. */
export function rankedHits(index: IncidentIndex, q: ParsedQuery, visible?: (id: string) => boolean): RankedHit[] {
  const description = q.terms.length >= DESCRIPTION_TERMS;
  return byEvidence(index, q, index.search(q, description ? DESCRIPTION_RERANK : 12, visible && ((h) => visible(h.id))), visible);
}

/**
 * Returns the hits with the leading few re-weighed by how much of the question's weight (rarer words weigh more) each
 * record's whole text carries, for descriptions: the name index ranks by names, and a long question is answered by
 * the record that holds most of what it says, not by the one whose name matches one of its words.
 */
function byEvidence(index: IncidentIndex, q: ParsedQuery, hits: RankedHit[], visible?: (id: string) => boolean): RankedHit[] {
  if (q.terms.length < EVIDENCE_MIN_TERMS || hits[0]?.exactName) return hits;
  const n = Math.max(1, index.size);
  const weight = (w: string) => Math.log(1 + n / (1 + index.text.df(w)));
  const description = q.terms.length >= DESCRIPTION_TERMS;
  if (!description && hits.length < 2) return hits;
  const size = description ? DESCRIPTION_RERANK : EVIDENCE_RERANK;
  const pool = hits.slice(0, size);
  const alsoSaid = nameAlternatives(index, q);
  if (description) {
    // Records whose texts tell the story in other words than their names: the name index may rank them far down.
    const seen = new Set(pool.map((h) => h.id));
    for (const id of describeCandidates(index, q, DESCRIBED_CANDIDATES, visible, alsoSaid)) {
      const record = seen.has(id) ? undefined : index.get(id);
      if (record) pool.push({ id, title: record.title, kind: record.kind, date: record.date?.value ?? null, score: 0, exactName: false });
    }
  }
  const best = Math.max(...pool.map((h) => h.score), Number.MIN_VALUE);
  const head = pool.map((h) => {
    const record = index.get(h.id);
    const share = record ? weighEvidence(record, q, weight, Infinity, alsoSaid).share : 0;
    // A description: the share of it a record's text tells decides (squared: telling most of it beats telling half),
    // and the search's own score, over its best, moves records that tell as much.
    const factor = description ? share * share * (CONTEXT_KINDS.has(h.kind) ? DESCRIPTION_CONTEXT_FACTOR : 1) : 0.4 + 0.6 * share;
    return { ...h, score: description ? factor * (1 - SEARCH_SHARE + SEARCH_SHARE * (h.score / best)) : h.score * factor };
  });
  head.sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : 1));
  if (description) return head;
  // The re-weighing orders; how sure the answer is stays the name index's call (NOT_FOUND_SCORE, AMBIGUOUS_RATIO): its
  // score for the new top.
  const original = hits.find((h) => h.id === head[0].id)!.score;
  const scale = head[0].score > 0 ? original / head[0].score : 1;
  return [...head.map((h) => ({ ...h, score: h.score * scale })), ...hits.slice(size)];
}

function fullRef(incident: Incident): NonNullable<Answer['incident']> {
  return { ...refOf(incident)!, aliases: incident.aliases, tags: incident.tags, sameAs: incident.sameAs ?? [] };
}

function sameName(a: RankedHit, b: RankedHit): boolean {
  return compactName(a.title) === compactName(b.title);
}

/** Returns the reference form of a record (for lists, candidates and related incidents). */
export function refOf(incident: Incident | undefined): IncidentRef | undefined {
  if (!incident) return undefined;
  const first = splitSentences(stripMarkup(incident.summary))[0] ?? '';
  return {
    id: incident.id,
    title: incident.title,
    kind: incident.kind,
    date: incident.date ? formatIncidentDate(incident.date) : null,
    blurb: truncateWords(first, 200),
    url: incident.sources.find((s) => s.url)?.url,
  };
}

/** Returns 2-4 sentences of the record's summary (and body, when the summary is short), at most MAX_SUMMARY_CHARS. */
export function summarize(incident: Incident): string {
  const sentences = splitSentences(stripMarkup(incident.summary));
  if (sentences.length < 2 && incident.body) sentences.push(...splitSentences(stripMarkup(incident.body)));
  let out = '';
  for (const s of sentences.slice(0, 4)) {
    const next = out ? `${out} ${s}` : s;
    if (next.length > MAX_SUMMARY_CHARS && out) break;
    out = next;
  }
  return truncateWords(out, MAX_SUMMARY_CHARS);
}

/** Returns the key facts a reader looks for first, as far as the record gives them. */
export function factsOf(incident: Incident): Fact[] {
  const facts: Fact[] = [];
  const e = incident.entities;
  if (incident.date) {
    const start = formatIncidentDate(incident.date);
    const end = incident.dateEnd ? formatIncidentDate(incident.dateEnd) : null;
    facts.push({ label: 'When', value: end && end !== start ? `${start} – ${end}` : start });
  }
  if (e.actors.length) facts.push({ label: 'Who', value: list(e.actors, 8) });
  const what = whatOf(incident);
  if (what) facts.push({ label: 'What', value: what });
  const impact = incident.impact ?? (incident.tags.some((t) => /^ransomware-use:known$/i.test(t)) ? 'Known to be used in ransomware campaigns' : undefined);
  if (impact) facts.push({ label: 'Impact', value: impact });
  if (e.countries.length) facts.push({ label: 'Where', value: list(e.countries, 10) });
  if (e.victims.length) facts.push({ label: 'Targets', value: list(e.victims, 8) });
  if (e.software.length) facts.push({ label: 'Tools', value: list(e.software, 10) });
  if (e.cves.length) facts.push({ label: 'CVEs', value: list(e.cves, 10) });
  return facts;
}

const KIND_LABEL = { incident: 'Incident', group: 'Threat group', software: 'Software', vulnerability: 'Exploited vulnerability' } as const;

function whatOf(incident: Incident): string {
  const tag = (prefix: string) => incident.tags.filter((t) => t.startsWith(`${prefix}:`)).map((t) => t.slice(prefix.length + 1));
  const vendor = tag('vendor')[0];
  const product = tag('product')[0];
  if (incident.kind === 'vulnerability' && (vendor || product)) {
    return `${KIND_LABEL.vulnerability} in ${[vendor, product].filter(Boolean).join(' ')}`;
  }
  const plain = incident.tags.filter((t) => !t.includes(':')).slice(0, 5);
  return plain.length ? `${KIND_LABEL[incident.kind]}: ${plain.join(', ')}` : KIND_LABEL[incident.kind];
}

function list(items: string[], max: number): string {
  return items.length > max ? `${items.slice(0, max).join(', ')} and ${items.length - max} more` : items.join(', ');
}

/** Returns sources deduplicated by URL (scheme, `www.`, trailing slash and fragment ignored), linked and titled first. */
export function rankSources(sources: readonly Source[]): AnswerSource[] {
  const seen = new Set<string>();
  const ranked: { s: AnswerSource; rank: number; order: number }[] = [];
  sources.forEach((src, order) => {
    const key = src.url ? urlKey(src.url) : `pub:${src.publisher ?? ''}:${src.published ?? ''}:${src.title ?? ''}`;
    if (seen.has(key)) return;
    seen.add(key);
    const title = src.title ?? (src.url ? hostOf(src.url) : undefined) ?? src.publisher ?? 'Source';
    const s: AnswerSource = { title };
    if (src.url && /^https?:\/\//i.test(src.url)) s.url = src.url;
    if (src.publisher) s.publisher = src.publisher;
    if (src.published) s.published = src.published;
    ranked.push({ s, rank: (s.url ? 0 : 2) + (src.title || src.publisher ? 0 : 1), order });
  });
  return ranked.sort((a, b) => a.rank - b.rank || a.order - b.order).map((r) => r.s);
}

function urlKey(url: string): string {
  try {
    const u = new URL(url);
    return `${u.host.replace(/^www\./, '')}${u.pathname.replace(/\/+$/, '')}${u.search}`.toLowerCase();
  } catch {
    return url.toLowerCase();
  }
}

function hostOf(url: string): string | undefined {
  try {
    return new URL(url).host.replace(/^www\./, '');
  } catch {
    return undefined;
  }
}

/** Years and days of months in running text ("October 17, 2023", "28 September"): dates, not counts. */
const DATE_IN_TEXT = /\b(?:(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.? \d{1,2}(?:st|nd|rd|th)?|\d{1,2}(?:st|nd|rd|th)? (?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*|(?:19|20)\d{2})\b/gi;

/** Returns the sentence of the record that best answers a question, quoted with the record's first source. */
export function quoteFor(incident: Incident, q: ParsedQuery, source: AnswerSource | undefined): Quote | undefined {
  const text = [stripMarkup(incident.summary), incident.body ? stripMarkup(incident.body) : ''].join(' ');
  const names = new Set([incident.title, ...incident.aliases].flatMap((n) => words(n)));
  // Words that name the incident say which record, not which sentence: only the rest pick the sentence.
  const asked = q.words.filter((w) => !isStopWord(w) && !names.has(w));
  const actors = incident.entities.actors.flatMap((a) => words(a));
  const focus = FOCUS_CUES.filter((cue) => cue.words.some((w) => q.words.includes(w)));
  let best: { s: string; score: number } | undefined;
  splitSentences(text).forEach((s, i) => {
    const ws = new Set(words(s));
    const stems = new Set([...ws].map(stem));
    let score = 0;
    // Words of one family meet ("hijacked" asks about "hijack").
    for (const w of asked) if (ws.has(w) || stems.has(stem(w))) score += 1;
    // A count is no date: "from September 28 to October 17, 2023" does not say how many.
    const undated = s.replace(DATE_IN_TEXT, ' ');
    if (q.wantsNumber && /\d[\d,.]*/.test(undated)) score += 1.5;
    if (q.questionWord === 'who' && actors.some((a) => ws.has(a))) score += 1.5;
    if (q.questionWord === 'when' && /\b(19|20)\d{2}\b/.test(s)) score += 1.5;
    if (q.questionWord === 'where' && incident.entities.countries.some((c) => s.includes(c))) score += 1.5;
    for (const cue of focus) if (cue.answer.test(cue.words.includes('many') ? undated : s)) score += 1.5;
    score -= i * 0.01;
    if (score > 0.5 && (!best || score > best.score)) best = { s, score };
  });
  return best ? { text: best.s, source } : undefined;
}

/**
 * Returns what a reader would look at next. From the graph first, by kind: a campaign's groups, then the software
 * it used and the CVEs it exploited; a group's campaigns (newest first), then its software; software's campaigns
 * (newest first) and the groups that use it; a CVE's campaigns, groups and software that exploit it. Then the
 * record's curated `related`, the looser links of the data, and finally other incidents the query also matched.
 */
function relatedTo(incident: Incident, hits: RankedHit[], lookup: RecordLookup, exclude: Set<string>, graph?: Graph, alsoNamed: readonly string[] = []): IncidentRef[] {
  const out: IncidentRef[] = [];
  const seen = new Set([incident.id, ...exclude]);
  const push = (id: string) => {
    if (out.length >= MAX_RELATED || seen.has(id)) return;
    const ref = refOf(lookup(id));
    if (!ref) return;
    seen.add(id);
    out.push(ref);
  };
  if (graph) {
    const sections = graphSections(incident, graph, lookup);
    // Every section gets a place before any gets a second one beyond its share: a group with many campaigns still
    // shows its software.
    const share = Math.max(1, Math.floor(MAX_RELATED / Math.max(1, sections.filter((s) => s.length > 0).length)));
    for (const section of sections) for (const id of section.slice(0, share)) push(id);
    for (const section of sections) for (const id of section) push(id);
  }
  // Records the question's name also names (a vendor's flaws beside the incident named after it), after the graph's.
  for (const id of alsoNamed) push(id);
  for (const id of incident.related) push(id);
  if (graph) for (const id of graph.neighbors(incident.id, 'related-to', 'both')) push(id);
  for (const h of hits.slice(1)) if (h.kind === 'incident' && h.score >= hits[0].score * 0.3) push(h.id);
  return out;
}

function graphSections(incident: Incident, graph: Graph, lookup: RecordLookup): string[][] {
  const id = incident.id;
  const newestFirst = (ids: string[]) => sortNewestFirst(ids, lookup);
  const ofKind = (ids: string[], kind: Incident['kind']) => ids.filter((i) => lookup(i)?.kind === kind);
  switch (incident.kind) {
    case 'incident':
      return [graph.neighbors(id, 'attributed-to'), graph.neighbors(id, 'uses'), graph.neighbors(id, 'exploits')];
    case 'group': {
      const users = graph.neighbors(id, 'attributed-to', 'in');
      return [newestFirst(ofKind(users, 'incident')), graph.neighbors(id, 'uses'), graph.neighbors(id, 'exploits')];
    }
    case 'software': {
      const users = graph.neighbors(id, 'uses', 'in');
      return [newestFirst(ofKind(users, 'incident')), ofKind(users, 'group')];
    }
    case 'vulnerability': {
      const users = graph.neighbors(id, 'exploits', 'in');
      return [newestFirst(ofKind(users, 'incident')), ofKind(users, 'group'), ofKind(users, 'software')];
    }
  }
}

/** Returns the ids ordered by their record's date, newest first; undated records last, in their given order. */
export function sortNewestFirst(ids: readonly string[], lookup: RecordLookup): string[] {
  const dated = ids.map((id, i) => ({ id, i, date: lookup(id)?.date?.value ?? '' }));
  dated.sort((a, b) => (a.date === b.date ? a.i - b.i : a.date === '' ? 1 : b.date === '' ? -1 : a.date < b.date ? 1 : -1));
  return dated.map((d) => d.id);
}

function suggestionsFor(index: IncidentIndex, q: ParsedQuery, hits: RankedHit[], visible?: (id: string) => boolean): string[] {
  const titles = new Set<string>();
  for (const h of hits.slice(0, 5)) titles.add(h.title);
  if (titles.size < 5) for (const s of index.suggest(q.terms.join(' ') || q.text, visible ? 15 : 5)) if (!visible || visible(s.id)) titles.add(s.name);
  return [...titles].slice(0, 5);
}

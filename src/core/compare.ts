import type { Answer, ComparedSide, Comparison, Fact } from './answer-model.js';
import { refOf, type RecordLookup } from './answer.js';
import type { Graph } from './graph.js';
import { formatIncidentDate, type Incident } from './incident.js';

/** Most values a compared fact lists: a column of a side-by-side view must stay readable. */
const MAX_VALUES = 8;

/** Returns the comparison of two records: who, when, tools and targets of each, and what both share. */
export function compareAnswer(query: string, left: Incident, right: Incident, lookup: RecordLookup, graph: Graph | undefined): Answer {
  const a = sideValues(left, lookup, graph);
  const b = sideValues(right, lookup, graph);
  const shared: Comparison['shared'] = [];
  for (const label of ORDER) {
    const theirs = new Set((b.get(label) ?? []).map((v) => v.toLowerCase()));
    const both = (a.get(label) ?? []).filter((v) => theirs.has(v.toLowerCase()));
    if (both.length && label !== 'When' && label !== 'Kind') shared.push({ label, values: both.slice(0, MAX_VALUES) });
  }
  const side = (incident: Incident, values: Map<Fact['label'], string[]>): ComparedSide => ({
    ref: { ...refOf(incident)!, ...(incident.sameAs?.length ? { sameAs: incident.sameAs } : {}) },
    facts: ORDER.flatMap((label) => {
      const vs = values.get(label) ?? [];
      return vs.length ? [{ label, value: vs.length > MAX_VALUES ? `${vs.slice(0, MAX_VALUES).join(', ')} and ${vs.length - MAX_VALUES} more` : vs.join(', ') }] : [];
    }),
  });
  const comparison: Comparison = { left: side(left, a), right: side(right, b), shared };
  const sharedText = shared.length ? `Both: ${shared.map((s) => `${s.label.toLowerCase()} ${s.values.slice(0, 3).join(', ')}`).join('; ')}.` : 'They share no tools, targets or CVEs in the data.';
  return {
    query,
    status: 'comparison',
    intent: 'compare',
    summary: `${left.title} compared with ${right.title}. ${sharedText}`,
    facts: [],
    sources: [],
    related: [],
    candidates: [],
    suggestions: [],
    items: [comparison.left.ref, comparison.right.ref],
    comparison,
  };
}

/** The facts compared, in the order a reader compares them. */
const ORDER: Fact['label'][] = ['Kind', 'Who', 'When', 'Where', 'Tools', 'Targets', 'CVEs'];

const KIND_NAME = { incident: 'Incident', group: 'Threat group', software: 'Software', vulnerability: 'Exploited vulnerability' } as const;

function sideValues(r: Incident, lookup: RecordLookup, graph: Graph | undefined): Map<Fact['label'], string[]> {
  const titles = (ids: string[]) => ids.map((id) => lookup(id)?.title ?? graph?.label(id) ?? id);
  const out = new Map<Fact['label'], string[]>();
  const put = (label: Fact['label'], values: string[]) => {
    const uniq = [...new Set(values.filter(Boolean))];
    if (uniq.length) out.set(label, uniq);
  };
  put('Kind', [KIND_NAME[r.kind]]);
  const who = graph ? titles(graph.neighbors(r.id, 'attributed-to').filter((id) => !id.startsWith('country:'))) : [];
  put('Who', [...r.entities.actors, ...who]);
  if (r.date) put('When', [r.dateEnd ? `${formatIncidentDate(r.date)} – ${formatIncidentDate(r.dateEnd)}` : formatIncidentDate(r.date)]);
  const origin = graph ? graph.neighbors(r.id, 'attributed-to').filter((id) => id.startsWith('country:')).map((id) => graph.label(id) ?? id.slice(8)) : [];
  put('Where', [...origin, ...r.entities.countries]);
  put('Tools', [...r.entities.software, ...(graph ? titles(graph.neighbors(r.id, 'uses')) : [])]);
  const targets = graph ? graph.neighbors(r.id, 'targets').map((id) => graph.label(id) ?? id) : [];
  put('Targets', [...r.entities.victims, ...targets]);
  const cves = graph ? graph.neighbors(r.id, 'exploits').map((id) => lookup(id)?.title.match(/CVE-\d{4}-\d+/)?.[0] ?? graph.label(id) ?? id) : [];
  put('CVEs', [...r.entities.cves, ...cves]);
  return out;
}

import type { RecordLookup } from './answer.js';
import { countryCode } from './countries.js';
import type { FeedPosts } from './feed-posts.js';
import { nameWord, nameWordsOf, wordMatches } from './name-cover.js';
import type { Graph } from './graph.js';
import type { Incident, IncidentKind } from './incident.js';
import type { IncidentIndex } from './incident-index.js';
import { DEEDS_WORDS, DEMONYMS, LATEST_WORDS, LIST_LEADS, LIST_NOUNS, PRONOUNS, RELATION_VERBS } from './intents.js';
import { datedInRange, groupsOf, holdsName, inRange, newestFirst, postsAbout, relatedOfKind, withPosts } from './lists.js';
import { isStopWord } from './query.js';
import { MAX_SPAN_WORDS, namedSpan, resolveName } from './resolve-name.js';
import type { TimeRange } from './time-range.js';

/** Words that only fill a question ("anything notable in May 2024?"): no identity, no intent. */
export const FILLER: ReadonlySet<string> = new Set(
  ('anything something everything notable noteworthy interesting important significant major big news update updates happening there kind kinds type types sort ' +
    // Asking what went on names nothing: "what happened last week" is a time alone, not a text that says "last week".
    'happen happens happened occur occurs occurred going went new').split(' '),
);

/** Words around a subject that describe it without naming it ("pakistani apt groups", "state-sponsored actors"). */
const DESCRIBERS: ReadonlySet<string> = new Set('apt state sponsored backed based nation linked affiliated threat cyber espionage criminal hacking security'.split(' '));

/** What a list question asks for: records of `target` kind about a subject (record, country, vendor), or by time only. */
export interface ListPlan {
  target?: IncidentKind;
  subject?: Incident;
  /** Whether the subject was named in the question (not taken from the conversation). */
  named: boolean;
  country?: string;
  facet?: Set<string>;
  facetLabel?: string;
}

/** Returns what list the words ask for, or undefined when they ask for one record (or nothing a list can answer). */
export function listPlan(index: IncidentIndex, ws: string[], referent: Incident | undefined, timed: boolean, visible?: (id: string) => boolean): ListPlan | undefined {
  let target: IncidentKind | undefined;
  const rest: string[] = [];
  let deeds = false;
  let lead = false;
  for (const w of ws) {
    if (LIST_NOUNS[w] && !target) target = LIST_NOUNS[w];
    else if (LIST_NOUNS[w]) continue;
    else if (DEEDS_WORDS.has(w)) deeds = true;
    else if (LIST_LEADS.has(w)) lead = true;
    else if (!isStopWord(w) && !FILLER.has(w) && !LATEST_WORDS.has(w) && !PRONOUNS.has(w) && w !== 'kev' && !/^\d{1,2}$/.test(w)) rest.push(w);
  }
  if (!target && deeds) target = 'incident';
  // "Who deploys X?", "who exploited CVE-…?": the users of a tool or a flaw, as a list of groups.
  if (!target && ws[0] === 'who' && ws.some((w) => RELATION_VERBS.has(w))) target = 'group';
  if (!target) {
    // "What's new with LockBit", "lockbit since march": the newest records about a named subject.
    if (!timed) return undefined;
    if (rest.length === 0 && referent) return { subject: referent, named: false };
    const subject = rest.length ? resolveName(index, rest.join(' '), visible) : undefined;
    return subject ? { subject, named: true } : undefined;
  }
  if (referent && rest.length === 0) return { target, subject: referent, named: false };
  if (rest.length === 0) return lead || timed || ws.includes('kev') ? { target, named: false } : undefined;

  const content = rest.filter((w) => !DESCRIBERS.has(w));
  const country = countryOf(content);
  if (country && country.rest.length === 0) return { target: target === 'incident' ? 'incident' : 'group', country: country.code, named: true };

  const facets = index.facets();
  const facetWords = content.filter((w) => facets.has(w));
  // A vendor or product among many other words, with no word asking for a list, is a detail of a description
  // ("fancy bear hacking cisco routers through old bugs to spy on networks"), not a request for the vendor's flaws.
  const describes = !lead && content.length - facetWords.length > MAX_LIST_EXTRA_WORDS;
  if (facetWords.length && !describes && (target === 'vulnerability' || facetWords.length === content.length)) {
    const any = facets.match(facetWords) ?? union(facetWords.map((w) => facets.match([w]) ?? new Set<string>()));
    if (any.size) return { target: 'vulnerability', facet: any, facetLabel: facetWords.join(' '), named: true };
  }
  const found = resolveName(index, content.join(' '), visible);
  const subject = (found && namedByWords(found, content) ? found : undefined) ?? namedSpan(index, content, 1, visible);
  if (subject) return { target, subject, named: true };
  // "Which CVEs did CISA add in March 2025": a kind and a time, with words that name nothing, list by time; a
  // question that names something besides ("which malware did Sandworm use on substations in 2016") is no list, nor
  // is a description that mentions a kind in passing ("attackers who stitched free tools together in 2019").
  if (!lead && content.length > MAX_LIST_EXTRA_WORDS) return undefined;
  return timed && !namedSpan(index, content, MAX_SPAN_WORDS, visible) ? { target, named: false } : undefined;
}

/**
 * Whether the words are the record's name (every word one of its names' words, typos allowed): a list's subject is
 * what the question names, not a record whose text happens to hold its words ("hospital ransomware" are a topic's
 * words, and a record that mentions both is not what "hospital ransomware attacks in 2023" asks about).
 */
function namedByWords(record: Incident, ws: readonly string[]): boolean {
  const names = nameWordsOf([record.title, ...record.aliases], false);
  return ws.every((w) => {
    const t = nameWord(w);
    return names.some((name) => name.some((n) => wordMatches(t, n)));
  });
}

/**
 * Most words besides a kind, a time, a vendor or product that a list may have without a word asking for a list
 * ("which", "all"): more describe one thing ("attackers who cobbled free open-source tools together in early 2019").
 */
const MAX_LIST_EXTRA_WORDS = 3;

/** Returns every id of the sets, once. */
function union(sets: Set<string>[]): Set<string> {
  const out = new Set<string>();
  for (const s of sets) for (const id of s) out.add(id);
  return out;
}

/** Returns the country the words name (a demonym or a country's name) and the words left, or undefined. */
function countryOf(ws: string[]): { code: string; rest: string[] } | undefined {
  for (let i = 0; i < ws.length; i++) {
    const two = i + 1 < ws.length ? `${ws[i]} ${ws[i + 1]}` : '';
    const code2 = two ? DEMONYMS[two] ?? countryCode(two) : undefined;
    if (code2) return { code: code2, rest: ws.filter((_, j) => j !== i && j !== i + 1) };
    const code = DEMONYMS[ws[i]] ?? (ws[i].length > 3 ? countryCode(ws[i]) : undefined);
    if (code) return { code, rest: ws.filter((_, j) => j !== i) };
  }
  return undefined;
}

/** Returns the ids a list plan (or a time range alone) lists, ordered, with a one-line title. */
export function listIds(
  index: IncidentIndex,
  lookup: RecordLookup,
  plan: ListPlan | undefined,
  range: TimeRange | undefined,
  visible: ((id: string) => boolean) | undefined,
  graph: Graph | undefined,
  posts: FeedPosts | undefined,
): { ids: string[]; title: string } | undefined {
  const when = range?.matched ? ` (${range.matched})` : '';
  const dateOf = (id: string) => posts?.dateOf(id) ?? lookup(id)?.date;
  if (!plan) {
    const records = datedInRange(index.byDate(), undefined, range, visible);
    const ids = posts ? withPosts(records, posts, range, dateOf, visible) : records;
    return { ids, title: `Records dated${when}, newest first.` };
  }
  const kindLabel = plan.target ? KIND_PLURAL[plan.target] : 'Records';
  if (plan.facet) {
    const ids = newestFirst(inRange([...plan.facet].filter((id) => lookup(id)), range, dateOf), dateOf);
    return { ids, title: `${kindLabel} of ${plan.facetLabel}${when}, newest first.` };
  }
  if (!plan.subject && !plan.country) {
    const ids = datedInRange(index.byDate(), plan.target, range, visible);
    return { ids, title: `${kindLabel}${when}, newest first.` };
  }
  if (!graph) return undefined;
  if (plan.country) {
    const ids = groupsOf(graph, plan.country, lookup);
    return { ids, title: `${kindLabel} from ${graph.label(`country:${plan.country}`) ?? plan.country}.` };
  }
  const subject = plan.subject!;
  let ids: string[];
  if (plan.target) {
    ids = relatedOfKind(graph, subject, plan.target, lookup);
    // A group's campaigns include those named after it that state no attribution ("<group> TTP evolution").
    if (subject.kind === 'group' && plan.target === 'incident') ids.push(...mentions(index, subject, 'incident', visible));
  } else {
    // "What's new with X": what the graph links to it, the dated records that name it, and the feed posts about it.
    ids = [...graph.neighbors(subject.id, undefined, 'both').filter((id) => !posts?.has(id) && lookup(id)?.date), ...mentions(index, subject, undefined, visible)];
    ids = [...new Set(ids)].filter((id) => id !== subject.id && lookup(id));
    if (posts) ids.push(...postsAbout(posts, subject, ids, visible));
  }
  ids = [...new Set(ids)].filter((id) => id !== subject.id && (posts?.has(id) || lookup(id)));
  ids = newestFirst(inRange(ids, range, dateOf), dateOf);
  const what = plan.target ? kindLabel : "Newest records";
  return { ids, title: `${what} linked to ${subject.title}${when}${ids.some((id) => lookup(id)?.date) ? ', newest first' : ''}.` };
}

/** Returns records (of a kind) whose title or aliases name the subject, found by a search for its title. */
function mentions(index: IncidentIndex, subject: Incident, kind: IncidentKind | undefined, visible?: (id: string) => boolean): string[] {
  const hits = index.search(subject.title, 30, (h) => (!kind || h.kind === kind) && (!visible || visible(h.id)));
  const names = [subject.title, ...subject.aliases];
  return hits.filter((h) => h.id !== subject.id && names.some((n) => holdsName(h.title, n))).map((h) => h.id);
}

/** A kind's plural as a list's title starts with it. */
export const KIND_PLURAL: Record<IncidentKind, string> = { incident: 'Campaigns', group: 'Groups', software: 'Software', vulnerability: 'Exploited vulnerabilities' };

import type { Answer, IncidentRef } from './answer-model.js';
import { answerAbout, answerQuery, refOf, type AnswerOptions, type RecordLookup } from './answer.js';
import { compareAnswer } from './compare.js';
import { descriptionDoubt, evidenceFor, MIN_EVIDENCE, weighEvidence } from './confidence.js';
import type { ConversationContext } from './conversation.js';
import { countryCode } from './countries.js';
import type { Graph } from './graph.js';
import type { Incident, IncidentKind } from './incident.js';
import type { IncidentIndex } from './incident-index.js';
import { COMPARE_PATTERNS, FOCUS_CUES, RELATION_VERBS, DEEDS_WORDS, DEMONYMS, LATEST_WORDS, LIST_LEADS, LIST_NOUNS, ORDINALS, PRONOUNS } from './intents.js';
import type { FeedPosts } from './feed-posts.js';
import { datedInRange, decodeCursor, encodeCursor, groupsOf, holdsName, inRange, LIST_PAGE_SIZE, newestFirst, postsAbout, relatedOfKind, withPosts } from './lists.js';
import { isStopWord, parseQuery, words } from './query.js';
import { readTimeRange, type TimeRange } from './time-range.js';
import { compactName, foldText, truncateWords } from './text.js';
import { nameCoverage, nameWord, nameWordsOf, wordMatches } from './name-cover.js';
import { nameAlternatives } from './name-alternatives.js';

/** What answering needs besides the index: who may see what, the graph, the conversation, the page, and today. */
export interface UnderstandOptions extends AnswerOptions {
  /** What the conversation remembers from its last answer: pronouns and ordinals resolve against it. */
  context?: ConversationContext;
  /** Where the page to show starts (a list's cursor). */
  cursor?: string;
  /** Today, for "latest", "this year", "since March". */
  now?: Date;
  /** Feed posts that report a known story: lists of what is new show them beside the records. */
  posts?: FeedPosts;
}

/** Most records a word may be carried by and still count as naming what the question asks about. */
const RARE_CARRIERS = 3;

/** Most terms a question may have for an unknown word in it to count as a name the data lacks. */
const MAX_NAME_TERMS = 4;

/** Words that only fill a question ("anything notable in May 2024?"): no identity, no intent. */
const FILLER: ReadonlySet<string> = new Set(
  ('anything something everything notable noteworthy interesting important significant major big news update updates happening there kind kinds type types sort ' +
    // Asking what went on names nothing: "what happened last week" is a time alone, not a text that says "last week".
    'happen happens happened occur occurs occurred going went new').split(' '),
);
/** Words that ask about a thing without naming it: with nothing else, a question made of them is an ellipsis. */
const GENERIC_ASKS: ReadonlySet<string> = new Set([
  ...FOCUS_CUES.flatMap((c) => c.words),
  ...'cve vulnerability vuln bug flaw group actor gang tool malware software campaign operation target targets victim victims country sector os'.split(' '),
]);

/** Words around a subject that describe it without naming it ("pakistani apt groups", "state-sponsored actors"). */
const DESCRIBERS: ReadonlySet<string> = new Set('apt state sponsored backed based nation linked affiliated threat cyber espionage criminal hacking security'.split(' '));

/**
 * Returns the answer to one question as people type it: a comparison, a list (from the graph, by vendor or product,
 * by country, or by time), a follow-up about the conversation's last answer, or a lookup, fact or topic answered from
 * one record, with `not-found` or `ambiguous` when the evidence is weak. Never throws, whatever the input.
 */
export function understandQuery(index: IncidentIndex, allRecords: RecordLookup, raw: string, options: UnderstandOptions = {}): Answer {
  const { visible, graph } = options;
  const lookup: RecordLookup = visible ? (id) => (visible(id) ? allRecords(id) : undefined) : allRecords;
  const text = String(raw ?? '').replace(/\s+/g, ' ').trim().slice(0, 300);
  const folded = normalise(foldText(text));
  const cursor = decodeCursor(options.cursor);
  const offset = cursor?.offset ?? 0;

  const sides = compareSides(folded);
  if (sides) {
    let left = resolveName(index, sides[0], visible);
    let right = resolveName(index, sides[1], visible);
    // "FIN7 vs Carbanak": a name both a group and its malware carry is the one of the other side's kind.
    if (left && right && left.kind !== right.kind) {
      right = resolveName(index, sides[1], visible, [left.kind], true) ?? right;
      if (left.kind !== right.kind) left = resolveName(index, sides[0], visible, [right.kind], true) ?? left;
    }
    if (left && right && left.id !== right.id) return compareAnswer(text, left, right, lookup, graph);
  }

  const ws = words(folded);
  // A post listed earlier stands for the story it reports ("tell me more about the second one").
  const recordOf = (id: string) => lookup(id) ?? lookup(options.posts?.storyOf(id) ?? '');
  // A later page is the question its first page answered: a follow-up's page names its subject in the cursor, and a
  // page of any other list is no follow-up of that first page ("anything recent?" asked again for page 2).
  const referent = cursor?.subject ? lookup(cursor.subject) : cursor ? undefined : followUpReferent(index, ws, options.context, recordOf, visible);
  const range = readTimeRange(text, options.now ?? new Date());
  const timed = Boolean(range && (range.from || range.to || range.recency));
  let plan = listPlan(index, range ? words(normalise(foldText(range.rest))) : ws, referent, timed, visible);
  // A plural that is part of one record's name ("<product> zero-days" for "<Product> Zero-Day Exploits") names that
  // record, unless the question asks for many ("which", "all", "list") or for a time.
  if (plan && !timed && !ws.some((w) => LIST_LEADS.has(w)) && namesOneRecord(index, text, visible)) plan = undefined;

  // A time alone lists what happened then, unless the question also names something ("who hacked X in 2017").
  const timeOnly = timed && !referent && !plan && contentWords(range ? words(foldText(range.rest)) : ws).length === 0;
  if (plan || timeOnly) {
    let list = listIds(index, lookup, plan, range, visible, graph, options.posts);
    // A subject with nothing of the kind asked for, in a time range, still has the range's records of that kind: a
    // list by time, so it is labelled by what the question asked (the latest), not as the subject's list.
    let listed = plan;
    if (plan?.target && timed && (!list || list.ids.length === 0)) {
      listed = { target: plan.target, named: false };
      list = listIds(index, lookup, listed, range, visible, graph, options.posts);
      const about = plan.subject ?? referent;
      const when = range?.matched ? ` (${range.matched})` : '';
      if (list && about) list.title = `Nothing linked to ${about.title}${when}; the latest ${KIND_PLURAL[plan.target].toLowerCase()}${when} instead, newest first.`;
    }
    if (list && list.ids.length > 0) {
      const page = list.ids.slice(offset, offset + LIST_PAGE_SIZE).flatMap((id) => options.posts?.refOf(id) ?? refWithSameAs(lookup(id)) ?? []);
      const next = offset + LIST_PAGE_SIZE < list.ids.length ? encodeCursor({ offset: offset + LIST_PAGE_SIZE, subject: referent && !plan?.named ? referent.id : undefined }) : undefined;
      return {
        query: text,
        status: 'list',
        intent: range?.recency || (range && !listed?.subject) ? 'latest' : 'list',
        summary: list.title,
        facts: [],
        sources: [],
        related: [],
        candidates: [],
        suggestions: [],
        items: page,
        total: list.ids.length,
        ...(next ? { cursor: next } : {}),
      };
    }
    // A time alone with nothing dated in it has nothing to say: searching the text for "last week" finds records that
    // happen to say it, which are not what happened then.
    if (timeOnly) {
      const when = range?.matched ? ` ${range.matched}` : '';
      return { query: text, status: 'not-found', intent: 'latest', summary: `Nothing in the data is dated${when}.`, facts: [], sources: [], related: [], candidates: [], suggestions: [] };
    }
  }

  if (referent) {
    const q = parseQuery(text);
    const asks = q.questionWord !== undefined || q.terms.some((t) => !PRONOUNS.has(t) && !ORDINALS[t] && t !== 'one');
    return answerAbout(referent, q, lookup, graph, { quote: asks, intent: asks ? 'fact' : 'lookup' });
  }

  const answer = answerQuery(index, allRecords, text, options);
  return { ...notSure(index, answer, lookup, graph), intent: singleIntent(parseQuery(text)) };
}

/** Returns the words of a question that may name something: not grammar, filler, cue or kind words. */
function contentWords(ws: readonly string[]): string[] {
  return ws.filter((w) => !isStopWord(w) && !FILLER.has(w) && !LATEST_WORDS.has(w) && !LIST_NOUNS[w] && !LIST_LEADS.has(w) && !/^\d{1,2}$/.test(w));
}

/** Fewest terms of a description that names nothing ("fake captcha pages that make you paste powershell"). */
const TOPIC_TERMS = 4;

/** Returns what a question answered by one record asked for: a fact (a question), a topic (a description), or a lookup. */
function singleIntent(q: ReturnType<typeof parseQuery>): Answer['intent'] {
  if (q.isQuestion) return 'fact';
  return q.terms.length >= TOPIC_TERMS ? 'topic' : 'lookup';
}

/** Returns the two sides of a comparison ("X vs Y", "difference between X and Y"), or undefined. */
function compareSides(folded: string): [string, string] | undefined {
  const plain = folded.replace(/[?!.]+$/g, '').trim();
  for (const re of COMPARE_PATTERNS) {
    const m = re.exec(plain);
    if (m && m[1].trim() && m[2].trim()) return [m[1].trim(), m[2].trim()];
  }
  return undefined;
}

/** Returns the record a short name most likely means (a compared side, a list's subject), or undefined when none is clear. */
function resolveName(index: IncidentIndex, name: string, visible?: (id: string) => boolean, kinds?: readonly IncidentKind[], exactOnly = false): Incident | undefined {
  const q = parseQuery(name);
  if (q.terms.length === 0 || q.terms.length > 4) return undefined;
  const hits = index.search(q, 5, (h) => (!visible || visible(h.id)) && (!kinds || kinds.includes(h.kind)));
  const top = hits[0];
  if (!top) return undefined;
  const record = index.get(top.id);
  if (!record) return undefined;
  if (top.exactName) return record;
  if (exactOnly) return undefined;
  // A name typed with a slip or a word around it: the record must carry every term (evidence, not only a score).
  return evidenceFor(record, q, () => 1) >= 0.99 ? record : undefined;
}

/** Returns the record a follow-up refers to ("it", "that", "the second one"), or undefined when the question stands alone. */
function followUpReferent(index: IncidentIndex, ws: string[], context: ConversationContext | undefined, lookup: RecordLookup, visible?: (id: string) => boolean): Incident | undefined {
  if (!context) return undefined;
  const ordinal = ws.map((w) => ORDINALS[w]).find((n) => n !== undefined);
  const items = context.itemIds ?? [];
  if (ordinal !== undefined && items.length) {
    const id = ordinal < 0 ? items[items.length - 1] : items[ordinal - 1];
    return id ? lookup(id) : undefined;
  }
  // "that"/"this" are pronouns only where no noun follows ("who did that"), not in "campaigns that used X".
  const last = ws.length - 1;
  const pronoun = ws.some((w, i) => PRONOUNS.has(w) && (!['that', 'this', 'those', 'these'].includes(w) || i === last)) || ws[0] === 'and';
  // An ellipsis names nothing and asks only what kind of thing ("what was the CVE?", "which tools?").
  const ellipsis = ws.length <= 8 && contentWords(ws).every((w) => GENERIC_ASKS.has(w));
  if (!pronoun && !ellipsis) return undefined;
  // A question that names a record of its own is about that one ("what does LockBit do with its victims' data?").
  const rest = contentWords(ws).filter((w) => !PRONOUNS.has(w) && !GENERIC_ASKS.has(w));
  const named = rest.length ? namedSpan(index, rest, MAX_SPAN_WORDS, visible) : undefined;
  if (named && named.id !== context.recordId && !items.includes(named.id)) return undefined;
  const id = context.recordId ?? items[0];
  return id ? lookup(id) : undefined;
}

/** What a list question asks for: records of `target` kind about a subject (record, country, vendor), or by time only. */
interface ListPlan {
  target?: IncidentKind;
  subject?: Incident;
  /** Whether the subject was named in the question (not taken from the conversation). */
  named: boolean;
  country?: string;
  facet?: Set<string>;
  facetLabel?: string;
}

/** Returns what list the words ask for, or undefined when they ask for one record (or nothing a list can answer). */
function listPlan(index: IncidentIndex, ws: string[], referent: Incident | undefined, timed: boolean, visible?: (id: string) => boolean): ListPlan | undefined {
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
  return ws.every((w) => { const t = nameWord(w); return names.some((name) => name.some((n) => wordMatches(t, n))); });
}

/**
 * Most words besides a kind, a time, a vendor or product that a list may have without a word asking for a list
 * ("which", "all"): more describe one thing ("attackers who cobbled free open-source tools together in early 2019").
 */
const MAX_LIST_EXTRA_WORDS = 3;

/** Least share of a question a record's name must cover, and of the name the question must, for it to name that record. */
const WHOLE_NAME_COVER = 0.75;

/** Returns whether the question, its kind words included, is (nearly) the name of the record the index ranks first. */
function namesOneRecord(index: IncidentIndex, text: string, visible?: (id: string) => boolean): boolean {
  const q = parseQuery(text);
  const top = index.search(q, 1, visible && ((h) => visible(h.id)))[0];
  const record = top && index.get(top.id);
  if (!record) return false;
  const typed = q.words.filter((w) => !isStopWord(w) && !LIST_LEADS.has(w));
  return nameCoverage(typed, nameWordsOf([record.title, ...record.aliases], false)).whole >= WHOLE_NAME_COVER;
}

/** Most words a subject's name is looked for in: spans of them are tried, so the work stays bounded. */
const MAX_SPAN_WORDS = 6;

/** Returns the record that a run of the words names exactly ("exfiltrate with rclone" names rclone), longest run first. */
function namedSpan(index: IncidentIndex, ws: string[], maxLeftover: number, visible?: (id: string) => boolean): Incident | undefined {
  const words = ws.slice(0, MAX_SPAN_WORDS);
  for (let len = Math.min(words.length, 3); len >= 1; len--) {
    for (let i = 0; i + len <= words.length; i++) {
      // The words left over must be few: a question with more besides the name asks something else ("which malware
      // did sandworm use on ukrainian substations" asks about one campaign, not for a list).
      if (words.length - len > maxLeftover) continue;
      const found = resolveName(index, words.slice(i, i + len).join(' '), visible, undefined, true);
      if (found) return found;
    }
  }
  return undefined;
}

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
function listIds(
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

const KIND_PLURAL: Record<IncidentKind, string> = { incident: 'Campaigns', group: 'Groups', software: 'Software', vulnerability: 'Exploited vulnerabilities' };

/** Returns the reference form of a record with the ids merged into it (a list's reader and the eval match on them). */
function refWithSameAs(incident: Incident | undefined): IncidentRef | undefined {
  const ref = refOf(incident);
  return ref && incident?.sameAs?.length ? { ...ref, sameAs: incident.sameAs } : ref;
}

/** Writes variants of a few words one way ("zero-day", "0day" -> "zerodays"), so the cue tables hold one spelling. */
function normalise(folded: string): string {
  return folded.replace(/\b(?:zero|0)[\s-]?days\b/g, 'zerodays').replace(/\b(?:zero|0)[\s-]?day\b/g, 'zeroday').replace(/'s\b/g, ' s');
}

/**
 * Returns the records that may say a record's place for it: a campaign's groups and tools, a tool's users, a group's
 * tools (a campaign rarely restates its group's country). Graph links only: other records the question also matched
 * share its words, not its story, and would vouch for any place.
 */
function placeVouchers(record: Incident, graph: Graph | undefined): string[] {
  if (!graph) return [];
  return [...graph.neighbors(record.id, ['attributed-to', 'uses'], 'out'), ...(record.kind === 'software' ? graph.neighbors(record.id, 'uses', 'in') : [])];
}

/**
 * Returns the answer, or not-found/ambiguous when its record carries too little of the question: a confident answer
 * about an unrelated record is worse than saying so.
 */
function notSure(index: IncidentIndex, answer: Answer, lookup: RecordLookup, graph: Graph | undefined): Answer {
  if (answer.status !== 'found' || !answer.incident) return answer;
  const q = parseQuery(answer.query);
  const record = lookup(answer.incident.id);
  if (!record || q.cves.length) return answer;
  // A record id (its own or one merged into it) asks for that record.
  if (record.id === q.text || record.sameAs?.includes(q.text)) return answer;
  // A question that is one of the record's names is answered by it, whatever else its text says.
  const typed = compactName(q.words.filter((w) => !isStopWord(w)).join(' '));
  if (typed && [record.title, ...record.aliases].some((name) => compactName(name) === typed)) return answer;
  const n = Math.max(1, index.size);
  const unknown = Math.log(1 + n);
  const evidence = weighEvidence(record, q, (w) => Math.log(1 + n / (1 + index.text.df(w))), unknown, nameAlternatives(index, q));
  // A word no record knows is a name the data lacks in a short question ("crimson osprey"); in a long description it
  // is more often a casual word ("on-prem"), and the share alone decides.
  const unknownName = evidence.unknownMissing && q.terms.length <= MAX_NAME_TERMS;
  const doubt = descriptionDoubt(record, q, evidence, placeVouchers(record, graph).flatMap((id) => lookup(id) ?? []));
  if (evidence.share >= MIN_EVIDENCE && !unknownName && !doubt) return answer;
  // The query's rarest word, held by at most RARE_CARRIERS records, this one among them ("viasat" in "viasat
  // satellite hack"): that word is the name asked about. In a description, one rare word shared ("lithuanian") is
  // a detail in common, not a name: the share decides. A place the record never names is another story's, name or not.
  if (!unknownName && doubt !== 'place' && q.terms.length <= MAX_NAME_TERMS && evidence.rarestCarried >= Math.log(1 + n / (1 + RARE_CARRIERS))) return answer;
  const candidates = [answer.incident, ...answer.related].slice(0, 3).map(({ id, title, kind, date, blurb, url }) => ({ id, title, kind, date, blurb, ...(url ? { url } : {}) }));
  return {
    ...answer,
    status: 'not-found',
    summary: `Nothing in the data clearly matches "${truncateWords(answer.query, 80)}"; the closest records carry only part of it.`,
    quote: undefined,
    candidates: [],
    suggestions: candidates.map((c) => c.title),
  };
}

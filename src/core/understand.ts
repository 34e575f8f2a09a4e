import type { Answer, IncidentRef } from './answer-model.js';
import { answerAbout, answerQuery, refOf, type AnswerOptions, type RecordLookup } from './answer.js';
import { compareAnswer } from './compare.js';
import { descriptionDoubt, MIN_EVIDENCE, weighEvidence } from './confidence.js';
import type { ConversationContext } from './conversation.js';
import type { Incident } from './incident.js';
import type { IncidentIndex } from './incident-index.js';
import { COMPARE_PATTERNS, FOCUS_CUES, LATEST_WORDS, LIST_LEADS, LIST_NOUNS, ORDINALS, PRONOUNS } from './intents.js';
import type { FeedPosts } from './feed-posts.js';
import type { Graph } from './graph.js';
import { decodeCursor, encodeCursor, LIST_PAGE_SIZE } from './lists.js';
import { isStopWord, parseQuery, words } from './query.js';
import { readTimeRange } from './time-range.js';
import { compactName, foldText, truncateWords } from './text.js';
import { nameCoverage, nameWordsOf } from './name-cover.js';
import { nameAlternatives } from './name-alternatives.js';
import { FILLER, KIND_PLURAL, listIds, listPlan } from './list-questions.js';
import { MAX_SPAN_WORDS, namedSpan, resolveName } from './resolve-name.js';

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

/** Words that ask about a thing without naming it: with nothing else, a question made of them is an ellipsis. */
const GENERIC_ASKS: ReadonlySet<string> = new Set([
  ...FOCUS_CUES.flatMap((c) => c.words),
  ...'cve vulnerability vuln bug flaw group actor gang tool malware software campaign operation target targets victim victims country sector os'.split(' '),
]);

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

import type { IncidentKind } from './incident.js';

/**
 * What the answer is: one record (`found`), several close candidates (`ambiguous`), nothing (`not-found`), several
 * records a question asked for (`list`), or two records side by side (`comparison`).
 */
export type AnswerStatus = 'found' | 'ambiguous' | 'not-found' | 'list' | 'comparison';

/** What a question asked for, as understood (a follow-up is understood as one of these once resolved). */
export type AnswerIntent = 'lookup' | 'fact' | 'topic' | 'list' | 'latest' | 'compare';

/** A key fact about an incident, labelled for display ("When", "Who", "What", "Impact", "Where"). */
export interface Fact {
  /** Short label, e.g. "When". */
  label: 'When' | 'Who' | 'What' | 'Impact' | 'Where' | 'Targets' | 'Tools' | 'CVEs' | 'Kind';
  /** Plain text value (never markup). */
  value: string;
}

/** A source as rendered: plain text fields, `url` only when http(s). */
export interface AnswerSource {
  /** Link to read; absent when the source can only be cited by publisher and date. */
  url?: string;
  /** Display title: the source's title, else its host name, else its publisher. */
  title: string;
  /** Who published it, when known. */
  publisher?: string;
  /** Publication date (YYYY[-MM[-DD]]), when known. */
  published?: string;
}

/** A short reference to another incident: for related incidents, candidates and lists. */
export interface IncidentRef {
  /** Incident id, e.g. "seed:skyecc-2021". */
  id: string;
  /** Display title. */
  title: string;
  /** Record kind (context kinds are groups, software and vulnerabilities). */
  kind: IncidentKind;
  /** Formatted date at its precision ("9 March 2021"), or null when unknown. */
  date: string | null;
  /** One-sentence plain-text blurb. */
  blurb: string;
  /** Best source URL, when there is one. */
  url?: string;
  /** Ids of other datasets' records merged into this one, when any. */
  sameAs?: string[];
}

/** The sentence that answers a question, quoted with the source it comes from. */
export interface Quote {
  /** The sentence, plain text. */
  text: string;
  /** Where it comes from; absent when the record has no source. */
  source?: AnswerSource;
}

/** The platform-neutral answer to one query: every adapter renders this, never re-derives it. */
export interface Answer {
  /** The query as received (trimmed and bounded). */
  query: string;
  /** found, ambiguous or not-found. */
  status: AnswerStatus;
  /** The best incident (also set when ambiguous: the top candidate); `sameAs`: the ids of other datasets' records merged into it. */
  incident?: IncidentRef & { aliases: string[]; tags: string[]; sameAs?: string[] };
  /** 2-4 plain-text sentences, at most about 600 characters. */
  summary: string;
  /** For questions: the sentence that answers it, with its source. */
  quote?: Quote;
  /** Key facts, in display order. */
  facts: Fact[];
  /** Deduplicated sources, best first. */
  sources: AnswerSource[];
  /** Incidents a reader would look at next. */
  related: IncidentRef[];
  /** When ambiguous: the candidates to pick from (top first). */
  candidates: IncidentRef[];
  /** "Did you mean" titles, when nothing or little matched. */
  suggestions: string[];
  /**
   * How to get more data, when nothing matched and the bot knows little (set outside the core, by what knows the
   * sources' state): plain text, shown after the not-found message by every adapter.
   */
  hint?: string;
  /** What the question asked for, as understood. */
  intent?: AnswerIntent;
  /** `list` and `comparison`: the records, in order (newest first where dates matter; a comparison: the two compared). */
  items?: IncidentRef[];
  /** `list`: how many records match in all (items holds one page of them). */
  total?: number;
  /**
   * `list`: where the next page starts, absent on the last page. Opaque to adapters, at most 80 characters, so that a
   * Discord button's custom_id (100) can carry it with a short prefix; pass it back to get the next page.
   */
  cursor?: string;
  /** `comparison`: the two records side by side, and what they share. */
  comparison?: Comparison;
}

/** One side of a comparison: the record and its facts in the compared order (who, when, tools, targets). */
export interface ComparedSide {
  ref: IncidentRef;
  facts: Fact[];
}

/** Two records side by side: each one's facts, and what both have (shared tools, targets, CVEs...). */
export interface Comparison {
  left: ComparedSide;
  right: ComparedSide;
  /** What both records share, by label (e.g. "Tools": ["Mimikatz", "Cobalt Strike"]); empty when nothing. */
  shared: { label: Fact['label']; values: string[] }[];
}

/** A titled list of incidents (recent, search results), as every adapter renders it. */
export interface IncidentList {
  /** Heading, e.g. "Recent incidents" or "Search: ransomware". */
  title: string;
  /** The listed incidents, best or newest first. */
  items: IncidentRef[];
  /** How many matched in all (may exceed items.length). */
  total: number;
  /** Text to show when the list is empty or was filtered. */
  note?: string;
  /** Where the next page starts, absent on the last page: opaque, at most 80 characters, as `Answer.cursor`. */
  cursor?: string;
}

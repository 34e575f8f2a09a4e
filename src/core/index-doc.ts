import type { Options } from 'minisearch';
import { CONTEXT_KINDS, monthName, type Incident } from './incident.js';
import { MAX_TERM_CHARS } from './query.js';
import { compactName, foldText, stripMarkup } from './text.js';

/** The flattened, bounded text of one record as the name index (minisearch) holds it. */
export interface IndexDoc {
  id: string;
  title: string;
  aliases: string;
  compact: string;
  entities: string;
  tags: string;
  dates: string;
  summary: string;
}

/** Summary characters in the name index: the lead sentence helps questions; the whole text has its own index. */
export const MAX_INDEXED_SUMMARY_CHARS = 200;

// Indexing keeps stop words out so that postings stay small; a question's function words match nothing useful.
export const INDEX_STOP = new Set('a an the of and or to in on for by with at from as is are was were be been it its this that'.split(' '));

/** Splits text into words: runs of letters and digits (what queries split into, see `words`). */
export const tokenizeWords = (text: string): string[] => text.split(/[^\p{L}\p{N}]+/u);

/** Folds a word (lower case, accents removed): plain ASCII, most words, skips Unicode normalisation. */
export const foldWord = (word: string): string => (ASCII.test(word) ? word.toLowerCase() : foldText(word));
const ASCII = /^[\x00-\x7f]*$/;

/** Folds a word for indexing; null (not indexed) for stop words and words too long to be typed. */
export const processIndexTerm = (term: string): string | null => {
  const t = foldWord(term);
  return t.length === 0 || t.length > MAX_TERM_CHARS || INDEX_STOP.has(t) ? null : t;
};

/**
 * One options constant for building and for loading a snapshot: minisearch requires the same options for both
 * (loadJSON "should be given the same options used when serializing the index").
 */
export const INDEX_OPTIONS: Options<IndexDoc> = {
  idField: 'id',
  fields: ['title', 'aliases', 'compact', 'entities', 'tags', 'dates', 'summary'],
  // Nothing stored: the index keeps the records themselves, and stored fields would double the snapshot's load work.
  storeFields: [],
  tokenize: tokenizeWords,
  processTerm: processIndexTerm,
};

/** Field weights: what names an incident counts most; the summary only breaks ties and answers questions. */
export const BOOST = { title: 5, aliases: 4, compact: 5, entities: 2, tags: 1.2, dates: 1, summary: 0.6 };

/** Field boosts by minisearch field id (ids follow the order of INDEX_OPTIONS.fields). */
export const FIELD_BOOSTS = (INDEX_OPTIONS.fields as (keyof typeof BOOST)[]).map((f) => BOOST[f]);

/** Tag prefixes whose values are bookkeeping, not something a user would type. */
const SILENT_TAG_PREFIXES = new Set(['dataset', 'domain', 'stix', 'cwe', 'type']);

/** Returns every name a record is known by: title, aliases. */
export function recordNames(incident: Incident): string[] {
  return [incident.title, ...incident.aliases];
}

/** Returns the index document for a record: names, a compact form of each, entities, tag values, date words, lead summary. */
export function toIndexDoc(incident: Incident): IndexDoc {
  const e = incident.entities;
  const tagValues: string[] = [];
  for (const tag of incident.tags) {
    const colon = tag.indexOf(':');
    const prefix = colon > 0 ? tag.slice(0, colon) : '';
    const value = colon > 0 ? tag.slice(colon + 1) : tag;
    if (prefix === 'ransomware-use') {
      if (/known/i.test(value) && !/unknown/i.test(value)) tagValues.push('ransomware');
      continue;
    }
    if (SILENT_TAG_PREFIXES.has(prefix)) {
      if (prefix === 'stix' || prefix === 'type') tagValues.push(value);
      continue;
    }
    tagValues.push(value);
  }
  return {
    id: incident.id,
    title: stripMarkup(incident.title),
    aliases: incident.aliases.join(' · '),
    compact: compactNamesOf(incident).join(' '),
    entities: [...e.actors, ...e.victims, ...e.software, ...e.countries, ...e.cves.map(compactName)].join(' · '),
    tags: tagValues.join(' · '),
    dates: dateWords(incident),
    // Context records (groups, software, CVEs) are found by their names, entities and tags; their long texts
    // would triple the index (and its snapshot and load time) for little gain.
    summary: CONTEXT_KINDS.has(incident.kind) ? '' : stripMarkup(incident.summary).slice(0, MAX_INDEXED_SUMMARY_CHARS),
  };
}

/**
 * Returns the compact forms of every name of a record: title, aliases and, for products (KEV), the product with and
 * without its vendor ("Cisco" + "IOS XE Web UI"). A vendor alone names no one record, so it is not among them.
 */
export function compactNamesOf(incident: Incident): string[] {
  const names = [...recordNames(incident)];
  const vendor = incident.tags.find((t) => t.startsWith('vendor:'))?.slice(7).trim();
  for (const tag of incident.tags) {
    if (!tag.startsWith('product:')) continue;
    const product = tag.slice(8).trim();
    names.push(product);
    if (vendor && !foldText(product).startsWith(foldText(vendor))) names.push(`${vendor} ${product}`);
  }
  const out = new Set<string>();
  for (const n of names) {
    const c = compactName(n);
    if (c.length > 1 && c.length <= MAX_TERM_CHARS) out.add(c);
  }
  return [...out];
}

/** Returns the date words of a record: year and month name for reading, and `m<YYYYMM>` / `d<YYYYMMDD>` keys for lookup. */
function dateWords(incident: Incident): string {
  const out: string[] = [];
  for (const d of [incident.date, incident.dateEnd]) {
    if (!d) continue;
    const [y, m] = d.value.split('-');
    out.push(y);
    if (m) out.push(monthName(Number(m)));
  }
  if (incident.date) out.push(...dateKeys(incident.date.value));
  return out.join(' ');
}

/** Returns the lookup keys of a date, most precise first: `d20240304` and `m202403` for a day, `m202403` for a month. */
export function dateKeys(value: string | null): string[] {
  if (!value) return [];
  const compact = value.replace(/-/g, '');
  return value.length === 10 ? [`d${compact}`, `m${compact.slice(0, 6)}`] : value.length === 7 ? [`m${compact}`] : [];
}

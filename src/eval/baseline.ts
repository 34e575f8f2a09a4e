import MiniSearch, { type Options } from 'minisearch';
import type { Incident } from '../core/incident.js';
import { stripMarkup } from '../core/text.js';

/** A record as the baseline indexes it: names, tags and the whole description, markup stripped. */
type PlainDoc = { id: string; title: string; aliases: string; summary: string; tags: string };

/**
 * The baseline's options, as a user would configure minisearch from its README: names boosted over text, fuzzy 0.2
 * (one typo in a five-letter word, two in a ten-letter one), prefix search for words still being typed.
 */
export const PLAIN_OPTIONS: Options<PlainDoc> = {
  fields: ['title', 'aliases', 'summary', 'tags'],
  storeFields: [],
  searchOptions: { boost: { title: 2, aliases: 2 }, fuzzy: 0.2, prefix: true },
};

/** Plain minisearch over the same records (fair options, no re-ranking): the yardstick eval and bench print beside ours. */
export class PlainMiniSearch {
  readonly mini = new MiniSearch<PlainDoc>(PLAIN_OPTIONS);

  constructor(incidents: readonly Incident[]) {
    this.mini.addAll(
      incidents.map((i) => ({ id: i.id, title: i.title, aliases: i.aliases.join(' '), summary: stripMarkup(i.summary), tags: i.tags.join(' ') })),
    );
  }

  /** Returns the ids of the top hits, best first. */
  search(query: string, limit = 10): string[] {
    return this.mini.search(query).slice(0, limit).map((r) => r.id as string);
  }
}

import MiniSearch from 'minisearch';
import type { Incident } from '../core/incident.js';
import { stripMarkup } from '../core/text.js';

/** Plain minisearch over the same records (default options, no re-ranking): the yardstick eval and bench print beside ours. */
export class PlainMiniSearch {
  readonly mini = new MiniSearch<{ id: string; title: string; aliases: string; summary: string; tags: string }>({
    fields: ['title', 'aliases', 'summary', 'tags'],
    storeFields: ['title'],
  });

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

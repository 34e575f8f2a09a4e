import type { Incident } from './incident.js';
import { words } from './query.js';

/** What the facets need of a record: its id and tags. */
type Tagged = Pick<Incident, 'id' | 'tags'>;

/**
 * The vendor and product words of exploited-vulnerability records (`vendor:`, `product:` tags), word by word, so that
 * "sonicwall vulns" or "PAN-OS bugs" find every record of that vendor or product. Built on first use and kept
 * current record by record (`upsert`, `remove`), so a feed's new records never make the next question rebuild it.
 */
export class FacetIndex {
  private readonly byWord = new Map<string, Set<string>>();

  /** Returns the facets of these records. */
  static build(records: Iterable<Tagged>): FacetIndex {
    const index = new FacetIndex();
    for (const r of records) index.upsert(r, undefined);
    return index;
  }

  /** Adds a record's words (`previous`: the record it replaces, whose words go). */
  upsert(record: Tagged, previous: Tagged | undefined): void {
    if (previous) this.remove(previous);
    for (const k of facetWords(record)) {
      let set = this.byWord.get(k);
      if (!set) this.byWord.set(k, (set = new Set()));
      set.add(record.id);
    }
  }

  /** Takes a record's words out. */
  remove(record: Tagged): void {
    for (const k of facetWords(record)) {
      const set = this.byWord.get(k);
      if (!set) continue;
      set.delete(record.id);
      if (set.size === 0) this.byWord.delete(k);
    }
  }

  /** Returns the ids of records whose vendor or product holds every one of `ws` (folded words), or undefined when none. */
  match(ws: readonly string[]): Set<string> | undefined {
    let out: Set<string> | undefined;
    for (const w of ws) {
      const ids = this.byWord.get(w);
      if (!ids) return undefined;
      out = out ? new Set([...out].filter((id) => ids.has(id))) : new Set(ids);
      if (out.size === 0) return undefined;
    }
    return out;
  }

  /** Returns whether a folded word names a vendor or product. */
  has(word: string): boolean {
    return this.byWord.has(word);
  }
}

/** Returns the words a record's vendor and product tags are typed as. */
function facetWords(r: Tagged): Set<string> {
  const out = new Set<string>();
  for (const tag of r.tags) {
    const colon = tag.indexOf(':');
    const key = tag.slice(0, colon);
    if (key !== 'vendor' && key !== 'product') continue;
    // "PAN-OS" is typed "pan-os", "panos" or "pan os": its words and their run-together form both count.
    const ws = words(tag.slice(colon + 1));
    for (const k of [...ws, ws.join('')]) if (k.length >= 2) out.add(k);
  }
  return out;
}

import type { Incident } from './incident.js';
import { foldText } from './text.js';

/** What the name text needs of a record: its id, names and tags. */
type Named = Pick<Incident, 'id' | 'title' | 'aliases' | 'tags'>;

/** Returns a record's names and tag values folded to words, space-padded: " apt28 fancy bear ransomware ". */
export function foldedNames(r: Named): string {
  return ` ${foldText([r.title, ...r.aliases, ...r.tags.map((t) => t.replace(/^[^:]*:/, ''))].join(' ')).replace(/[^\p{L}\p{N}]+/gu, ' ')} `;
}

/** Replaced or removed entries tolerated, as a share of all, before the text is written again without them. */
const MAX_DEAD_SHARE = 0.25;

/**
 * Every record's folded names and tag values in one string, so that the records whose names hold a word starting with
 * a term are found by the engine's substring search over one string (a few milliseconds for 100k records) instead of
 * a test per record. Replaced and removed records leave dead entries behind, dropped when they grow too many.
 */
export class NameText {
  private chunks: string[] = [];
  private text = '';
  private flat = true;
  /** Length of the text and the chunks not yet joined to it. */
  private length = 0;
  /** Offset of each entry in the text, and the id it belongs to ('' once replaced or removed). */
  private starts: number[] = [];
  private ids: string[] = [];
  private readonly entryOf = new Map<string, number>();
  private dead = 0;

  /** Returns the name text of these records. */
  static build(records: Iterable<Named>): NameText {
    const out = new NameText();
    for (const r of records) out.upsert(r);
    return out;
  }

  /** Adds a record's names (those it had before leave). */
  upsert(r: Named): void {
    this.remove(r.id);
    // Entries are separated by a character no folded word holds, so a match never spans two records.
    this.push(r.id, `${foldedNames(r)}\u0000`);
  }

  /** Takes a record's names out. */
  remove(id: string): void {
    const entry = this.entryOf.get(id);
    if (entry === undefined) return;
    this.entryOf.delete(id);
    this.ids[entry] = '';
    this.dead++;
  }

  /** Returns the ids of records whose names or tag values hold a word starting with `term` (folded), each once. */
  withWord(term: string): string[] {
    this.compact();
    const needle = ` ${term}`;
    const out: string[] = [];
    for (let at = this.text.indexOf(needle); at >= 0; ) {
      const entry = this.entryAt(at);
      const id = this.ids[entry]!;
      if (id) out.push(id);
      const next = this.starts[entry + 1] ?? this.text.length;
      at = this.text.indexOf(needle, next);
    }
    return out;
  }

  /** Joins what was added since the last search, and writes the text again when dead entries are too many. */
  private compact(): void {
    if (this.dead > MAX_DEAD_SHARE * this.ids.length && this.ids.length > 0) {
      const live = this.ids.map((id, i) => [id, i] as const).filter(([id]) => id);
      const pieces = this.pieces();
      this.text = '';
      this.length = 0;
      this.chunks = [];
      this.starts = [];
      this.ids = [];
      this.entryOf.clear();
      this.dead = 0;
      for (const [id, i] of live) this.push(id, pieces[i]!);
    }
    if (!this.flat) {
      this.text += this.chunks.join('');
      this.chunks = [];
      this.flat = true;
    }
  }

  private push(id: string, piece: string): void {
    this.entryOf.set(id, this.ids.length);
    this.starts.push(this.length);
    this.ids.push(id);
    this.chunks.push(piece);
    this.length += piece.length;
    this.flat = false;
  }

  /** Returns each entry's text, in entry order. */
  private pieces(): string[] {
    const all = this.text + this.chunks.join('');
    return this.starts.map((s, i) => all.slice(s, this.starts[i + 1] ?? all.length));
  }

  /** Returns the entry whose text holds offset `at`. */
  private entryAt(at: number): number {
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (this.starts[mid]! <= at) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }
}

import type { SearchResult } from 'minisearch';
import type { IncidentKind } from './incident.js';
import type { TextHit } from './text-index.js';

/** A candidate with the signals the re-ranker combines. */
export interface RankedHit {
  id: string;
  title: string;
  kind: IncidentKind;
  date: string | null;
  score: number;
  /** Whether the whole query is one of this record's names (after compacting). */
  exactName: boolean;
}

/** A record under consideration for one query, with the evidence gathered for it so far. */
export interface Candidate {
  hit: RankedHit;
  /** Name-index evidence: each search's score over its best, times the search's weight, summed. */
  base: number;
  /** Full-text evidence, kept apart: it counts in proportion to coverage, with no floor. */
  textBase: number;
  /** The typed words some search matched in this record. */
  coverage: Set<string>;
}

/** Search bounds: how many candidates one search contributes; more costs time and rarely changes the top. */
export const CANDIDATES = 60;

/** The candidates of one query, gathered from the searches and lookups that found them. */
export class CandidateSet {
  private readonly byId = new Map<string, Candidate>();

  constructor(private readonly hitFor: (id: string) => RankedHit | undefined) {}

  /** Number of candidates. */
  get size(): number {
    return this.byId.size;
  }

  /** Returns every candidate. */
  values(): IterableIterator<Candidate> {
    return this.byId.values();
  }

  /** Returns the candidate for a record, added with `base` when new; undefined for an unknown record. */
  ensure(id: string, base = 0): Candidate | undefined {
    let c = this.byId.get(id);
    if (!c) {
      const hit = this.hitFor(id);
      if (!hit) return undefined;
      c = { hit, base, textBase: 0, coverage: new Set<string>() };
      this.byId.set(id, c);
    }
    return c;
  }

  /**
   * Adds a search's best results, each scored against the best one times `weight`. `coversOf` maps a matched term
   * to the typed words it stands for (a correction, or two words typed apart); `countsTerms` credits them.
   */
  addResults(results: readonly SearchResult[], weight: number, countsTerms: boolean, coversOf?: ReadonlyMap<string, readonly string[]>): void {
    const max = results[0]?.score ?? 1;
    for (const r of results.slice(0, CANDIDATES)) {
      const c = this.ensure(r.id);
      if (!c) continue;
      c.base += weight * (r.score / max);
      if (countsTerms) for (const t of r.queryTerms) for (const typed of coversOf?.get(t) ?? [t]) c.coverage.add(typed);
    }
  }

  /**
   * Adds full-text hits. Text adds evidence for the words a record's names, entities and tags do not carry; a word
   * the name index already credited to the record keeps only `overlapShare`, so that a record that mentions X (and
   * lists X among its actors) does not outrank the one named X by saying X again in its description.
   */
  addText(hits: readonly TextHit[], weight: number, overlapShare: number, coversOf: ReadonlyMap<string, readonly string[]>): void {
    const max = hits[0]?.score ?? 1;
    for (const r of hits) {
      const typed = r.queryTerms.flatMap((t) => coversOf.get(t) ?? [t]);
      const known = this.byId.get(r.id);
      const fresh = typed.filter((t) => !known?.coverage.has(t)).length;
      const share = typed.length === 0 ? 0 : (fresh + overlapShare * (typed.length - fresh)) / typed.length;
      const c = known ?? this.ensure(r.id);
      if (!c) continue;
      c.textBase += weight * (r.score / max) * share;
      for (const t of typed) c.coverage.add(t);
    }
  }
}

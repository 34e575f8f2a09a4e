import type { RelationType } from './incident.js';

/** One typed edge of the knowledge graph: `from` --type--> `to` ("attack:C0024 attributed-to attack:G0016"). */
export interface Relation {
  from: string;
  type: RelationType;
  to: string;
}

/** Which way to follow edges from a node: its own statements (`out`), statements about it (`in`), or both. */
export type Direction = 'out' | 'in' | 'both';

type Adjacency = Map<string, Map<RelationType, Set<string>>>;

/**
 * The knowledge graph: typed relations between record ids (canonical after merging) and the nodes that are not
 * records (`country:RU`, `sector:government`, `vendor:microsoft`, `cve:CVE-…`, `post:…`). Held as adjacency maps
 * both ways, so a neighbour query costs the size of its answer in either direction ("which campaigns used Cobalt
 * Strike" is `neighbors('attack:S0154', 'uses', 'in')`).
 */
export class Graph {
  private readonly out: Adjacency = new Map();
  private readonly in: Adjacency = new Map();
  private count = 0;
  private readonly labels = new Map<string, string>();

  /** Returns a graph holding these relations (duplicates and self-loops dropped). */
  static build(relations: Iterable<Relation>, labels?: Iterable<[string, string]>): Graph {
    const graph = new Graph();
    graph.add(relations);
    for (const [id, label] of labels ?? []) graph.labels.set(id, label);
    return graph;
  }

  /** Adds relations (duplicates and self-loops are ignored); returns how many were new. */
  add(relations: Iterable<Relation>): number {
    let added = 0;
    for (const r of relations) {
      if (r.from === r.to || !push(this.out, r.from, r.type, r.to)) continue;
      push(this.in, r.to, r.type, r.from);
      added++;
    }
    this.count += added;
    return added;
  }

  /** Sets the display name of a node that is not a record ("country:RU" -> "Russia"). */
  setLabel(id: string, label: string): void {
    this.labels.set(id, label);
  }

  /** Returns the display name of a node that is not a record, if one is known. */
  label(id: string): string | undefined {
    return this.labels.get(id);
  }

  /**
   * Returns the ids linked to `id` by relations of `type` (one, several, or every type when omitted), following
   * `direction`: `out` gives what `id` states ("APT29 uses" -> software), `in` what states it ("uses Mimikatz" ->
   * groups and campaigns). In insertion order, each id once.
   */
  neighbors(id: string, type?: RelationType | readonly RelationType[], direction: Direction = 'out'): string[] {
    const types = type === undefined ? undefined : typeof type === 'string' ? [type] : type;
    const seen = new Set<string>();
    const collect = (adjacency: Adjacency) => {
      const byType = adjacency.get(id);
      if (!byType) return;
      for (const [t, ids] of byType) {
        if (types && !types.includes(t)) continue;
        for (const other of ids) seen.add(other);
      }
    };
    if (direction !== 'in') collect(this.out);
    if (direction !== 'out') collect(this.in);
    return [...seen];
  }

  /** Returns the display names of the nodes that are not records. */
  labelled(): IterableIterator<[string, string]> {
    return this.labels.entries();
  }

  /** Returns whether `from` --type--> `to` is in the graph. */
  has(from: string, type: RelationType, to: string): boolean {
    return this.out.get(from)?.get(type)?.has(to) ?? false;
  }

  /** Returns every relation touching `id`, its own first. */
  relationsOf(id: string): Relation[] {
    const out: Relation[] = [];
    for (const [type, ids] of this.out.get(id) ?? []) for (const to of ids) out.push({ from: id, type, to });
    for (const [type, ids] of this.in.get(id) ?? []) for (const from of ids) out.push({ from, type, to: id });
    return out;
  }

  /** Returns every relation, grouped by source node. */
  *relations(): IterableIterator<Relation> {
    for (const [from, byType] of this.out) for (const [type, ids] of byType) for (const to of ids) yield { from, type, to };
  }

  /** Number of relations. */
  get size(): number {
    return this.count;
  }
}

/** Adds `other` to `node`'s set for `type`; returns false when it was there already. */
function push(adjacency: Adjacency, node: string, type: RelationType, other: string): boolean {
  let byType = adjacency.get(node);
  if (!byType) adjacency.set(node, (byType = new Map()));
  const set = byType.get(type);
  if (!set) {
    byType.set(type, new Set([other]));
    return true;
  }
  if (set.has(other)) return false;
  set.add(other);
  return true;
}

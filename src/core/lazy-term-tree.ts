/**
 * minisearch's term tree as loaded from a snapshot: nodes built, and terms' postings decoded, on first use (see
 * index-snapshot.ts, which writes and reads the snapshots).
 */

/**
 * A term's postings, decoded on first use. Loading a snapshot then costs one parse of short strings instead of
 * millions of Map entries (minisearch's own loadJSON spends most of its time there: ~2 s at 100k records).
 */
class LazyTermData extends Map<number, Map<number, number>> {
  private raw: string | undefined;

  constructor(raw: string) {
    super();
    this.raw = raw;
  }

  private decode(): void {
    const raw = this.raw;
    if (raw === undefined) return;
    this.raw = undefined;
    for (const part of raw.split('|')) {
      const colon = part.indexOf(':');
      const docs = new Map<number, number>();
      const nums = part.slice(colon + 1).split(',');
      for (let i = 0; i + 1 < nums.length; i += 2) docs.set(parseInt(nums[i], 36), parseInt(nums[i + 1], 36));
      super.set(parseInt(part.slice(0, colon), 36), docs);
    }
  }

  override get(key: number) {
    this.decode();
    return super.get(key);
  }
  override has(key: number) {
    this.decode();
    return super.has(key);
  }
  override set(key: number, value: Map<number, number>) {
    this.decode();
    return super.set(key, value);
  }
  override delete(key: number) {
    this.decode();
    return super.delete(key);
  }
  override clear() {
    this.raw = undefined;
    super.clear();
  }
  override get size() {
    this.decode();
    return super.size;
  }
  override keys() {
    this.decode();
    return super.keys();
  }
  override values() {
    this.decode();
    return super.values();
  }
  override entries() {
    this.decode();
    return super.entries();
  }
  override forEach(fn: (value: Map<number, number>, key: number, map: Map<number, Map<number, number>>) => void, thisArg?: unknown) {
    this.decode();
    super.forEach(fn, thisArg);
  }
  override [Symbol.iterator]() {
    return this.entries();
  }
}

/** A node of minisearch's radix tree: edge label -> child node, and '' (LEAF) -> the term's postings. */
export type TreeNode = Map<string, TreeNode | LazyTermData>;

/** The terms of a snapshot in the tree's order, each with its postings string (however the snapshot stores them). */
interface TermSource {
  term(i: number): string;
  postings(i: number): string;
}

/** The terms of a JSON snapshot: term, postings, term, postings, ... */
export function termPairs(terms: string[]): TermSource {
  return { term: (i) => terms[2 * i], postings: (i) => terms[2 * i + 1] };
}

/** The terms of a parts snapshot: two long strings and where each term and each postings string ends in them. */
export function termRuns(parts: { terms: string; termEnds: Uint32Array; postings: string; postingEnds: Uint32Array }): TermSource {
  const { terms, termEnds, postings, postingEnds } = parts;
  return {
    term: (i) => terms.slice(i === 0 ? 0 : termEnds[i - 1], termEnds[i]),
    postings: (i) => postings.slice(i === 0 ? 0 : postingEnds[i - 1], postingEnds[i]),
  };
}

/** minisearch's key for a term's value inside its tree node. */
const LEAF = '';

/**
 * A node of the term tree, built from the snapshot's terms on first use: loading a snapshot then costs nothing per
 * term (at 100k records, inserting 170k terms one by one took a quarter of a second), and a query builds only the
 * nodes it walks. The snapshot lists terms depth first (the tree's own order), so the terms under one node, and under
 * each of its children, lie in one run each; a child's edge is the longest prefix its run shares, as in a tree built by
 * insertion. Children keep the order of a tree built by insertion (the snapshot walked each node's keys last first).
 */
export class LazyNode extends Map<string, TreeNode | LazyTermData> {
  private pending: { terms: TermSource; start: number; end: number; depth: number } | undefined;

  /** This node holds terms `start` to `end` (exclusive) of `terms`, `depth` chars in. */
  constructor(terms: TermSource, start: number, end: number, depth: number) {
    super();
    this.pending = { terms, start, end, depth };
  }

  private build(): void {
    const pending = this.pending;
    if (!pending) return;
    this.pending = undefined;
    const { terms, start, end, depth } = pending;
    const children: Array<[string, TreeNode | LazyTermData]> = [];
    for (let i = start; i < end; ) {
      const term = terms.term(i);
      if (term.length === depth) {
        children.push([LEAF, new LazyTermData(terms.postings(i))]);
        i++;
        continue;
      }
      // The run of terms going on with the same character, and the prefix they all share.
      const first = term.charCodeAt(depth);
      let shared = term.length;
      let j = i + 1;
      for (; j < end; j++) {
        const other = terms.term(j);
        if (other.length <= depth || other.charCodeAt(depth) !== first) break;
        let k = depth + 1;
        while (k < shared && k < other.length && other.charCodeAt(k) === term.charCodeAt(k)) k++;
        shared = k;
      }
      const edge = term.slice(depth, shared);
      children.push([edge, j === i + 1 ? new Map([[LEAF, new LazyTermData(terms.postings(i))]]) : new LazyNode(terms, i, j, shared)]);
      i = j;
    }
    for (let c = children.length - 1; c >= 0; c--) super.set(children[c][0], children[c][1]);
  }

  override get(key: string) {
    this.build();
    return super.get(key);
  }
  override has(key: string) {
    this.build();
    return super.has(key);
  }
  override set(key: string, value: TreeNode | LazyTermData) {
    this.build();
    return super.set(key, value);
  }
  override delete(key: string) {
    this.build();
    return super.delete(key);
  }
  override clear() {
    this.pending = undefined;
    super.clear();
  }
  override get size() {
    this.build();
    return super.size;
  }
  override keys() {
    this.build();
    return super.keys();
  }
  override values() {
    this.build();
    return super.values();
  }
  override entries() {
    this.build();
    return super.entries();
  }
  override forEach(fn: (value: TreeNode | LazyTermData, key: string, map: Map<string, TreeNode | LazyTermData>) => void, thisArg?: unknown) {
    this.build();
    super.forEach(fn, thisArg);
  }
  override [Symbol.iterator]() {
    return this.entries();
  }
}

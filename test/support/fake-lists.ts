import { createHash } from 'node:crypto';
import type { Answer, Comparison, IncidentList, IncidentRef } from '../../src/core/answer-model.js';
import type { ConversationContext } from '../../src/core/conversation.js';
import { foldText } from '../../src/core/text.js';

/**
 * Lists, comparisons and follow-ups for the fake incident services, as a core that pages and remembers would give
 * them: a scripted list is cut into pages with opaque cursors that only lead forward and only work for their own
 * question; a follow-up is resolved by a function the test gives.
 */

/** What the fakes were handed with each answer() call: the query, the conversation's context and the cursor. */
export interface SeenView {
  query: string;
  context?: ConversationContext;
  cursor?: string;
}

/** The view options a paging, remembering core reads (the real ViewOptions gains them when the core does). */
export interface FakeView {
  visible?: (id: string) => boolean;
  context?: ConversationContext;
  cursor?: string;
}

/** Scripted lists and comparisons, by folded query, and how follow-ups resolve. */
export interface FakeListOptions {
  /** Folded query -> every item of the list, in order; answered as `list`, paged by `pageSize`. */
  lists?: Record<string, IncidentRef[]>;
  /** Folded query -> the comparison to answer. */
  comparisons?: Record<string, Comparison>;
  /** Items per page (default 10). */
  pageSize?: number;
  /** Returns the question a follow-up stands for, given the conversation's context; undefined: not a follow-up. */
  resolve?: (query: string, context: ConversationContext | undefined) => string | undefined;
}

/** Returns `n` refs numbered from 1 (ids `<prefix>:<i>`, titles "Item i"), with overrides applied to each. */
export function buildRefs(n: number, prefix = 'list', overrides: (i: number) => Partial<IncidentRef> = () => ({})): IncidentRef[] {
  return Array.from({ length: n }, (_, k) => {
    const i = k + 1;
    return { id: `${prefix}:${i}`, title: `Item ${i}`, kind: 'group', date: `${2000 + (i % 25)}`, blurb: `Blurb of item ${i}.`, url: `https://example.org/${prefix}/${i}`, ...overrides(i) };
  });
}

function queryTag(query: string): string {
  return createHash('sha256').update(foldText(query)).digest('base64url').slice(0, 10);
}

/** Returns the cursor of the page starting at `offset` of the list answering `query`: opaque, bound to the query. */
export function fakeCursor(query: string, offset: number): string {
  return `c.${offset.toString(36)}.${queryTag(query)}`;
}

/** Returns the offset a cursor stands for, or 0 (the first page) when it is absent or belongs to another question. */
export function offsetOf(query: string, cursor: string | undefined): number {
  const m = /^c\.([0-9a-z]+)\.(.+)$/.exec(cursor ?? '');
  return m && m[2] === queryTag(query) ? parseInt(m[1], 36) : 0;
}

/** Returns one page of `items` for `query` at `cursor`: the items, the total and the next page's cursor. */
export function pageOf(query: string, items: readonly IncidentRef[], cursor: string | undefined, pageSize: number): { items: IncidentRef[]; total: number; cursor?: string } {
  const offset = offsetOf(query, cursor);
  const page = items.slice(offset, offset + pageSize);
  const next = offset + pageSize < items.length ? fakeCursor(query, offset + pageSize) : undefined;
  return next ? { items: page, total: items.length, cursor: next } : { items: page, total: items.length };
}

/** Returns the `list` Answer for one page. */
export function listAnswer(query: string, items: readonly IncidentRef[], cursor: string | undefined, pageSize: number): Answer {
  const page = pageOf(query, items, cursor, pageSize);
  return {
    query,
    status: 'list',
    intent: 'list',
    summary: `${items.length} records match.`,
    facts: [],
    sources: [],
    related: [],
    candidates: [],
    suggestions: [],
    ...page,
  };
}

/** Returns the IncidentList for one page (`incidents search` as it pages). */
export function listReply(title: string, query: string, items: readonly IncidentRef[], cursor: string | undefined, pageSize: number): IncidentList {
  return { title, ...pageOf(query, items, cursor, pageSize) };
}

/** Returns the `comparison` Answer for a scripted comparison. */
export function comparisonAnswer(query: string, comparison: Comparison): Answer {
  return {
    query,
    status: 'comparison',
    intent: 'compare',
    summary: `${comparison.left.ref.title} and ${comparison.right.ref.title}, side by side.`,
    facts: [],
    sources: [],
    related: [],
    candidates: [],
    suggestions: [],
    items: [comparison.left.ref, comparison.right.ref],
    comparison,
  };
}

/**
 * Returns the scripted answer for a query (a list page or a comparison), after resolving a follow-up, or undefined
 * when the query is not scripted; `resolved` is the question actually answered.
 */
export function scriptedAnswer(options: FakeListOptions, query: string, view: FakeView | undefined): { answer?: Answer; resolved: string } {
  const resolved = options.resolve?.(query, view?.context) ?? query;
  const key = foldText(resolved.trim());
  const list = options.lists?.[key];
  if (list) return { answer: { ...listAnswer(resolved, list, view?.cursor, options.pageSize ?? 10), query }, resolved };
  const comparison = options.comparisons?.[key];
  if (comparison) return { answer: { ...comparisonAnswer(resolved, comparison), query }, resolved };
  return { resolved };
}

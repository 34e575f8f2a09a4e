import type { Answer, IncidentList } from './answer-model.js';
import type { ConversationContext } from './conversation.js';
import type { Graph } from './graph.js';
import type { Incident, IncidentKind } from './incident.js';
import type { StoryPost } from './relations.js';

/** One ranked search result. */
export interface SearchHit {
  id: string;
  title: string;
  kind: IncidentKind;
  /** Relevance score after re-ranking (higher is better; comparable only within one query). */
  score: number;
}

/** Filters and bounds for search and lists. */
export interface SearchOptions {
  /** Maximum results (default 10). */
  limit?: number;
  /** Only records carrying this tag (case-insensitive; `type:campaign` or a bare word). */
  tag?: string;
  /** Only records dated on or after this (YYYY, YYYY-MM or YYYY-MM-DD). */
  since?: string;
  /** Only these kinds. */
  kinds?: IncidentKind[];
  /** Only records the caller may see (tenancy: posts of another tenant's feeds are hidden); absent: every record. */
  visible?: (id: string) => boolean;
  /** Lists (`searchList`, `recent`): where the page to show starts, from an earlier page's `cursor`; absent: the first. */
  cursor?: string;
}

/** Who is asking, for answers and suggestions: records `visible` refuses are never shown, named or suggested. */
export interface ViewOptions {
  visible?: (id: string) => boolean;
  /** What the conversation remembers from its last answer: follow-ups ("who was behind it?") resolve against it. */
  context?: ConversationContext;
  /** Where the page of a list answer starts (the cursor a previous page carried); absent for the first page. */
  cursor?: string;
}

/** An autocomplete choice; both strings are at most 100 characters (Discord's limit). */
export interface Choice {
  name: string;
  value: string;
}

/** The shared incident index and answering service that commands and adapters use. */
export interface IncidentService {
  /** Answers one free-text query (never throws on bad input), from the records the caller may see. */
  answer(query: string, view?: ViewOptions): Answer;
  /** Ranked hits for a query, with filters. */
  search(query: string, options?: SearchOptions): SearchHit[];
  /** One page of search results; `query` may hold filters (`tag:`, `since:`, `until:`, `kind:`, `actor:`, `vendor:`) and time phrases. */
  searchList(query: string, options?: SearchOptions): IncidentList;
  /** The newest dated incidents (incident kind only unless kinds says otherwise). */
  recent(count: number, options?: SearchOptions): IncidentList;
  /** Title and alias suggestions for a partial query, fast enough for Discord autocomplete. */
  autocomplete(prefix: string, limit?: number, view?: ViewOptions): Choice[];
  /** One record by id (undefined when the caller may not see it). */
  get(id: string, view?: ViewOptions): Incident | undefined;
  /** The knowledge graph over the records (typed relations both ways), when the service was built with one. */
  readonly graph?: Graph;
  /** Adds or replaces records in the live index. */
  upsert(incidents: readonly Incident[]): void;
  /**
   * Adds feed posts that report a story already known (they made no record of their own): lists of what is new show
   * them beside the records. Optional: a service without feeds need not hold posts.
   */
  addPosts?(posts: readonly StoryPost[]): void;
  /** Takes records (and feed posts) out of the live index by id (a synced source or a feed's pruning dropped them); unknown ids are ignored. */
  remove(ids: readonly string[]): void;
  /** Number of records indexed. */
  readonly size: number;
}

import type { IncidentRef } from './answer-model.js';
import { DateOrder } from './date-order.js';
import { formatIncidentDate, type IncidentDate } from './incident.js';
import { words } from './query.js';
import type { StoryPost } from './relations.js';
import { foldText, splitSentences, stripMarkup, truncateWords } from './text.js';

/** Longest start of a post's text held: lists show its first sentence and look for names in it, not in a whole article. */
export const POST_TEXT_CHARS = 1_000;

/**
 * Feed posts that report a story already known (a record of its own, or another feed's story) rather than making a
 * record of their own: their link joined that record's sources, so they are not records and the name index never
 * holds them. Lists of what is new ("what's new with X", "latest") draw on them beside the records, newest first.
 * Posts of private feeds always make records of their own (and are private with them), so every post held here is
 * one an operator's feed brought: callers still check the caller may see both the post and the story it reports.
 */
export class FeedPosts {
  private readonly byId = new Map<string, HeldPost>();
  private readonly byStory = new Map<string, Set<string>>();
  private readonly byWord = new Map<string, Set<string>>();
  private readonly order = new DateOrder();

  /** Returns the posts held, with stories resolved through `canonical` (merged ids -> the id they are served as). */
  static of(posts: readonly StoryPost[], canonical?: ReadonlyMap<string, string>): FeedPosts {
    const held = new FeedPosts();
    held.add(posts, canonical);
    return held;
  }

  /** Adds posts (a post already held is replaced). */
  add(posts: readonly StoryPost[], canonical?: ReadonlyMap<string, string>): void {
    for (const p of posts) {
      if (this.byId.has(p.postId)) this.remove([p.postId]);
      const story = canonical?.get(p.incidentId) ?? p.incidentId;
      const title = p.title?.trim() || 'Feed post';
      const summary = stripMarkup((p.summary ?? '').slice(0, POST_TEXT_CHARS));
      const day = dayOf(p.published) ?? dayOf(p.createdAt);
      const text = words(foldText(`${title} ${summary}`));
      const post: HeldPost = {
        id: p.postId,
        story,
        title,
        url: p.url && /^https?:\/\//i.test(p.url) ? p.url : undefined,
        date: day ? { value: day, precision: 'day' } : null,
        blurb: truncateWords(splitSentences(summary)[0] ?? '', 200),
        text: ` ${text.join(' ')} `,
      };
      this.byId.set(post.id, post);
      add(this.byStory, story, post.id);
      for (const w of new Set(text)) add(this.byWord, w, post.id);
      this.order.upsert({ id: post.id, kind: 'incident', date: post.date }, undefined);
    }
  }

  /** Takes posts out (a feed pruned them); ids not held are ignored. */
  remove(ids: Iterable<string>): void {
    for (const id of ids) {
      const post = this.byId.get(id);
      if (!post) continue;
      this.byId.delete(id);
      drop(this.byStory, post.story, id);
      for (const w of new Set(post.text.trim().split(' '))) drop(this.byWord, w, id);
      this.order.remove({ id, kind: 'incident', date: post.date });
    }
  }

  /** Returns whether the id is a post held here. */
  has(id: string): boolean {
    return this.byId.has(id);
  }

  /** Returns the id of the record a post reports, or undefined for an id that is no post held here. */
  storyOf(id: string): string | undefined {
    return this.byId.get(id)?.story;
  }

  /** Returns a post's date (the day it was published, else the day it was stored). */
  dateOf(id: string): IncidentDate | null | undefined {
    return this.byId.get(id)?.date;
  }

  /** Returns the ids of the posts that report one of these records. */
  reporting(recordIds: Iterable<string>): string[] {
    const out: string[] = [];
    for (const id of recordIds) for (const post of this.byStory.get(id) ?? []) out.push(post);
    return out;
  }

  /** Returns the ids of the posts whose title or summary holds one of the names as whole words. */
  naming(names: readonly string[]): string[] {
    const out = new Set<string>();
    for (const name of names) {
      const ws = words(foldText(name));
      if (ws.join(' ').length < 3) continue;
      const phrase = ` ${ws.join(' ')} `;
      for (const id of this.byWord.get(ws[0]!) ?? []) if (this.byId.get(id)!.text.includes(phrase)) out.add(id);
    }
    return [...out];
  }

  /** Returns the ids of posts dated in the range (every post when open at both ends), newest first, that `keep` accepts. */
  inRange(range: { from?: string; to?: string } | undefined, keep?: (id: string) => boolean): string[] {
    return this.order.inRange('incident', range, keep);
  }

  /** Returns how a list shows a post: its title, day, first sentence and link, as a feed post that made a record shows. */
  refOf(id: string): IncidentRef | undefined {
    const p = this.byId.get(id);
    if (!p) return undefined;
    return { id: p.id, title: p.title, kind: 'incident', date: p.date ? formatIncidentDate(p.date) : null, blurb: p.blurb, ...(p.url ? { url: p.url } : {}) };
  }

  /** Number of posts held. */
  get size(): number {
    return this.byId.size;
  }
}

/** A post as held: what a list shows of it, and its words (space-padded) for finding the names it holds. */
interface HeldPost {
  id: string;
  story: string;
  title: string;
  url?: string;
  date: IncidentDate | null;
  blurb: string;
  text: string;
}

function add(map: Map<string, Set<string>>, key: string, id: string): void {
  let set = map.get(key);
  if (!set) map.set(key, (set = new Set()));
  set.add(id);
}

function drop(map: Map<string, Set<string>>, key: string, id: string): void {
  const set = map.get(key);
  if (!set) return;
  set.delete(id);
  if (set.size === 0) map.delete(key);
}

/** Returns the `YYYY-MM-DD` day of an ISO timestamp or epoch milliseconds, or undefined. */
function dayOf(at: string | number | null | undefined): string | undefined {
  if (at === null || at === undefined || at === '') return undefined;
  if (typeof at === 'string' && /^\d{4}-\d{2}-\d{2}/.test(at)) return at.slice(0, 10);
  const t = typeof at === 'number' ? at : Date.parse(at);
  return Number.isFinite(t) ? new Date(t).toISOString().slice(0, 10) : undefined;
}

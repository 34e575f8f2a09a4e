import type { Graph, Relation } from '../../core/graph.js';
import { RelationTypeSchema, type RelationType } from '../../core/incident.js';
import { POST_TEXT_CHARS } from '../../core/feed-posts.js';
import type { StoryPost } from '../../core/relations.js';
import type { Db, SqlValue } from '../db.js';
import { inJsonArray, insertRows } from './sql.js';

/** The meta key under which the fingerprint of the stored relations' inputs is kept. */
export const RELATIONS_FINGERPRINT_KEY = 'relations_fingerprint';
/** The meta key naming the generation of relations readers see. */
export const RELATIONS_GENERATION_KEY = 'relations_generation';
/** Rows written per transaction: a few milliseconds each on either engine. */
export const RELATION_ROWS_PER_SLICE = 5_000;

/** Filters for `read`; every given field must match. */
export interface RelationFilter {
  from?: string;
  to?: string;
  type?: RelationType;
}

/** The relations stored for a fingerprint, read a slice at a time (the graph of 100k records is millions of rows). */
export interface StoredGraph {
  /** The `same-as` relations: the merges, needed before anything is served. */
  sameAs: Relation[];
  /** How many relations are stored. */
  size: number;
  /** Up to `limit` relations after `after` (all from the start when absent), in key order. */
  slice(after: Relation | undefined, limit: number): Promise<Relation[]>;
  /** The labels of the nodes that are not records. */
  labels(): Promise<Array<[string, string]>>;
}

/** The knowledge graph's relations and labels (tables relations, relation_labels), in generations, on either engine. */
export interface RelationRepo {
  /**
   * Stores the graph, replacing the stored one, unless it was stored for the same inputs already (`fingerprint`). The
   * new generation is written in slices of RELATION_ROWS_PER_SLICE rows, one transaction each, then made current in
   * one step, and the old one removed: readers see the old graph or the new one, never a mix. Resolves to whether it
   * wrote.
   */
  save(graph: Graph, fingerprint: string): Promise<boolean>;
  /** The stored relations matching the filter (all of them without one), by subject, type, object. */
  read(filter?: RelationFilter): Promise<Relation[]>;
  /** The relations stored for these inputs, or undefined when they were stored for other inputs or not at all. */
  stored(fingerprint: string): Promise<StoredGraph | undefined>;
  /** The label stored for a node that is not a record ("country:RU" -> "Russia"). */
  label(node: string): Promise<string | undefined>;
  /** The feed posts that report a story other than their own (their `reported-in` relations). */
  storyPosts(): Promise<StoryPost[]>;
  /** The story posts among these ids, in one query: ids of posts that made a record of their own, or are gone, are absent. */
  storyPostsById(ids: readonly string[]): Promise<StoryPost[]>;
  /** Ids of the story posts stored since an epoch-ms time: the catch-up after change notices were missed. */
  storyPostsSince(since: number): Promise<string[]>;
  /** A cheap summary of the posts table that changes whenever a post is added or removed. */
  postsStamp(): Promise<string>;
}

type Row = { subject: string; type: string; object: string };

/** The columns of STORY_POSTS_SQL, for reading some of those posts. */
const STORY_POST_COLUMNS = `id, incident_id, title, url, published, created_at, substr(summary, 1, ${POST_TEXT_CHARS}) AS summary`;

/** The posts that report a story other than their own, oldest first, with what lists show of them (either engine). */
export const STORY_POSTS_SQL = `SELECT ${STORY_POST_COLUMNS}
  FROM posts WHERE id <> incident_id ORDER BY created_at, id`;

/** One row of STORY_POSTS_SQL. */
export type StoryPostRow = { id: string; incident_id: string; title: string; url: string | null; published: string | null; created_at: number | string; summary: string | null };

/** Returns the story post a row of STORY_POSTS_SQL holds. */
export function toStoryPost(r: StoryPostRow): StoryPost {
  return { postId: r.id, incidentId: r.incident_id, title: r.title, url: r.url, published: r.published, createdAt: Number(r.created_at), summary: r.summary ?? '' };
}
const toRelation = (r: Row): Relation => ({ from: r.subject, type: r.type as RelationType, to: r.object });

/** Returns the relations repository over `db`. */
export function createRelationRepo(db: Db): RelationRepo {
  const meta = async (key: string) => (await db.one<{ value: string | null }>('SELECT value FROM meta WHERE key = ?', [key]))?.value ?? undefined;
  const setMeta = (key: string, value: string) =>
    db.run('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value', [key, value]);
  const generation = async () => Number((await meta(RELATIONS_GENERATION_KEY)) ?? 0);

  const dropGeneration = async (gen: number) => {
    // A slice at a time, in key order: up to the subject found RELATION_ROWS_PER_SLICE rows in.
    for (;;) {
      const edge = await db.one<{ subject: string }>('SELECT subject FROM relations WHERE generation = ? ORDER BY subject LIMIT 1 OFFSET ?', [gen, RELATION_ROWS_PER_SLICE]);
      if (!edge) break;
      await db.run('DELETE FROM relations WHERE generation = ? AND subject <= ?', [gen, edge.subject]);
    }
    await db.run('DELETE FROM relations WHERE generation = ?', [gen]);
    await db.run('DELETE FROM relation_labels WHERE generation = ?', [gen]);
  };

  return {
    async save(graph, fingerprint) {
      if ((await meta(RELATIONS_FINGERPRINT_KEY)) === fingerprint) return false;
      const current = await generation();
      const next = current + 1;
      // Left over by a write that stopped half way (a crash): never current, safe to drop.
      await dropGeneration(next);
      // Rows are gathered a slice at a time, never all at once: a large graph has millions of relations.
      const write = async (head: string, rows: Iterable<SqlValue[]>, tail: string) => {
        let slice: SqlValue[][] = [];
        const flush = async () => {
          const batch = slice;
          slice = [];
          if (batch.length > 0) await db.transaction(() => insertRows(db, head, batch, tail));
        };
        for (const row of rows) {
          slice.push(row);
          if (slice.length >= RELATION_ROWS_PER_SLICE) await flush();
        }
        await flush();
      };
      await write('INSERT INTO relations (generation, subject, type, object)', mapIterable(graph.relations(), (r) => [next, r.from, r.type, r.to]), 'ON CONFLICT DO NOTHING');
      await write(
        'INSERT INTO relation_labels (generation, node, label)',
        mapIterable(graph.labelled(), ([node, text]) => [next, node, text]),
        'ON CONFLICT (generation, node) DO UPDATE SET label = excluded.label',
      );
      await db.transaction(async () => {
        await setMeta(RELATIONS_GENERATION_KEY, String(next));
        await setMeta(RELATIONS_FINGERPRINT_KEY, fingerprint);
      });
      await dropGeneration(current);
      return true;
    },
    async read(filter = {}) {
      const where = ['generation = ?'];
      const args: SqlValue[] = [await generation()];
      if (filter.from !== undefined) (where.push('subject = ?'), args.push(filter.from));
      if (filter.to !== undefined) (where.push('object = ?'), args.push(filter.to));
      if (filter.type !== undefined) (where.push('type = ?'), args.push(filter.type));
      const rows = await db.query<Row>(`SELECT subject, type, object FROM relations WHERE ${where.join(' AND ')} ORDER BY subject, type, object`, args);
      return rows.flatMap((r) => {
        const type = RelationTypeSchema.safeParse(r.type);
        return type.success ? [{ from: r.subject, type: type.data, to: r.object }] : [];
      });
    },
    async stored(fingerprint) {
      if ((await meta(RELATIONS_FINGERPRINT_KEY)) !== fingerprint) return undefined;
      const gen = await generation();
      const sameAs = await db.query<Row>("SELECT subject, type, object FROM relations WHERE generation = ? AND type = 'same-as'", [gen]);
      const size = (await db.one<{ n: number }>('SELECT count(*) AS n FROM relations WHERE generation = ?', [gen]))?.n ?? 0;
      return {
        sameAs: sameAs.map(toRelation),
        size,
        slice: async (after, limit) =>
          (after
            ? await db.query<Row>(
                'SELECT subject, type, object FROM relations WHERE generation = ? AND (subject, type, object) > (?, ?, ?) ORDER BY subject, type, object LIMIT ?',
                [gen, after.from, after.type, after.to, limit],
              )
            : await db.query<Row>('SELECT subject, type, object FROM relations WHERE generation = ? ORDER BY subject, type, object LIMIT ?', [gen, limit])
          ).map(toRelation),
        labels: async () =>
          (await db.query<{ node: string; label: string }>('SELECT node, label FROM relation_labels WHERE generation = ?', [gen])).map((r): [string, string] => [r.node, r.label]),
      };
    },
    async label(node) {
      return (await db.one<{ label: string }>('SELECT label FROM relation_labels WHERE generation = ? AND node = ?', [await generation(), node]))?.label;
    },
    async storyPosts() {
      return (await db.query<StoryPostRow>(STORY_POSTS_SQL)).map(toStoryPost);
    },
    async storyPostsById(ids) {
      if (ids.length === 0) return [];
      const rows = await db.query<StoryPostRow>(`SELECT ${STORY_POST_COLUMNS} FROM posts WHERE id ${inJsonArray(db)} AND id <> incident_id ORDER BY created_at, id`, [
        JSON.stringify([...new Set(ids)]),
      ]);
      return rows.map(toStoryPost);
    },
    async storyPostsSince(since) {
      return (await db.query<{ id: string }>('SELECT id FROM posts WHERE created_at >= ? AND id <> incident_id', [since])).map((r) => r.id);
    },
    async postsStamp() {
      const row = await db.one<{ n: number; t: number | null }>('SELECT count(*) AS n, max(created_at) AS t FROM posts');
      return `${row?.n ?? 0}:${row?.t ?? 0}`;
    },
  };
}

function* mapIterable<T, U>(items: Iterable<T>, fn: (item: T) => U): Iterable<U> {
  for (const item of items) yield fn(item);
}

import { setImmediate as nextTurn } from 'node:timers/promises';
import type Database from 'better-sqlite3';
import type { Graph, Relation } from '../core/graph.js';
import { RelationTypeSchema, type RelationType } from '../core/incident.js';
import type { StoryPost } from '../core/relations.js';
import { STORY_POSTS_SQL, toStoryPost, type StoryPostRow } from './repos/relations.js';
import type { StoredRelations } from '../core/served.js';

/** The meta key under which the fingerprint of the stored relations' inputs is kept. */
export const RELATIONS_FINGERPRINT_KEY = 'relations_fingerprint';
/** The meta key naming the generation of relations readers see. */
export const RELATIONS_GENERATION_KEY = 'relations_generation';
/** Rows written per transaction (and per turn of the event loop): a few milliseconds each. */
export const RELATION_ROWS_PER_SLICE = 5_000;

/**
 * Stores the graph's relations and node labels, replacing the stored ones, unless they were stored for the same
 * inputs already (`fingerprint`). A new generation is written in slices of RELATION_ROWS_PER_SLICE rows, one
 * transaction and one turn of the event loop each, then made current in one step; the old one is removed the same
 * way. Readers see the old graph or the new one, never a mix. Resolves to whether the new graph was stored (false
 * also when the database was closed half way: the next start writes it again).
 */
export async function saveRelations(db: Database.Database, graph: Graph, fingerprint: string): Promise<boolean> {
  const meta = db.prepare<[string], { value: string | null }>('SELECT value FROM meta WHERE key = ?');
  if (meta.get(RELATIONS_FINGERPRINT_KEY)?.value === fingerprint) return false;
  const current = Number(meta.get(RELATIONS_GENERATION_KEY)?.value ?? 0);
  const next = current + 1;
  const insert = db.prepare<[number, string, string, string]>('INSERT OR IGNORE INTO relations (generation, subject, type, object) VALUES (?, ?, ?, ?)');
  const label = db.prepare<[number, string, string]>('INSERT OR REPLACE INTO relation_labels (generation, node, label) VALUES (?, ?, ?)');
  // Left over by a write that stopped half way (a crash): never current, safe to drop.
  await dropGeneration(db, next);
  let rows: Array<() => void> = [];
  const flush = async () => {
    const batch = rows;
    rows = [];
    // The bot may stop (and close the database) between two slices: the next start writes them again.
    if (!db.open) throw new RelationsNotSaved();
    db.transaction(() => batch.forEach((run) => run()))();
    await nextTurn();
  };
  try {
    for (const r of graph.relations()) {
      rows.push(() => insert.run(next, r.from, r.type, r.to));
      if (rows.length >= RELATION_ROWS_PER_SLICE) await flush();
    }
    for (const [node, text] of graph.labelled()) {
      rows.push(() => label.run(next, node, text));
      if (rows.length >= RELATION_ROWS_PER_SLICE) await flush();
    }
    await flush();
  } catch (error) {
    if (error instanceof RelationsNotSaved) return false;
    throw error;
  }
  const set = db.prepare<[string, string]>('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value');
  db.transaction(() => {
    set.run(RELATIONS_GENERATION_KEY, String(next));
    set.run(RELATIONS_FINGERPRINT_KEY, fingerprint);
  })();
  await dropGeneration(db, current);
  return true;
}

class RelationsNotSaved extends Error {}

async function dropGeneration(db: Database.Database, generation: number): Promise<void> {
  // A slice at a time, in key order: up to the subject found RELATION_ROWS_PER_SLICE rows in.
  const bound = db.prepare<[number, number], { subject: string }>(
    'SELECT subject FROM relations WHERE generation = ? ORDER BY subject LIMIT 1 OFFSET ?',
  );
  const upTo = db.prepare<[number, string]>('DELETE FROM relations WHERE generation = ? AND subject <= ?');
  const rest = db.prepare<[number]>('DELETE FROM relations WHERE generation = ?');
  for (;;) {
    if (!db.open) return;
    const edge = bound.get(generation, RELATION_ROWS_PER_SLICE);
    if (!edge) break;
    upTo.run(generation, edge.subject);
    await nextTurn();
  }
  if (!db.open) return;
  rest.run(generation);
  db.prepare<[number]>('DELETE FROM relation_labels WHERE generation = ?').run(generation);
}

/** Filters for `readRelations`; every given field must match. */
export interface RelationFilter {
  from?: string;
  to?: string;
  type?: RelationType;
}

function currentGeneration(db: Database.Database): number {
  return Number(db.prepare<[string], { value: string | null }>('SELECT value FROM meta WHERE key = ?').get(RELATIONS_GENERATION_KEY)?.value ?? 0);
}

/** Returns the stored relations matching the filter (all of them without one), for tools that read the database. */
export function readRelations(db: Database.Database, filter: RelationFilter = {}): Relation[] {
  const where = ['generation = ?'];
  const args: Array<string | number> = [currentGeneration(db)];
  if (filter.from !== undefined) (where.push('subject = ?'), args.push(filter.from));
  if (filter.to !== undefined) (where.push('object = ?'), args.push(filter.to));
  if (filter.type !== undefined) (where.push('type = ?'), args.push(filter.type));
  return db
    .prepare<Array<string | number>, { subject: string; type: string; object: string }>(
      `SELECT subject, type, object FROM relations WHERE ${where.join(' AND ')} ORDER BY subject, type, object`,
    )
    .all(...args)
    .flatMap((r) => {
      const type = RelationTypeSchema.safeParse(r.type);
      return type.success ? [{ from: r.subject, type: type.data, to: r.object }] : [];
    });
}

/**
 * Returns the relations stored for these inputs (`fingerprint`), to be read a slice at a time (see
 * `servedFromStored`), or undefined when they were stored for other inputs or not at all.
 */
export function readStoredGraph(db: Database.Database, fingerprint: string): StoredRelations | undefined {
  const stored = db.prepare<[string], { value: string | null }>('SELECT value FROM meta WHERE key = ?').get(RELATIONS_FINGERPRINT_KEY);
  if (stored?.value !== fingerprint) return undefined;
  const generation = currentGeneration(db);
  type Row = { subject: string; type: string; object: string };
  const toRelation = (r: Row): Relation => ({ from: r.subject, type: r.type as RelationType, to: r.object });
  const first = db.prepare<[number, number], Row>('SELECT subject, type, object FROM relations WHERE generation = ? ORDER BY subject, type, object LIMIT ?');
  const next = db.prepare<[number, string, string, string, number], Row>(
    'SELECT subject, type, object FROM relations WHERE generation = ? AND (subject, type, object) > (?, ?, ?) ORDER BY subject, type, object LIMIT ?',
  );
  return {
    sameAs: db.prepare<[number], Row>("SELECT subject, type, object FROM relations WHERE generation = ? AND type = 'same-as'").all(generation).map(toRelation),
    size: db.prepare<[number], { n: number }>('SELECT count(*) AS n FROM relations WHERE generation = ?').get(generation)?.n ?? 0,
    slice: (after, limit) => (after ? next.all(generation, after.from, after.type, after.to, limit) : first.all(generation, limit)).map(toRelation),
    labels: () =>
      db
        .prepare<[number], { node: string; label: string }>('SELECT node, label FROM relation_labels WHERE generation = ?')
        .all(generation)
        .map((r): [string, string] => [r.node, r.label]),
  };
}

/** Returns the label stored for a node that is not a record ("country:RU" -> "Russia"). */
export function readLabel(db: Database.Database, node: string): string | undefined {
  return db
    .prepare<[number, string], { label: string }>('SELECT label FROM relation_labels WHERE generation = ? AND node = ?')
    .get(currentGeneration(db), node)?.label;
}

/** Returns the feed posts that report a story other than their own (their `reported-in` relations). */
export function storyPosts(db: Database.Database): StoryPost[] {
  return db.prepare<[], StoryPostRow>(STORY_POSTS_SQL).all().map(toStoryPost);
}

/** Returns a cheap summary of the posts table that changes whenever a post is added or removed. */
export function postsStamp(db: Database.Database): string {
  const row = db.prepare<[], { n: number; t: number | null }>('SELECT count(*) AS n, max(created_at) AS t FROM posts').get();
  return `${row?.n ?? 0}:${row?.t ?? 0}`;
}

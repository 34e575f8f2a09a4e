import type Database from 'better-sqlite3';
import type { Graph, Relation } from '../core/graph.js';
import { RelationTypeSchema, type RelationType } from '../core/incident.js';
import type { StoryPost } from '../core/relations.js';

/** The meta key under which the fingerprint of the stored relations' inputs is kept. */
export const RELATIONS_FINGERPRINT_KEY = 'relations_fingerprint';

/**
 * Stores the graph's relations and node labels in the `relations` tables, replacing what was there, unless they were
 * stored for the same inputs already (`fingerprint`). One transaction: readers see the old graph or the new one.
 * Returns whether anything was written.
 */
export function saveRelations(db: Database.Database, graph: Graph, fingerprint: string): boolean {
  const stored = db.prepare<[string], { value: string | null }>('SELECT value FROM meta WHERE key = ?').get(RELATIONS_FINGERPRINT_KEY);
  if (stored?.value === fingerprint) return false;
  const insert = db.prepare<[string, string, string]>('INSERT OR IGNORE INTO relations (subject, type, object) VALUES (?, ?, ?)');
  const label = db.prepare<[string, string]>('INSERT OR REPLACE INTO relation_labels (node, label) VALUES (?, ?)');
  db.transaction(() => {
    db.exec('DELETE FROM relations; DELETE FROM relation_labels;');
    for (const r of graph.relations()) insert.run(r.from, r.type, r.to);
    for (const [node, text] of graph.labelled()) label.run(node, text);
    db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run(RELATIONS_FINGERPRINT_KEY, fingerprint);
  })();
  return true;
}

/** Filters for `readRelations`; every given field must match. */
export interface RelationFilter {
  from?: string;
  to?: string;
  type?: RelationType;
}

/** Returns the stored relations matching the filter (all of them without one), for tools that read the database. */
export function readRelations(db: Database.Database, filter: RelationFilter = {}): Relation[] {
  const where: string[] = [];
  const args: string[] = [];
  if (filter.from !== undefined) (where.push('subject = ?'), args.push(filter.from));
  if (filter.to !== undefined) (where.push('object = ?'), args.push(filter.to));
  if (filter.type !== undefined) (where.push('type = ?'), args.push(filter.type));
  const sql = `SELECT subject, type, object FROM relations${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY subject, type, object`;
  return db
    .prepare<string[], { subject: string; type: string; object: string }>(sql)
    .all(...args)
    .flatMap((r) => {
      const type = RelationTypeSchema.safeParse(r.type);
      return type.success ? [{ from: r.subject, type: type.data, to: r.object }] : [];
    });
}

/** Returns the label stored for a node that is not a record ("country:RU" -> "Russia"). */
export function readLabel(db: Database.Database, node: string): string | undefined {
  return db.prepare<[string], { label: string }>('SELECT label FROM relation_labels WHERE node = ?').get(node)?.label;
}

/** Returns the feed posts that report a story other than their own (their `reported-in` relations). */
export function storyPosts(db: Database.Database): StoryPost[] {
  return db
    .prepare<[], { id: string; incident_id: string; title: string }>('SELECT id, incident_id, title FROM posts WHERE id <> incident_id ORDER BY created_at, id')
    .all()
    .map((r) => ({ postId: r.id, incidentId: r.incident_id, title: r.title }));
}

/** Returns a cheap summary of the posts table that changes whenever a post is added or removed. */
export function postsStamp(db: Database.Database): string {
  const row = db.prepare<[], { n: number; t: number | null }>('SELECT count(*) AS n, max(created_at) AS t FROM posts').get();
  return `${row?.n ?? 0}:${row?.t ?? 0}`;
}

import type { Db } from '../db.js';
import { inJsonArray, insertRows } from './sql.js';
import type { TenantsRepo } from './tenants.js';

/** A stored post (one feed item that was new when first seen). */
export interface PostRow {
  id: string;
  feedId: number;
  incidentId: string;
  url: string | null;
  urlKey: string | null;
  title: string;
  published: string | null;
  summary: string;
  createdAt: number;
}

type Raw = Record<string, unknown>;

/** SQL condition: an alert about the post `ranked.id` is pending or being sent, alone or folded into such a digest. */
const OUTBOX_WAITING = `SELECT 1 FROM outbox o WHERE o.post_id = ranked.id AND (o.status IN ('pending', 'sending')
  OR (o.status = 'folded' AND EXISTS (SELECT 1 FROM outbox d WHERE d.id = o.digest_id AND d.status IN ('pending', 'sending'))))`;

/** SQL expression: a post's date for retention, its published date or else when it was stored, as ISO 8601 text. */
function postAt(db: Db): string {
  return db.kind === 'postgres'
    ? `coalesce(published, to_char(to_timestamp(created_at / 1000.0) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))`
    : `coalesce(published, strftime('%Y-%m-%dT%H:%M:%fZ', created_at / 1000.0, 'unixepoch'))`;
}

/**
 * Posts, and the few questions about stored records the feed pipeline asks (which record a link already belongs to,
 * where a record came from, removing a record only a pruned post told).
 */
export class PostsRepo {
  private readonly postAt: string;

  constructor(
    private readonly db: Db,
    private readonly tenants: TenantsRepo,
  ) {
    this.postAt = postAt(db);
  }

  /**
   * Stores a post. A post that made its own record (record id = post id) from a feed no operator owns makes that
   * record private to the feed's owners: other tenants never see it in answers, search, lists or suggestions.
   */
  async insert(p: PostRow): Promise<void> {
    await this.db.run(
      `INSERT INTO posts (id, feed_id, incident_id, url, url_key, title, published, summary, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [p.id, p.feedId, p.incidentId, p.url, p.urlKey, p.title, p.published, p.summary, p.createdAt],
    );
    if (p.incidentId === p.id && !(await this.tenants.isOperatorFeed(p.feedId))) await this.tenants.markPrivate(p.incidentId, p.feedId);
  }

  /**
   * Stores posts as insert does, a few hundred per statement; `operatorFeed` says whether an operator owns their feed
   * (the caller asked once for the batch).
   */
  async insertMany(posts: readonly PostRow[], operatorFeed: boolean): Promise<void> {
    await insertRows(
      this.db,
      'INSERT INTO posts (id, feed_id, incident_id, url, url_key, title, published, summary, created_at)',
      posts.map((p) => [p.id, p.feedId, p.incidentId, p.url, p.urlKey, p.title, p.published, p.summary, p.createdAt]),
    );
    if (!operatorFeed) await this.tenants.markPrivateMany(posts.filter((p) => p.incidentId === p.id).map((p) => ({ incidentId: p.id, feedId: p.feedId })));
  }

  /** One post, or undefined. */
  async get(id: string): Promise<PostRow | undefined> {
    const r = await this.db.one<Raw>('SELECT * FROM posts WHERE id = ?', [id]);
    return r ? toPost(r) : undefined;
  }

  /**
   * The incident of a post of another feed stored with this normalised link (every such post shares it), or
   * undefined; always undefined for a feed no operator owns, whose posts never join another record.
   */
  async incidentByUrlKeyElsewhere(urlKey: string, feedId: number): Promise<string | undefined> {
    if (!(await this.tenants.isOperatorFeed(feedId))) return undefined;
    // Private records are never attached to (their audience is one feed's owners), so they are skipped here.
    const r = await this.db.one<{ incident_id: string }>(
      `SELECT p.incident_id FROM posts p WHERE p.url_key = ? AND p.feed_id != ?
         AND NOT EXISTS (SELECT 1 FROM private_records r WHERE r.incident_id = p.incident_id) LIMIT 1`,
      [urlKey, feedId],
    );
    return r?.incident_id;
  }

  /**
   * Returns incidentByUrlKeyElsewhere for several links in one query: normalised link -> incident, for the links found
   * (`operatorFeed`: whether an operator owns the feed; no link is looked up otherwise).
   */
  async incidentsByUrlKeysElsewhere(urlKeys: readonly string[], feedId: number, operatorFeed: boolean): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    if (!operatorFeed || urlKeys.length === 0) return out;
    const rows = await this.db.query<{ url_key: string; incident_id: string }>(
      `SELECT p.url_key, p.incident_id FROM posts p WHERE p.url_key ${inJsonArray(this.db)} AND p.feed_id != ?
         AND NOT EXISTS (SELECT 1 FROM private_records r WHERE r.incident_id = p.incident_id)`,
      [JSON.stringify([...new Set(urlKeys)]), feedId],
    );
    for (const r of rows) if (!out.has(r.url_key)) out.set(r.url_key, r.incident_id);
    return out;
  }

  /** Posts published on or after this ISO date (for the story index at start). */
  async publishedSince(iso: string): Promise<PostRow[]> {
    return (await this.db.query<Raw>('SELECT * FROM posts WHERE published >= ? ORDER BY published', [iso])).map(toPost);
  }

  /** The date of a feed's newest dated post (ISO 8601), or undefined when it has none. */
  async newestPublished(feedId: number): Promise<string | undefined> {
    return (await this.db.one<{ p: string | null }>('SELECT max(published) AS p FROM posts WHERE feed_id = ?', [feedId]))?.p ?? undefined;
  }

  /** Number of stored posts (of one feed when `feedId` is given). */
  async count(feedId?: number): Promise<number> {
    const r =
      feedId === undefined
        ? await this.db.one<{ n: number }>('SELECT count(*) AS n FROM posts')
        : await this.db.one<{ n: number }>('SELECT count(*) AS n FROM posts WHERE feed_id = ?', [feedId]);
    return r!.n;
  }

  /** (incident id, source url) for every stored record that did not come from a feed, for same-link detection. */
  async nonFeedSourceLinks(): Promise<{ id: string; url: string }[]> {
    const sql =
      this.db.kind === 'postgres'
        ? `SELECT i.id AS id, s.value->>'url' AS url FROM incidents i, jsonb_array_elements(i.data::jsonb->'sources') s
           WHERE i.origin NOT LIKE 'feed:%'`
        : `SELECT i.id AS id, json_extract(s.value, '$.url') AS url FROM incidents i, json_each(i.data, '$.sources') s
           WHERE i.origin NOT LIKE 'feed:%'`;
    const rows = await this.db.query<{ id: string; url: string | null }>(sql);
    return rows.filter((r): r is { id: string; url: string } => typeof r.url === 'string');
  }

  /** The origins of these stored incidents (their last import; ids not in the store are absent), in one query. */
  async incidentOrigins(ids: readonly string[]): Promise<Map<string, string>> {
    if (ids.length === 0) return new Map();
    const rows = await this.db.query<{ id: string; origin: string }>(`SELECT id, origin FROM incidents WHERE id ${inJsonArray(this.db)}`, [JSON.stringify(ids)]);
    return new Map(rows.map((r) => [r.id, r.origin]));
  }

  // ---- retention

  /**
   * Up to `limit` posts of a feed to prune, oldest first: published (else stored) before `cutoffIso`, or beyond the
   * newest `cap`. Posts an alert still waits for (pending or being sent, alone or in a digest) are never listed.
   */
  async prunable(feedId: number, cutoffIso: string, cap: number, limit: number): Promise<{ id: string; incidentId: string }[]> {
    // Most calls find nothing to do: answer those from a count, without ranking every post of the feed.
    const span = (await this.db.one<{ n: number; oldest: string | null }>(`SELECT count(*) AS n, min(${this.postAt}) AS oldest FROM posts WHERE feed_id = ?`, [feedId]))!;
    if (span.n <= cap && (span.oldest === null || span.oldest >= cutoffIso)) return [];
    const rows = await this.db.query<{ id: string; incident_id: string }>(
      `WITH ranked AS (
         SELECT id, incident_id, ${this.postAt} AS at,
                row_number() OVER (ORDER BY ${this.postAt} DESC, created_at DESC, id) AS rank
         FROM posts WHERE feed_id = ?
       )
       SELECT id, incident_id FROM ranked
       WHERE (at < ? OR rank > ?) AND NOT EXISTS (${OUTBOX_WAITING})
       ORDER BY at, id LIMIT ?`,
      [feedId, cutoffIso, cap, limit],
    );
    return rows.map((r) => ({ id: r.id, incidentId: r.incident_id }));
  }

  /**
   * Deletes a post with its delivered outbox rows, keeping its item key (without the post) so the item is still known;
   * the incident the post created goes too once no other post tells its story (records not created by a feed stay).
   * Returns the id of the incident deleted, if any; does nothing when an alert now waits for the post.
   */
  prune(id: string): Promise<{ pruned: boolean; incidentId?: string }> {
    return this.db.transaction(async () => {
      const post = await this.get(id);
      if (!post || (await this.db.one(`SELECT 1 AS one FROM posts ranked WHERE ranked.id = ? AND EXISTS (${OUTBOX_WAITING})`, [id]))) return { pruned: false };
      await this.db.run('DELETE FROM outbox WHERE post_id = ?', [id]);
      await this.db.run('UPDATE feed_items SET post_id = NULL WHERE post_id = ?', [id]);
      await this.db.run('DELETE FROM posts WHERE id = ?', [id]);
      const inc = post.incidentId;
      if (
        inc.startsWith('post:') &&
        !(await this.db.one('SELECT 1 AS one FROM posts WHERE incident_id = ? LIMIT 1', [inc])) &&
        (await this.db.run("DELETE FROM incidents WHERE id = ? AND origin LIKE 'feed:%'", [inc])).changes > 0
      ) {
        await this.db.run('DELETE FROM alert_threads WHERE incident_id = ?', [inc]);
        return { pruned: true, incidentId: inc };
      }
      return { pruned: true };
    });
  }
}

function toPost(r: Raw): PostRow {
  return {
    id: r.id as string,
    feedId: r.feed_id as number,
    incidentId: r.incident_id as string,
    url: r.url as string | null,
    urlKey: r.url_key as string | null,
    title: r.title as string,
    published: r.published as string | null,
    summary: r.summary as string,
    createdAt: r.created_at as number,
  };
}

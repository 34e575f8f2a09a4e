import type { IncidentService } from './core/incident-service.js';
import type { StoryPost } from './core/relations.js';
import { createServedUpdater, type RecordReader } from './core/served-update.js';
import type { Logger } from './logger.js';
import { createLocalChangeBus, createPgChangeBus, type ChangeBus, type ChangeTopic } from './store/change-bus.js';
import type { Db } from './store/db.js';
import { LeaseRepo } from './store/leases.js';

/**
 * What keeps the replicas of one database in step: the change bus that tells every replica which records and feed posts
 * another one wrote (each then updates those in its own index, in place), and the leases they take turns with.
 */

/** How a replica joins the others. */
export interface ReplicationOptions {
  db: Db;
  /** DATABASE_URL: on PostgreSQL the bus listens on a connection of its own; absent on SQLite (one process). */
  databaseUrl?: string;
  /** REPLICA_ID: names this replica's notices and leases. */
  replicaId: string;
  /** The served index this replica answers from. */
  service: IncidentService;
  /** Every id merged into another record -> the id it is served as (ServedData.canonical). */
  canonical: ReadonlyMap<string, string>;
  /** What the layers hold now for changed ids (bundled data, store, synced sources). */
  read: RecordReader;
  /** Ids of records written or removed since an epoch-ms time: the catch-up after notices were missed. */
  changedSince?: (since: number) => Promise<string[]>;
  /**
   * Which records are private to a feed's owners (the store's TenantsRepo): told of the ids another replica wrote
   * before they are served, so a private record is never shown to every tenant here.
   */
  tenants?: { learnPrivate(ids: readonly string[]): Promise<void> };
  /** Where the feed posts another replica stored are read (the store's RelationRepo); without it they wait for a restart. */
  posts?: StoryPostReader;
  logger?: Logger;
}

/** Reads feed posts that joined a known story (they make no record, so records notices never bring them). */
export interface StoryPostReader {
  /** The story posts among these ids, in one query (ids of posts gone or of posts that made a record are absent). */
  storyPostsById(ids: readonly string[]): Promise<StoryPost[]>;
  /** Ids of the story posts stored since an epoch-ms time. */
  storyPostsSince(since: number): Promise<string[]>;
}

/** A replica's part in the fleet. */
export interface Replication {
  /**
   * The service to hand the writers (feed watcher, source syncer): what they upsert or remove in this replica's index
   * is also announced to the others.
   */
  service: IncidentService;
  bus: ChangeBus;
  leases: LeaseRepo;
  /** Resolves when the changes heard so far are in this replica's index (tests, shutdown). */
  settled(): Promise<void>;
  /** Stops listening (the Db stays open). */
  close(): Promise<void>;
}

/** How far back a catch-up reads before the moment the listening connection dropped (clock skew, slow commits). */
const CATCH_UP_MARGIN_MS = 30_000;

/**
 * Joins the replicas of `db`: changes announced by the others are applied to this replica's index as they come
 * (several notices heard during one update are applied together), and the returned service announces this one's.
 */
export async function startReplication(options: ReplicationOptions): Promise<Replication> {
  const { db, replicaId, logger: log } = options;
  let lostAt: number | undefined;
  const bus =
    db.kind === 'postgres' && options.databaseUrl
      ? await createPgChangeBus({
          db,
          url: options.databaseUrl,
          replicaId,
          applicationName: `incident-bot ${replicaId} listener`,
          onConnection: (state, error) => {
            if (state === 'lost') {
              lostAt ??= Date.now();
              log?.warn({ err: error?.message }, 'change notices: listening connection lost; reconnecting');
            } else {
              log?.info('change notices: listening again');
            }
          },
        })
      : createLocalChangeBus(replicaId);
  const updater = createServedUpdater({ service: options.service, canonical: options.canonical, read: options.read });

  const inner = options.service;
  const pending = { records: new Set<string>(), posts: new Set<string>() };
  let running: Promise<void> = Promise.resolve();
  let scheduled = false;
  const drain = () => {
    if (scheduled) return;
    scheduled = true;
    running = running.then(async () => {
      scheduled = false;
      const ids = [...pending.records];
      const postIds = [...pending.posts];
      pending.records.clear();
      pending.posts.clear();
      // Records first: a post is shown beside the story it reports. A post pruned since its notice is no longer read
      // back (its removal comes as a records notice, like any id taken out of the index).
      if (ids.length) {
        try {
          await options.tenants?.learnPrivate(ids);
          await updater.apply(ids);
        } catch (error) {
          log?.error({ err: (error as Error).message, ids: ids.length }, 'change notices: index update failed');
        }
      }
      if (postIds.length && options.posts && inner.addPosts) {
        try {
          const posts = await options.posts.storyPostsById(postIds);
          if (posts.length) inner.addPosts(posts);
        } catch (error) {
          log?.error({ err: (error as Error).message, posts: postIds.length }, 'change notices: reading feed posts failed');
        }
      }
    });
  };
  const queue = (topic: ChangeTopic, ids: readonly string[]) => {
    if (ids.length === 0) return;
    for (const id of ids) pending[topic].add(id);
    drain();
  };
  const catchUp = (what: string, read: Promise<string[]>, topic: ChangeTopic) =>
    read.then(
      (ids) => queue(topic, ids),
      (error: unknown) => log?.error({ err: (error as Error).message }, `change notices: catching up ${what} failed`),
    );
  const unsubscribe = bus.subscribe({
    notice(notice) {
      // This replica's own writes are in its index already.
      if (notice.from === replicaId) return;
      queue(notice.topic, notice.ids);
    },
    gap() {
      const since = (lostAt ?? Date.now()) - CATCH_UP_MARGIN_MS;
      lostAt = undefined;
      if (!options.changedSince) {
        log?.warn('change notices may have been missed; records written meanwhile by other replicas are served after the next restart');
      } else {
        catchUp('records', options.changedSince(since), 'records');
      }
      if (options.posts) catchUp('feed posts', options.posts.storyPostsSince(since), 'posts');
    },
  });

  const announce = (topic: ChangeTopic, ids: readonly string[]) => {
    bus.publish(topic, ids).catch((error: unknown) => log?.error({ err: (error as Error).message }, 'change notices: publishing failed'));
  };
  const service: IncidentService = {
    answer: (query, view) => inner.answer(query, view),
    search: (query, o) => inner.search(query, o),
    searchList: (query, o) => inner.searchList(query, o),
    recent: (count, o) => inner.recent(count, o),
    autocomplete: (prefix, limit, view) => inner.autocomplete(prefix, limit, view),
    get: (id, view) => inner.get(id, view),
    get graph() {
      return inner.graph;
    },
    get size() {
      return inner.size;
    },
    // A record of a merged group is recomputed from its group (read back from the store), as notices are; the rest is
    // replaced at once.
    upsert(incidents) {
      const alone = incidents.filter((i) => !updater.grouped(i.id));
      inner.upsert(alone);
      queue('records', incidents.filter((i) => updater.grouped(i.id)).map((i) => i.id));
      announce('records', incidents.map((i) => i.id));
    },
    // Posts that joined a known story are stored already (the caller committed them): the others read them back by id.
    addPosts(posts) {
      inner.addPosts?.(posts);
      announce('posts', posts.map((p) => p.postId));
    },
    // Ids of pruned posts go out as records notices: another replica reads them back, finds nothing and drops them.
    remove(ids) {
      inner.remove(ids.filter((id) => !updater.grouped(id)));
      queue('records', ids.filter((id) => updater.grouped(id)));
      announce('records', ids);
    },
  };

  return {
    service,
    bus,
    leases: new LeaseRepo(db, replicaId),
    settled: async () => {
      for (let seen: Promise<void> | undefined; seen !== running; ) {
        seen = running;
        await running;
      }
    },
    async close() {
      unsubscribe();
      await bus.close();
      await running;
    },
  };
}

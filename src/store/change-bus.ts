import { createHash } from 'node:crypto';
import pg from 'pg';
import type { Db } from './db.js';

/**
 * Notices that records or posts changed, so that every replica's index follows what any of them wrote. On PostgreSQL
 * they travel by LISTEN/NOTIFY: a notice published inside a transaction is delivered when it commits (never when it
 * rolls back), to every replica listening, the publisher included. On SQLite (one process) they stay in the process.
 * A notice carries ids, not records: NOTIFY payloads must stay under 8000 bytes, and the store is the truth to read.
 */

/** What changed: served records (synced, imported, feed stories) or feed posts. */
export type ChangeTopic = 'records' | 'posts';

/** One notice: these ids of `topic` changed (written or removed), by replica `from`. */
export interface ChangeNotice {
  topic: ChangeTopic;
  ids: string[];
  from: string;
}

/** What a subscriber is told. */
export interface ChangeListener {
  /** Ids changed somewhere (this replica included). */
  notice(notice: ChangeNotice): void;
  /**
   * Notices may have been missed (the listening connection dropped and came back, or a change was too large to
   * name): the subscriber should catch up from the store, e.g. everything written since it last knew.
   */
  gap?(): void;
}

/** Publish/subscribe of change notices between the replicas of one database. */
export interface ChangeBus {
  /** 'postgres' when notices reach other processes; 'local' when they stay in this one. */
  readonly kind: 'postgres' | 'local';
  /** Tells every subscriber that these ids changed; inside a transaction of the Db, on commit (PostgreSQL). */
  publish(topic: ChangeTopic, ids: readonly string[]): Promise<void>;
  /** Starts telling `listener` about changes; returns how to stop. */
  subscribe(listener: ChangeListener): () => void;
  /** Stops listening (safe to call twice). */
  close(): Promise<void>;
}

/**
 * Largest payload sent: PostgreSQL refuses 8000 bytes or more ("payload string too long"), and a notice must stay a
 * little under to leave room for its envelope.
 */
export const MAX_NOTICE_BYTES = 7_900;

/** Longest wait between two attempts to listen again after the connection dropped. */
const MAX_RECONNECT_MS = 5_000;
const FIRST_RECONNECT_MS = 100;

interface Wire {
  t: ChangeTopic;
  f: string;
  i?: string[];
  /** Set when the change was too large to name: listeners catch up instead. */
  g?: true;
}

/** Returns the payloads naming `ids`, each under MAX_NOTICE_BYTES (one `gap` payload for an id that cannot fit). */
export function noticePayloads(topic: ChangeTopic, from: string, ids: readonly string[]): string[] {
  const out: string[] = [];
  const envelope = Buffer.byteLength(JSON.stringify({ t: topic, f: from, i: [] }));
  let batch: string[] = [];
  let bytes = envelope;
  let gap = false;
  for (const id of ids) {
    const size = Buffer.byteLength(JSON.stringify(id)) + 1;
    if (envelope + size > MAX_NOTICE_BYTES) {
      gap = true;
      continue;
    }
    if (bytes + size > MAX_NOTICE_BYTES) {
      out.push(JSON.stringify({ t: topic, f: from, i: batch } satisfies Wire));
      batch = [];
      bytes = envelope;
    }
    batch.push(id);
    bytes += size;
  }
  if (batch.length) out.push(JSON.stringify({ t: topic, f: from, i: batch } satisfies Wire));
  if (gap) out.push(JSON.stringify({ t: topic, f: from, g: true } satisfies Wire));
  return out;
}

function fanOut(listeners: ReadonlySet<ChangeListener>, wire: Wire): void {
  for (const l of listeners) {
    try {
      if (wire.g) l.gap?.();
      else l.notice({ topic: wire.t, ids: wire.i ?? [], from: wire.f });
    } catch {
      // A listener's failure is its own: the others still hear of the change.
    }
  }
}

/** Returns a bus whose notices stay in this process (SQLite: one process serves the database). */
export function createLocalChangeBus(replicaId: string): ChangeBus {
  const listeners = new Set<ChangeListener>();
  return {
    kind: 'local',
    async publish(topic, ids) {
      if (ids.length === 0) return;
      const wire: Wire = { t: topic, f: replicaId, i: [...ids] };
      // Delivered after the caller's turn, as LISTEN/NOTIFY would: a listener never runs inside the publisher's call.
      setImmediate(() => fanOut(listeners, wire));
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async close() {
      listeners.clear();
    },
  };
}

/** How a PostgreSQL change bus connects. */
export interface PgChangeBusOptions {
  /** The Db notices are published through (inside its transactions, they go out on commit). */
  db: Db;
  /** The same database's URL: the bus keeps one connection of its own for LISTEN, outside the pool. */
  url: string;
  /** Names the publisher in notices (REPLICA_ID). */
  replicaId: string;
  /** Shown in pg_stat_activity for the listening connection. */
  applicationName?: string;
  /** Told when the listening connection drops and when it is back (never throws). */
  onConnection?: (state: 'lost' | 'listening', error?: Error) => void;
}

/**
 * Returns a bus over PostgreSQL LISTEN/NOTIFY. One dedicated connection listens (a pooled one would be handed to other
 * queries and lose its LISTEN); when it drops, the bus connects again with a growing pause, listens again and tells
 * subscribers of the gap. The channel is named after the database schema, so several schemas on one server (tests,
 * staging beside production) do not hear each other.
 */
export async function createPgChangeBus(options: PgChangeBusOptions): Promise<ChangeBus> {
  const { db, url, replicaId } = options;
  const schema = (await db.one<{ s: string }>('SELECT current_schema() AS s'))?.s ?? 'public';
  const channel = schema === 'public' ? 'incident_bot_changes' : `incident_bot_changes_${createHash('sha1').update(schema).digest('hex').slice(0, 16)}`;
  const listeners = new Set<ChangeListener>();
  let client: pg.Client | undefined;
  let closed = false;
  let retryMs = FIRST_RECONNECT_MS;
  let timer: NodeJS.Timeout | undefined;

  const connect = async (): Promise<void> => {
    const c = new pg.Client({ connectionString: url, application_name: options.applicationName ?? 'incident-bot listener', keepAlive: true });
    c.on('notification', (msg) => {
      if (msg.channel !== channel || !msg.payload) return;
      let wire: Wire;
      try {
        wire = JSON.parse(msg.payload) as Wire;
      } catch {
        return;
      }
      if (wire.t === 'records' || wire.t === 'posts') fanOut(listeners, wire);
    });
    let dropped = false;
    const drop = (error?: Error) => {
      if (dropped) return;
      dropped = true;
      if (client === c) client = undefined;
      c.end().catch(() => {});
      if (closed) return;
      options.onConnection?.('lost', error);
      schedule();
    };
    c.on('error', (error) => drop(error));
    c.on('end', () => drop());
    await c.connect();
    await c.query(`LISTEN ${channel}`);
    if (closed) {
      await c.end().catch(() => {});
      return;
    }
    client = c;
    retryMs = FIRST_RECONNECT_MS;
  };
  const schedule = () => {
    timer = setTimeout(() => {
      timer = undefined;
      connect().then(
        () => {
          if (closed) return;
          options.onConnection?.('listening');
          // Whatever was published while no connection listened is lost to this replica: subscribers catch up.
          fanOut(listeners, { t: 'records', f: replicaId, g: true });
        },
        (error: unknown) => {
          options.onConnection?.('lost', error as Error);
          retryMs = Math.min(retryMs * 2, MAX_RECONNECT_MS);
          if (!closed) schedule();
        },
      );
    }, retryMs);
    timer.unref();
  };

  await connect();
  return {
    kind: 'postgres',
    async publish(topic, ids) {
      for (const payload of noticePayloads(topic, replicaId, ids)) await db.query('SELECT pg_notify(?, ?)', [channel, payload]);
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async close() {
      closed = true;
      listeners.clear();
      if (timer) clearTimeout(timer);
      const c = client;
      client = undefined;
      await c?.end().catch(() => {});
    },
  };
}

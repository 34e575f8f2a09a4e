/**
 * The parts `npm run bench:fleet` is built from: bot processes started as `npm start` starts them (and killed with
 * SIGKILL), a throw-away PostgreSQL database, a feed server whose feeds grow while the bot polls them, and read
 * access to what the bot stored, on either engine.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import pg from 'pg';
import type { Db } from '../src/store/db.js';
import { createPgDb } from '../src/store/pg-db.js';
import { createSqliteDb } from '../src/store/sqlite-db.js';
import { rssFeed, type FeedServer } from '../test/support/feed-server.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Returns the q-th percentile of `values` (milliseconds), or NaN when there are none. */
export function percentile(values: readonly number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((q / 100) * sorted.length) - 1))]!;
}

/** Waits `ms` milliseconds. */
export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls `check` every `everyMs` until it returns a value; undefined after `timeoutMs`. */
export async function waitFor<T>(check: () => T | undefined | Promise<T | undefined>, timeoutMs: number, everyMs = 100): Promise<T | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) return undefined;
    await sleep(everyMs);
  }
}

/** One bot process, started like `npm start` (tsx src/main.ts) with its own environment and log file. */
export class BotProcess {
  child?: ChildProcess;
  exits = 0;
  startedAt = 0;

  constructor(
    readonly name: string,
    readonly env: Record<string, string>,
    readonly logFile: string,
  ) {}

  /** Starts the process (again, after a kill). */
  start(): void {
    const log = createWriteStream(this.logFile, { flags: 'a' });
    // The parent's environment minus anything of ours: a developer's .env or shell must not leak into the fleet.
    const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(DISCORD|SLACK|DATABASE|FEED|HTTP|REPLICA|SOURCES|INCIDENT)_/.test(k)));
    this.child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src', 'main.ts')], {
      cwd: ROOT,
      env: { ...base, LOG_LEVEL: 'info', ...this.env } as NodeJS.ProcessEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.startedAt = Date.now();
    this.child.stdout!.pipe(log);
    this.child.stderr!.pipe(log);
    this.child.once('exit', () => this.exits++);
  }

  /** kill -9: no shutdown, no cleanup, leases and in-flight work left as they were. */
  kill9(): void {
    this.child?.kill('SIGKILL');
  }

  /** Stops the process the way an operator does (SIGTERM), and waits for it. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    await Promise.race([exited, sleep(10_000).then(() => child.kill('SIGKILL'))]);
  }

  get alive(): boolean {
    return !!this.child && this.child.exitCode === null && this.child.signalCode === null;
  }
}

/** Returns whether GET url answers 200 (readiness probes). */
export async function answers200(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(1_000) });
    await res.arrayBuffer();
    return res.status === 200;
  } catch {
    return false;
  }
}

/** A PostgreSQL database made for one run and dropped after it. */
export interface ScratchDatabase {
  url: string;
  name: string;
  /** server_version_num, e.g. 160004. */
  serverVersion: number;
  /** Connections to this database now, by application_name. */
  connections(): Promise<Map<string, number>>;
  drop(): Promise<void>;
}

/** Creates an empty database on the server at `adminUrl`; the reason instead when there is no server. */
export async function createScratchDatabase(adminUrl: string): Promise<ScratchDatabase | string> {
  const admin = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 2_000 });
  try {
    await admin.connect();
  } catch (error) {
    return `no PostgreSQL at ${adminUrl.replace(/:[^:@/]*@/, ':***@')} (${(error as Error).message})`;
  }
  const name = `incident_bot_fleet_${process.pid}_${Date.now().toString(36)}`;
  await admin.query(`CREATE DATABASE ${name}`);
  const version = (await admin.query<{ v: string }>('SHOW server_version_num')).rows[0]!.v;
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    serverVersion: Number(version),
    async connections() {
      const rows = (await admin.query<{ app: string; n: string }>('SELECT application_name AS app, count(*) AS n FROM pg_stat_activity WHERE datname = $1 GROUP BY 1', [name])).rows;
      return new Map(rows.map((r) => [r.app || '(none)', Number(r.n)]));
    },
    async drop() {
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => {});
      await admin.end();
    },
  };
}

/** Opens what a bot stored, read-only in spirit: PostgreSQL by URL, or a SQLite file. */
export async function openStoredDb(where: { url: string } | { file: string }): Promise<Db> {
  if ('url' in where) return createPgDb({ url: where.url, max: 2, applicationName: 'bench-fleet reader' });
  return createSqliteDb(new Database(where.file, { readonly: true, fileMustExist: true }));
}

/** One item the publisher put in a feed, with a word no other record has, so a query finds exactly it. */
export interface PublishedItem {
  n: number;
  feed: number;
  word: string;
  title: string;
  link: string;
  publishedAt: number;
  /** Date.now() when a feed document first carried it to a poller. */
  firstServedAt?: number;
}

/** What happened, in the items' titles. */
const EVENTS = ['breach', 'outage', 'leak', 'takedown', 'ransomware', 'phishing', 'defacement'];

/**
 * Feeds that grow while the bot polls them; each document carries the newest `window` items of its feed. Feed f is
 * served by `servers[f % servers.length]`: each server is a host of its own (host:port), as real feeds are spread over
 * many sites, and the poller asks one host one thing at a time.
 */
export class FeedPublisher {
  readonly items: PublishedItem[] = [];
  private readonly byFeed: PublishedItem[][];

  constructor(
    private readonly servers: readonly FeedServer[],
    readonly feeds: number,
    private readonly window = 400,
  ) {
    this.byFeed = Array.from({ length: feeds }, () => []);
    for (let f = 0; f < feeds; f++) {
      this.serverOf(f).route(this.path(f), (_req, res) => {
        const list = this.byFeed[f]!.slice(-this.window);
        const now = Date.now();
        for (const item of list) item.firstServedAt ??= now;
        res.writeHead(200, { 'content-type': 'application/rss+xml' });
        res.end(
          rssFeed(
            [...list].reverse().map((i) => ({ guid: i.link, link: i.link, title: i.title, description: `${i.title}. Reported by the fleet bench.`, pubDate: new Date(i.publishedAt) })),
            { title: `Fleet feed ${f}` },
          ),
        );
      });
    }
  }

  path(feed: number): string {
    return `/fleet/${feed}.xml`;
  }

  url(feed: number): string {
    return this.serverOf(feed).url(this.path(feed));
  }

  /** The polls of one feed the servers received, oldest first. */
  requests(feed: number): { at: number }[] {
    return this.serverOf(feed).requests(this.path(feed));
  }

  /** The feed served at this URL, or undefined. */
  feedOf(url: string): number | undefined {
    return Array.from({ length: this.feeds }, (_, i) => i).find((i) => this.url(i) === url);
  }

  private serverOf(feed: number): FeedServer {
    return this.servers[feed % this.servers.length]!;
  }

  /**
   * Whether the bot has fetched everything published: each feed was asked for again after a document first carried its
   * newest item. A feed's polls follow one another (one poller at a time holds its lease), so by then the poll that
   * brought that item has stored it, or skipped it, for good.
   */
  caughtUp(): boolean {
    return this.byFeed.every((items, f) => {
      const last = items[items.length - 1];
      if (!last) return true;
      const served = last.firstServedAt;
      return served !== undefined && this.requests(f).some((r) => r.at > served);
    });
  }

  /** Adds item `n` to feed n % feeds; `seed` items are there before the first poll (stored, never alerted). */
  publish(n: number, seed = false): PublishedItem {
    const feed = ((n % this.feeds) + this.feeds) % this.feeds;
    const word = wordFor(n);
    const item: PublishedItem = {
      n,
      feed,
      word,
      // Two made-up words and few others: items alike enough would be taken for one story told twice, and attached.
      title: `${word} ${wordFor(n + 500_000)} ${seed ? 'seeded' : EVENTS[((n % 7) + 7) % 7]}`,
      link: `https://news.example.com/${seed ? 'seed' : 'item'}/${n}`,
      publishedAt: Date.now(),
    };
    this.byFeed[feed]!.push(item);
    this.items.push(item);
    return item;
  }
}

/**
 * Returns a made-up word for n, letters only (the index splits on digits) and unlike any real name; the letters are
 * scrambled so that two items' words are never one typo apart (fuzzy search would take one for the other).
 */
export function wordFor(n: number): string {
  let x = (Math.imul(n + 1_000, 2_654_435_761) >>> 0) % 26 ** 6;
  let s = '';
  for (let i = 0; i < 6; i++) {
    s += String.fromCharCode(97 + (x % 26));
    x = Math.floor(x / 26);
  }
  return `zorq${s}`;
}

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createPipeline, ingestFeed } from '../../src/feeds/pipeline.js';
import type { FeedItem } from '../../src/feeds/types.js';
import { storageOverStore } from '../../src/store/storage.js';
import { openStore } from '../../src/store/store.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CHILD = path.join(ROOT, 'test/support/outbox-child.ts');
const KILLS = 21;
const POSTS = 10;
const DISCORD_CHANNELS = Array.from({ length: 10 }, (_, i) => `11000000000000001${String(i).padStart(2, '0')}`);
const SLACK_CHANNELS = Array.from({ length: 6 }, (_, i) => `C0CRASH${i}X`);

/** Deterministic random numbers from a printed seed, so a failing run can be replayed. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

interface Accepted {
  platform: string;
  channelId: string;
  postId?: string;
  key: string;
  messageId: string;
}

describe('outbox under SIGKILL', { timeout: 60_000 }, () => {
  let dir: string;
  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'incident-bot-crash-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it(`delivers every (subscription, post) pair exactly once across ${KILLS} kills at random points`, async () => {
    const seed = Number(process.env.CRASH_SEED ?? Date.now() % 1_000_000);
    const random = rng(seed);
    const db = path.join(dir, 'crash.db');

    // The store: one feed, 16 channels subscribed to everything, 10 new posts -> 160 alerts queued.
    {
      const store = openStore(db);
      const feeds = await storageOverStore(store);
      const feed = (await feeds.feeds.add({ url: 'https://crash.example/feed', name: 'Crash feed' }, Date.now())).feed;
      for (const c of DISCORD_CHANNELS) await feeds.subscriptions.subscribe({ platform: 'discord', channelId: c, filter: '' }, Date.now());
      for (const c of SLACK_CHANNELS) await feeds.subscriptions.subscribe({ platform: 'slack', channelId: c, filter: '' }, Date.now());
      const deps = await createPipeline({ storage: feeds });
      await ingestFeed((await feeds.feeds.get(feed.id))!, { format: 'rss', items: [] }, deps);
      const items: FeedItem[] = Array.from({ length: POSTS }, (_, i) => ({
        key: `urn:crash:${i}`,
        link: `https://crash.example/${i}`,
        title: `Crash test post ${i}`,
        summary: `Post ${i}.`,
        // Recent, so inside the feed's retention window whenever the test runs.
        published: new Date(Date.now() - (POSTS - i) * 3_600_000).toISOString(),
        authors: [],
        categories: [],
      }));
      const r = await ingestFeed((await feeds.feeds.get(feed.id))!, { format: 'rss', items }, deps);
      assert.equal(r.queued, POSTS * (DISCORD_CHANNELS.length + SLACK_CHANNELS.length));
      store.close();
    }

    // The sink: accepts a key once (later sends with it return the first message), answers findSent by key.
    const accepted = new Map<string, Accepted>();
    let sends = 0;
    let dedupeHits = 0;
    let findHits = 0;
    let child: ChildProcess | undefined;
    let lifeSends = 0;
    let killAt = 0;
    let killMode: 'before-accept' | 'after-accept' = 'after-accept';
    let kills = 0;
    const kill = () => {
      if (child && child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        kills++;
      }
      killAt = 0;
    };
    const server: Server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://sink');
      if (req.method === 'GET' && url.pathname === '/find') {
        // Like the real senders: Slack finds a message by the key in its metadata; Discord cannot search by nonce and
        // relies on enforce_nonce deduplicating the resend.
        const hit = url.searchParams.get('platform') === 'slack' ? accepted.get(url.searchParams.get('key') ?? '') : undefined;
        if (hit && hit.channelId === url.searchParams.get('channel')) {
          findHits++;
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ messageId: hit.messageId }));
        } else res.writeHead(404).end();
        return;
      }
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        const m = JSON.parse(body) as Omit<Accepted, 'messageId'>;
        sends++;
        lifeSends++;
        const killNow = killAt > 0 && lifeSends >= killAt;
        if (killNow && killMode === 'before-accept') {
          kill();
          res.destroy();
          return;
        }
        let hit = accepted.get(m.key);
        if (hit) dedupeHits++;
        else accepted.set(m.key, (hit = { ...m, messageId: `m${accepted.size + 1}` }));
        if (killNow) {
          // The platform took it; the worker never hears back.
          kill();
          res.destroy();
          return;
        }
        const answer = JSON.stringify({ messageId: hit.messageId });
        setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end(answer), Math.floor(random() * 8));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

    const run = (withKill: boolean): Promise<{ code: number | null; signal: string | null; out: string; err: string }> =>
      new Promise((resolve) => {
        lifeSends = 0;
        const c = spawn(process.execPath, ['--import', 'tsx', CHILD, db, origin], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
        child = c;
        // A child that never finishes (rows stuck) fails the test instead of hanging it.
        const watchdog = setTimeout(() => c.kill('SIGKILL'), 20_000);
        c.on('exit', () => clearTimeout(watchdog));
        let out = '';
        let err = '';
        c.stdout!.on('data', (d) => {
          out += d;
          if (withKill && killAt === 0 && out.includes('ready')) {
            // A timed kill now and then: anywhere in start-up, recovery or sending.
            setTimeout(kill, Math.floor(random() * 120));
          }
        });
        c.stderr!.on('data', (d) => (err += d));
        if (withKill) {
          const roll = random();
          if (roll < 0.8) {
            killMode = roll < 0.35 ? 'before-accept' : 'after-accept';
            killAt = 1 + Math.floor(random() * 3);
          } else killAt = 0;
        }
        c.on('exit', (code, signal) => resolve({ code, signal, out, err }));
      });

    try {
      while (kills < KILLS) {
        const before = kills;
        const r = await run(true);
        if (r.code !== null) {
          assert.equal(r.code, 0, `child failed (seed ${seed}): ${r.err}`);
          assert.fail(`the outbox emptied after only ${kills} kills (seed ${seed}); queue more alerts`);
        }
        assert.equal(kills, before + 1, `child died of ${r.signal} without being killed, or hung (seed ${seed}): ${r.err}`);
      }
      const last = await run(false);
      assert.equal(last.code, 0, `final run failed (seed ${seed}): ${last.err}`);
      assert.match(last.out, /done/);
    } finally {
      kill();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }

    // Every pair delivered exactly once: one accepted message per (channel, post), none missing, none extra.
    const perPair = new Map<string, Set<string>>();
    for (const a of accepted.values()) {
      const k = `${a.platform}:${a.channelId}:${a.postId}`;
      perPair.set(k, (perPair.get(k) ?? new Set()).add(a.messageId));
    }
    const expected: string[] = [];
    for (const [platform, channels] of [['discord', DISCORD_CHANNELS], ['slack', SLACK_CHANNELS]] as const) {
      for (const c of channels) for (let i = 0; i < POSTS; i++) expected.push(`${platform}:${c}`);
    }
    assert.equal(accepted.size, expected.length, `seed ${seed}: ${accepted.size} messages for ${expected.length} pairs`);
    assert.equal(perPair.size, expected.length, `seed ${seed}: some pair got two messages or none`);
    for (const ids of perPair.values()) assert.equal(ids.size, 1);

    const store = openStore(db);
    try {
      const rows = await (await storageOverStore(store)).outbox.byStatus('sent');
      assert.equal(rows.length, expected.length);
      for (const row of rows) assert.equal(row.messageId, accepted.get(row.idempotencyKey)?.messageId, `seed ${seed}: row ${row.id}`);
    } finally {
      store.close();
    }
    // The interesting paths ran: sends interrupted after the platform took them were found, or deduplicated on resend.
    assert.ok(findHits + dedupeHits > 0, `seed ${seed}: no interrupted send was ever resolved`);
    process.stdout.write(`# crash test seed ${seed}: ${kills} kills, ${sends} sends, ${accepted.size} messages, ${findHits} found after a crash, ${dedupeHits} deduplicated resends\n`);
  });
});

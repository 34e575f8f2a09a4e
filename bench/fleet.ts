/**
 * `npm run bench:fleet`: the bot as a fleet under load and faults. Three `npm start` replicas share one fresh
 * PostgreSQL database (DATABASE_URL), each with its REPLICA_ID, HTTP_PORT (/readyz, /metrics), Slack HTTP port and
 * DISCORD_SHARD_IDS (0,1 / 2 / 3 of 4 shards); the fake Discord (4 shards), the fake Slack (two workspaces installed
 * through the OAuth pages), and local feed servers whose feeds publish FLEET_ITEMS new items over the run while
 * FLEET_INTERACTIONS slash commands and mentions arrive. One replica is killed with SIGKILL mid-run and started again.
 * Then the same load runs against one process on SQLite, for comparison.
 *
 * Reported: answers (each exactly once? p50/p99), alerts lost and duplicated per (channel, post), the time to take over
 * a dead replica's feeds and shards, how long a post ingested by one replica takes to be answerable on the others,
 * and PostgreSQL connections (pg_stat_activity). Figures are printed, never asserted; what fails is said.
 *
 * FLEET_ITEMS (10000), FLEET_INTERACTIONS (2000), FLEET_SECONDS (120), FLEET_FEEDS (20), FLEET_FEED_HOSTS (5, feed servers on ports of their own), FLEET_SQLITE=0 skips the
 * SQLite run, FLEET_PG=0 skips the fleet; TEST_DATABASE_URL picks the server (default the local one).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { stringify } from 'node:querystring';
import type { Db } from '../src/store/db.js';
import { FakeDiscord, guildIdOnShard, type SentInteraction } from '../test/support/fake-discord.js';
import { FakeSlack, postSigned, postSignedCommand } from '../test/support/fake-slack.js';
import { FAKE_SLACK_APP, installThroughPages } from '../test/support/fake-slack-oauth.js';
import { appMentionBody, slashCommandPayload } from '../test/support/fake-slack-payloads.js';
import { startFeedServer } from '../test/support/feed-server.js';
import { answers200, BotProcess, createScratchDatabase, FeedPublisher, openStoredDb, percentile, sleep, waitFor, type PublishedItem } from './fleet-parts.js';

const ITEMS = Number(process.env.FLEET_ITEMS ?? 10_000);
const INTERACTIONS = Number(process.env.FLEET_INTERACTIONS ?? 2_000);
const SECONDS = Number(process.env.FLEET_SECONDS ?? 120);
const FEEDS = Number(process.env.FLEET_FEEDS ?? 20);
/** Feed servers (hosts) the feeds are spread over: the poller polls one host at a time, whatever the feeds on it. */
const FEED_HOSTS = Number(process.env.FLEET_FEED_HOSTS ?? 5);
const PROBES = 40;
const RESTART_AFTER_MS = 5_000;
const SIGNING_SECRET = 'fleet-bench-signing-secret-0123456789';
const STATE_SECRET = 'fleet-bench-state-secret-0123456789ab';
const ADMIN_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
/** Questions people ask of the bundled data, mixed with the made-up words of published items. */
const QUESTIONS = ['skyecc', 'lazarus group', 'what is emotet', 'solarwinds', 'colonial pipeline', 'log4shell', 'apt29', 'ransomware 2023', 'revil', 'conti'];

/** One bot process in the scenario: its process, ports and the shards it runs. */
interface Replica {
  id: string;
  bot: BotProcess;
  httpPort: number;
  slackPort: number;
  shards: number[];
}

/** One question sent, and what came back. */
interface Asked {
  via: 'discord' | 'slack-command' | 'slack-mention';
  sentAt: number;
  answers: number;
  latency?: number;
  /** Discord: no gateway session on its shard when it was sent (none to resume either). */
  noSession?: boolean;
  /** Discord: answered only after the 3 s deadline (refused with 10062: the user saw "the application did not respond"). */
  late?: boolean;
  /** Slack: no replica took the request. */
  refused?: boolean;
  match: (fake: { discord: FakeDiscord; slack: FakeSlack }) => { count: number; at?: number; late?: boolean };
}

/** What one run measured. */
interface Figures {
  engine: string;
  notes: string[];
  asked: Asked[];
  alerts?: { expected: number; delivered: number; lost: number; lostBy: Map<string, number>; duplicated: number; postsMissing: number; messages: number };
  takeover?: { shardMs?: number; shardBy?: string; shardHow?: string; replayed: number; feedMs: number[]; feedGapMs: number[]; feedsHeld: number; restartAfterMs: number };
  answerableMs: number[];
  answerableFromFetchMs: number[];
  probesUnanswered: number;
  connections?: { max: number; byApp: Map<string, number> };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}

async function run(engine: 'postgres' | 'sqlite'): Promise<Figures> {
  const figures: Figures = { engine, notes: [], asked: [], answerableMs: [], answerableFromFetchMs: [], probesUnanswered: 0 };
  const dir = mkdtempSync(path.join(tmpdir(), `incident-bot-fleet-${engine}-`));
  const guilds = [0, 1, 2, 3].flatMap((s) => [1, 2, 3].map((n) => guildIdOnShard(s, 4, n)));
  const alertGuild = guilds[0]!;
  const discord = await FakeDiscord.start({ shards: 4, maxConcurrency: 16, guildIds: guilds });
  const slack = await FakeSlack.start();
  const servers = await Promise.all(Array.from({ length: Math.max(1, FEED_HOSTS) }, () => startFeedServer()));
  // Each document keeps its feed's whole run, so an item is lost only if the bot loses it, never by scrolling out.
  const publisher = new FeedPublisher(servers, FEEDS, Math.ceil(ITEMS / FEEDS) + 10);
  const scratch = engine === 'postgres' ? await createScratchDatabase(ADMIN_URL) : undefined;
  const cleanups: Array<() => Promise<unknown>> = [() => discord.close(), () => slack.close(), ...servers.map((server) => () => server.close())];
  if (typeof scratch === 'string') {
    figures.notes.push(`skipped: ${scratch}`);
    await Promise.allSettled(cleanups.map((c) => c()));
    return figures;
  }
  if (scratch) cleanups.push(() => scratch.drop());
  if (scratch && scratch.serverVersion < 150000) figures.notes.push(`PostgreSQL server version ${scratch.serverVersion} is older than the 15 the bot expects`);
  const replicas: Replica[] = [];
  let stored: Db | undefined;
  try {
    for (let f = 0; f < FEEDS; f++) publisher.publish(-1 - f, true);
    const feedsFile = path.join(dir, 'feeds.json');
    writeFileSync(feedsFile, JSON.stringify(Array.from({ length: FEEDS }, (_, f) => ({ url: publisher.url(f), name: `Fleet ${f}` }))));
    const common: Record<string, string> = {
      DATABASE_PATH: path.join(dir, 'bot.db'),
      ...(scratch ? { DATABASE_URL: scratch.url } : {}),
      DISCORD_APPLICATION_ID: discord.applicationId,
      DISCORD_API_URL: discord.apiUrl,
      DISCORD_SHARDS: '4',
      DISCORD_ALERT_CHANNEL_IDS: alertGuild,
      SLACK_CLIENT_ID: FAKE_SLACK_APP.clientId,
      SLACK_CLIENT_SECRET: FAKE_SLACK_APP.clientSecret,
      SLACK_STATE_SECRET: STATE_SECRET,
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_HOST: '127.0.0.1',
      SLACK_API_URL: slack.apiUrl,
      FEEDS_FILE: feedsFile,
      FEED_POLL_SECONDS: '5',
      ALLOW_PRIVATE_FEED_URLS: 'true',
      SOURCES_SYNC: 'false',
    };
    const layout = engine === 'postgres' ? [[0, 1], [2], [3]] : [[0, 1, 2, 3]];
    for (const [i, shards] of layout.entries()) {
      const id = engine === 'postgres' ? `r${i + 1}` : 'solo';
      const httpPort = await freePort();
      const slackPort = await freePort();
      const env = { ...common, REPLICA_ID: id, HTTP_PORT: String(httpPort), SLACK_PORT: String(slackPort), DISCORD_TOKEN: `token-${id}`, DISCORD_SHARD_IDS: shards!.join(',') };
      const bot = new BotProcess(id, env, path.join(dir, `${id}.log`));
      replicas.push({ id, bot, httpPort, slackPort, shards: shards! });
    }
    const t0 = Date.now();
    for (const r of replicas) r.bot.start();
    for (const r of replicas) {
      const ready = await waitFor(async () => ((await answers200(`http://127.0.0.1:${r.httpPort}/readyz`)) ? true : undefined) ?? (r.bot.alive ? undefined : false), 120_000, 200);
      if (!ready) throw new Error(`replica ${r.id} never became ready (see ${r.bot.logFile})`);
    }
    figures.notes.push(`${replicas.length} replica(s) ready in ${((Date.now() - t0) / 1000).toFixed(1)} s; logs in ${dir}`);
    stored = await openStoredDb(scratch ? { url: scratch.url } : { file: common.DATABASE_PATH! });
    if (scratch) {
      const tables = await stored.one<{ n: number }>("SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = 'public' AND table_name = 'posts'");
      if (!tables?.n) figures.notes.push('FAIL: the replicas stored nothing in PostgreSQL (this build ignores DATABASE_URL; each replica used its own SQLite file)');
    }

    // Two workspaces installed through the first replica's pages; a channel in each subscribed to every new post.
    const slackOrigin = (r: Replica) => `http://127.0.0.1:${r.slackPort}`;
    for (const [team, user] of [['TA', 'UADMINA'], ['TB', 'UADMINB']] as const) {
      slack.users.set(user, { is_admin: true });
      slack.channelTeams.set(`C${team}ALERTS`, team);
      slack.channelTeams.set(`C${team}ASK00`, team);
      const installed = await installThroughPages(slackOrigin(replicas[0]!), slack.workspaces, team, `Workspace ${team}`);
      if (installed.status !== 200) figures.notes.push(`FAIL: installing ${team} answered ${installed.status}`);
      const url = slack.responseUrl();
      await postSignedCommand(slack, `${slackOrigin(replicas[0]!)}/slack/events`, SIGNING_SECRET, stringify(slashCommandPayload({ text: 'alerts subscribe', response_url: url, team_id: team, channel_id: `C${team}ALERTS`, user_id: user })), {
        contentType: 'application/x-www-form-urlencoded',
      });
      const reply = await waitFor(() => slack.responsesTo(url)[0], 10_000);
      if (!/Subscribed/.test(JSON.stringify(reply?.body ?? ''))) figures.notes.push(`FAIL: subscribing a channel in ${team}: ${JSON.stringify(reply?.body ?? 'no reply').slice(0, 200)}`);
    }
    // The first poll of a feed stores what it has and alerts nothing: wait until every feed has been seeded.
    await waitFor(() => (Array.from({ length: FEEDS }, (_, f) => publisher.requests(f).length).every((n) => n > 0) ? true : undefined), 60_000);
    await sleep(3_000);

    // Connections sampled through the run.
    let sampling = true;
    const byApp = new Map<string, number>();
    let maxConnections = 0;
    const sampler = scratch
      ? (async () => {
          while (sampling) {
            const now = await scratch.connections().catch(() => new Map<string, number>());
            let total = 0;
            for (const [app, n] of now) {
              if (app.startsWith('bench-fleet')) continue;
              total += n;
              byApp.set(app, Math.max(byApp.get(app) ?? 0, n));
            }
            maxConnections = Math.max(maxConnections, total);
            await sleep(500);
          }
        })()
      : undefined;

    // The load: items published and questions asked evenly over the run; the kill at 40%.
    const start = Date.now();
    const end = start + SECONDS * 1000;
    const probeEvery = Math.max(1, Math.floor(ITEMS / PROBES));
    const probes: Promise<void>[] = [];
    const killAt = start + SECONDS * 400;
    let killed: { at: number; perf: number; replica: Replica; feeds: Map<string, string> } | undefined;
    let published = 0;
    let sent = 0;
    let rr = 0;
    while (Date.now() < end || published < ITEMS || sent < INTERACTIONS) {
      const elapsed = (Date.now() - start) / (SECONDS * 1000);
      while (published < Math.min(ITEMS, Math.ceil(elapsed * ITEMS))) {
        const item = publisher.publish(published++);
        if (item.n % probeEvery === 0) probes.push(probe(item));
      }
      while (sent < Math.min(INTERACTIONS, Math.ceil(elapsed * INTERACTIONS))) figures.asked.push(await ask(sent++));
      if (engine === 'postgres' && !killed && Date.now() >= killAt) {
        const victim = replicas[1]!;
        const feeds = await heldFeeds(stored, victim.id).catch((error: unknown) => {
          figures.notes.push(`no feed leases to read (${(error as Error).message.split('\n')[0]})`);
          return new Map<string, string>();
        });
        victim.bot.kill9();
        killed = { at: Date.now(), perf: performance.now(), replica: victim, feeds };
        setTimeout(() => victim.bot.start(), RESTART_AFTER_MS).unref();
      }
      await sleep(20);
    }
    figures.notes.push(`load sent in ${((Date.now() - start) / 1000).toFixed(1)} s: ${published} items, ${sent} questions`);

    if (killed) figures.takeover = await takeover(killed);
    await Promise.all(probes);
    // Drain: every feed fetched to its end, then the outbox empty; late answers arrive. The outbox alone is not enough:
    // it is empty between two polls, while the last items of feeds not polled since are still to be stored and alerted.
    const drainFrom = Date.now();
    let looksEmptyAt: number | undefined;
    const drained = await waitFor(async () => {
      if ((await pendingAlerts(stored!)) !== 0) return undefined;
      looksEmptyAt ??= Date.now();
      return publisher.caughtUp() && (await pendingAlerts(stored!)) === 0 ? true : undefined;
    }, 180_000, 250);
    if (!drained) figures.notes.push(`outbox not drained after 180 s (${await pendingAlerts(stored)} rows pending; feeds fetched to their end: ${publisher.caughtUp()})`);
    const late = looksEmptyAt === undefined ? 0 : await postsSince(stored, looksEmptyAt);
    figures.notes.push(
      `drained in ${((Date.now() - drainFrom) / 1000).toFixed(1)} s; the outbox first looked empty after ${looksEmptyAt === undefined ? 'n/a' : `${((looksEmptyAt - drainFrom) / 1000).toFixed(1)} s`}, and ${late} posts were stored after that`,
    );
    await sleep(5_000);
    sampling = false;
    await sampler;
    if (scratch) figures.connections = { max: maxConnections, byApp };
    for (const a of figures.asked) {
      const m = a.match({ discord, slack });
      a.answers = m.count;
      if (m.late) a.late = true;
      if (m.at !== undefined) a.latency = m.at - a.sentAt;
    }
    figures.alerts = await alertFigures(stored, publisher.items.filter((i) => i.n >= 0), discord, slack);
    return figures;

    async function ask(k: number): Promise<Asked> {
      const published = publisher.items.filter((i) => i.n >= 0);
      const text = k % 3 === 0 && published.length ? published[(k * 7919) % published.length]!.word : QUESTIONS[k % QUESTIONS.length]!;
      const kind = k % 5;
      if (kind < 3) {
        const guildId = guilds[k % guilds.length]!;
        try {
          const s = discord.sendSlashCommand('incident', { query: text }, undefined, { guildId, channelId: guildId });
          return { via: 'discord', sentAt: s.sentAt, answers: 0, match: ({ discord }) => callbackOf(discord, s) };
        } catch {
          return { via: 'discord', sentAt: performance.now(), answers: 0, noSession: true, match: () => ({ count: 0 }) };
        }
      }
      const team = k % 2 ? 'TA' : 'TB';
      const channel = `C${team}ASK00`;
      // A load balancer in front of the replicas' Slack ports: the next live one takes the request.
      for (let tries = 0; tries < replicas.length; tries++) {
        const r = replicas[rr++ % replicas.length]!;
        const sentAt = performance.now();
        try {
          if (kind === 3) {
            const url = slack.responseUrl();
            // An answer in the acknowledgement (the response body) is recorded as an answer to the response_url.
            const { status } = await postSignedCommand(slack, `${slackOrigin(r)}/slack/events`, SIGNING_SECRET, stringify(slashCommandPayload({ text, response_url: url, team_id: team, channel_id: channel, user_id: 'UASK' })), {
              contentType: 'application/x-www-form-urlencoded',
            });
            if (status !== 200) continue;
            return {
              via: 'slack-command',
              sentAt,
              answers: 0,
              match: ({ slack }) => {
                // Exactly once: answers in the acknowledgement plus answers through the response_url.
                const got = slack.responsesTo(url);
                return { count: got.length, at: got[0]?.at };
              },
            };
          }
          const ts = `${1_800_000_000 + k}.000100`;
          const { status } = await postSigned(`${slackOrigin(r)}/slack/events`, SIGNING_SECRET, JSON.stringify(appMentionBody({ text: `<@UBOT> ${text}`, team, channel, ts })), { contentType: 'application/json' });
          if (status !== 200) continue;
          return {
            via: 'slack-mention',
            sentAt,
            answers: 0,
            match: ({ slack }) => {
              const got = slack.callsOf('chat.postMessage').filter((c) => c.params.channel === channel && c.params.thread_ts === ts);
              return { count: got.length, at: got[0]?.at };
            },
          };
        } catch {
          // Connection refused: that replica is down; the balancer tries the next.
        }
      }
      return { via: kind === 3 ? 'slack-command' : 'slack-mention', sentAt: performance.now(), answers: 0, refused: true, match: () => ({ count: 0 }) };
    }

    /** Asks every replica for the item until each answers with it; records how long after the first one they did. */
    async function probe(item: PublishedItem): Promise<void> {
      const found = new Map<string, number>();
      const deadline = Date.now() + 60_000;
      while (found.size < replicas.length && Date.now() < deadline) {
        await Promise.all(
          replicas
            .filter((r) => !found.has(r.id))
            .map(async (r) => {
              const guildId = guildIdOnShard(r.shards[0]!, 4, 1);
              let s: SentInteraction;
              try {
                s = discord.sendSlashCommand('incident', { query: item.word }, undefined, { guildId, channelId: guildId });
              } catch {
                return;
              }
              const verdict = await waitFor(() => answerHas(s, item.link), 5_000, 20);
              if (verdict === 'yes') found.set(r.id, Date.now());
            }),
        );
        if (found.size < replicas.length) await sleep(100);
      }
      if (found.size < replicas.length) {
        if (process.env.FLEET_DEBUG) console.log(`probe ${item.word} (${item.link}) unanswered; found on ${[...found.keys()].join(',') || 'none'}`);
        figures.probesUnanswered++;
        return;
      }
      if (process.env.FLEET_DEBUG) console.log(`probe ${item.word}: served +${(item.firstServedAt ?? NaN) - item.publishedAt} ms;`, [...found].map(([r, t]) => `${r} +${t - item.publishedAt}`).join(' '));
      // Freshness between replicas that stay up: the killed one answers nothing until it is back (reported apart).
      const times = [...found].filter(([id]) => engine !== 'postgres' || id !== replicas[1]!.id).map(([, t]) => t).sort((a, b) => a - b);
      figures.answerableMs.push(times[times.length - 1]! - times[0]!);
      if (item.firstServedAt) figures.answerableFromFetchMs.push(times[times.length - 1]! - item.firstServedAt);
    }

    /**
     * Whether the answer to `s` names the item (its own link: a "nothing matches <word>" answer echoes the word, never
     * the link); undefined until the answer is complete (a deferred one is edited in later).
     */
    function answerHas(s: SentInteraction, link: string): 'yes' | 'no' | undefined {
      const requests = discord.requestsFor(s);
      if (requests.some((q) => JSON.stringify(q.body ?? '').includes(link))) return 'yes';
      const callback = requests.find((q) => q.path.endsWith('/callback'));
      if (!callback) return undefined;
      const deferred = callback.body?.type === 5;
      return deferred && !requests.some((q) => q !== callback) ? undefined : 'no';
    }

    async function takeover(k: NonNullable<typeof killed>): Promise<Figures['takeover']> {
      // The shard is back when a session runs on it again: the dead one resumed (by another replica, or by the
      // restarted one), or a new one identified.
      const shard = k.replica.shards[0]!;
      const back = await discord
        .waitForGateway((e) => (e.kind === 'identify' || e.kind === 'resume') && e.shard === shard && e.at > k.perf, 120_000)
        .catch(() => undefined);
      const by = back?.payload?.token === undefined ? undefined : String(back.payload.token).replace(/^token-/, '');
      const sessions = new Set(discord.sessions.filter((x) => x.shard === shard).map((x) => x.id));
      const replayed = discord.dispatches.filter((d) => d.buffered && sessions.has(d.session) && d.t === 'INTERACTION_CREATE').length;
      const feedMs: number[] = [];
      for (const url of k.feeds.values()) {
        const f = publisher.feedOf(url);
        const next = f === undefined ? undefined : publisher.requests(f).find((r) => r.at > k.at);
        feedMs.push(next ? next.at - k.at : NaN);
      }
      // Whoever polls: the longest gap between two polls of each feed across the kill.
      const feedGapMs = Array.from({ length: FEEDS }, (_, f) => {
        const times = publisher.requests(f).map((r) => r.at);
        const before = times.filter((t) => t <= k.at).pop();
        const after = times.find((t) => t > k.at);
        return before !== undefined && after !== undefined ? after - before : NaN;
      });
      return { shardMs: back && back.at - k.perf, shardBy: by, shardHow: back?.kind, replayed, feedMs, feedGapMs, feedsHeld: k.feeds.size, restartAfterMs: RESTART_AFTER_MS };
    }
  } catch (error) {
    figures.notes.push(`FAIL: ${(error as Error).message}`);
    return figures;
  } finally {
    for (const r of replicas) await r.bot.stop();
    await stored?.close().catch(() => {});
    await Promise.allSettled(cleanups.map((c) => c()));
    if (!process.env.FLEET_KEEP) rmSync(dir, { recursive: true, force: true });
  }
}

/** Returns the accepted initial responses (in time, first acknowledgement), and whether one came too late. */
function callbackOf(discord: FakeDiscord, s: SentInteraction): { count: number; at?: number; late?: boolean } {
  const got = discord.acceptedCallbacks(s);
  return { count: got.length, at: got[0]?.at, ...(discord.lateCallbacks.some((l) => l.id === s.id) ? { late: true } : {}) };
}

/** Returns the feeds whose lease `holder` has now: lease name -> feed URL. */
async function heldFeeds(db: Db | undefined, holder: string): Promise<Map<string, string>> {
  if (!db) return new Map();
  const rows = await db.query<{ name: string; url: string }>(
    "SELECT l.name, f.url FROM leases l JOIN feeds f ON l.name = 'feed:' || f.id WHERE l.holder = ? AND l.expires_at > ?",
    [holder, Date.now()],
  );
  return new Map(rows.map((r) => [r.name, r.url]));
}

/** Posts (of published items) stored after `at`. */
async function postsSince(db: Db | undefined, at: number): Promise<number> {
  if (!db) return 0;
  const row = await db.one<{ n: number }>("SELECT count(*) AS n FROM posts WHERE url LIKE 'https://news.example.com/item/%' AND created_at > ?", [at]).catch(() => undefined);
  return Number(row?.n ?? 0);
}

async function pendingAlerts(db: Db | undefined): Promise<number> {
  if (!db) return 0;
  const row = await db.one<{ n: number }>("SELECT count(*) AS n FROM outbox WHERE status IN ('pending', 'sending')").catch(() => undefined);
  return Number(row?.n ?? 0);
}

/** Each stored post should reach each subscribed channel once: alone, or in a digest that was sent. */
async function alertFigures(db: Db | undefined, items: readonly PublishedItem[], discord: FakeDiscord, slack: FakeSlack): Promise<Figures['alerts']> {
  if (!db) return undefined;
  const posts = new Map((await db.query<{ id: string; url: string }>("SELECT id, url FROM posts WHERE url LIKE 'https://news.example.com/item/%'")).map((p) => [p.id, p.url]));
  const stored = new Set(posts.values());
  const subs = await db.query<{ platform: string; channel_id: string }>('SELECT platform, channel_id FROM subscriptions');
  const rows = await db.query<{ platform: string; channel_id: string; post_id: string; status: string; digest_status: string | null }>(
    "SELECT o.platform, o.channel_id, o.post_id, o.status, d.status AS digest_status FROM outbox o LEFT JOIN outbox d ON d.id = o.digest_id WHERE o.kind = 'alert'",
  );
  const delivered = new Set(rows.filter((r) => posts.has(r.post_id) && (r.status === 'sent' || (r.status === 'folded' && r.digest_status === 'sent'))).map((r) => `${r.platform} ${r.channel_id} ${r.post_id}`));
  const expected = posts.size * subs.length;
  // Where each undelivered (channel, post) stands: no row, or the row's state (a folded row: its digest's).
  const lostBy = new Map<string, number>();
  const rowOf = new Map(rows.map((r) => [`${r.platform} ${r.channel_id} ${r.post_id}`, r]));
  for (const sub of subs) {
    for (const postId of posts.keys()) {
      const k = `${sub.platform} ${sub.channel_id} ${postId}`;
      if (delivered.has(k)) continue;
      const r = rowOf.get(k);
      const state = !r ? 'no row' : r.status === 'folded' ? `in a ${r.digest_status ?? 'missing'} digest` : r.status;
      lostBy.set(state, (lostBy.get(state) ?? 0) + 1);
    }
  }
  // What reached each channel: more messages than sent rows, or a post named twice, is a duplicate.
  const sentRows = await db.query<{ platform: string; channel_id: string; n: number }>("SELECT platform, channel_id, count(*) AS n FROM outbox WHERE status = 'sent' AND kind IN ('alert', 'digest') GROUP BY 1, 2");
  let duplicated = 0;
  let messages = 0;
  for (const sub of subs) {
    const bodies =
      sub.platform === 'discord'
        ? (discord.channelMessages.get(sub.channel_id) ?? []).map((m) => JSON.stringify(m))
        : slack.callsOf('chat.postMessage').filter((c) => c.params.channel === sub.channel_id && !c.params.thread_ts).map((c) => JSON.stringify(c.params));
    messages += bodies.length;
    const sentHere = Number(sentRows.find((r) => r.platform === sub.platform && r.channel_id === sub.channel_id)?.n ?? 0);
    const named = new Map<string, number>();
    for (const b of bodies) for (const m of b.matchAll(/https:\/\/news\.example\.com\/item\/(\d+)/g)) named.set(m[1]!, (named.get(m[1]!) ?? 0) + 1);
    const twice = [...named.values()].filter((n) => n > 1).length;
    duplicated += Math.max(twice, bodies.length - sentHere);
  }
  return {
    expected,
    delivered: delivered.size,
    lost: expected - delivered.size,
    lostBy,
    duplicated,
    postsMissing: items.filter((i) => !stored.has(i.link)).length,
    messages,
  };
}

const ms = (x: number | undefined) => (x === undefined || Number.isNaN(x) ? 'n/a' : `${Math.round(x)} ms`);

function report(f: Figures): void {
  console.log(`\n== ${f.engine === 'postgres' ? '3 replicas on PostgreSQL' : '1 process on SQLite'} ==`);
  for (const n of f.notes) console.log(`  ${n}`);
  if (f.asked.length === 0) return;
  const answered = f.asked.filter((a) => a.answers === 1);
  const lat = answered.map((a) => a.latency!).filter((x) => Number.isFinite(x));
  const noSession = f.asked.filter((a) => a.noSession).length;
  const refused = f.asked.filter((a) => a.refused).length;
  const late = f.asked.filter((a) => a.answers === 0 && a.late).length;
  const unanswered = f.asked.filter((a) => a.answers === 0 && !a.late && !a.noSession && !a.refused).length;
  const twice = f.asked.filter((a) => a.answers > 1).length;
  console.log(`  answers: ${f.asked.length} asked, ${answered.length} answered exactly once, ${twice} more than once, ${late} late (answered after 3 s: failed, as Discord fails them), ${unanswered} lost (never answered)` +
    `${noSession ? `, ${noSession} sent to a shard with no session at all (Discord fails those)` : ''}${refused ? `, ${refused} refused by every replica` : ''}`);
  console.log(`  answer latency: p50 ${ms(percentile(lat, 50))}, p99 ${ms(percentile(lat, 99))}`);
  for (const via of ['discord', 'slack-command', 'slack-mention'] as const) {
    const l = answered.filter((a) => a.via === via).map((a) => a.latency!);
    console.log(`    ${via}: ${l.length} answered, p50 ${ms(percentile(l, 50))}, p99 ${ms(percentile(l, 99))}`);
  }
  if (f.alerts) {
    const a = f.alerts;
    console.log(`  alerts: ${a.expected} expected (posts x subscriptions), ${a.delivered} delivered, lost ${a.lost}${a.lost ? ` (${[...a.lostBy].map(([k, v]) => `${v} ${k}`).join(', ')})` : ''}, duplicated ${a.duplicated}; ${a.messages} channel messages; ${a.postsMissing} published items never stored as posts`);
  }
  if (f.takeover) {
    const t = f.takeover;
    console.log(`  takeover after kill -9 (restarted after ${t.restartAfterMs} ms): shard ${t.shardHow === 'resume' ? 'session resumed' : t.shardHow === 'identify' ? 'session identified anew' : 'not back'} in ${ms(t.shardMs)} by ${t.shardBy ?? 'nobody'}, ${t.replayed} interactions kept for the resume and replayed; ${t.feedsHeld} feeds held by the dead replica, next poll p50 ${ms(percentile(t.feedMs, 50))} max ${ms(percentile(t.feedMs.filter(Number.isFinite), 100))}; longest poll gap of any feed ${ms(Math.max(...t.feedGapMs.filter(Number.isFinite)))}`);
  }
  console.log(`  answerable on the replicas that stayed up, after the first could answer: p50 ${ms(percentile(f.answerableMs, 50))}, p99 ${ms(percentile(f.answerableMs, 99))} (${f.answerableMs.length} probes, ${f.probesUnanswered} never answerable everywhere)`);
  console.log(`  from the first fetch of the item: p50 ${ms(percentile(f.answerableFromFetchMs, 50))}, p99 ${ms(percentile(f.answerableFromFetchMs, 99))}`);
  if (f.connections) console.log(`  PostgreSQL connections: max ${f.connections.max} at once; per application: ${[...f.connections.byApp].map(([k, v]) => `${k} ${v}`).join(', ')}`);
}

const load = () => `load average ${loadavg().map((x) => x.toFixed(2)).join(' ')} on ${cpus().length} cores`;
console.log(`bench:fleet: ${ITEMS} items over ${SECONDS} s in ${FEEDS} feeds on ${FEED_HOSTS} hosts, ${INTERACTIONS} questions; node ${process.version}; ${load()}`);
if (process.env.FLEET_PG !== '0') {
  report(await run('postgres'));
  console.log(`  (${load()} at the end)`);
}
if (process.env.FLEET_SQLITE !== '0') {
  report(await run('sqlite'));
  console.log(`  (${load()} at the end)`);
}
process.exit(0);

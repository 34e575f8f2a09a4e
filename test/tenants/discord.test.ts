import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { startApp, type RunningApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { FakeDiscord, MANAGER_PERMISSIONS, SERVER_MANAGER_PERMISSIONS, type SlashCommandExtras } from '../support/fake-discord.js';
import { rssFeed, startFeedServer, type FeedServer, type TestFeedItem } from '../support/feed-server.js';

/**
 * Two Discord servers on one public instance, through the real discord.js client against the fake Discord and the
 * real store, watcher and services as `npm start` wires them: server A is the fake's own guild, server B another.
 */

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const GUILD_B = '1200000000000000002';
const CHANNEL_B = '1200000000000000003';
const USER_B = '1200000000000000004';
const B: SlashCommandExtras = { guildId: GUILD_B, channelId: CHANNEL_B, userId: USER_B };
const SECRET = 'hunter2-s3cr3t';
const TOKEN = 'T0PS3CRETT0K3N';

async function eventually<T>(check: () => T | undefined | Promise<T | undefined>, what: string, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const post = (n: number, title: string, host = 'news.example.com'): TestFeedItem => ({
  guid: `https://${host}/${n}`,
  link: `https://${host}/${n}`,
  title,
  description: `${title}. More to follow.`,
  pubDate: new Date(Date.UTC(2026, 10, 20) + n * 3_600_000),
});

describe('tenants on Discord: what server B does never reaches server A', { timeout: 90_000 }, () => {
  let dir: string;
  let fake: FakeDiscord;
  let feeds: FeedServer;
  let app: RunningApp;
  let dbPath: string;
  const logs: string[] = [];

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'incident-bot-tenants-'));
    dbPath = path.join(dir, 'bot.db');
    fake = await FakeDiscord.start();
    feeds = await startFeedServer();
    feeds.route('/cisa.xml', { body: rssFeed([post(1, 'CISA adds one known exploited vulnerability', 'cisa.example')], { title: 'CISA' }) });
    feeds.route('/b.xml', { body: rssFeed([post(1, 'Old Bprivate item about nothing', 'b.example')], { title: 'B outlet' }) });
    const feedsFile = path.join(dir, 'feeds.json');
    writeFileSync(feedsFile, JSON.stringify([{ url: feeds.url('/cisa.xml'), name: 'CISA' }]));
    const config = loadConfig({
      DATABASE_PATH: dbPath,
      DISCORD_TOKEN: 'fake-token',
      DISCORD_APPLICATION_ID: fake.applicationId,
      DISCORD_API_URL: fake.apiUrl,
      FEEDS_FILE: feedsFile,
      FEED_POLL_SECONDS: '1',
      ALLOW_PRIVATE_FEED_URLS: 'true',
      FEEDS_PER_TENANT: '3',
      // Dataset sources would be fetched from the internet: tests reach nothing beyond 127.0.0.1.
      SOURCES_SYNC: 'false',
    });
    app = await startApp(config, createLogger('debug', { write: (line: string) => void logs.push(line) }));
  });

  after(async () => {
    await app?.stop();
    await fake?.close();
    await feeds?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Sends a slash command and returns its reply's text (content, embed titles and descriptions) and data. */
  async function slash(name: string, sub: string | undefined, options: Record<string, string | number>, extras: SlashCommandExtras = {}) {
    const callback = await fake.waitForCallback(fake.sendSlashCommand(name, options, sub, extras));
    const data = callback.body?.data ?? {};
    const text = [data.content ?? '', ...(data.embeds ?? []).map((e: any) => `${e.title ?? ''}\n${e.description ?? ''}\n${(e.fields ?? []).map((f: any) => `${f.name} ${f.value}`).join('\n')}`)].join('\n');
    return { text, data };
  }

  const messagesTo = (channel: string) => fake.channelMessages.get(channel) ?? [];
  const polledOnce = (url: string) => async () => ((await app.watcher!.alerts.listFeeds('operator')).find((f) => f.url === url && f.polls >= 1) ? true : undefined);

  it('a server-B manager cannot remove or rename an operator feed: the reply names FEEDS_FILE and nothing changes', async () => {
    await eventually(polledOnce(feeds.url('/cisa.xml')), 'the operator feed seeded');
    for (const permissions of [MANAGER_PERMISSIONS, SERVER_MANAGER_PERMISSIONS]) {
      const removed = await slash('feeds', 'remove', { target: '1' }, { ...B, permissions });
      assert.match(removed.text, /operator feed.*FEEDS_FILE/, removed.text);
      const byUrl = await slash('feeds', 'remove', { target: feeds.url('/cisa.xml') }, { ...B, permissions });
      assert.match(byUrl.text, /FEEDS_FILE/, byUrl.text);
      const renamed = await slash('feeds', 'add', { url: feeds.url('/cisa.xml'), name: 'Totally Not CISA' }, { ...B, permissions });
      assert.match(renamed.text, /FEEDS_FILE/, renamed.text);
    }
    const listA = await slash('feeds', 'list', {});
    assert.match(listA.text, /#1 CISA — .*cisa\.xml · operator feed, for everyone/);
    assert.doesNotMatch(listA.text, /Totally Not CISA/);
    assert.equal((await app.watcher!.storage.feeds.get(1))!.removed, false);
  });

  it('a feed added in server B never reaches server A: not in A\'s feeds list, no alert in A, not in A\'s answers', async () => {
    // Both servers subscribe a channel to every new post.
    assert.match((await slash('alerts', 'subscribe', {}, { permissions: MANAGER_PERMISSIONS })).text, /Subscribed this channel/);
    assert.match((await slash('alerts', 'subscribe', {}, { ...B, permissions: MANAGER_PERMISSIONS })).text, /Subscribed this channel/);
    const added = await slash('feeds', 'add', { url: feeds.url('/b.xml'), name: 'B private' }, { ...B, permissions: SERVER_MANAGER_PERMISSIONS });
    assert.match(added.text, /Watching feed #2/, added.text);
    assert.match(added.text, /Only this server or workspace sees it/);
    await eventually(polledOnce(feeds.url('/b.xml')), 'B\'s feed seeded');

    feeds.route('/b.xml', { body: rssFeed([post(2, 'Zyxwvut ransomware breach at Harbourcorp', 'b.example'), post(1, 'Old Bprivate item about nothing', 'b.example')], { title: 'B outlet' }) });
    await eventually(() => (messagesTo(CHANNEL_B).some((m) => JSON.stringify(m).includes('Zyxwvut')) ? true : undefined), 'the alert in server B');
    // An operator post afterwards reaches both: A's subscription works, it just never saw B's post.
    feeds.route('/cisa.xml', { body: rssFeed([post(2, 'Quillon router flaw exploited in the wild', 'cisa.example'), post(1, 'CISA adds one known exploited vulnerability', 'cisa.example')], { title: 'CISA' }) });
    await eventually(() => (messagesTo(fake.channelId).some((m) => JSON.stringify(m).includes('Quillon')) ? true : undefined), 'the operator alert in server A');
    await eventually(() => (messagesTo(CHANNEL_B).some((m) => JSON.stringify(m).includes('Quillon')) ? true : undefined), 'the operator alert in server B');
    assert.ok(!messagesTo(fake.channelId).some((m) => /Zyxwvut|Bprivate/.test(JSON.stringify(m))), 'no post of B\'s feed in A\'s channel');

    const listA = await slash('feeds', 'list', {});
    assert.doesNotMatch(listA.text, /B private|b\.xml/);
    const statusA = await slash('feeds', 'status', {});
    assert.doesNotMatch(statusA.text, /B private|b\.xml/);
    const listB = await slash('feeds', 'list', {}, B);
    assert.match(listB.text, /#2 B private — .*b\.xml · added by 1200000000000000004 on \d{4}-\d{2}-\d{2}/);

    const answerA = await slash('incident', undefined, { query: 'Zyxwvut Harbourcorp' });
    assert.match(answerA.text, /found no incident/);
    assert.doesNotMatch(answerA.text, /ransomware breach/, 'neither answered nor suggested in A');
    const answerB = await slash('incident', undefined, { query: 'Zyxwvut Harbourcorp' }, B);
    assert.match(answerB.text, /Zyxwvut ransomware breach at Harbourcorp/);
    assert.doesNotMatch((await slash('incidents', 'search', { query: 'zyxwvut' })).text, /Zyxwvut/);
    assert.doesNotMatch((await slash('incidents', 'recent', { count: 25 })).text, /Zyxwvut/);
    assert.match((await slash('incidents', 'recent', { count: 25 }, B)).text, /Zyxwvut/);
    const suggestA = await fake.waitForCallback(fake.sendAutocomplete('incident', 'query', 'Zyxwvut'));
    assert.ok(!JSON.stringify(suggestA.body.data.choices).includes('Zyxwvut'), 'not suggested in A');
    const suggestB = await fake.waitForCallback(fake.sendAutocomplete('incident', 'query', 'Zyxwvut', {}, B));
    assert.ok(JSON.stringify(suggestB.body.data.choices).includes('Zyxwvut'), 'suggested in B');
  });

  it('credentials in a feed URL never appear in replies, feeds list, feeds status or log lines', async () => {
    feeds.route('/locked.xml', { status: 500, body: 'nope' });
    const url = feeds.url(`/locked.xml?token=${TOKEN}`).replace('http://', `http://bob:${SECRET}@`);
    const added = await slash('feeds', 'add', { url, name: 'Locked' }, { ...B, permissions: SERVER_MANAGER_PERMISSIONS });
    assert.match(added.text, /Watching feed #3/, added.text);
    await eventually(async () => ((await app.watcher!.alerts.listFeeds('operator')).find((f) => f.id === 3 && f.lastError) ? true : undefined), 'a failed poll of the locked feed');
    const list = await slash('feeds', 'list', {}, B);
    const status = await slash('feeds', 'status', {}, B);
    for (const text of [added.text, list.text, status.text]) {
      assert.match(text, /locked\.xml/);
      assert.ok(!text.includes(SECRET) && !text.includes(TOKEN), text);
    }
    assert.match(list.text, /http:\/\/\*\*\*@127\.0\.0\.1:\d+\/locked\.xml\?token=\*\*\*/);
    const all = logs.join('');
    assert.match(all, /locked\.xml/, 'the feed was logged');
    assert.ok(!all.includes(SECRET) && !all.includes(TOKEN), 'no credential in any log line');
    assert.equal((await app.watcher!.storage.feeds.get(3))!.url, url, 'stored as given');
  });

  it('limits: FEEDS_PER_TENANT feeds, 25 subscriptions per channel, 10 management commands per user per minute', async () => {
    // B has two feeds; FEEDS_PER_TENANT is 3 here.
    assert.match((await slash('feeds', 'add', { url: feeds.url('/b3.xml') }, { ...B, permissions: SERVER_MANAGER_PERMISSIONS })).text, /Watching feed/);
    const fourth = await slash('feeds', 'add', { url: feeds.url('/b4.xml') }, { ...B, userId: '1200000000000000005', permissions: SERVER_MANAGER_PERMISSIONS });
    assert.match(fourth.text, /watches 3 feeds of its own, the most allowed/);
    assert.equal(await app.watcher!.storage.feeds.getByUrl(feeds.url('/b4.xml')), undefined);

    // Server C: ten changes a minute per user, then a clear refusal; other users go on up to 25 per channel.
    const C = { guildId: '1300000000000000002', channelId: '1300000000000000003', permissions: MANAGER_PERMISSIONS };
    for (let i = 0; i < 10; i++) assert.match((await slash('alerts', 'subscribe', { filter: `word${i}` }, { ...C, userId: '1300000000000000010' })).text, /Subscribed/);
    const eleventh = await slash('alerts', 'subscribe', { filter: 'word10' }, { ...C, userId: '1300000000000000010' });
    assert.match(eleventh.text, /made 10 feed and alert changes in the last minute, the most allowed; try again in \d+ s/);
    for (let i = 10; i < 25; i++) {
      const userId = i < 20 ? '1300000000000000011' : '1300000000000000012';
      assert.match((await slash('alerts', 'subscribe', { filter: `word${i}` }, { ...C, userId })).text, /Subscribed/, `subscription ${i + 1}`);
    }
    const over = await slash('alerts', 'subscribe', { filter: 'word25' }, { ...C, userId: '1300000000000000013' });
    assert.match(over.text, /25 subscriptions, the most allowed \(25\)/);
    assert.equal((await app.watcher!.alerts.listSubscriptions('discord:1300000000000000002', 'discord', C.channelId)).length, 25);
  });

  it('filter-cost abuse: a filter of 37 phrases is refused with a clear reply and an example', async () => {
    const phrases = Array.from({ length: 37 }, (_, i) => `"${String.fromCharCode(97 + (i % 26))}${i} x"`).join(' ');
    assert.ok(phrases.length <= 300, 'within the character limit: the term limit is what refuses it');
    const reply = await slash('alerts', 'subscribe', { filter: phrases }, { guildId: '1400000000000000002', channelId: '1400000000000000003', permissions: MANAGER_PERMISSIONS });
    assert.match(reply.text, /That filter has 37 terms; a filter takes at most 10/);
    assert.match(reply.text, /e\.g\./);
    assert.doesNotMatch(reply.text, /Something went wrong/);
    assert.equal((await app.watcher!.alerts.listSubscriptions('discord:1400000000000000002', 'discord', '1400000000000000003')).length, 0);
  });

  it('npm run cli -- audit --tenant prints who changed what in that server, and nothing of others', async () => {
    const result = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'audit', '--tenant', `discord:${GUILD_B}`], {
        cwd: ROOT,
        env: { PATH: process.env.PATH, HOME: process.env.HOME, DATABASE_PATH: dbPath, LOG_LEVEL: 'silent' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });
    assert.equal(result.code, 0, result.stderr);
    const lines = result.stdout.trim().split('\n');
    assert.ok(lines.length >= 4, result.stdout);
    for (const line of lines) assert.match(line, new RegExp(`^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}Z  discord:${GUILD_B}  discord user 12000000000000000\\d\\d  `), line);
    assert.match(result.stdout, new RegExp(`discord user ${USER_B}  feed-add  feed #2 .*b\\.xml as "B private"`));
    assert.match(result.stdout, new RegExp(`discord user ${USER_B}  subscribe  subscription #\\d+ in channel ${CHANNEL_B} every new post`));
    assert.ok(!result.stdout.includes(SECRET) && !result.stdout.includes(TOKEN), 'the audit log is redacted too');
    assert.doesNotMatch(result.stdout, /discord:1100000000000000002|discord:13/);
  });
});

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ApplicationCommandOptionType } from 'discord.js';
import { COMMANDS } from '../../../commands/index.js';
import { createDiscordAlertSender, nonceFor, type DiscordAlertSender } from '../../../src/adapters/discord/alert-sender.js';
import { commandsToDiscordJson } from '../../../src/adapters/discord/command-json.js';
import { DIGEST_MAX_POSTS, alertToMessage, messageLimitViolations } from '../../../src/adapters/discord/render.js';
import { AlertSendError, type AlertPost, type OutgoingMessage } from '../../../src/feeds/types.js';
import { buildAlertPost, HOSTILE } from '../../support/alert-fixtures.js';
import { createFakeAlertsService, type FakeAlertsService } from '../../support/fake-alerts-service.js';
import { startFakeDiscordBot, type FakeDiscordBot } from '../../support/fake-discord-bot.js';
import { FakeDiscord, MANAGER_PERMISSIONS, SERVER_MANAGER_PERMISSIONS, snowflake, type RecordedRequest } from '../../support/fake-discord.js';
import { liveMaskedLinks, unescapedMentions } from './fixtures.js';

const EPHEMERAL = 1 << 6;
const ROLE_ID = '1100000000000000099';

const post = buildAlertPost;

/** Returns the reply message data of an interaction's first response. */
function dataOf(request: RecordedRequest): any {
  return request.body?.data ?? {};
}

function replyText(data: any): string {
  return [data.content ?? '', ...(data.embeds ?? []).map((e: any) => `${e.title ?? ''}\n${e.description ?? ''}`)].join('\n');
}

describe('/alerts and /feeds through the real discord.js client', { timeout: 30_000 }, () => {
  let bot: FakeDiscordBot;
  let alerts: FakeAlertsService;

  before(async () => {
    alerts = createFakeAlertsService([{ name: 'CISA advisories', url: 'https://www.cisa.gov/cybersecurity-advisories/all.xml', polls: 10, notModifiedRate: 0.6, itemsSeen: 40, lastSuccessAt: '2026-11-25T12:00:00Z' }]);
    bot = await startFakeDiscordBot({ alerts });
  });
  after(async () => {
    await bot?.stop();
  });

  async function run(name: string, sub: string, options: Record<string, string | number> = {}, extras: Parameters<FakeDiscord['sendSlashCommand']>[3] = {}) {
    const callback = await bot.fake.waitForCallback(bot.fake.sendSlashCommand(name, options, sub, extras));
    return dataOf(callback);
  }

  it('/alerts subscribe tag:ransomware by a member with Manage Channels subscribes the channel', async () => {
    const data = await run('alerts', 'subscribe', { filter: 'tag:ransomware' }, { permissions: MANAGER_PERMISSIONS });
    assert.match(replyText(data), /Subscribed this channel/);
    assert.equal(data.flags & EPHEMERAL, EPHEMERAL);
    assert.deepEqual(data.allowed_mentions, { parse: [] });
    const sub = alerts.subscriptions.at(-1);
    assert.ok(sub, 'the fake alerts service got a subscription');
    assert.equal(sub.platform, 'discord');
    assert.equal(sub.channelId, bot.fake.channelId);
    assert.equal(sub.workspaceId, bot.fake.guildId);
    assert.equal(sub.tenant, `discord:${bot.fake.guildId}`);
    assert.equal(sub.filter, 'tag:ransomware');
    assert.equal(sub.roleId, undefined);
    assert.equal(sub.createdBy, bot.fake.userId);
  });

  it('/alerts subscribe with a role option stores the role to mention', async () => {
    const data = await run('alerts', 'subscribe', { filter: 'lockbit feed:cisa' }, { permissions: MANAGER_PERMISSIONS, roles: { role: ROLE_ID } });
    assert.match(replyText(data), /Subscribed/);
    const sub = alerts.subscriptions.at(-1)!;
    assert.equal(sub.filter, 'lockbit feed:cisa');
    assert.equal(sub.roleId, ROLE_ID);
  });

  it('/alerts subscribe without Manage Channels is refused ephemerally and subscribes nothing', async () => {
    const before = alerts.subscriptions.length;
    const data = await run('alerts', 'subscribe', { filter: 'tag:phishing' });
    assert.equal(data.flags & EPHEMERAL, EPHEMERAL);
    assert.match(data.content, /Manage Channels/);
    assert.equal(alerts.subscriptions.length, before);
    assert.ok(!alerts.calls.some((c) => c.method === 'subscribe' && (c.args[0] as any).filter === 'tag:phishing'));
  });

  it('/alerts in a DM is refused', async () => {
    const data = await run('alerts', 'list', {}, { dm: true, permissions: MANAGER_PERMISSIONS });
    assert.equal(data.flags & EPHEMERAL, EPHEMERAL);
    assert.match(data.content, /Manage Channels/);
  });

  it('a since: filter is refused with an explanation', async () => {
    const data = await run('alerts', 'subscribe', { filter: 'ransomware since:2024' }, { permissions: MANAGER_PERMISSIONS });
    assert.match(data.content, /since:.*does not apply to alerts/);
  });

  it('/alerts list shows the channel\'s subscriptions and /alerts unsubscribe removes one', async () => {
    const listed = await run('alerts', 'list', {}, { permissions: MANAGER_PERMISSIONS });
    const text = replyText(listed);
    assert.match(text, /tag:ransomware/);
    assert.match(text, new RegExp(`mentions role ${ROLE_ID}`));
    const id = alerts.subscriptions[0].id;
    const removed = await run('alerts', 'unsubscribe', { id: String(id) }, { permissions: MANAGER_PERMISSIONS });
    assert.match(replyText(removed), new RegExp(`Removed subscription #${id}`));
    assert.ok(!alerts.subscriptions.some((s) => s.id === id));
  });

  it('/feeds add by a Manage Server member adds the feed; by a member, or with Manage Channels only, it is refused', async () => {
    const refused = await run('feeds', 'add', { url: 'https://www.bleepingcomputer.com/feed/' });
    assert.match(refused.content, /Manage Server/);
    const channelManager = await run('feeds', 'add', { url: 'https://www.bleepingcomputer.com/feed/' }, { permissions: MANAGER_PERMISSIONS });
    assert.match(channelManager.content, /Only members with the Manage Server permission/);
    assert.equal(alerts.feeds.length, 1);
    const added = await run('feeds', 'add', { url: 'https://www.bleepingcomputer.com/feed/', name: 'BleepingComputer' }, { permissions: SERVER_MANAGER_PERMISSIONS });
    assert.match(replyText(added), /Watching feed #2/);
    assert.equal(alerts.feeds.at(-1)?.name, 'BleepingComputer');
  });

  it('/feeds add reports the service\'s reason when it refuses a URL', async () => {
    const data = await run('feeds', 'add', { url: 'http://intranet.bad/feed' }, { permissions: SERVER_MANAGER_PERMISSIONS });
    assert.match(data.content, /Could not add .*private address/);
  });

  it('/feeds status and /feeds list answer any member', async () => {
    const status = replyText(await run('feeds', 'status'));
    assert.match(status, /Feed status: 2 feeds/);
    assert.match(status, /60% not modified/);
    const list = replyText(await run('feeds', 'list'));
    assert.match(list, /CISA advisories/);
  });

  it('a bot without the feed watcher says feeds are not enabled', async () => {
    const plain = await startFakeDiscordBot();
    try {
      const callback = await plain.fake.waitForCallback(plain.fake.sendSlashCommand('alerts', {}, 'list', { permissions: MANAGER_PERMISSIONS }));
      assert.match(dataOf(callback).content, /Feeds are not enabled on this bot/);
    } finally {
      await plain.stop();
    }
  });
});

describe('Discord registration of the alert commands', () => {
  const json = commandsToDiscordJson(COMMANDS);
  const byName = new Map(json.map((c) => [c.name, c as any]));

  it('/alerts is limited to Manage Channels by default and its role option is a role picker', () => {
    const alertsJson = byName.get('alerts');
    assert.equal(alertsJson.default_member_permissions, '16');
    const subscribe = alertsJson.options.find((o: any) => o.name === 'subscribe');
    const role = subscribe.options.find((o: any) => o.name === 'role');
    assert.equal(role.type, ApplicationCommandOptionType.Role);
    assert.equal(subscribe.options.find((o: any) => o.name === 'filter').type, ApplicationCommandOptionType.String);
  });

  it('/feeds and /incident are open to everyone (add and remove are checked by the handler)', () => {
    assert.equal(byName.get('feeds').default_member_permissions, undefined);
    assert.equal(byName.get('incident').default_member_permissions, undefined);
    assert.deepEqual(byName.get('feeds').options.map((o: any) => o.name), ['list', 'status', 'add', 'remove']);
  });
});

describe('alertToMessage', () => {
  it('renders an alert as one embed: linked title, source, date, short summary, no mentions', () => {
    const body = alertToMessage({ kind: 'alert', post: post() });
    assert.equal(body.content, undefined);
    assert.deepEqual(body.allowed_mentions, { parse: [] });
    const [embed] = body.embeds;
    assert.equal(embed.title, 'LockBit affiliate arrested in Poland');
    assert.equal(embed.url, 'https://news.example.com/lockbit-arrest');
    assert.equal(embed.timestamp, '2026-11-25T09:30:00.000Z');
    assert.match(embed.footer!.text, /Example Security News/);
    assert.match(embed.description!, /hospitals/);
    assert.deepEqual(messageLimitViolations({ ...body, components: [] }), []);
  });

  it('links only http(s) URLs', () => {
    for (const url of ['javascript:alert(1)', 'ftp://example.com/x', 'data:text/html,x', 'not a url']) {
      const body = alertToMessage({ kind: 'alert', post: post({ url }) });
      assert.equal(body.embeds[0].url, undefined, url);
    }
  });

  it('mentions the role only when the subscription names one', () => {
    const body = alertToMessage({ kind: 'alert', post: post(), roleId: ROLE_ID });
    assert.equal(body.content, `<@&${ROLE_ID}>`);
    assert.deepEqual(body.allowed_mentions, { parse: [], roles: [ROLE_ID] });
    const bogus = alertToMessage({ kind: 'alert', post: post(), roleId: '@everyone' });
    assert.equal(bogus.content, undefined);
    assert.deepEqual(bogus.allowed_mentions, { parse: [] });
  });

  it('keeps hostile feed text inert: no pings, no masked links', () => {
    const body = alertToMessage({ kind: 'alert', post: post({ title: HOSTILE, summary: `${HOSTILE} @here`, source: HOSTILE }) });
    const embed = body.embeds[0];
    for (const text of [embed.title ?? '', embed.description ?? '']) {
      assert.deepEqual(liveMaskedLinks(text), [], text);
      assert.deepEqual(unescapedMentions(text), [], text);
      assert.ok(!/(?<!\\)<[!@#]/.test(text), text);
    }
    assert.deepEqual(body.allowed_mentions, { parse: [] });
    const digest = alertToMessage({ kind: 'digest', posts: [post({ title: HOSTILE, url: 'https://ok.example/a' }), post({ title: HOSTILE })] });
    const description = digest.embeds[0].description ?? '';
    for (const link of liveMaskedLinks(description)) {
      assert.ok(!/[\[\]]/.test(link.label.replace(/\\[\[\]]/g, '')), `label is escaped: ${link.label}`);
      assert.ok(link.url.startsWith('https://ok.example/') || link.url.startsWith('https://news.example.com/'), link.url);
    }
    assert.deepEqual(unescapedMentions(description), []);
    const notice = alertToMessage({ kind: 'notice', text: `Feed ${HOSTILE} is failing` });
    assert.deepEqual(unescapedMentions(notice.content!), []);
    assert.deepEqual(liveMaskedLinks(notice.content!), []);
  });

  it('stays within every limit for huge posts', () => {
    const huge = post({ title: 'T'.repeat(5000), summary: 'word '.repeat(10_000), source: 'S'.repeat(5000), url: `https://example.com/${'a'.repeat(3000)}` });
    const body = alertToMessage({ kind: 'alert', post: huge });
    assert.deepEqual(messageLimitViolations({ ...body, components: [] }), []);
    const digest = alertToMessage({ kind: 'digest', posts: Array.from({ length: 200 }, (_, i) => post({ postId: `p${i}`, title: `${'Long title '.repeat(30)}${i}` })) });
    assert.deepEqual(messageLimitViolations({ ...digest, components: [] }), []);
  });

  it('folds a digest into one embed listing up to DIGEST_MAX_POSTS posts and counting the rest', () => {
    const posts = Array.from({ length: 30 }, (_, i) => post({ postId: `p${i}`, title: `Post ${i}`, url: `https://news.example.com/${i}` }));
    const body = alertToMessage({ kind: 'digest', posts, roleId: ROLE_ID });
    assert.equal(body.embeds.length, 1);
    assert.equal(body.embeds[0].title, '30 new posts');
    const description = body.embeds[0].description!;
    assert.equal((description.match(/^• /gm) ?? []).length, DIGEST_MAX_POSTS);
    assert.match(description, /…and 10 more$/);
    assert.equal(body.content, `<@&${ROLE_ID}>`);
    assert.deepEqual(body.allowed_mentions, { parse: [], roles: [ROLE_ID] });
  });

  it('renders a notice as plain text', () => {
    const body = alertToMessage({ kind: 'notice', text: 'Feed "CISA" is failing: HTTP 500 (10 times in a row).' });
    assert.deepEqual(body.embeds, []);
    assert.match(body.content!, /CISA/);
    assert.deepEqual(body.allowed_mentions, { parse: [] });
  });
});

describe('DiscordAlertSender against the fake Discord', { timeout: 20_000 }, () => {
  let fake: FakeDiscord;
  let sender: DiscordAlertSender;
  const channel = '1100000000000000010';

  before(async () => {
    fake = await FakeDiscord.start();
    sender = createDiscordAlertSender({ token: 'fake-token', apiUrl: fake.apiUrl });
  });
  after(async () => {
    await fake.close();
  });

  function posts(channelId: string): RecordedRequest[] {
    return fake.requests.filter((r) => r.method === 'POST' && r.path === `/api/v10/channels/${channelId}/messages`);
  }

  it('posts an embed with a nonce, enforce_nonce and no mentions, and returns the message id', async () => {
    const { messageId } = await sender.send(channel, { kind: 'alert', post: post() }, 'sub:1|post:abc');
    const [request] = posts(channel);
    assert.equal(request.headers.authorization, 'Bot fake-token');
    assert.equal(request.body.nonce, nonceFor('sub:1|post:abc'));
    assert.ok(request.body.nonce.length <= 25);
    assert.equal(request.body.enforce_nonce, true);
    assert.deepEqual(request.body.allowed_mentions, { parse: [] });
    assert.equal(request.body.content, undefined);
    assert.equal(request.body.embeds[0].url, 'https://news.example.com/lockbit-arrest');
    assert.deepEqual(messageLimitViolations({ content: request.body.content, embeds: request.body.embeds, components: [] }), []);
    assert.equal(fake.channelMessages.get(channel)?.at(-1)?.id, messageId);
  });

  it('the same idempotency key twice creates one message (enforce_nonce) and returns its id both times', async () => {
    const c = '1100000000000000011';
    const first = await sender.send(c, { kind: 'alert', post: post() }, 'sub:2|post:same');
    const again = await sender.send(c, { kind: 'alert', post: post() }, 'sub:2|post:same');
    assert.equal(again.messageId, first.messageId);
    assert.equal(fake.channelMessages.get(c)?.length, 1);
    await sender.send(c, { kind: 'alert', post: post() }, 'sub:2|post:other');
    assert.equal(fake.channelMessages.get(c)?.length, 2);
    assert.equal(await sender.findSent(c, 'sub:2|post:same'), undefined);
  });

  it('pings the role only when the subscription names one', async () => {
    const c = '1100000000000000012';
    await sender.send(c, { kind: 'alert', post: post(), roleId: ROLE_ID }, 'k-role');
    await sender.send(c, { kind: 'alert', post: post() }, 'k-norole');
    const [withRole, without] = posts(c);
    assert.equal(withRole.body.content, `<@&${ROLE_ID}>`);
    assert.deepEqual(withRole.body.allowed_mentions, { parse: [], roles: [ROLE_ID] });
    assert.equal(without.body.content, undefined);
    assert.deepEqual(without.body.allowed_mentions, { parse: [] });
  });

  it('sends follow-up coverage as a reply to the first alert', async () => {
    const c = '1100000000000000013';
    const first = await sender.send(c, { kind: 'alert', post: post() }, 'k-first');
    const reply = await sender.send(c, { kind: 'alert', post: post({ postId: 'p2', title: 'More on the arrest' }), threadOf: first.messageId }, 'k-second');
    const [, request] = posts(c);
    assert.deepEqual(request.body.message_reference, { message_id: first.messageId, fail_if_not_exists: false });
    const created = fake.channelMessages.get(c)!.find((m) => m.id === reply.messageId);
    assert.equal(created.message_reference.message_id, first.messageId);
  });

  it('a follow-up refused for lack of Read Message History goes out as a plain message', async () => {
    const c = '1100000000000000017';
    const first = await sender.send(c, { kind: 'alert', post: post() }, 'k-h1');
    fake.fail({ method: 'POST', path: new RegExp(`/channels/${c}/messages$`), status: 403, times: 1, body: { message: 'Missing Permissions', code: 50013 } });
    const second = await sender.send(c, { kind: 'alert', post: post({ postId: 'p3' }), threadOf: first.messageId }, 'k-h2');
    const [, refused, plain] = posts(c);
    assert.equal(refused.status, 403);
    assert.ok(refused.body.message_reference);
    assert.equal(plain.body.message_reference, undefined);
    assert.equal(plain.body.nonce, refused.body.nonce);
    assert.equal(fake.channelMessages.get(c)?.at(-1)?.id, second.messageId);
  });

  it('a 429 becomes a retryable AlertSendError carrying Retry-After, without waiting it out', async () => {
    const c = '1100000000000000014';
    fake.fail({ method: 'POST', path: new RegExp(`/channels/${c}/messages$`), status: 429, times: 1, headers: { 'Retry-After': '2', 'X-RateLimit-Scope': 'user' }, body: { message: 'You are being rate limited.', retry_after: 2, global: false } });
    const started = performance.now();
    const error = await sender.send(c, { kind: 'alert', post: post() }, 'k-429').then(() => undefined, (e: unknown) => e);
    assert.ok(error instanceof AlertSendError, String(error));
    assert.equal(error.retryable, true);
    assert.ok(error.retryAfterMs !== undefined && error.retryAfterMs >= 2000 && error.retryAfterMs < 3000, String(error.retryAfterMs));
    assert.ok(performance.now() - started < 1500, 'the sender does not sleep through the Retry-After');
    assert.equal(fake.channelMessages.get(c), undefined);
  });

  it('a 5xx is retryable; Unknown Channel (404) and Missing Access (403) are permanent', async () => {
    const c = '1100000000000000015';
    fake.fail({ method: 'POST', path: new RegExp(`/channels/${c}/messages$`), status: 502, times: 1 });
    const e5 = await sender.send(c, { kind: 'alert', post: post() }, 'k-5xx').catch((e: unknown) => e);
    assert.ok(e5 instanceof AlertSendError && e5.retryable, String(e5));
    const missing = snowflake();
    fake.missingChannels.add(missing);
    const e404 = await sender.send(missing, { kind: 'alert', post: post() }, 'k-404').catch((e: unknown) => e);
    assert.ok(e404 instanceof AlertSendError && !e404.retryable, String(e404));
    assert.match(e404.message, /404.*Unknown Channel/);
    const forbidden = snowflake();
    fake.forbiddenChannels.add(forbidden);
    const e403 = await sender.send(forbidden, { kind: 'alert', post: post() }, 'k-403').catch((e: unknown) => e);
    assert.ok(e403 instanceof AlertSendError && !e403.retryable, String(e403));
  });

  it('posts hostile feed text inert', async () => {
    const c = '1100000000000000016';
    const message: OutgoingMessage = { kind: 'alert', post: post({ title: HOSTILE, summary: HOSTILE, source: HOSTILE }) };
    await sender.send(c, message, 'k-hostile');
    const [request] = posts(c);
    assert.deepEqual(request.body.allowed_mentions, { parse: [] });
    assert.equal(request.body.content, undefined);
    const embed = request.body.embeds[0];
    for (const text of [embed.title, embed.description]) {
      assert.deepEqual(liveMaskedLinks(text), []);
      assert.deepEqual(unescapedMentions(text), []);
    }
  });

  it('the adapter exposes a sender bound to its API URL', async () => {
    const bot = await startFakeDiscordBot();
    try {
      const { messageId } = await bot.adapter.alertSender.send(bot.fake.channelId, { kind: 'notice', text: 'Feed X is failing' }, 'k-adapter');
      assert.equal(bot.fake.channelMessages.get(bot.fake.channelId)?.[0].id, messageId);
    } finally {
      await bot.stop();
    }
  });
});

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createSlackAlertSender, ALERT_EVENT_TYPE, FIND_HISTORY_LIMIT, type SlackAlertSender } from '../../../src/adapters/slack/alert-sender.js';
import { DIGEST_MAX_POSTS, RENDER_BUDGET, alertToBlocks, messageSize } from '../../../src/adapters/slack/render.js';
import { AlertSendError, type AlertPost, type OutgoingMessage } from '../../../src/feeds/types.js';
import { buildAlertPost, HOSTILE } from '../../support/alert-fixtures.js';
import { createFakeAlertsService, type FakeAlertsService } from '../../support/fake-alerts-service.js';
import { FakeSlack } from '../../support/fake-slack.js';
import { checkMessage, messageTexts } from '../../support/fake-slack-blocks.js';
import { startTestSlackBot, type TestSlackBot } from '../../support/fake-slack-bot.js';
import { appMentionBody, slashCommandPayload, unique } from '../../support/fake-slack-payloads.js';


const post = buildAlertPost;

/** Every `<...>` sequence in a message must be a link we made to an http(s) URL or our date token. */
function assertOnlyOurMarkup(message: Record<string, any>): void {
  for (const text of messageTexts(message)) {
    for (const seq of text.match(/<[^>]*>/g) ?? []) {
      if (/^<!date\^\d+\^\{[a-z_]+\}(?: \{time\})?\|[\d: -]+UTC>$/.test(seq)) continue;
      assert.match(seq, /^<https?:\/\/[^|<>\s]+\|[^|<>]*>$/, `unexpected ${seq}`);
      assert.doesNotMatch(seq, /^<https?:\/\/evil/, `a link to the hostile URL: ${seq}`);
    }
    assert.doesNotMatch(text, /<!(channel|here|everyone)/);
  }
}

for (const mode of ['socket', 'http'] as const) {
  describe(`/incident alerts and /incident feeds on Slack (${mode} mode)`, () => {
    let bot: TestSlackBot;
    let alerts: FakeAlertsService;

    before(async () => {
      alerts = createFakeAlertsService([{ name: 'CISA advisories', url: 'https://www.cisa.gov/cybersecurity-advisories/all.xml', polls: 4, notModifiedRate: 0.5 }]);
      bot = await startTestSlackBot(mode, { alerts });
      bot.fake.users.set('UADMIN', { is_admin: true });
      bot.fake.users.set('UOWNER', { is_owner: true });
      bot.fake.users.set('UGUEST', { is_restricted: true });
    });
    after(async () => {
      await bot.close();
    });

    async function command(text: string, user: string, channel = unique('C')) {
      const url = bot.fake.responseUrl();
      await bot.driver.command(slashCommandPayload({ text, response_url: url, channel_id: channel, user_id: user }));
      const response = await bot.fake.waitForResponse((r) => url.endsWith(`/${r.id}`));
      assert.deepEqual(response.problems, []);
      return { body: response.body, all: messageTexts(response.body).join('\n'), channel };
    }

    it('/incident alerts subscribe tag:ransomware by a workspace admin subscribes the channel', async () => {
      const { body, all, channel } = await command('alerts subscribe tag:ransomware', 'UADMIN');
      assert.equal(body.response_type, 'ephemeral');
      assert.match(all, /Subscribed this channel/);
      assert.match(all, /\/incident alerts unsubscribe \d+/);
      const sub = alerts.subscriptions.find((s) => s.channelId === channel);
      assert.ok(sub, 'the fake alerts service got the subscription');
      assert.equal(sub.platform, 'slack');
      assert.equal(sub.workspaceId, 'T0001');
      assert.equal(sub.tenant, 'slack:T0001');
      assert.equal(sub.filter, 'tag:ransomware');
      assert.equal(sub.createdBy, 'UADMIN');
      assert.ok(bot.fake.callsOf('users.info').some((c) => c.params.user === 'UADMIN'), 'users.info was asked');
    });

    it('/incident alerts subscribe by a member who did not create the channel is refused', async () => {
      const { all, channel } = await command('alerts subscribe tag:ransomware', 'UMEMBER');
      assert.match(all, /Only workspace admins and owners, and the channel's creator/);
      assert.equal(alerts.subscriptions.filter((s) => s.channelId === channel).length, 0);
      assert.ok(bot.fake.callsOf('conversations.info').some((c) => c.params.channel === channel), 'the creator was checked');
    });

    it('the channel\'s creator and a workspace owner may subscribe; a guest who created the channel may not', async () => {
      const mine = unique('C');
      bot.fake.channelCreators.set(mine, 'UMAKER');
      const made = await command('alerts subscribe lockbit feed:cisa', 'UMAKER', mine);
      assert.match(made.all, /Subscribed/);
      assert.equal(alerts.subscriptions.find((s) => s.channelId === mine)?.filter, 'lockbit feed:cisa');
      assert.match((await command('alerts list', 'UOWNER', mine)).all, /lockbit feed:cisa/);
      const guests = unique('C');
      bot.fake.channelCreators.set(guests, 'UGUEST');
      assert.match((await command('alerts subscribe', 'UGUEST', guests)).all, /Only workspace admins/);
    });

    it('a since: filter is refused with an explanation, and nothing is subscribed', async () => {
      const { all, channel } = await command('alerts subscribe ransomware since:2024', 'UADMIN');
      assert.match(all, /since:.*does not apply to alerts/);
      assert.equal(alerts.subscriptions.filter((s) => s.channelId === channel).length, 0);
    });

    it('/incident alerts unsubscribe removes the subscription', async () => {
      const channel = unique('C');
      await command('alerts subscribe phishing', 'UADMIN', channel);
      const id = alerts.subscriptions.find((s) => s.channelId === channel)!.id;
      const { all } = await command(`alerts unsubscribe ${id}`, 'UADMIN', channel);
      assert.match(all, new RegExp(`Removed subscription #${id}`));
      assert.equal(alerts.subscriptions.filter((s) => s.channelId === channel).length, 0);
    });

    it('/incident feeds status answers anyone without an admin check; feeds add needs one', async () => {
      const checks = bot.fake.callsOf('users.info').length;
      const status = await command('feeds status', 'UMEMBER');
      assert.match(status.all, /Feed status: 1 feed/);
      assert.equal(bot.fake.callsOf('users.info').length, checks, 'no users.info call for a read-only command');
      assert.match((await command('feeds add https://www.bleepingcomputer.com/feed/', 'UMEMBER')).all, /Only workspace admins/);
      const added = await command('feeds add <https://www.bleepingcomputer.com/feed/> Bleeping Computer', 'UADMIN');
      assert.match(added.all, /Watching feed #\d+/);
      assert.equal(alerts.feeds.at(-1)?.url, 'https://www.bleepingcomputer.com/feed/');
      assert.equal(alerts.feeds.at(-1)?.name, 'Bleeping Computer');
    });

    it('a mention asking an admin command gets the channel context too, in a thread', async () => {
      const channel = unique('C');
      await bot.driver.event(appMentionBody({ text: '<@UBOT> alerts subscribe tag:cve', channel, user: 'UADMIN' }));
      const call = await bot.fake.waitForCall('chat.postMessage', (c) => c.params.channel === channel);
      assert.ok(call.params.thread_ts);
      assert.equal(alerts.subscriptions.find((s) => s.channelId === channel)?.filter, 'tag:cve');
    });
  });
}

describe('/incident alerts without the feed watcher', () => {
  let bot: TestSlackBot;
  before(async () => {
    bot = await startTestSlackBot('socket');
  });
  after(async () => {
    await bot.close();
  });

  it('says feeds are not enabled, without asking the API about the user', async () => {
    const url = bot.fake.responseUrl();
    await bot.driver.command(slashCommandPayload({ text: 'alerts subscribe', response_url: url, user_id: 'UADMIN' }));
    const { body } = await bot.fake.waitForResponse((r) => url.endsWith(`/${r.id}`));
    assert.match(body.text, /Feeds are not enabled on this bot/);
    assert.equal(bot.fake.callsOf('users.info').length, 0);
  });
});

describe('alertToBlocks', () => {
  it('renders an alert: linked title, source and date, short summary, text fallback', () => {
    const message = alertToBlocks({ kind: 'alert', post: post() });
    assert.deepEqual(checkMessage(message), []);
    assert.match(message.blocks[0].type === 'section' ? message.blocks[0].text!.text : '', /^\*<https:\/\/news\.example\.com\/lockbit-arrest\|LockBit affiliate arrested in Poland>\*$/);
    const all = messageTexts(message).join('\n');
    assert.match(all, /Example Security News · <!date\^1795599000\^\{date_short_pretty\} \{time\}\|2026-11-25 09:30 UTC>/);
    assert.match(all, /hospitals/);
    assert.match(message.text, /LockBit affiliate arrested in Poland \(Example Security News\)/);
  });

  it('links only http(s) URLs', () => {
    for (const url of ['javascript:alert(1)', 'ftp://example.com/x', 'not a url']) {
      const all = messageTexts(alertToBlocks({ kind: 'alert', post: post({ url }) })).join('\n');
      assert.doesNotMatch(all, /<(?!!date)[^>]*>/, url);
    }
  });

  it('keeps hostile feed text inert in alerts, digests and notices', () => {
    const messages: OutgoingMessage[] = [
      { kind: 'alert', post: post({ title: HOSTILE, summary: HOSTILE, source: HOSTILE }), roleId: '1100000000000000099' },
      { kind: 'digest', posts: Array.from({ length: 12 }, (_, i) => post({ postId: `p${i}`, title: HOSTILE, source: HOSTILE })) },
      { kind: 'notice', text: `Feed ${HOSTILE} is failing` },
    ];
    for (const m of messages) {
      const message = alertToBlocks(m);
      assert.deepEqual(checkMessage(message), []);
      assertOnlyOurMarkup(message);
      assert.match(messageTexts(message).join('\n'), /&lt;!channel&gt;/);
    }
  });

  it('folds a digest into one message listing up to DIGEST_MAX_POSTS posts and counting the rest', () => {
    const posts = Array.from({ length: 30 }, (_, i) => post({ postId: `p${i}`, title: `Post ${i}`, url: `https://news.example.com/${i}` }));
    const message = alertToBlocks({ kind: 'digest', posts });
    assert.deepEqual(checkMessage(message), []);
    assert.equal(message.blocks[0].type === 'header' && message.blocks[0].text.text, '30 new posts');
    const all = messageTexts(message).join('\n');
    assert.equal((all.match(/^• /gm) ?? []).length, DIGEST_MAX_POSTS);
    assert.match(all, /…and 10 more/);
  });

  it('stays within every limit for huge posts and digests', () => {
    const huge = post({ title: 'T '.repeat(3000), summary: 'word '.repeat(10_000), source: 'S'.repeat(5000), url: `https://example.com/${'a'.repeat(3000)}` });
    const one = alertToBlocks({ kind: 'alert', post: huge });
    assert.deepEqual(checkMessage(one), []);
    assert.ok(messageSize(one) <= RENDER_BUDGET, `${messageSize(one)}`);
    const digest = alertToBlocks({ kind: 'digest', posts: Array.from({ length: 500 }, (_, i) => ({ ...huge, postId: `p${i}` })) });
    assert.deepEqual(checkMessage(digest), []);
    assert.ok(messageSize(digest) <= RENDER_BUDGET, `${messageSize(digest)}`);
  });
});

describe('SlackAlertSender against the fake Slack', () => {
  let fake: FakeSlack;
  let sender: SlackAlertSender;

  before(async () => {
    fake = await FakeSlack.start();
    sender = createSlackAlertSender({ botToken: 'xoxb-test-bot-token', clientOptions: { slackApiUrl: fake.apiUrl } });
  });
  after(async () => {
    await fake.close();
  });

  it('posts blocks with a text fallback, the key in metadata and unfurling off', async () => {
    const channel = unique('C');
    const { messageId } = await sender.send(channel, { kind: 'alert', post: post() }, 'sub:1|post:a');
    const call = await fake.waitForCall('chat.postMessage', (c) => c.params.channel === channel);
    assert.deepEqual(call.problems, []);
    assert.equal(call.token, 'xoxb-test-bot-token');
    assert.match(call.params.text, /LockBit/);
    assert.deepEqual(call.params.metadata, { event_type: ALERT_EVENT_TYPE, event_payload: { key: 'sub:1|post:a' } });
    assert.equal(String(call.params.unfurl_links), 'false');
    assert.equal(call.params.thread_ts, undefined);
    assert.equal(fake.channelMessages.get(channel)?.[0].ts, messageId);
  });

  it('posts follow-up coverage in the first alert\'s thread', async () => {
    const channel = unique('C');
    const first = await sender.send(channel, { kind: 'alert', post: post() }, 'k-first');
    await sender.send(channel, { kind: 'alert', post: post({ title: 'More on the arrest' }), threadOf: first.messageId }, 'k-follow');
    const calls = fake.callsOf('chat.postMessage').filter((c) => c.params.channel === channel);
    assert.equal(calls[1].params.thread_ts, first.messageId);
  });

  it('findSent finds a sent alert by its key in the metadata, thread replies included', async () => {
    const channel = unique('C');
    const first = await sender.send(channel, { kind: 'alert', post: post() }, 'k-top');
    for (let i = 0; i < 5; i++) await sender.send(channel, { kind: 'alert', post: post({ postId: `x${i}` }) }, `k-other-${i}`);
    const reply = await sender.send(channel, { kind: 'alert', post: post(), threadOf: first.messageId }, 'k-reply');
    assert.deepEqual(await sender.findSent(channel, 'k-top'), first);
    assert.deepEqual(await sender.findSent(channel, 'k-reply'), reply);
    assert.equal(await sender.findSent(channel, 'k-never-sent'), undefined);
    const history = fake.callsOf('conversations.history').filter((c) => c.params.channel === channel);
    assert.equal(String(history[0].params.include_all_metadata), 'true');
    assert.ok(Number(history[0].params.limit) >= 100);
  });

  it('findSent told since when and in which thread reads every message since then, however busy the channel', async () => {
    const channel = unique('C');
    const since = Date.now() - 1_000;
    const parent = await sender.send(channel, { kind: 'alert', post: post() }, 'k-parent');
    const buried = await sender.send(channel, { kind: 'alert', post: post({ postId: 'buried' }) }, 'k-buried');
    const reply = await sender.send(channel, { kind: 'alert', post: post({ postId: 'reply' }), threadOf: parent.messageId }, 'k-buried-reply');
    // A busy channel: more later alerts (each with a thread) than the newest page and the newest threads hold.
    for (let i = 0; i < FIND_HISTORY_LIMIT + 150; i++) {
      const later = await sender.send(channel, { kind: 'alert', post: post({ postId: `later${i}` }) }, `k-later-${i}`);
      if (i % 10 === 0) await sender.send(channel, { kind: 'alert', post: post({ postId: `later-reply${i}` }), threadOf: later.messageId }, `k-later-reply-${i}`);
    }
    assert.deepEqual(await sender.findSent(channel, 'k-buried', undefined, { since }), buried);
    assert.deepEqual(await sender.findSent(channel, 'k-buried-reply', undefined, { since, threadOf: parent.messageId }), reply);
    assert.equal(await sender.findSent(channel, 'k-never-sent', undefined, { since }), undefined);
    const history = fake.callsOf('conversations.history').filter((c) => c.params.channel === channel);
    assert.ok(history.length >= 2 && history.every((c) => Number(c.params.oldest) <= since / 1000), 'paged, from no later than the time given');
  });

  it('a 429 becomes a retryable AlertSendError carrying Retry-After, without waiting it out', async () => {
    fake.rateLimitNext('chat.postMessage', 3);
    const started = performance.now();
    const error = await sender.send(unique('C'), { kind: 'alert', post: post() }, 'k-429').catch((e: unknown) => e);
    assert.ok(error instanceof AlertSendError, String(error));
    assert.equal(error.retryable, true);
    assert.equal(error.retryAfterMs, 3000);
    assert.ok(performance.now() - started < 1500, 'the sender does not sleep through the Retry-After');
  });

  it('channel_not_found, not_in_channel and is_archived are permanent; internal_error and invalid_auth are retryable', async () => {
    for (const code of ['channel_not_found', 'not_in_channel', 'is_archived']) {
      fake.failNext('chat.postMessage', code);
      const error = await sender.send(unique('C'), { kind: 'alert', post: post() }, `k-${code}`).catch((e: unknown) => e);
      assert.ok(error instanceof AlertSendError && !error.retryable, `${code}: ${String(error)}`);
      assert.match(error.message, new RegExp(code));
    }
    fake.failNext('chat.postMessage', 'internal_error');
    const internal = await sender.send(unique('C'), { kind: 'alert', post: post() }, 'k-internal').catch((e: unknown) => e);
    assert.ok(internal instanceof AlertSendError && internal.retryable, String(internal));
    fake.failNext('chat.postMessage', 'invalid_auth');
    const auth = await sender.send(unique('C'), { kind: 'alert', post: post() }, 'k-auth').catch((e: unknown) => e);
    assert.ok(auth instanceof AlertSendError && auth.retryable && (auth.retryAfterMs ?? 0) >= 60_000, String(auth));
  });

  it('an HTTP 500 is retryable, unless the alert turns out to be posted already', async () => {
    const channel = unique('C');
    fake.statusNext('chat.postMessage', 500);
    const error = await sender.send(channel, { kind: 'alert', post: post() }, 'k-500').catch((e: unknown) => e);
    assert.ok(error instanceof AlertSendError && error.retryable, String(error));
    const posted = await sender.send(channel, { kind: 'alert', post: post() }, 'k-500b');
    fake.statusNext('chat.postMessage', 503);
    const again = await sender.send(channel, { kind: 'alert', post: post() }, 'k-500b');
    assert.deepEqual(again, posted, 'the message already posted with that key is returned, not posted twice');
    assert.equal(fake.channelMessages.get(channel)?.length, 1);
  });

  it('posts hostile feed text inert', async () => {
    const channel = unique('C');
    await sender.send(channel, { kind: 'alert', post: post({ title: HOSTILE, summary: HOSTILE, source: HOSTILE, url: 'https://ok.example/post' }) }, 'k-hostile');
    const call = await fake.waitForCall('chat.postMessage', (c) => c.params.channel === channel);
    assert.deepEqual(call.problems, []);
    assertOnlyOurMarkup(call.params);
  });
});

describe('the Slack adapter\'s alert sender', () => {
  it('posts through the adapter\'s API URL', async () => {
    const bot = await startTestSlackBot('http');
    try {
      const channel = unique('C');
      const { messageId } = await bot.adapter.alertSender.send(channel, { kind: 'notice', text: 'Feed X is failing' }, 'k-adapter');
      const call = await bot.fake.waitForCall('chat.postMessage', (c) => c.params.channel === channel);
      assert.deepEqual(call.problems, []);
      assert.equal(bot.fake.channelMessages.get(channel)?.[0].ts, messageId);
    } finally {
      await bot.close();
    }
  });
});

import assert from 'node:assert/strict';
import { stringify } from 'node:querystring';
import { after, before, describe, it } from 'node:test';
import { COMMANDS } from '../../../commands/index.js';
import { createSlackAdapter, SlackConfigError } from '../../../src/adapters/slack/app.js';
import { FakeSlack, postSigned, postSignedCommand } from '../../support/fake-slack.js';
import { recordingLogger, settle, startTestSlackBot, type TestSlackBot } from '../../support/fake-slack-bot.js';
import { appMentionBody, slashCommandPayload, unique } from '../../support/fake-slack-payloads.js';
import { createFakeSlackService, type FakeSlackService } from '../../support/fake-slack-service.js';

describe('HTTP mode request verification', () => {
  let bot: TestSlackBot;
  let service: FakeSlackService;

  before(async () => {
    service = createFakeSlackService();
    bot = await startTestSlackBot('http', { service });
  });
  after(async () => {
    await bot.close();
  });

  /** Sends a slash command with a broken signature and proves nothing ran: no query, no Web API call, no response. */
  async function assertRefused(options: { signature?: string; timestamp?: number; secret?: string }) {
    const url = bot.fake.responseUrl();
    const before = { queries: service.queries.length, calls: bot.fake.calls.length, responses: bot.fake.responses.length };
    const body = stringify(slashCommandPayload({ text: 'skyecc', response_url: url }));
    const result = await postSignedCommand(bot.fake, bot.endpoint!, options.secret ?? bot.signingSecret, body, {
      contentType: 'application/x-www-form-urlencoded',
      signature: options.signature,
      timestamp: options.timestamp,
    });
    assert.equal(result.status, 401);
    await settle();
    assert.equal(service.queries.length, before.queries, 'the command ran');
    assert.equal(bot.fake.calls.length, before.calls, 'a Web API call was made');
    assert.equal(bot.fake.responses.length, before.responses, 'a response was sent');
  }

  it('answers 401 and runs nothing for a signature made with another secret', async () => {
    await assertRefused({ secret: 'not-the-secret' });
  });

  it('answers 401 and runs nothing for a malformed signature', async () => {
    await assertRefused({ signature: 'v1=deadbeef' });
  });

  it('answers 401 and runs nothing for a correctly signed but stale request (over 5 minutes)', async () => {
    await assertRefused({ timestamp: Math.floor(Date.now() / 1000) - 6 * 60 });
  });

  it('answers 401 for a request without signature headers', async () => {
    const response = await fetch(bot.endpoint!, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: stringify(slashCommandPayload({ text: 'skyecc', response_url: bot.fake.responseUrl() })),
    });
    assert.equal(response.status, 401);
  });

  it('still answers a correctly signed request after refusing bad ones', async () => {
    const url = bot.fake.responseUrl();
    await bot.driver.command(slashCommandPayload({ text: 'skyecc', response_url: url }));
    const response = await bot.fake.waitForResponse((r) => url.endsWith(`/${r.id}`));
    assert.match(response.body.blocks[0].text.text, /Sky ECC/);
  });
});

describe('Web API rate limits', () => {
  let bot: TestSlackBot;

  before(async () => {
    // One retry and no backoff of our own, so the wait measured is the Retry-After the client honours.
    bot = await startTestSlackBot('http', { retryConfig: { retries: 1, minTimeout: 0, maxTimeout: 0 } });
  });
  after(async () => {
    await bot.close();
  });

  it('waits out a 429 for its Retry-After, then posts the answer', async () => {
    const { fake } = bot;
    const channel = unique('C');
    fake.rateLimitNext('chat.postMessage', 1);
    await bot.driver.event(appMentionBody({ text: '<@UBOT> skyecc', channel }));
    const first = await fake.waitForCall('chat.postMessage', (c) => c.params.channel === channel);
    const second = await fake.waitForCall('chat.postMessage', (c) => c.params.channel === channel && c !== first, 4000);
    assert.ok(second.at - first.at >= 950, `retried after ${Math.round(second.at - first.at)} ms, Retry-After was 1 s`);
    assert.equal(fake.callsOf('chat.postMessage').filter((c) => c.params.channel === channel).length, 2);
    assert.ok(bot.logs.some((l) => /rate limiting\. Will retry in 1 seconds/.test(l.text)));
    assert.ok(!bot.logs.some((l) => l.level === 'error'), 'no error once the retry succeeded');
  });

  it('with retries: 0, waits out the 429 and then gives up: logged, not retried, bot up', async () => {
    const zero = await startTestSlackBot('http');
    try {
      const channel = unique('C');
      zero.fake.rateLimitNext('chat.postMessage', 0);
      await zero.driver.event(appMentionBody({ text: '<@UBOT> skyecc', channel }));
      await zero.fake.waitForCall('chat.postMessage', (c) => c.params.channel === channel);
      for (let i = 0; i < 100 && !zero.logs.some((l) => l.level === 'error'); i += 1) await settle(10);
      await settle(100);
      assert.equal(zero.fake.callsOf('chat.postMessage').filter((c) => c.params.channel === channel).length, 1);
      assert.ok(zero.logs.some((l) => l.level === 'error' && /Slack rate-limited chat\.postMessage in channel C\w+ \(HTTP 429\) and the retries ran out/.test(l.text)));
    } finally {
      await zero.close();
    }
  });
});

describe('createSlackAdapter start and stop', () => {
  let fake: FakeSlack;
  before(async () => {
    fake = await FakeSlack.start();
  });
  after(async () => {
    await fake.close();
  });

  const base = () => ({
    botToken: 'xoxb-test',
    service: createFakeSlackService(),
    commands: COMMANDS,
    logger: recordingLogger().logger,
    clientOptions: { slackApiUrl: fake.apiUrl, retryConfig: { retries: 0 } },
  });

  it('refuses options with neither an app token nor a signing secret, naming both settings', () => {
    assert.throws(() => createSlackAdapter(base()), (e: Error) => e instanceof SlackConfigError && /SLACK_APP_TOKEN.*SLACK_SIGNING_SECRET/.test(e.message));
  });

  it('makes no Web API call before start (no auth.test in the constructor)', async () => {
    const count = fake.calls.length;
    createSlackAdapter({ ...base(), signingSecret: 's' });
    await settle(50);
    assert.equal(fake.calls.length, count);
  });

  it('rejects start with the Slack error when the bot token is refused, without an unhandled rejection', async () => {
    fake.failNext('auth.test', 'invalid_auth');
    const adapter = createSlackAdapter({ ...base(), signingSecret: 's', port: 0, host: '127.0.0.1' });
    await assert.rejects(adapter.start(), (e: Error) => e instanceof SlackConfigError && /invalid_auth.*SLACK_BOT_TOKEN/.test(e.message));
    await adapter.stop();
  });

  it('rejects start when the Web API cannot be reached', async () => {
    const adapter = createSlackAdapter({ ...base(), signingSecret: 's', port: 0, host: '127.0.0.1', clientOptions: { slackApiUrl: 'http://127.0.0.1:9/api/', retryConfig: { retries: 0 } } });
    await assert.rejects(adapter.start(), /Could not reach Slack for auth\.test/);
  });

  it('opens Socket Mode with the app token and answers with the bot token, and stop closes the socket', async () => {
    const { lines, logger } = recordingLogger();
    const adapter = createSlackAdapter({ ...base(), logger, botToken: 'xoxb-bot', appToken: 'xapp-app' });
    await adapter.start();
    await fake.waitForSocket();
    assert.equal(fake.callsOf('apps.connections.open').at(-1)?.token, 'xapp-app');
    assert.equal(fake.callsOf('auth.test').at(-1)?.token, 'xoxb-bot');
    assert.ok(lines.some((l) => l.text.includes('connected in Socket Mode')));
    await adapter.stop();
    for (let i = 0; i < 50 && fake.sockets.size > 0; i += 1) await settle(10);
    assert.equal(fake.sockets.size, 0, 'the WebSocket is still open after stop()');
    await adapter.stop(); // twice is fine
  });

  it('does not write into the caller\'s clientOptions (Bolt and the Socket Mode client do)', async () => {
    const clientOptions = { slackApiUrl: fake.apiUrl };
    createSlackAdapter({ ...base(), appToken: 'xapp-app', clientOptions });
    assert.deepEqual(Object.keys(clientOptions), ['slackApiUrl']);
  });
});

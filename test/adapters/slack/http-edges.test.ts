import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { stringify } from 'node:querystring';
import { after, before, describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { COMMANDS } from '../../../commands/index.js';
import { createSlackAdapter } from '../../../src/adapters/slack/app.js';
import { createSlackHttpServer, SLACK_HTTP_LIMITS } from '../../../src/adapters/slack/http-server.js';
import { ReplayCache } from '../../../src/adapters/slack/replay-cache.js';
import { ConfigError, loadConfig } from '../../../src/config.js';
import { FakeSlack, postSigned, postSignedCommand } from '../../support/fake-slack.js';
import { recordingLogger, settle, startTestSlackBot, type TestSlackBot } from '../../support/fake-slack-bot.js';
import { appMentionBody, slashCommandPayload, unique } from '../../support/fake-slack-payloads.js';
import { createFakeSlackService, type FakeSlackService } from '../../support/fake-slack-service.js';

const FORM = 'application/x-www-form-urlencoded' as const;
const nowSeconds = () => Math.floor(Date.now() / 1000);
/** A signature of the right shape that no secret produced. */
const FORGED = `v0=${'ab'.repeat(32)}`;

/** A raw TCP client: what it sends is up to the test, what comes back is kept, and `closed` says when it ended. */
function rawClient(port: number) {
  const socket = connect(port, '127.0.0.1');
  let reply = '';
  let isClosed = false;
  socket.setEncoding('latin1');
  socket.on('data', (d: string) => (reply += d));
  socket.on('error', () => {}); // EPIPE / ECONNRESET once the server hangs up: expected
  const closed = new Promise<void>((resolve) =>
    socket.on('close', () => {
      isClosed = true;
      resolve();
    }),
  );
  return {
    socket,
    closed,
    get reply() {
      return reply;
    },
    get isClosed() {
      return isClosed;
    },
  };
}

/** The request line and headers of a POST to the Slack endpoint. */
function head(headers: Record<string, string | number>): string {
  return `POST /slack/events HTTP/1.1\r\nHost: 127.0.0.1\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`;
}

/** Resolves when `done()` holds, polling every 20 ms; rejects with `what` after `timeoutMs`. */
async function until(done: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await settle(20);
  }
}

/**
 * Bytes held in Buffers once garbage is gone: collected until the figure stops falling, since V8 frees the memory
 * of collected buffers in a later sweep, not in the collection itself.
 */
async function settledBuffers(gc: () => void): Promise<number> {
  let last = Infinity;
  for (let i = 0; i < 20; i += 1) {
    gc();
    await settle(50);
    const now = process.memoryUsage().arrayBuffers;
    if (now >= last) return now;
    last = now;
  }
  return last;
}

/** Resolves within `ms` or rejects: a hung connection must fail the test, not stall it. */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`${what}: still open after ${ms} ms`)), ms).unref())]);
}

describe('Slack HTTP endpoint: replays', () => {
  let bot: TestSlackBot;
  let service: FakeSlackService;
  before(async () => {
    service = createFakeSlackService();
    bot = await startTestSlackBot('http', { service });
  });
  after(async () => {
    await bot.close();
  });

  it('answers the same signed slash command sent twice once', async () => {
    const url = bot.fake.responseUrl();
    const body = stringify(slashCommandPayload({ text: 'skyecc', response_url: url, channel_id: unique('C') }));
    const timestamp = nowSeconds();
    const queries = service.queries.length;
    const first = await postSignedCommand(bot.fake, bot.endpoint!, bot.signingSecret, body, { contentType: FORM, timestamp });
    const second = await postSignedCommand(bot.fake, bot.endpoint!, bot.signingSecret, body, { contentType: FORM, timestamp });
    assert.equal(first.status, 200);
    assert.equal(second.status, 200, 'a replay is acknowledged, so nothing retries it');
    await bot.fake.waitForResponse((r) => url.endsWith(`/${r.id}`));
    await settle();
    assert.equal(bot.fake.responses.filter((r) => url.endsWith(`/${r.id}`)).length, 1, 'answered twice');
    assert.equal(service.queries.length - queries, 1, 'the command ran twice');
  });

  it('answers a slash command with the same team and trigger id once, even under a new timestamp and signature', async () => {
    const url = bot.fake.responseUrl();
    const payload = slashCommandPayload({ text: 'skyecc', response_url: url });
    const body = stringify(payload);
    assert.equal((await postSignedCommand(bot.fake, bot.endpoint!, bot.signingSecret, body, { contentType: FORM, timestamp: nowSeconds() - 2 })).status, 200);
    assert.equal((await postSignedCommand(bot.fake, bot.endpoint!, bot.signingSecret, body, { contentType: FORM, timestamp: nowSeconds() })).status, 200);
    await bot.fake.waitForResponse((r) => url.endsWith(`/${r.id}`));
    await settle();
    assert.equal(bot.fake.responses.filter((r) => url.endsWith(`/${r.id}`)).length, 1);
    // The same command typed again is a new trigger id, and is answered.
    const again = bot.fake.responseUrl();
    await bot.driver.command(slashCommandPayload({ text: 'skyecc', response_url: again }));
    await bot.fake.waitForResponse((r) => again.endsWith(`/${r.id}`));
  });

  it('still answers an event once when Slack retries it under a new signature with X-Slack-Retry-Num', async () => {
    const channel = unique('C');
    const body = JSON.stringify(appMentionBody({ text: '<@UBOT> skyecc', channel }));
    const json = { contentType: 'application/json' as const };
    assert.equal((await postSigned(bot.endpoint!, bot.signingSecret, body, { ...json, timestamp: nowSeconds() - 3 })).status, 200);
    const retry = await postSigned(bot.endpoint!, bot.signingSecret, body, { ...json, headers: { 'x-slack-retry-num': '1', 'x-slack-retry-reason': 'http_timeout' } });
    assert.equal(retry.status, 200, 'a retry must be acknowledged, or Slack keeps retrying');
    await bot.fake.waitForCall('chat.postMessage', (c) => c.params.channel === channel);
    await settle();
    assert.equal(bot.fake.callsOf('chat.postMessage').filter((c) => c.params.channel === channel).length, 1);
  });

  it('refuses a correctly signed request timestamped 6 minutes in the future, and takes one 4 minutes ahead', async () => {
    const queries = service.queries.length;
    const url = bot.fake.responseUrl();
    const body = stringify(slashCommandPayload({ text: 'skyecc', response_url: url }));
    const future = await postSignedCommand(bot.fake, bot.endpoint!, bot.signingSecret, body, { contentType: FORM, timestamp: nowSeconds() + 6 * 60 });
    assert.equal(future.status, 401);
    await settle();
    assert.equal(service.queries.length, queries, 'the command ran');
    assert.equal(bot.fake.responses.filter((r) => url.endsWith(`/${r.id}`)).length, 0);
    assert.ok(bot.logs.some((l) => l.level === 'warn' && /in the future/.test(l.text)), 'the refusal is logged with its reason');
    // A clock a little behind Slack's is not an attack.
    const skewed = bot.fake.responseUrl();
    const ahead = stringify(slashCommandPayload({ text: 'skyecc', response_url: skewed }));
    assert.equal((await postSignedCommand(bot.fake, bot.endpoint!, bot.signingSecret, ahead, { contentType: FORM, timestamp: nowSeconds() + 4 * 60 })).status, 200);
    await bot.fake.waitForResponse((r) => skewed.endsWith(`/${r.id}`));
  });
});

describe('Slack HTTP endpoint: body size', () => {
  let bot: TestSlackBot;
  let service: FakeSlackService;
  before(async () => {
    service = createFakeSlackService();
    bot = await startTestSlackBot('http', { service });
  });
  after(async () => {
    await bot.close();
  });

  it('refuses a body over 1 MB with 413 before looking at its signature', async () => {
    const queries = service.queries.length;
    const body = stringify(slashCommandPayload({ text: `skyecc ${'x'.repeat(1_100_000)}`, response_url: bot.fake.responseUrl() }));
    const signed = await postSigned(bot.endpoint!, bot.signingSecret, body, { contentType: FORM });
    assert.equal(signed.status, 413, 'a correctly signed body over 1 MB');
    const forged = await postSigned(bot.endpoint!, bot.signingSecret, body, { contentType: FORM, signature: FORGED });
    assert.equal(forged.status, 413, 'a forged body over 1 MB is refused for its size, not its signature');
    const stats = bot.adapter.httpStats()!;
    assert.equal(stats.refused.tooLarge, 2);
    assert.equal(stats.refused.signature, 0, 'no signature was checked');
    assert.equal(service.queries.length, queries);
    // Just under the cap is fine.
    const url = bot.fake.responseUrl();
    const big = stringify(slashCommandPayload({ text: `skyecc ${'x'.repeat(1_000_000)}`, response_url: url }));
    assert.equal((await postSignedCommand(bot.fake, bot.endpoint!, bot.signingSecret, big, { contentType: FORM })).status, 200);
  });

  it('cuts an endless chunked body at 1 MB with 413, without reading the rest', async () => {
    const before = bot.adapter.httpStats()!;
    const client = rawClient(bot.adapter.port!);
    client.socket.write(head({ 'content-type': FORM, 'transfer-encoding': 'chunked', 'x-slack-request-timestamp': nowSeconds(), 'x-slack-signature': FORGED }));
    const piece = Buffer.alloc(64 * 1024, 'a');
    const frame = Buffer.concat([Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n')]);
    let sent = 0;
    // Keep sending until the server hangs up (or 64 MB, which would mean it never does).
    while (!client.isClosed && sent < 64 * 1024 * 1024) {
      sent += piece.length;
      if (!client.socket.write(frame)) await Promise.race([new Promise((r) => client.socket.once('drain', r)), client.closed]);
    }
    await within(client.closed, 3000, 'the endless body');
    assert.match(client.reply, /^HTTP\/1\.1 413 /);
    assert.ok(sent < 16 * 1024 * 1024, `the server read on: ${sent} bytes went out`);
    const stats = bot.adapter.httpStats()!;
    assert.equal(stats.refused.tooLarge, before.refused.tooLarge + 1);
    assert.ok(stats.peakPendingBodyBytes <= SLACK_HTTP_LIMITS.maxBodyBytes, `held ${stats.peakPendingBodyBytes} bytes`);
    assert.equal(stats.pendingBodyBytes, 0);
  });
});

describe('Slack HTTP endpoint: slow clients (timeouts shortened to 300 ms for headers and 600 ms in all)', () => {
  let bot: TestSlackBot;
  before(async () => {
    bot = await startTestSlackBot('http', { http: { httpLimits: { headersTimeoutMs: 300, requestTimeoutMs: 600 }, httpCheckIntervalMs: 50 } });
  });
  after(async () => {
    await bot.close();
  });

  it('cuts a client that drips its headers (slowloris) with 408', async () => {
    const client = rawClient(bot.adapter.port!);
    client.socket.write('POST /slack/events HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    const drip = setInterval(() => client.socket.write(`X-Drip-${Date.now()}: 1\r\n`), 100);
    const started = Date.now();
    try {
      await within(client.closed, 3000, 'the dripping client');
    } finally {
      clearInterval(drip);
    }
    assert.match(client.reply, /^HTTP\/1\.1 408 /);
    assert.ok(Date.now() - started < 2000, `cut after ${Date.now() - started} ms`);
  });

  it('cuts a client that stops half-way through its body, and lets go of what it sent', async () => {
    const before = bot.adapter.httpStats()!;
    const client = rawClient(bot.adapter.port!);
    client.socket.write(head({ 'content-type': FORM, 'content-length': 5000, 'x-slack-request-timestamp': nowSeconds(), 'x-slack-signature': FORGED }));
    client.socket.write('a'.repeat(1000));
    await until(() => bot.adapter.httpStats()!.pendingBodyBytes === 1000, 'the half body to be read');
    await within(client.closed, 3000, 'the stalled body');
    assert.match(client.reply, /^HTTP\/1\.1 408 /);
    const stats = bot.adapter.httpStats()!;
    assert.equal(stats.pendingBodyBytes, 0);
    assert.equal(stats.pendingBodies, 0);
    assert.equal(stats.refused.incomplete, before.refused.incomplete + 1);
  });

  it("answers Slack's unsigned ssl_check, and refuses other unsigned requests without passing them on", async () => {
    const check = await fetch(bot.endpoint!, { method: 'POST', headers: { 'content-type': FORM }, body: 'ssl_check=1&token=legacy' });
    assert.equal(check.status, 200);
    const before = bot.adapter.httpStats()!.refused.unsigned;
    const other = await fetch(bot.endpoint!, { method: 'POST', headers: { 'content-type': FORM }, body: stringify(slashCommandPayload({ text: 'skyecc', response_url: bot.fake.responseUrl() })) });
    assert.equal(other.status, 401);
    assert.equal(bot.adapter.httpStats()!.refused.unsigned, before + 1);
  });

  it('answers Slack as usual with the short timeouts', async () => {
    const url = bot.fake.responseUrl();
    await bot.driver.command(slashCommandPayload({ text: 'skyecc', response_url: url }));
    await bot.fake.waitForResponse((r) => url.endsWith(`/${r.id}`));
  });

  it('defaults to 10 s for headers and for the whole request, and refuses anything looser', () => {
    const options = { signingSecret: 's', path: '/slack/events', listener: () => {}, logger: recordingLogger().logger };
    const { server } = createSlackHttpServer(options);
    assert.equal(server.headersTimeout, 10_000);
    assert.equal(server.requestTimeout, 10_000);
    assert.throws(() => createSlackHttpServer({ ...options, limits: { requestTimeoutMs: 30_000 } }), RangeError);
    assert.throws(() => createSlackHttpServer({ ...options, limits: { maxBodyBytes: 4 * 1024 * 1024 } }), RangeError);
  });
});

describe('Slack HTTP endpoint: 60 half-sent unauthenticated bodies', () => {
  let bot: TestSlackBot;
  before(async () => {
    bot = await startTestSlackBot('http');
  });
  after(async () => {
    await bot.close();
  });

  it('hold no more than the pending-body bound in memory, and Slack is still answered meanwhile', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const half = Buffer.alloc(600 * 1024, 'a'); // of a declared 1,000,000 bytes: 60 of them would be 36 MB
    const baseline = await settledBuffers(gc);
    const before = bot.adapter.httpStats()!;
    const clients = Array.from({ length: 60 }, () => {
      const client = rawClient(bot.adapter.port!);
      client.socket.write(head({ 'content-type': FORM, 'content-length': 1_000_000, 'x-slack-request-timestamp': nowSeconds(), 'x-slack-signature': FORGED }));
      client.socket.write(half);
      return client;
    });
    try {
      // Settled: every body is either held (waiting for the rest) or refused, and nothing more arrives.
      let last = -1;
      let still = 0;
      await until(() => {
        const s = bot.adapter.httpStats()!;
        const accounted = s.pendingBodies + (s.refused.busy - before.refused.busy) === 60;
        still = accounted && s.pendingBodyBytes === last ? still + 1 : 0;
        last = s.pendingBodyBytes;
        return still >= 5;
      }, 'the 60 bodies to be read or refused');
      const grown = (await settledBuffers(gc)) - baseline;
      const stats = bot.adapter.httpStats()!;
      const bound = SLACK_HTTP_LIMITS.maxPendingBodyBytes;
      assert.ok(stats.peakPendingBodyBytes <= bound, `held ${stats.peakPendingBodyBytes} bytes at most; the bound is ${bound}`);
      assert.ok(stats.pendingLargeBytes <= SLACK_HTTP_LIMITS.maxPendingLargeBytes, `large share ${stats.pendingLargeBytes}`);
      assert.ok(grown <= bound + 4 * 1024 * 1024, `buffers grew by ${grown} bytes with 60 half bodies; the bound is ${bound} (+4 MB slack)`);
      assert.ok(stats.refused.busy > before.refused.busy, 'some were refused with 503 once the bound was reached');
      for (const c of clients.filter((c) => c.isClosed)) assert.match(c.reply, /^HTTP\/1\.1 503 /);

      // Slack's own small requests still fit beside them.
      const url = bot.fake.responseUrl();
      await bot.driver.command(slashCommandPayload({ text: 'skyecc', response_url: url }));
      await bot.fake.waitForResponse((r) => url.endsWith(`/${r.id}`));
    } finally {
      for (const c of clients) c.socket.destroy();
    }
    await until(() => bot.adapter.httpStats()!.pendingBodies === 0, 'the held bodies to be released');
    assert.equal(bot.adapter.httpStats()!.pendingBodyBytes, 0);
  });
});

describe('SLACK_HOST', () => {
  it('is read from the environment, and a bad value names the variable', () => {
    const env = { SLACK_BOT_TOKEN: 'xoxb-1', SLACK_SIGNING_SECRET: 's' };
    assert.equal(loadConfig({ ...env, SLACK_HOST: '127.0.0.1' }).slack?.host, '127.0.0.1');
    assert.equal(loadConfig({ ...env, SLACK_HOST: '::' }).slack?.host, '::');
    assert.equal(loadConfig(env).slack?.host, undefined, 'unset: all interfaces');
    assert.throws(() => loadConfig({ ...env, SLACK_HOST: 'http://0.0.0.0:3000' }), (e: Error) => e instanceof ConfigError && /SLACK_HOST must be an IP address or host name/.test(e.message));
  });

  it('binds the HTTP endpoint to that address only', async () => {
    const fake = await FakeSlack.start();
    const adapter = createSlackAdapter({
      botToken: 'xoxb-test',
      signingSecret: 's',
      port: 0,
      host: '127.0.0.2', // the whole of 127.0.0.0/8 is loopback on Linux
      service: createFakeSlackService(),
      commands: COMMANDS,
      logger: recordingLogger().logger,
      clientOptions: { slackApiUrl: fake.apiUrl, retryConfig: { retries: 0 } },
    });
    try {
      await adapter.start();
      const reached = await fetch(`http://127.0.0.2:${adapter.port}/slack/events`, { method: 'POST', body: '' });
      assert.equal(reached.status, 401, 'listening on 127.0.0.2');
      await assert.rejects(fetch(`http://127.0.0.1:${adapter.port}/slack/events`, { method: 'POST', body: '' }), 'also listening on 127.0.0.1');
    } finally {
      await adapter.stop();
      await fake.close();
    }
  });
});

describe('ReplayCache', () => {
  it('remembers a key until its expiry, then forgets it', () => {
    const cache = new ReplayCache(10);
    assert.equal(cache.seen(['sig:a'], 1000, 0), false);
    assert.equal(cache.seen(['sig:a'], 1000, 999), true);
    assert.equal(cache.seen(['sig:b'], 5000, 1000), false, 'a new key');
    assert.equal(cache.size, 1, 'the expired key was pruned');
    assert.equal(cache.seen(['sig:a'], 2000, 1001), false, 'expired: a replay this late fails the timestamp check instead');
    assert.equal(cache.seen(['sig:c', 'cmd:T1:x'], 9000, 1002), false);
    assert.equal(cache.seen(['sig:d', 'cmd:T1:x'], 9000, 1003), true, 'one key seen is enough');
  });

  it('never holds more than its capacity, forgetting the oldest first', () => {
    const cache = new ReplayCache(100);
    for (let i = 0; i < 10_000; i += 1) cache.seen([`sig:${i}`], 1e12, i);
    assert.equal(cache.size, 100);
    assert.equal(cache.seen(['sig:9999'], 1e12, 10_000), true);
    assert.equal(cache.seen(['sig:0'], 1e12, 10_000), false);
  });
});

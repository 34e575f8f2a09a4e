import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { pino } from 'pino';
import { COMMANDS } from '../../commands/index.js';
import { createDiscordAdapter, type DiscordAdapter } from '../../src/adapters/discord/adapter.js';
import { createAppObservability, type AppObservability } from '../../src/observability/index.js';
import { recordReposOf } from '../../src/store/repos/index.js';
import { openStore, type Store } from '../../src/store/store.js';
import { recordingLogger } from '../support/fake-discord-bot.js';
import { FakeDiscord } from '../support/fake-discord.js';
import { createFakeIncidentService } from '../support/fake-discord-service.js';

/** One HTTP request to 127.0.0.1 (any method, HEAD included); resolves with the status, headers and body. */
function call(port: number, path: string, method = 'GET'): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function waitUntil(check: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await delay(20);
  }
}

describe('health and metrics endpoint: /healthz, /readyz over a real store and a real Discord client', { timeout: 30_000 }, () => {
  let dir: string;
  let store: Store;
  let fake: FakeDiscord;
  let adapter: DiscordAdapter;
  let obs: AppObservability;
  let port: number;

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'incident-bot-ops-'));
    store = openStore(path.join(dir, 'bot.db'));
    fake = await FakeDiscord.start({ shards: 2, maxConcurrency: 2 });
    adapter = createDiscordAdapter({
      token: 'token-ops',
      applicationId: fake.applicationId,
      apiUrl: fake.apiUrl,
      logger: recordingLogger([]),
      service: createFakeIncidentService(),
      commands: COMMANDS,
      shards: { count: 2 },
    });
    const config = { replicaId: 'ops-test-1', http: { port: 0, host: '127.0.0.1' }, discord: { token: 'x', applicationId: fake.applicationId, apiUrl: fake.apiUrl } };
    const repos = recordReposOf(store);
    obs = createAppObservability({ config, store: repos.records, sources: repos.sources, index: { size: 42 }, logger: pino({ level: 'silent' }) });
    port = await obs.listen();
  });

  after(async () => {
    await obs?.close();
    await adapter?.stop();
    await fake?.close();
    if (store) store.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('/healthz answers 200 with a tiny body, for GET and HEAD', async () => {
    const got = await call(port, '/healthz');
    assert.equal(got.status, 200);
    assert.equal(got.body, 'ok\n');
    assert.equal(got.headers['cache-control'], 'no-store');
    const head = await call(port, '/healthz', 'HEAD');
    assert.equal(head.status, 200);
    assert.equal(head.body, '');
  });

  it('serves nothing else: 404 for other paths, 405 for other methods', async () => {
    const other = await call(port, '/slack/events');
    assert.equal(other.status, 404);
    assert.match(other.body, /\/healthz, \/readyz, \/metrics/);
    const post = await call(port, '/metrics', 'POST');
    assert.equal(post.status, 405);
    assert.equal(post.headers.allow, 'GET, HEAD');
  });

  it('/readyz is 503 while the configured Discord adapter has not connected, naming it', async () => {
    const before = await call(port, '/readyz');
    assert.equal(before.status, 503, before.body);
    assert.match(before.body, /^not ready \(replica ops-test-1\)\n/);
    assert.match(before.body, /ok {3}store: reachable/);
    assert.match(before.body, /ok {3}index: loaded, 42 records/);
    assert.match(before.body, /FAIL discord: not started yet/);
    // Handed to readiness but not started: its shards are down until it logs in.
    obs.adapter('discord', adapter);
    const handed = await call(port, '/readyz');
    assert.equal(handed.status, 503, handed.body);
    assert.match(handed.body, /FAIL discord: shard 0 down; shard 1 down/);
  });

  it('/readyz is 200 once every shard this replica runs is ready', async () => {
    await adapter.start();
    const ready = await call(port, '/readyz');
    assert.equal(ready.status, 200, ready.body);
    assert.match(ready.body, /^ready \(replica ops-test-1\)\n/);
    assert.match(ready.body, /ok {3}discord: shards 0,1 ready/);
    const head = await call(port, '/readyz', 'HEAD');
    assert.equal(head.status, 200);
  });

  it('/readyz is 503 when one shard goes down, and says which and why', async () => {
    // 4004 (authentication failed) is a close discord.js never recovers from: the shard stays down.
    fake.closeShard(1, 4004);
    await waitUntil(async () => (await call(port, '/readyz')).status === 503, 'readyz to turn 503');
    const down = await call(port, '/readyz');
    assert.match(down.body, /FAIL discord: shard 1 down for \d+ s \(closed with 4004: the token was refused: check DISCORD_TOKEN/);
    assert.doesNotMatch(down.body, /shard 0 /, 'shard 0 is still ready and not listed');
  });

  it('/readyz is 503 with the store stopped, naming the store', async () => {
    store.close();
    const got = await call(port, '/readyz');
    assert.equal(got.status, 503, got.body);
    assert.match(got.body, /FAIL store: unreachable: The database connection is not open/);
    // Liveness is not readiness: the process still answers.
    assert.equal((await call(port, '/healthz')).status, 200);
    // /metrics still answers without the store's gauges.
    const metrics = await call(port, '/metrics');
    assert.equal(metrics.status, 200);
    assert.match(metrics.body, /incident_bot_index_records\{replica="ops-test-1"\} 42/);
  });

  it('stops listening on close', async () => {
    await obs.close();
    await assert.rejects(call(port, '/healthz'), /ECONNREFUSED/);
  });
});

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { pino } from 'pino';
import { startApp, type RunningApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { startDatasetServer, type DatasetServer } from '../support/dataset-server.js';
import { kevCatalog } from './fixtures.js';

async function eventually<T>(check: () => T | undefined, what: string, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A console session over in-memory streams: type a line, read everything printed so far. */
class Session {
  input = new PassThrough();
  output = new PassThrough();
  text = '';
  constructor() {
    this.output.on('data', (chunk: Buffer) => (this.text += chunk.toString('utf8')));
  }
  /** Types a line and resolves with what was printed for it (up to the next prompt). */
  async ask(line: string): Promise<string> {
    const from = this.text.length;
    this.input.write(`${line}\n`);
    return eventually(() => {
      const after = this.text.slice(from);
      const end = after.indexOf('\n> ');
      return end >= 0 ? after.slice(0, end) : undefined;
    }, `the answer to "${line}"`);
  }
}

describe('startApp with sources (console)', () => {
  let dir: string;
  let server: DatasetServer;
  let app: RunningApp | undefined;
  let session: Session;

  beforeEach(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'app-sources-'));
    server = await startDatasetServer();
    server.put('kev.json', kevCatalog([{ cve: 'CVE-2099-0001', name: 'Quokka Pouch Gateway remote takeover' }]));
    session = new Session();
  });
  afterEach(async () => {
    session.input.end();
    await app?.stop();
    app = undefined;
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const start = async (sources: object[], env: Record<string, string> = {}) => {
    const file = path.join(dir, 'sources.json');
    writeFileSync(file, JSON.stringify(sources));
    const config = loadConfig({
      DATABASE_PATH: path.join(dir, 'bot.db'),
      SOURCES_FILE: file,
      ALLOW_PRIVATE_FEED_URLS: 'true',
      FEEDS_ENABLED: 'false',
      ...env,
    });
    app = await startApp(config, pino({ level: 'silent' }), { input: session.input, output: session.output });
    return app;
  };

  it('syncs stale sources in the background while /incident already answers, then answers from them', async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const slow: Server = createServer((req, res) => {
      void held.then(() => res.writeHead(200, { 'content-type': 'application/json' }).end(kevCatalog([{ cve: 'CVE-2099-0002', name: 'Wombat Router backdoor' }])));
    });
    await new Promise<void>((r) => slow.listen(0, '127.0.0.1', () => r()));
    try {
      await start([
        { name: 'slow-kev', title: 'Slow KEV', format: 'kev', url: `http://127.0.0.1:${(slow.address() as AddressInfo).port}/kev.json` },
        { name: 'kev', format: 'kev', url: server.url('kev.json') },
      ]);
      await eventually(() => app!.sources?.status().syncing, 'the background sync');
      assert.match(await session.ask('/incident skyecc'), /Sky ECC/, 'answers from the bundled data while syncing');
      const miss = await session.ask('/incident wombat router backdoor');
      assert.match(miss, /Nothing in the index matches/);
      assert.match(miss, /Still loading the datasets: syncing Slow KEV… 0 of 2 sources done/, 'the not-found answer says the sync is under way');
      release();
      await eventually(() => (/sources: 2 of 2 updated/.test(session.text) ? true : undefined), 'the sync summary');
      assert.match(session.text, /sources: fetching Slow KEV…/);
      assert.match(await session.ask('/incident wombat router backdoor'), /CVE-2099-0002/);
      assert.match(await session.ask('/incident CVE-2099-0001'), /Quokka Pouch Gateway/);
    } finally {
      release();
      slow.closeAllConnections();
      await new Promise<void>((r) => slow.close(() => r()));
    }
  });

  it('with SOURCES_SYNC=false fetches nothing, and a miss says how to load the datasets', async () => {
    await start([{ name: 'kev', format: 'kev', url: server.url('kev.json') }], { SOURCES_SYNC: 'false' });
    assert.equal(app!.sources, undefined);
    const miss = await session.ask('/incident volt typhoon');
    assert.match(miss, /I know only \d+ records so far/);
    assert.match(miss, /npm run cli -- sources sync/);
    assert.match(miss, /SOURCES_SYNC=true/);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(server.requests().length, 0, 'no download');
    assert.doesNotMatch(session.text, /sources:/);
  });

  it('with no network says so in one line and goes on answering', async () => {
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    await start([
      { name: 'attack-enterprise', format: 'stix', url: `http://127.0.0.1:${port}/enterprise-attack.json` },
      { name: 'cisa-kev', format: 'kev', url: `http://127.0.0.1:${port}/kev.json` },
    ]);
    await app!.sources!.idle();
    assert.match(await session.ask('/incident skyecc'), /Sky ECC/);
    const notices = session.text.split('\n').filter((l) => l.includes('sources:'));
    assert.equal(notices.length, 1, JSON.stringify(notices));
    assert.match(notices[0], /no network/);
    const miss = await session.ask('/incident lockbit');
    assert.match(miss, /The last sync failed:[\s\S]*connection refused/);
  });

  it('stops start-up on a bad source list, naming the file, the entry and the fix', async () => {
    await assert.rejects(
      start([{ name: 'kev', format: 'kev', url: server.url('kev.json') }, { name: 'ics', format: 'stx', url: server.url('ics.json') }]),
      (error: Error) => /sources\.json: entry 2 \("ics"\): format: must be one of stix, kev, misp-galaxy, jsonl.*Fix the entry/.test(error.message),
    );
  });
});

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import type { LookupAddress } from 'node:dns';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { DEFAULT_USER_AGENT, FeedFetchError, fetchFeed, fetchFeedWith, parseMaxAge, parseRetryAfter } from '../../src/feeds/fetch.js';
import { parseFeedDocument } from '../../src/feeds/parse.js';
import { assertFeedUrlAllowed, blockedAddressReason, FeedUrlError } from '../../src/feeds/ssrf.js';
import { atomFeed, rssFeed, startFeedServer, type FeedServer } from '../support/feed-server.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const SHARED = resolve(here, '../../../shared/feeds');

const rejectsWith = async (p: Promise<unknown>, kind: string, extra: (e: FeedFetchError) => void = () => {}) => {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof FeedFetchError, `not a FeedFetchError: ${String(err)}`);
    assert.equal(err.kind, kind, err.message);
    extra(err);
    return true;
  });
};

describe('fetchFeed', () => {
  let server: FeedServer;
  let other: FeedServer;
  before(async () => {
    server = await startFeedServer();
    other = await startFeedServer();
  });
  after(async () => {
    await server.close();
    await other.close();
  });
  const local = { allowPrivate: true };

  it('sends a polite GET and returns body, validators and max-age', async () => {
    server.route('/feed', {
      body: rssFeed([{ title: 'one', guid: 'g1' }]),
      etag: '"v1"',
      lastModified: 'Wed, 23 Jul 2025 10:00:00 GMT',
      headers: { 'Content-Type': 'application/rss+xml; charset=utf-8', 'Cache-Control': 'public, max-age=600' },
    });
    const r = await fetchFeed(server.url('/feed'), local);
    assert.equal(r.status, 'ok');
    if (r.status !== 'ok') return;
    assert.equal(r.httpStatus, 200);
    assert.equal(r.etag, '"v1"');
    assert.equal(r.lastModified, 'Wed, 23 Jul 2025 10:00:00 GMT');
    assert.equal(r.maxAgeSeconds, 600);
    assert.equal(r.contentType, 'application/rss+xml; charset=utf-8');
    assert.equal(r.finalUrl, server.url('/feed'));
    assert.equal(parseFeedDocument(r.body, { url: r.finalUrl }).items[0]!.key, 'g1');
    const req = server.requests('/feed').at(-1)!;
    assert.equal(req.headers['user-agent'], DEFAULT_USER_AGENT);
    assert.match(DEFAULT_USER_AGENT, /^incident-bot\/\S+ \(feed watcher\)$/);
    assert.match(String(req.headers.accept), /application\/rss\+xml.*application\/atom\+xml.*application\/feed\+json/);
    assert.equal(req.headers['accept-encoding'], 'gzip');
    assert.equal(req.headers['if-none-match'], undefined);
  });

  it('conditional GET: 304 on a matching ETag or Last-Modified, 200 again when the feed changes', async () => {
    server.route('/cond', { body: rssFeed([{ title: 'a', guid: 'a' }]), etag: '"e1"', lastModified: 'Wed, 23 Jul 2025 10:00:00 GMT', headers: { 'Cache-Control': 'max-age=120' } });
    const byEtag = await fetchFeed(server.url('/cond'), { ...local, etag: '"e1"' });
    assert.deepEqual(byEtag, { status: 'not-modified', httpStatus: 304, etag: '"e1"', lastModified: 'Wed, 23 Jul 2025 10:00:00 GMT', maxAgeSeconds: 120, finalUrl: server.url('/cond') });
    assert.equal(server.requests('/cond').at(-1)!.headers['if-none-match'], '"e1"');

    const byDate = await fetchFeed(server.url('/cond'), { ...local, lastModified: 'Wed, 23 Jul 2025 10:00:00 GMT' });
    assert.equal(byDate.status, 'not-modified');
    assert.equal(server.requests('/cond').at(-1)!.headers['if-modified-since'], 'Wed, 23 Jul 2025 10:00:00 GMT');

    server.route('/cond', { body: rssFeed([{ title: 'b', guid: 'b' }, { title: 'a', guid: 'a' }]), etag: '"e2"' });
    const changed = await fetchFeed(server.url('/cond'), { ...local, etag: '"e1"' });
    assert.equal(changed.status, 'ok');
    assert.equal(changed.etag, '"e2"');
  });

  it('decompresses gzip', async () => {
    const body = rssFeed(Array.from({ length: 50 }, (_, i) => ({ title: `item ${i}`, guid: `g${i}` })));
    server.route('/gz', { body, gzip: true });
    const r = await fetchFeed(server.url('/gz'), local);
    assert.equal(r.status, 'ok');
    if (r.status === 'ok') assert.equal(r.body.toString('utf8'), body);
  });

  it('caps the decompressed body: declared length, streamed body and gzip bomb', async () => {
    server.route('/big', { body: 'x'.repeat(20_000) });
    await rejectsWith(fetchFeed(server.url('/big'), { ...local, maxBytes: 10_000 }), 'too-large', (e) => assert.match(e.message, /10000 bytes cap/));
    server.route('/chunked', (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/xml' });
      for (let i = 0; i < 40; i++) res.write('y'.repeat(1000));
      res.end();
    });
    await rejectsWith(fetchFeed(server.url('/chunked'), { ...local, maxBytes: 10_000 }), 'too-large');
    // 50 MB of zeros gzips to ~50 KB: the cap must stop the inflation, not the download.
    const bomb = gzipSync(Buffer.alloc(50 * 1024 * 1024));
    server.route('/bomb', { body: bomb, headers: { 'Content-Encoding': 'gzip' } });
    const t0 = performance.now();
    await rejectsWith(fetchFeed(server.url('/bomb'), { ...local, maxBytes: 1024 * 1024 }), 'too-large');
    assert.ok(performance.now() - t0 < 2000);
  });

  it('times out (whole request) with a short timeout', async () => {
    server.route('/slow', { body: rssFeed([]), delayMs: 2000 });
    const t0 = performance.now();
    await rejectsWith(fetchFeed(server.url('/slow'), { ...local, timeoutMs: 150 }), 'timeout', (e) => assert.match(e.message, /150 ms/));
    assert.ok(performance.now() - t0 < 1000);
    server.route('/trickle', (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/xml' });
      res.write('<rss>');
      // never ends
    });
    await rejectsWith(fetchFeed(server.url('/trickle'), { ...local, timeoutMs: 150 }), 'timeout');
    // A hanging DNS lookup in the per-hop check is bounded by the same timeout.
    const hang = () => new Promise<void>(() => {});
    await rejectsWith(fetchFeedWith(server.url('/feed'), { timeoutMs: 100 }, { checkUrl: hang }), 'timeout');
  });

  it('follows up to 5 redirects and refuses the 6th', async () => {
    for (let i = 0; i < 6; i++) server.route(`/hop${i}`, { status: i % 2 ? 301 : 302, redirectTo: `/hop${i + 1}` });
    server.route('/hop6', { body: atomFeed([{ title: 'end', guid: 'urn:end', link: 'https://e.example/end' }]) });
    const five = await fetchFeed(server.url('/hop1'), local);
    assert.equal(five.status, 'ok');
    assert.equal(five.finalUrl, server.url('/hop6'));
    await rejectsWith(fetchFeed(server.url('/hop0'), local), 'redirects', (e) => assert.match(e.message, /more than 5 redirects/));
    await rejectsWith(fetchFeed(server.url('/hop4'), { ...local, maxRedirects: 1 }), 'redirects');
  });

  it('a redirect to 127.0.0.1 is refused without allowPrivate and followed with it', async () => {
    // `server` plays a public host (its own first hop is let through); `other` is the private target.
    other.route('/internal', { body: rssFeed([{ title: 'secret', guid: 's' }]) });
    server.route('/evil', { redirectTo: other.url('/internal') });
    server.route('/evil-name', { redirectTo: other.url('/internal').replace('127.0.0.1', 'localhost') });
    const publicOrigin = new URL(server.origin);
    const checkUrl = (u: string, o: { allowPrivate: boolean }) =>
      new URL(u).port === publicOrigin.port ? Promise.resolve() : assertFeedUrlAllowed(u, o);
    const before = other.requests('/internal').length;
    await rejectsWith(fetchFeedWith(server.url('/evil'), {}, { checkUrl }), 'blocked', (e) => {
      assert.match(e.message, /127\.0\.0\.1 is a loopback/);
      assert.match(e.message, /redirected from/);
    });
    await rejectsWith(fetchFeedWith(server.url('/evil-name'), {}, { checkUrl }), 'blocked', (e) => assert.match(e.message, /localhost resolves to/));
    assert.equal(other.requests('/internal').length, before, 'the private target was never contacted');
    const ok = await fetchFeedWith(server.url('/evil'), { allowPrivate: true }, { checkUrl });
    assert.equal(ok.status, 'ok');
    assert.equal(ok.finalUrl, other.url('/internal'));
    await rejectsWith(fetchFeed(server.url('/feed')), 'blocked', (e) => assert.match(e.message, /ALLOW_PRIVATE_FEED_URLS/));
  });

  it('429 and 503 carry Retry-After; other statuses are http errors', async () => {
    server.route('/429', { status: 429, headers: { 'Retry-After': '120' }, body: 'slow down' });
    await rejectsWith(fetchFeed(server.url('/429'), local), 'http', (e) => {
      assert.equal(e.httpStatus, 429);
      assert.equal(e.retryAfterSeconds, 120);
      assert.match(e.message, /HTTP 429 \(rate limited\), retry after 120 s/);
    });
    const later = new Date(Date.now() + 90_000).toUTCString();
    server.route('/503', { status: 503, headers: { 'Retry-After': later } });
    await rejectsWith(fetchFeed(server.url('/503'), local), 'http', (e) => {
      assert.equal(e.httpStatus, 503);
      assert.ok(e.retryAfterSeconds! >= 85 && e.retryAfterSeconds! <= 91, String(e.retryAfterSeconds));
    });
    server.route('/500', { status: 500, body: 'boom' });
    await rejectsWith(fetchFeed(server.url('/500'), local), 'http', (e) => {
      assert.equal(e.httpStatus, 500);
      assert.equal(e.retryAfterSeconds, undefined);
    });
    await rejectsWith(fetchFeed(server.url('/missing'), local), 'http', (e) => assert.equal(e.httpStatus, 404));
  });

  it('network failures and bad schemes', async () => {
    const closed = await startFeedServer();
    const url = closed.url('/x');
    await closed.close();
    await rejectsWith(fetchFeed(url, local), 'network', (e) => assert.match(e.message, /connection refused/));
    await rejectsWith(fetchFeed('ftp://files.example.org/feed.xml', local), 'blocked', (e) => assert.match(e.message, /only http and https/));
    await rejectsWith(fetchFeed('not a url', local), 'blocked', (e) => assert.match(e.message, /not a valid URL/));
  });

  const sharedFile = resolve(SHARED, 'rss-parser/input/guardian.rss');
  it('serves a real shared file, replaced between polls', { skip: existsSync(sharedFile) ? false : 'needs ../shared/feeds' }, async () => {
    server.route('/real', { file: sharedFile, headers: { 'Content-Type': 'text/html' }, etag: '"g1"' });
    const first = await fetchFeed(server.url('/real'), local);
    assert.equal(first.status, 'ok');
    if (first.status !== 'ok') return;
    const feed = parseFeedDocument(first.body, { url: first.finalUrl, ...(first.contentType ? { contentType: first.contentType } : {}) });
    assert.ok(feed.items.length > 50);
    const second = await fetchFeed(server.url('/real'), { ...local, etag: first.etag! });
    assert.equal(second.status, 'not-modified');
  });
});

describe('header parsing', () => {
  it('Cache-Control max-age and Retry-After', () => {
    assert.equal(parseMaxAge('public, max-age=300'), 300);
    assert.equal(parseMaxAge('no-cache'), 0);
    assert.equal(parseMaxAge('private'), undefined);
    assert.equal(parseMaxAge(undefined), undefined);
    assert.equal(parseRetryAfter('42'), 42);
    assert.equal(parseRetryAfter('Wed, 21 Oct 2015 07:28:00 GMT', Date.parse('Wed, 21 Oct 2015 07:27:00 GMT')), 60);
    assert.equal(parseRetryAfter('soon'), undefined);
  });
});

describe('SSRF guard', () => {
  const refused: Array<[string, RegExp]> = [
    ['127.0.0.1', /loopback/],
    ['10.1.2.3', /private/],
    ['172.16.0.1', /private/],
    ['172.31.255.255', /private/],
    ['192.168.1.1', /private/],
    ['169.254.10.1', /link-local/],
    ['169.254.169.254', /metadata/],
    ['100.64.0.1', /carrier-grade NAT/],
    ['0.0.0.0', /this network/],
    ['0.1.2.3', /this network/],
    ['224.0.0.1', /multicast/],
    ['255.255.255.255', /reserved/],
    ['::', /unspecified/],
    ['::1', /loopback/],
    ['fc00::1', /unique local/],
    ['fd12:3456::1', /unique local/],
    ['fd00:ec2::254', /metadata/],
    ['fe80::1', /link-local/],
    ['fe80::1%eth0', /link-local/],
    ['ff02::1', /multicast/],
    ['::ffff:127.0.0.1', /loopback.*IPv4 inside IPv6/],
    ['::ffff:7f00:1', /loopback/],
    ['::ffff:169.254.169.254', /metadata/],
    ['::ffff:10.0.0.1', /private/],
    ['64:ff9b::a9fe:a9fe', /metadata/],
  ];
  for (const [addr, why] of refused) {
    it(`refuses ${addr}`, () => assert.match(blockedAddressReason(addr) ?? 'allowed', why));
  }
  for (const addr of ['8.8.8.8', '1.1.1.1', '172.32.0.1', '100.128.0.1', '2606:4700:4700::1111', '::ffff:8.8.8.8']) {
    it(`allows ${addr}`, () => assert.equal(blockedAddressReason(addr), undefined));
  }

  const fakeDns = (table: Record<string, string[]>) => async (host: string): Promise<LookupAddress[]> => {
    const list = table[host];
    if (!list) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
    return list.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };
  const lookup = fakeDns({
    'public.example': ['93.184.216.34', '2606:2800:220:1:248:1893:25c8:1946'],
    'rebind.example': ['93.184.216.34', '127.0.0.1'],
    'metadata.example': ['169.254.169.254'],
    'v6private.example': ['fd00::5'],
  });

  it('checks every resolved address, and literal and encoded IPs in the URL', async () => {
    await assertFeedUrlAllowed('https://public.example/feed', { lookup });
    const blocked = async (url: string, re: RegExp) =>
      assert.rejects(assertFeedUrlAllowed(url, { lookup }), (e: unknown) => e instanceof FeedUrlError && e.problem === 'blocked' && re.test(e.message));
    await blocked('https://rebind.example/feed', /resolves to 127\.0\.0\.1, a loopback/);
    await blocked('http://metadata.example/latest/meta-data/', /metadata/);
    await blocked('http://v6private.example/', /unique local/);
    await blocked('http://127.0.0.1:8080/feed', /loopback/);
    await blocked('http://[::1]/feed', /loopback/);
    await blocked('http://[::ffff:169.254.169.254]/', /metadata/);
    await blocked('http://2130706433/', /loopback/); // decimal 127.0.0.1, normalised by the URL parser
    await blocked('http://0x7f.1/', /loopback/);
    await blocked('http://169.254.169.254/latest/meta-data/', /metadata/);
    await assert.rejects(assertFeedUrlAllowed('https://nowhere.example/', { lookup }), (e: unknown) => e instanceof FeedUrlError && e.problem === 'dns');
    await assert.rejects(assertFeedUrlAllowed('file:///etc/passwd', { lookup }), (e: unknown) => e instanceof FeedUrlError && e.problem === 'scheme');
    await assert.rejects(assertFeedUrlAllowed('gopher://x/', { lookup }), /only http and https/);
    await assertFeedUrlAllowed('http://127.0.0.1:8080/feed', { allowPrivate: true, lookup });
    await assert.rejects(assertFeedUrlAllowed('javascript:alert(1)', { allowPrivate: true }), /only http and https/);
  });
});

import assert from 'node:assert/strict';
import type { LookupAddress, LookupOptions } from 'node:dns';
import { after, before, describe, it } from 'node:test';
import { FeedFetchError, fetchFeedWith } from '../../src/feeds/fetch.js';
import { assertFeedUrlAllowed, blockedAddressReason, connectTimeLookup, FeedUrlError, type FeedResolver } from '../../src/feeds/ssrf.js';
import { rssFeed, startFeedServer, type FeedServer } from '../support/feed-server.js';

/** IPv4-mapped ::ffff:0:0/96 in every spelling, each carrying a private IPv4 address. */
const MAPPED: Array<[string, RegExp]> = [
  ['::ffff:7f00:1', /loopback.*IPv4 inside IPv6/],
  ['::ffff:127.0.0.1', /loopback.*IPv4 inside IPv6/],
  ['0:0:0:0:0:ffff:7f00:1', /loopback.*IPv4 inside IPv6/],
  ['0:0:0:0:0:ffff:127.0.0.1', /loopback.*IPv4 inside IPv6/],
  ['0000:0000:0000:0000:0000:FFFF:7F00:0001', /loopback/],
  ['::FFFF:127.0.0.2', /loopback/],
  ['::ffff:a00:1', /private/],
  ['::ffff:192.168.0.1', /private/],
  ['::ffff:a9fe:a9fe', /metadata/],
  ['::ffff:0.0.0.0', /this network/],
  ['::ffff:0:7f00:1', /loopback/], // the translated form ::ffff:0:0:0/96 (SIIT)
];

/** NAT64 local-use 64:ff9b:1::/48: refused whatever it seems to carry (the operator decides where the IPv4 sits). */
const NAT64_LOCAL = ['64:ff9b:1::7f00:1', '64:ff9b:1::808:808', '64:ff9b:1:ab:cd::1', '64:FF9B:0001:0000:0000:0000:0a00:0001'];

/** Teredo 2001::/32: refused outright, including one whose server and client addresses look public. */
const TEREDO = ['2001::1', '2001:0:4136:e378:8000:63bf:3fff:fdd2', '2001:0000:7f00:0001::', '2001:0:ffff:ffff:ffff:ffff:ffff:ffff'];

describe('SSRF guard: the IPv6 ranges that carry or hide another destination', () => {
  for (const [address, why] of MAPPED) {
    it(`refuses IPv4-mapped ${address}`, () => assert.match(blockedAddressReason(address) ?? 'allowed', why));
  }
  for (const address of NAT64_LOCAL) {
    it(`refuses NAT64 local-use ${address}`, () => assert.match(blockedAddressReason(address) ?? 'allowed', /NAT64 local-use \(64:ff9b:1::\/48\)/));
  }
  for (const address of TEREDO) {
    it(`refuses Teredo ${address}`, () => assert.match(blockedAddressReason(address) ?? 'allowed', /Teredo tunnel \(2001::\/32\)/));
  }

  it('judges the well-known NAT64 prefix and 6to4 by the IPv4 inside, as DNS64 networks need', () => {
    assert.match(blockedAddressReason('64:ff9b::7f00:1') ?? 'allowed', /loopback.*IPv4 inside IPv6/);
    assert.match(blockedAddressReason('64:ff9b::10.0.0.1') ?? 'allowed', /private/);
    assert.equal(blockedAddressReason('64:ff9b::808:808'), undefined);
    assert.match(blockedAddressReason('2002:c0a8:101::1') ?? 'allowed', /private.*IPv4 inside IPv6/);
    assert.equal(blockedAddressReason('2002:808:808::1'), undefined);
    assert.equal(blockedAddressReason('::ffff:8.8.8.8'), undefined);
  });

  it('refuses the other special ranges of the library and unallocated space, and allows public unicast', () => {
    const refused: Array<[string, RegExp]> = [
      ['2001:db8::1', /reserved \/ documentation/],
      ['2001:2::1', /benchmarking/],
      ['2001:20::1', /ORCHIDv2/],
      ['3fff::1', /reserved/],
      ['5f00::1', /SRv6/],
      ['100::1', /discard-only/],
      ['fec0::1', /site-local/],
      ['::7f00:1', /IPv4-compatible/],
      ['::127.0.0.1', /IPv4-compatible/],
      ['4000::1', /unallocated/],
      ['192.31.196.1', /AS112/],
      ['198.18.0.1', /reserved \(198\.18\.0\.0\/15\)/],
      ['not-an-ip', /not an IP address/],
      ['0x7f.1', /not an IP address/],
    ];
    for (const [address, why] of refused) assert.match(blockedAddressReason(address) ?? 'allowed', why, address);
    for (const address of ['2001:4860:4860::8888', '2606:4700:4700::1111', '2a00:1450:4001:80b::200e', '93.184.216.34']) {
      assert.equal(blockedAddressReason(address), undefined, address);
    }
  });

  const fakeDns = (table: Record<string, string[]>): FeedResolver => async (host) => {
    const list = table[host];
    if (!list) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
    return list.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };

  it('refuses all three at the URL check, as literals and as DNS answers', async () => {
    const all = [...MAPPED.map(([a]) => a), ...NAT64_LOCAL, ...TEREDO];
    const table: Record<string, string[]> = {};
    all.forEach((address, i) => (table[`h${i}.example`] = ['93.184.216.34', address]));
    const lookup = fakeDns(table);
    for (const [i, address] of all.entries()) {
      const refused = (e: unknown) => e instanceof FeedUrlError && e.problem === 'blocked';
      await assert.rejects(assertFeedUrlAllowed(`http://[${address}]/feed`, { lookup }), refused, `literal ${address}`);
      await assert.rejects(assertFeedUrlAllowed(`https://h${i}.example/feed`, { lookup }), refused, `resolved ${address}`);
    }
  });

  it('refuses all three at connect time, whatever DNS answered when the URL was checked', async () => {
    const lookup = connectTimeLookup(fakeDns({ 'mapped.example': ['::ffff:7f00:1'], 'nat64.example': ['64:ff9b:1::808:808'], 'teredo.example': ['2001::1'], 'ok.example': ['2606:4700:4700::1111'] }));
    const call = (host: string, options: LookupOptions) =>
      new Promise<{ err: Error | null; address?: string | LookupAddress[] }>((resolve) => {
        (lookup as unknown as (h: string, o: LookupOptions, cb: (err: Error | null, address?: string | LookupAddress[]) => void) => void)(host, options, (err, address) =>
          resolve({ err, address }),
        );
      });
    for (const host of ['mapped.example', 'nat64.example', 'teredo.example']) {
      for (const options of [{}, { all: true }, { family: 6 }]) {
        const { err } = await call(host, options);
        assert.ok(err instanceof FeedUrlError && err.problem === 'blocked', `${host} ${JSON.stringify(options)}: ${String(err)}`);
      }
    }
    assert.deepEqual(await call('ok.example', { all: true }), { err: null, address: [{ address: '2606:4700:4700::1111', family: 6 }] });
  });
});

describe('SSRF guard at connect time through fetchFeed (DNS rebinding)', () => {
  let server: FeedServer;
  before(async () => {
    server = await startFeedServer();
    server.route('/feed', { body: rssFeed([{ title: 'secret', guid: 's' }]) });
  });
  after(async () => {
    await server.close();
  });

  for (const address of ['::ffff:127.0.0.1', '::ffff:7f00:1', '0:0:0:0:0:ffff:7f00:1']) {
    it(`never connects when the host answers ${address} after passing the URL check`, async () => {
      // The first answer (the URL check) is public; the second (the connection) points at this machine.
      let answers = 0;
      const resolve: FeedResolver = async () => [{ address: answers++ === 0 ? '93.184.216.34' : address, family: answers === 1 ? 4 : 6 }];
      const url = `http://rebind.example:${new URL(server.origin).port}/feed`;
      const before = server.requests('/feed').length;
      await assert.rejects(
        fetchFeedWith(url, { timeoutMs: 3000 }, { checkUrl: (u, o) => assertFeedUrlAllowed(u, { ...o, lookup: resolve }), resolve }),
        (e: unknown) => e instanceof FeedFetchError && e.kind === 'blocked' && /rebind\.example resolved to .*loopback/.test(e.message),
      );
      assert.equal(answers, 2, 'DNS was asked again when connecting');
      assert.equal(server.requests('/feed').length, before, 'the local server was contacted');
    });
  }
});

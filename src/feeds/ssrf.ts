import { promises as dnsPromises, type LookupAddress, type LookupOptions } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';

/** Why a feed URL was refused. */
export type FeedUrlProblem = 'invalid' | 'scheme' | 'blocked' | 'dns';

/** Thrown when a feed URL may not be fetched; the message names the URL and the reason. */
export class FeedUrlError extends Error {
  override name = 'FeedUrlError';
  constructor(
    message: string,
    /** invalid URL, non-http(s) scheme, address in a refused range, or host that does not resolve. */
    readonly problem: FeedUrlProblem,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Resolves a host name to every address it has (the shape of dns.promises.lookup with `all: true`). */
export type FeedResolver = (hostname: string, options?: LookupOptions) => Promise<LookupAddress[]>;

/** Options for the SSRF guard. */
export interface FeedUrlCheckOptions {
  /** Allow loopback/private/link-local targets (ALLOW_PRIVATE_FEED_URLS; tests and local feeds). */
  allowPrivate?: boolean;
  /** DNS lookup used to resolve host names (tests inject one; default dns.promises.lookup with all: true). */
  lookup?: FeedResolver;
}

type IPv4 = ipaddr.IPv4;
type IPv6 = ipaddr.IPv6;

// The ranges themselves come from ipaddr.js (IANA's special-purpose registries); these are only the words a refusal
// uses for each of the library's range names. A name the library adds later is refused under its own name.
const IPV4_WORDS: Record<string, string> = {
  unspecified: '"this network"',
  broadcast: 'reserved / broadcast',
  multicast: 'multicast',
  linkLocal: 'link-local',
  loopback: 'loopback',
  carrierGradeNat: 'carrier-grade NAT',
  private: 'private',
  reserved: 'reserved',
  as112: 'AS112 DNS sink',
  amt: 'AMT relay anycast',
};
const IPV6_WORDS: Record<string, string> = {
  unspecified: 'unspecified',
  linkLocal: 'link-local',
  multicast: 'multicast',
  loopback: 'loopback',
  uniqueLocal: 'unique local / private',
  deprecatedSiteLocal: 'site-local',
  discard: 'discard-only',
  teredo: 'Teredo tunnel',
  benchmarking: 'benchmarking',
  amt: 'AMT relay anycast',
  as112v6: 'AS112 DNS sink',
  deprecatedOrchid: 'ORCHID',
  orchid2: 'ORCHIDv2',
  droneRemoteIdProtocolEntityTags: 'drone remote ID',
  segmentRouting: 'SRv6 segment ID',
  reserved: 'reserved / documentation',
  rfc6052: 'NAT64 local-use',
};

// Inside ranges the library already refuses, but worth naming: the address an SSRF is usually after.
const METADATA = ['169.254.169.254', 'fd00:ec2::254'].map((a) => ipaddr.parse(a));
// The library files both NAT64 prefixes under one name; only the well-known one has a fixed place for the IPv4.
const NAT64_WELL_KNOWN = ipaddr.parseCIDR('64:ff9b::/96');
// Neither is a range of the library: IPv4-compatible addresses (deprecated by RFC 4291) and everything outside the
// global unicast space, which IANA has not allocated, so no public feed can live there.
const IPV4_COMPATIBLE = ipaddr.parseCIDR('::/96');
const GLOBAL_UNICAST = ipaddr.parseCIDR('2000::/3');

/**
 * Returns why an IP address may not be fetched (e.g. "loopback (127.0.0.0/8)"), or undefined when it is a public
 * address. Ranges are ipaddr.js's. IPv6 that carries an IPv4 destination in a known place (mapped ::ffff:0:0/96 in
 * every spelling, translated ::ffff:0:0:0/96, NAT64 64:ff9b::/96, 6to4 2002::/16) is judged by that IPv4 address,
 * since that is where the packets go. NAT64 local-use 64:ff9b:1::/48 and Teredo 2001::/32 are refused outright:
 * where a local-use prefix puts the IPv4 is the operator's choice, and a Teredo address reaches its host through a
 * relay and a NAT named by two embedded (one obfuscated) IPv4 addresses; no public feed is served from either.
 */
export function blockedAddressReason(address: string): string | undefined {
  const plain = address.replace(/%.*$/, '');
  // node's isIP accepts only the standard spellings; ipaddr.js alone would also take "0x7f.1" or "127.1".
  const family = isIP(plain);
  if (family === 4) return ipv4Reason(ipaddr.IPv4.parse(plain));
  if (family !== 6) return 'not an IP address';
  // Written out by the WHATWG URL parser first: ipaddr.js reads "::a.b.c.d" as ::ffff:a.b.c.d, while the socket
  // would go to ::a.b.c.d; the URL parser writes the real words (and the same form a URL host gets).
  return ipv6Reason(ipaddr.IPv6.parse(new URL(`http://[${plain}]/`).hostname.slice(1, -1)));
}

function ipv4Reason(ip: IPv4): string | undefined {
  if (METADATA.some((m) => m.kind() === 'ipv4' && ip.match(m, 32))) return 'cloud metadata endpoint (169.254.169.254)';
  const range = ip.range();
  return range === 'unicast' ? undefined : describe(ip, range, IPV4_WORDS);
}

function ipv6Reason(ip: IPv6): string | undefined {
  if (METADATA.some((m) => m.kind() === 'ipv6' && ip.match(m, 128))) return 'cloud metadata endpoint (fd00:ec2::254)';
  const range = ip.range();
  const p = ip.parts;
  switch (range) {
    case 'ipv4Mapped':
      return inside(ip.toIPv4Address());
    case 'rfc6145':
      return inside(v4(p[6], p[7]));
    case '6to4':
      return inside(v4(p[1], p[2]));
    case 'rfc6052':
      return ip.match(NAT64_WELL_KNOWN) ? inside(v4(p[6], p[7])) : 'NAT64 local-use (64:ff9b:1::/48)';
    case 'unicast':
      if (ip.match(IPV4_COMPATIBLE)) return 'IPv4-compatible, deprecated (::/96)';
      return ip.match(GLOBAL_UNICAST) ? undefined : 'unallocated (outside 2000::/3)';
    default:
      return describe(ip, range, IPV6_WORDS);
  }
}

/** The IPv4 address made of two 16-bit words of an IPv6 address. */
function v4(hi: number, lo: number): IPv4 {
  return new ipaddr.IPv4([hi >> 8, hi & 0xff, lo >> 8, lo & 0xff]);
}

/** The embedded IPv4 address's verdict, marked as found inside an IPv6 address. */
function inside(ip: IPv4): string | undefined {
  const why = ipv4Reason(ip);
  if (!why) return undefined;
  return why.endsWith(')') ? `${why.slice(0, -1)}, IPv4 inside IPv6)` : `${why} (IPv4 inside IPv6)`;
}

/** "private (10.0.0.0/8)": the range's words and the library's subnet the address fell in. */
function describe(ip: IPv4 | IPv6, range: string, words: Record<string, string>): string {
  const subnet = librarySubnet(ip, range);
  return `${words[range] ?? range}${subnet ? ` (${subnet})` : ''}`;
}

function librarySubnet(ip: IPv4 | IPv6, range: string): string | undefined {
  // ipaddr.js keeps its table on the prototype (not in its typings); without it the message simply has no CIDR.
  const table = (Object.getPrototypeOf(ip) as { SpecialRanges?: Record<string, unknown> }).SpecialRanges;
  const entry = table?.[range];
  if (!Array.isArray(entry)) return undefined;
  const subnets = (Array.isArray(entry[0]) ? entry : [entry]) as [IPv4 | IPv6, number][];
  const hit = subnets.find(([net, bits]) => net.kind() === ip.kind() && ip.match(net, bits));
  if (!hit) return undefined;
  const net = hit[0].kind() === 'ipv6' ? (hit[0] as IPv6).toRFC5952String() : hit[0].toString();
  return `${net}/${hit[1]}`;
}

const defaultLookup: FeedResolver = (hostname, options) => dnsPromises.lookup(hostname, { ...options, all: true, verbatim: true });

/**
 * Resolves when the URL may be fetched: http(s) only, and (unless allowPrivate) every address the host resolves
 * to is public. Throws FeedUrlError otherwise. Called when a feed is added and on every redirect hop.
 */
export async function assertFeedUrlAllowed(url: string | URL, options: FeedUrlCheckOptions = {}): Promise<void> {
  let u: URL;
  try {
    u = typeof url === 'string' ? new URL(url) : url;
  } catch (err) {
    throw new FeedUrlError(`"${String(url).slice(0, 200)}" is not a valid URL`, 'invalid', { cause: err });
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new FeedUrlError(`${u.href.slice(0, 200)}: only http and https feed URLs are allowed (got ${u.protocol.replace(':', '')})`, 'scheme');
  }
  if (!u.hostname) throw new FeedUrlError(`${u.href}: the URL has no host`, 'invalid');
  if (options.allowPrivate) return;

  const host = u.hostname.replace(/^\[|\]$/g, '');
  if (isIP(host)) {
    const why = blockedAddressReason(host);
    if (why) throw new FeedUrlError(`${u.href}: ${host} is a ${why} address; feeds must be on public hosts (set ALLOW_PRIVATE_FEED_URLS=true to allow)`, 'blocked');
    return;
  }
  let addresses: LookupAddress[];
  try {
    addresses = await (options.lookup ?? defaultLookup)(host);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new FeedUrlError(`${u.href}: cannot resolve ${host}${code ? ` (${code})` : ''}`, 'dns', { cause: err });
  }
  if (addresses.length === 0) throw new FeedUrlError(`${u.href}: ${host} has no address`, 'dns');
  for (const a of addresses) {
    const why = blockedAddressReason(a.address);
    if (why) {
      throw new FeedUrlError(
        `${u.href}: ${host} resolves to ${a.address}, a ${why} address; feeds must be on public hosts (set ALLOW_PRIVATE_FEED_URLS=true to allow)`,
        'blocked',
      );
    }
  }
}

/**
 * Returns a `lookup` for http(s).request that refuses any address the guard refuses, so the check also holds for
 * the address actually connected to: a host checked as public cannot answer DNS differently a moment later
 * (rebinding). `resolve` defaults to dns.promises.lookup (tests inject one).
 */
export function connectTimeLookup(resolve: FeedResolver = defaultLookup): LookupFunction {
  return ((hostname: string, options: LookupOptions, callback: (err: Error | null, address?: string | LookupAddress[], family?: number) => void) => {
    resolve(hostname, options).then(
      (all) => {
        const list = options.family === 4 || options.family === 6 ? all.filter((a) => a.family === options.family) : all;
        if (list.length === 0) {
          callback(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND', hostname }));
          return;
        }
        for (const a of list) {
          const why = blockedAddressReason(a.address);
          if (why) {
            callback(new FeedUrlError(`${hostname} resolved to ${a.address}, a ${why} address`, 'blocked'));
            return;
          }
        }
        if (options.all) callback(null, list);
        else callback(null, list[0]!.address, list[0]!.family);
      },
      (err: unknown) => callback(err as Error),
    );
  }) as unknown as LookupFunction;
}

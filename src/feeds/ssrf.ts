import { promises as dnsPromises, type LookupAddress } from 'node:dns';
import { BlockList, isIP } from 'node:net';

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

/** Options for the SSRF guard. */
export interface FeedUrlCheckOptions {
  /** Allow loopback/private/link-local targets (ALLOW_PRIVATE_FEED_URLS; tests and local feeds). */
  allowPrivate?: boolean;
  /** DNS lookup used to resolve host names (tests inject one; default dns.promises.lookup with all: true). */
  lookup?: (hostname: string) => Promise<LookupAddress[]>;
}

// Ranges from the IANA special-purpose registries (RFC 6890 and successors): nothing a public feed lives on.
const BLOCKED: Array<[string, number, 'ipv4' | 'ipv6', string]> = [
  ['169.254.169.254', 32, 'ipv4', 'cloud metadata endpoint (169.254.169.254)'],
  ['fd00:ec2::254', 128, 'ipv6', 'cloud metadata endpoint (fd00:ec2::254)'],
  ['0.0.0.0', 8, 'ipv4', '"this network" (0.0.0.0/8)'],
  ['10.0.0.0', 8, 'ipv4', 'private (10.0.0.0/8)'],
  ['100.64.0.0', 10, 'ipv4', 'carrier-grade NAT (100.64.0.0/10)'],
  ['127.0.0.0', 8, 'ipv4', 'loopback (127.0.0.0/8)'],
  ['169.254.0.0', 16, 'ipv4', 'link-local (169.254.0.0/16)'],
  ['172.16.0.0', 12, 'ipv4', 'private (172.16.0.0/12)'],
  ['192.0.0.0', 24, 'ipv4', 'IETF protocol assignments (192.0.0.0/24)'],
  ['192.0.2.0', 24, 'ipv4', 'documentation (192.0.2.0/24)'],
  ['192.88.99.0', 24, 'ipv4', '6to4 relay anycast (192.88.99.0/24)'],
  ['192.168.0.0', 16, 'ipv4', 'private (192.168.0.0/16)'],
  ['198.18.0.0', 15, 'ipv4', 'benchmarking (198.18.0.0/15)'],
  ['198.51.100.0', 24, 'ipv4', 'documentation (198.51.100.0/24)'],
  ['203.0.113.0', 24, 'ipv4', 'documentation (203.0.113.0/24)'],
  ['224.0.0.0', 4, 'ipv4', 'multicast (224.0.0.0/4)'],
  ['240.0.0.0', 4, 'ipv4', 'reserved / broadcast (240.0.0.0/4)'],
  ['::', 128, 'ipv6', 'unspecified (::)'],
  ['::1', 128, 'ipv6', 'loopback (::1)'],
  ['100::', 64, 'ipv6', 'discard-only (100::/64)'],
  ['2001:db8::', 32, 'ipv6', 'documentation (2001:db8::/32)'],
  ['fc00::', 7, 'ipv6', 'unique local / private (fc00::/7)'],
  ['fe80::', 10, 'ipv6', 'link-local (fe80::/10)'],
  ['fec0::', 10, 'ipv6', 'site-local (fec0::/10)'],
  ['ff00::', 8, 'ipv6', 'multicast (ff00::/8)'],
];

const blockList = new BlockList();
for (const [net, prefix, type] of BLOCKED) blockList.addSubnet(net, prefix, type);

/**
 * Returns why an IP address may not be fetched (e.g. "loopback (127.0.0.0/8)"), or undefined when it is a public
 * address. IPv4 embedded in IPv6 (mapped ::ffff:a.b.c.d, compatible ::a.b.c.d, NAT64 64:ff9b::/96, 6to4
 * 2002::/16) is judged by its IPv4 address, since that is where the packets go.
 */
export function blockedAddressReason(address: string): string | undefined {
  const family = isIP(address);
  if (family === 4) return reasonFor(address, 'ipv4');
  if (family !== 6) return 'not an IP address';
  const words = expandIPv6(address.replace(/%.*$/, ''));
  if (!words) return 'not an IP address';
  const v4 = embeddedIPv4(words);
  if (v4) {
    const r = reasonFor(v4, 'ipv4');
    if (r) return r.replace(/\)$/, ', IPv4 inside IPv6)');
  }
  return reasonFor(address.replace(/%.*$/, ''), 'ipv6');
}

function reasonFor(address: string, type: 'ipv4' | 'ipv6'): string | undefined {
  if (!blockList.check(address, type)) return undefined;
  for (const [net, prefix, t, why] of BLOCKED) {
    if (t !== type) continue;
    const one = new BlockList();
    one.addSubnet(net, prefix, t);
    if (one.check(address, type)) return why;
  }
  return 'reserved address';
}

/** Eight 16-bit words of an IPv6 address (handles "::" and a dotted IPv4 tail), or undefined. */
function expandIPv6(addr: string): number[] | undefined {
  let s = addr.toLowerCase();
  const tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (tail) {
    const p = tail[1]!.split('.').map(Number);
    if (p.some((n) => n > 255)) return undefined;
    s = s.slice(0, -tail[1]!.length) + `${((p[0]! << 8) | p[1]!).toString(16)}:${((p[2]! << 8) | p[3]!).toString(16)}`;
  }
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const head = halves[0] ? halves[0].split(':') : [];
  const rest = halves.length === 2 && halves[1] ? halves[1].split(':') : [];
  const missing = 8 - head.length - rest.length;
  if ((halves.length === 1 && missing !== 0) || missing < 0) return undefined;
  const words = [...head, ...Array(halves.length === 2 ? missing : 0).fill('0'), ...rest].map((h) => parseInt(h, 16));
  return words.length === 8 && words.every((w) => Number.isInteger(w) && w >= 0 && w <= 0xffff) ? words : undefined;
}

function embeddedIPv4(w: number[]): string | undefined {
  const v4 = (hi: number, lo: number) => `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;
  const zeros = (from: number, to: number) => w.slice(from, to).every((x) => x === 0);
  if (zeros(0, 5) && w[5] === 0xffff) return v4(w[6]!, w[7]!); // ::ffff:a.b.c.d (mapped)
  if (zeros(0, 6) && (w[6] !== 0 || w[7]! > 1)) return v4(w[6]!, w[7]!); // ::a.b.c.d (compatible, deprecated)
  if (w[0] === 0x64 && w[1] === 0xff9b && zeros(2, 6)) return v4(w[6]!, w[7]!); // NAT64 well-known prefix
  if (w[0] === 0x2002) return v4(w[1]!, w[2]!); // 6to4
  return undefined;
}

const defaultLookup = (hostname: string) => dnsPromises.lookup(hostname, { all: true, verbatim: true });

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

import { createHash, timingSafeEqual } from 'node:crypto';
import { BlockList, isIP } from 'node:net';

const privateRanges = new BlockList();
privateRanges.addSubnet('127.0.0.0', 8, 'ipv4');
privateRanges.addSubnet('10.0.0.0', 8, 'ipv4');
privateRanges.addSubnet('172.16.0.0', 12, 'ipv4');
privateRanges.addSubnet('192.168.0.0', 16, 'ipv4');
privateRanges.addAddress('::1', 'ipv6');
privateRanges.addSubnet('fc00::', 7, 'ipv6');

/**
 * Whether an address is loopback or private: 127.0.0.0/8, 10/8, 172.16/12, 192.168/16, ::1,
 * fc00::/7 (IPv4-mapped IPv6 addresses count as IPv4).
 */
export function isPrivateAddress(address: string | undefined): boolean {
  if (!address) return false;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  const ip = mapped ? mapped[1]! : address;
  const family = isIP(ip);
  return family !== 0 && privateRanges.check(ip, family === 6 ? 'ipv6' : 'ipv4');
}

/** What decides whether a request may read the metrics. */
export interface MetricsRequest {
  /** The `Authorization` header. */
  authorization: string | undefined;
  /** The connection's peer. */
  remoteAddress: string | undefined;
  /** The `X-Forwarded-For` header (a list, nearest proxy last). */
  forwardedFor: string | undefined;
}

export interface MetricsAccessSettings {
  /** ROSE_METRICS_TOKEN; undefined: only private clients. */
  token: string | undefined;
  /** Whether an address is one of ROSE_TRUSTED_PROXIES. */
  isTrustedProxy: (address: string) => boolean;
}

/**
 * Who may read `/api/metrics`. With a token set: only a request carrying
 * `Authorization: Bearer <token>` (compared in constant time), from anywhere. Without one:
 * only a client on a loopback or private address. A request through the front proxy is
 * judged by the client the proxy names (`X-Forwarded-For`, walked back past trusted
 * proxies), so the proxy's own private address lets nobody in; a forwarded request from a
 * proxy we do not trust is refused, since nobody can say who sent it.
 *
 * @example
 * metricsAllowed({ authorization: undefined, remoteAddress: '127.0.0.1', forwardedFor: undefined }, { token: undefined, isTrustedProxy: () => false }) // true
 */
export function metricsAllowed(req: MetricsRequest, settings: MetricsAccessSettings): boolean {
  if (settings.token !== undefined) return bearerMatches(req.authorization, settings.token);
  const client = clientAddress(req, settings.isTrustedProxy);
  return client !== undefined && isPrivateAddress(client);
}

/** The client's address: the peer, or through trusted proxies the first untrusted hop; undefined when it cannot be told. */
function clientAddress(req: MetricsRequest, isTrustedProxy: (address: string) => boolean): string | undefined {
  const peer = req.remoteAddress;
  if (!peer) return undefined;
  const hops = (req.forwardedFor ?? '')
    .split(',')
    .map((hop) => hop.trim())
    .filter(Boolean);
  if (!isTrustedProxy(peer)) return hops.length ? undefined : peer;
  let client = peer;
  for (let i = hops.length - 1; i >= 0; i--) {
    client = hops[i]!;
    if (!isIP(client)) return undefined;
    if (!isTrustedProxy(client)) break;
  }
  return client;
}

function bearerMatches(header: string | undefined, token: string): boolean {
  const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header ?? '');
  // Digests of equal length: the comparison takes the same time whatever was sent.
  const given = createHash('sha256').update(m?.[1] ?? '').digest();
  const expected = createHash('sha256').update(token).digest();
  return timingSafeEqual(given, expected) && m !== null;
}

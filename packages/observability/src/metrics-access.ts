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

/** What decides whether a request may read the metrics (and readiness details). */
export interface MetricsRequest {
  /** The `Authorization` header. */
  authorization: string | undefined;
  /** The connection's peer. */
  remoteAddress: string | undefined;
  /** The `X-Forwarded-For` header, or `Forwarded` (RFC 7239) when that is what the proxy sets. */
  forwardedFor: string | undefined;
}

export interface MetricsAccessSettings {
  /** ROSE_METRICS_TOKEN; undefined: only private clients connecting directly. */
  token: string | undefined;
}

/**
 * Who may read `/api/metrics` and the details of `/api/ready`. With a token set: only a
 * request carrying `Authorization: Bearer <token>` (compared in constant time), from
 * anywhere. Without one: only a client connecting directly from a loopback or private
 * address. A request that came through a proxy (it carries `X-Forwarded-For` or `Forwarded`)
 * is refused without the token, whoever the proxy says sent it: a proxy's view of the
 * client cannot be relied on (behind Docker's userland proxy Caddy sees every visitor as the
 * bridge's private gateway), and Prometheus scrapes the app servers directly anyway.
 *
 * @example
 * metricsAllowed({ authorization: undefined, remoteAddress: '10.0.0.9', forwardedFor: undefined }, { token: undefined }) // true
 * metricsAllowed({ authorization: undefined, remoteAddress: '10.0.0.9', forwardedFor: '10.0.0.7' }, { token: undefined }) // false
 */
export function metricsAllowed(req: MetricsRequest, settings: MetricsAccessSettings): boolean {
  if (settings.token !== undefined) return bearerMatches(req.authorization, settings.token);
  return req.forwardedFor === undefined && isPrivateAddress(req.remoteAddress);
}

function bearerMatches(header: string | undefined, token: string): boolean {
  const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header ?? '');
  // Digests of equal length: the comparison takes the same time whatever was sent.
  const given = createHash('sha256').update(m?.[1] ?? '').digest();
  const expected = createHash('sha256').update(token).digest();
  return timingSafeEqual(given, expected) && m !== null;
}

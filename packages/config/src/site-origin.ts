import type { IncomingMessage } from 'node:http';
import { BlockList, isIP } from 'node:net';
import { isSiteOnlyPath } from '@rose/core';

/**
 * The site's origin and how a request's origin is judged against it. The OpenID issuer,
 * sign-in and account pages live on one origin (`siteUrl`: ROSE_SITE_URL, or the listen
 * address); parts may have their own hosts (ROSE_PART_ORIGINS). What a request claims about
 * its origin (Host, X-Forwarded-Host) decides nothing but where to send it back to: the
 * URLs we publish always come from the configuration.
 */
export interface OriginSettings {
  readonly siteUrl: string;
  readonly partOrigins: readonly string[];
  readonly trustedProxies: readonly string[];
}

/** What the server received, before anything is believed. */
export interface ReceivedRequest {
  method: string;
  /** The scheme of the connection and the Host header, as the server saw them, e.g. http://127.0.0.1:4321. */
  origin: string | undefined;
  /** Path and query. */
  path: string;
  /** The peer's address: X-Forwarded-* count only when it is a trusted proxy. */
  remoteAddress: string | undefined;
  forwardedHost?: string | null | undefined;
  forwardedProto?: string | null | undefined;
}

/** A request for a sign-in, account or provider page that reached the wrong origin. */
export interface SiteRedirect {
  /** 308 for GET/HEAD (the browser follows it); 421 for other methods (nothing is re-sent elsewhere). */
  status: 308 | 421;
  location: string;
  /** A short plain-text body for people. */
  text: string;
}

/**
 * The origin a visitor sees `rose serve` on when it listens on host:port (all interfaces are
 * shown as localhost).
 *
 * @example
 * listenOrigin('0.0.0.0', 8080) // 'http://localhost:8080'
 */
export function listenOrigin(host: string, port: number): string {
  const bare = host.replace(/^\[|\]$/g, '');
  const shown = bare === '0.0.0.0' || bare === '::' ? 'localhost' : isIP(bare) === 6 ? `[${bare}]` : bare;
  return new URL(`http://${shown}:${port}`).origin;
}

/** True when both URLs name the same host and port (the scheme is the proxy's business). */
export function sameHost(a: string, b: string): boolean {
  const key = (value: string) => {
    try {
      const u = new URL(value);
      // A proxy may forward `coop.example:443` over http: the default ports name no other site.
      return `${u.hostname}${u.port && u.port !== '80' && u.port !== '443' ? `:${u.port}` : ''}`;
    } catch {
      return undefined;
    }
  };
  const ka = key(a);
  return ka !== undefined && ka === key(b);
}

/**
 * The origin the visitor used: the connection's scheme and Host, or X-Forwarded-Proto and
 * X-Forwarded-Host when the peer is one of ROSE_TRUSTED_PROXIES (from anyone else they are
 * ignored). Undefined when the request names no usable host.
 */
export function requestOrigin(settings: Pick<OriginSettings, 'trustedProxies'>, req: Omit<ReceivedRequest, 'method' | 'path'>): string | undefined {
  let origin: URL | undefined;
  try {
    origin = req.origin ? new URL(req.origin) : undefined;
  } catch {
    origin = undefined;
  }
  if (isTrustedProxy(settings.trustedProxies, req.remoteAddress)) {
    const proto = firstValue(req.forwardedProto)?.toLowerCase();
    const host = firstValue(req.forwardedHost);
    const scheme = proto === 'https' || proto === 'http' ? proto : (origin?.protocol.slice(0, -1) ?? 'http');
    if (host && !/[/\\@\s]/.test(host) && URL.canParse(`${scheme}://${host}`)) return new URL(`${scheme}://${host}`).origin;
    if (origin) return new URL(`${scheme}://${origin.host}`).origin;
  }
  return origin?.origin;
}

/** A Node request (rose serve, the dev server's middleware) as received. */
export function receivedFromNode(req: IncomingMessage): ReceivedRequest {
  const scheme = 'encrypted' in req.socket && req.socket.encrypted ? 'https' : 'http';
  const header = (name: string) => {
    const value = req.headers[name];
    return Array.isArray(value) ? value.join(',') : value;
  };
  return {
    method: req.method ?? 'GET',
    path: req.url ?? '/',
    origin: req.headers.host ? `${scheme}://${req.headers.host}` : undefined,
    remoteAddress: req.socket.remoteAddress,
    forwardedHost: header('x-forwarded-host'),
    forwardedProto: header('x-forwarded-proto'),
  };
}

/**
 * Sign-in, account and provider pages (`/auth…`, `/account…`) are served on the site's
 * origin only (and on a part's own host, for its single sign-on and account page): cookies
 * and the OpenID issuer are tied to it. A request for one of them on any other origin
 * (`127.0.0.1` for `localhost`, another port, an old host name) is sent there.
 * Undefined when the request may be served where it is.
 *
 * @example
 * siteOriginRedirect({ siteUrl: 'http://localhost:4321', partOrigins: [] }, { method: 'GET', origin: 'http://127.0.0.1:4321', path: '/auth/login' })
 * // { status: 308, location: 'http://localhost:4321/auth/login', … }
 */
export function siteOriginRedirect(settings: Pick<OriginSettings, 'siteUrl' | 'partOrigins'>, req: { method: string; origin: string | undefined; path: string }): SiteRedirect | undefined {
  if (!isSiteOnlyPath(req.path)) return undefined;
  if (req.origin && (sameHost(req.origin, settings.siteUrl) || settings.partOrigins.some((part) => sameHost(req.origin!, part)))) return undefined;
  const location = new URL(req.path.startsWith('/') ? req.path : `/${req.path}`, settings.siteUrl).toString();
  if (req.method === 'GET' || req.method === 'HEAD') return { status: 308, location, text: `This page is at ${location}\n` };
  return { status: 421, location, text: `This address does not take sign-in or account requests: please use ${new URL(settings.siteUrl).origin}\n` };
}

/** Parses one ROSE_TRUSTED_PROXIES entry (an IP address or a CIDR range); undefined when invalid. */
export function parseProxyEntry(entry: string): string | undefined {
  const [address, prefix, ...rest] = entry.trim().split('/');
  if (!address || rest.length) return undefined;
  const family = isIP(address);
  if (!family) return undefined;
  if (prefix === undefined) return address;
  if (!/^\d{1,3}$/.test(prefix) || Number(prefix) > (family === 4 ? 32 : 128)) return undefined;
  return `${address}/${Number(prefix)}`;
}

const blockLists = new WeakMap<readonly string[], BlockList>();

/** True when the address is one of the trusted proxies (IPv4-mapped IPv6 addresses count as IPv4). */
export function isTrustedProxy(trustedProxies: readonly string[], address: string | undefined): boolean {
  if (!address || trustedProxies.length === 0) return false;
  let list = blockLists.get(trustedProxies);
  if (!list) {
    list = new BlockList();
    for (const entry of trustedProxies) {
      const [ip, prefix] = entry.split('/');
      const family = isIP(ip!) === 6 ? 'ipv6' : 'ipv4';
      if (prefix === undefined) list.addAddress(ip!, family);
      else list.addSubnet(ip!, Number(prefix), family);
    }
    blockLists.set(trustedProxies, list);
  }
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  const ip = mapped ? mapped[1]! : address;
  const family = isIP(ip);
  return family !== 0 && list.check(ip, family === 6 ? 'ipv6' : 'ipv4');
}

function firstValue(header: string | null | undefined): string | undefined {
  const first = header?.split(',')[0]?.trim();
  return first ? first : undefined;
}

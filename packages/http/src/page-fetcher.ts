import { lookup as dnsLookup } from 'node:dns/promises';
import { request as httpRequest, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import { BlockList, isIP } from 'node:net';
import { Writable, type Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';

/**
 * Why a page was not fetched. Each is a property of the page or its site, not a bug here:
 * the caller records it and goes on with the next page.
 */
export type PageRefusalReason =
  | 'private-address'
  | 'host-not-allowed'
  | 'too-many-redirects'
  | 'redirect-loop'
  | 'bad-scheme'
  | 'too-large'
  | 'timeout'
  | 'wrong-content-type'
  | 'http-status'
  | 'network'
  | 'robots';

export interface PageRefusal {
  readonly kind: 'refused';
  readonly reason: PageRefusalReason;
  /** Plain and specific, starting with the URL: `https://x/p: body exceeded 5 MiB after decoding; the page was skipped`. */
  readonly message: string;
  /** The URL that was refused (the redirect target, when a redirect was). */
  readonly url: string;
  /** The answer's status, for `http-status`. */
  readonly status?: number;
}

export interface PageNotModified {
  readonly kind: 'not-modified';
  readonly url: string;
}

interface PageOkBase {
  readonly kind: 'ok';
  /** The final URL, after redirects. */
  readonly url: string;
  readonly status: number;
  /** The media type without parameters; for images, the type the bytes show (sniffed). */
  readonly contentType: string;
  readonly etag: string | undefined;
  readonly lastModified: string | undefined;
}

export interface TextPage extends PageOkBase {
  readonly text: string;
  /** The encoding the text was decoded with (WHATWG name, e.g. `utf-8`, `windows-1252`). */
  readonly charset: string;
}

export interface BytesPage extends PageOkBase {
  readonly bytes: Uint8Array;
}

export type TextPageResult = TextPage | PageNotModified | PageRefusal;
export type BytesPageResult = BytesPage | PageNotModified | PageRefusal;

/**
 * Hosts a request may go to, redirects included. Strings match the URL's hostname
 * (`shop.example`, any port) or, with a port, its host (`127.0.0.1:8080`); `*.shop.example`
 * matches subdomains. A function decides for itself.
 */
export type HostAllowList = readonly string[] | ((url: URL) => boolean);

export interface PageRequest {
  readonly url: string | URL;
  /** Media types accepted (`text/html`, `image/*`, `*\/*`); anything else is refused before its body is read. */
  readonly accept: readonly string[];
  readonly allowedHosts: HostAllowList;
  /** From the previous fetch: sent as If-None-Match / If-Modified-Since; a 304 gives `not-modified`. */
  readonly etag?: string | undefined;
  readonly lastModified?: string | undefined;
  /** Cancels the fetch: it then rejects with the signal's reason. */
  readonly signal?: AbortSignal | undefined;
  readonly timeoutMs?: number;
  readonly maxBytes?: number;
}

/** All addresses a hostname resolves to, as `dns.lookup(host, { all: true })`. */
export type LookupAll = (hostname: string) => Promise<readonly { address: string; family: number }[]>;

export interface PageFetcherOptions {
  /** Sent with every request. Default `RoseAsh-MarketBot/1.0 (+<contactUrl>)`. */
  readonly userAgent?: string;
  /** Where site owners learn who we are; goes into the default User-Agent. */
  readonly contactUrl?: string;
  /** For the whole fetch, redirects, headers and body included. Default 15 000. */
  readonly timeoutMs?: number;
  /** Cap on the decoded body. Default 5 MiB. */
  readonly maxBytes?: number;
  /** Default 5. */
  readonly maxRedirects?: number;
  /** Lets requests reach loopback and private addresses; for tests against 127.0.0.1 only. */
  readonly allowPrivateAddresses?: boolean;
  /** DNS resolution; default `dns.lookup` with `all: true`. The connection goes to the address checked. */
  readonly lookup?: LookupAll;
}

export interface PageFetcher {
  /** The User-Agent sent; robots.txt rules are matched against its product token. */
  readonly userAgent: string;
  /** Fetches a page and decodes it as text (charset from the header, `<meta>`, or UTF-8). */
  fetchText(req: PageRequest): Promise<TextPageResult>;
  /** Fetches raw bytes; `image/*` answers must also look like the image they claim to be. */
  fetchBytes(req: PageRequest): Promise<BytesPageResult>;
}

const MiB = 1024 * 1024;
const redirectStatuses = new Set([301, 302, 303, 307, 308]);

/**
 * Fetches pages from sites we do not control (supplier shops, fediverse servers) without
 * letting them hurt us: only http(s) to allowed hosts, never to private or loopback addresses
 * (checked after DNS, and the connection pinned to the checked address so a second lookup cannot
 * rebind it), redirects followed by hand and re-checked, one timeout for headers and body, the
 * decoded body capped while it streams (a gzip bomb stops at the cap), content types checked and
 * images sniffed. Problems with a page are values (`refused`), never throws; only the caller's
 * own `signal` makes it reject.
 *
 * @example
 * const fetcher = createPageFetcher({ contactUrl: 'https://rose-ash.example/market/bot' });
 * const page = await fetcher.fetchText({ url, accept: ['text/html'], allowedHosts: ['shop.example'] });
 * if (page.kind === 'ok') extract(page.text);
 */
export function createPageFetcher(options: PageFetcherOptions = {}): PageFetcher {
  const settings = {
    timeoutMs: options.timeoutMs ?? 15_000,
    maxBytes: options.maxBytes ?? 5 * MiB,
    maxRedirects: options.maxRedirects ?? 5,
  };
  if (!(settings.timeoutMs > 0)) throw new RangeError(`timeoutMs must be positive, got ${settings.timeoutMs}`);
  if (!(settings.maxBytes > 0)) throw new RangeError(`maxBytes must be positive, got ${settings.maxBytes}`);
  if (!Number.isInteger(settings.maxRedirects) || settings.maxRedirects < 0) throw new RangeError(`maxRedirects must be a whole number >= 0, got ${settings.maxRedirects}`);
  const userAgent = options.userAgent ?? `RoseAsh-MarketBot/1.0${options.contactUrl ? ` (+${options.contactUrl})` : ''}`;
  const lookupAll: LookupAll = options.lookup ?? ((host) => dnsLookup(host, { all: true, verbatim: true }));
  const allowPrivate = options.allowPrivateAddresses ?? false;

  async function fetchRaw(req: PageRequest): Promise<Raw | PageNotModified | PageRefusal> {
    const timeoutMs = req.timeoutMs ?? settings.timeoutMs;
    const maxBytes = req.maxBytes ?? settings.maxBytes;
    const timer = new AbortController();
    const timeout = setTimeout(() => timer.abort(new Error(`no complete answer within ${timeoutMs} ms`)), timeoutMs);
    const signal = req.signal ? AbortSignal.any([timer.signal, req.signal]) : timer.signal;
    let url: URL;
    try {
      url = new URL(req.url);
    } catch {
      clearTimeout(timeout);
      return refuse('bad-scheme', String(req.url), 'not a URL; the page was skipped');
    }
    const seen = new Set<string>();
    try {
      for (let hop = 0; ; hop++) {
        const problem = checkUrl(url, req.allowedHosts, hop > 0);
        if (problem) return problem;
        seen.add(withoutHash(url));
        const target = await resolveTarget(url, lookupAll, allowPrivate, signal);
        if ('kind' in target) return target;
        const headers: OutgoingHttpHeaders = {
          'user-agent': userAgent,
          accept: [...req.accept, '*/*;q=0.1'].join(', '),
          'accept-encoding': 'gzip, deflate, br',
        };
        if (req.etag) headers['if-none-match'] = req.etag;
        if (req.lastModified) headers['if-modified-since'] = req.lastModified;
        const res = await send(url, headers, target, signal);
        const status = res.statusCode ?? 0;
        if (redirectStatuses.has(status)) {
          res.destroy();
          const location = res.headers.location;
          if (!location) return refuse('http-status', url, `redirect (HTTP ${status}) without a Location; the page was skipped`, status);
          let next: URL;
          try {
            next = new URL(location, url);
          } catch {
            return refuse('bad-scheme', url, `redirects to ${JSON.stringify(location)}, which is not a URL; the page was skipped`);
          }
          if (seen.has(withoutHash(next))) return refuse('redirect-loop', url, `redirects back to ${withoutHash(next)}, a loop; the page was skipped`);
          if (hop + 1 > settings.maxRedirects) return refuse('too-many-redirects', url, `more than ${settings.maxRedirects} redirects (next: ${withoutHash(next)}); the page was skipped`);
          url = next;
          continue;
        }
        if (status === 304 && (req.etag || req.lastModified)) {
          res.destroy();
          return { kind: 'not-modified', url: withoutHash(url) };
        }
        if (status < 200 || status > 299) {
          res.destroy();
          return refuse('http-status', url, `answered HTTP ${status}; the page was skipped`, status);
        }
        const contentTypeHeader = headerValue(res.headers['content-type']);
        const mediaType = mediaTypeOf(contentTypeHeader);
        if (!req.accept.some((accepted) => mediaTypeMatches(accepted, mediaType))) {
          res.destroy();
          return refuse('wrong-content-type', url, `is ${mediaType || 'without a Content-Type'}, not ${req.accept.join(' or ')}; the page was skipped`);
        }
        const declared = Number(res.headers['content-length'] ?? Number.NaN);
        const encodings = contentEncodings(res.headers['content-encoding']);
        if (encodings.length === 0 && Number.isFinite(declared) && declared > maxBytes) {
          res.destroy();
          return refuse('too-large', url, `body of ${formatBytes(declared)} exceeds ${formatBytes(maxBytes)}; the page was skipped`);
        }
        const decoders: Transform[] = [];
        for (const encoding of encodings.toReversed()) {
          const decoder = decoderFor(encoding);
          if (!decoder) {
            res.destroy();
            return refuse('wrong-content-type', url, `is encoded with ${encoding}, which was not asked for; the page was skipped`);
          }
          decoders.push(decoder);
        }
        const body = await readCapped(res, decoders, maxBytes);
        if (!body.ok) {
          return refuse('too-large', url, `body exceeded ${formatBytes(maxBytes)}${encodings.length ? ' after decoding' : ''}; the page was skipped`);
        }
        return {
          kind: 'raw',
          url: withoutHash(url),
          status,
          mediaType,
          contentTypeHeader,
          body: body.bytes,
          etag: headerValue(res.headers.etag),
          lastModified: headerValue(res.headers['last-modified']),
        };
      }
    } catch (error) {
      if (req.signal?.aborted) throw req.signal.reason;
      if (timer.signal.aborted) return refuse('timeout', url, `no complete answer within ${timeoutMs} ms; the page was skipped`);
      return refuse('network', url, `${networkText(error)}; the page was skipped`);
    } finally {
      clearTimeout(timeout);
    }
  }

  return {
    userAgent,
    async fetchText(req) {
      const raw = await fetchRaw(req);
      if (raw.kind !== 'raw') return raw;
      if (raw.mediaType.startsWith('image/')) {
        const problem = checkImage(raw, req.accept);
        if (problem) return problem;
      }
      const { text, charset } = decodeText(raw.body, raw.contentTypeHeader, raw.mediaType);
      return { kind: 'ok', url: raw.url, status: raw.status, contentType: raw.mediaType, text, charset, etag: raw.etag, lastModified: raw.lastModified };
    },
    async fetchBytes(req) {
      const raw = await fetchRaw(req);
      if (raw.kind !== 'raw') return raw;
      let contentType = raw.mediaType;
      if (raw.mediaType.startsWith('image/')) {
        const problem = checkImage(raw, req.accept);
        if (problem) return problem;
        contentType = sniffImage(raw.body) ?? contentType;
      }
      return { kind: 'ok', url: raw.url, status: raw.status, contentType, bytes: raw.body, etag: raw.etag, lastModified: raw.lastModified };
    },
  };
}

/** A 2xx answer read whole, before it is decoded for the caller. */
interface Raw {
  readonly kind: 'raw';
  readonly url: string;
  readonly status: number;
  readonly mediaType: string;
  readonly contentTypeHeader: string | undefined;
  readonly body: Buffer;
  readonly etag: string | undefined;
  readonly lastModified: string | undefined;
}

function refuse(reason: PageRefusalReason, url: URL | string, what: string, status?: number): PageRefusal {
  const shown = typeof url === 'string' ? url : withoutHash(url);
  return { kind: 'refused', reason, message: `${shown}: ${what}`, url: shown, ...(status === undefined ? {} : { status }) };
}

function checkUrl(url: URL, allowed: HostAllowList, redirected: boolean): PageRefusal | undefined {
  const via = redirected ? 'redirected to ' : '';
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return refuse('bad-scheme', url, `${via}a ${url.protocol.replace(/:$/, '')}: address; only http and https are fetched; the page was skipped`);
  }
  if (!isHostAllowed(url, allowed)) {
    return refuse('host-not-allowed', url, `${via}host ${url.host}, which is not in the allowed hosts; the page was skipped`);
  }
  return undefined;
}

/**
 * Whether `url` may be fetched under `allowed`: a string matches the hostname (any port),
 * the host with its port when it has one, and `*.example` any subdomain of example.
 */
export function isHostAllowed(url: URL, allowed: HostAllowList): boolean {
  if (typeof allowed === 'function') return allowed(url);
  const hostname = url.hostname.toLowerCase().replace(/\.$/, '');
  const host = url.host.toLowerCase();
  return allowed.some((entry) => {
    const e = entry.toLowerCase().replace(/\.$/, '');
    if (e.startsWith('*.')) return hostname.endsWith(e.slice(1));
    return e === hostname || e === host;
  });
}

type Target = { address: string; family: number };

/**
 * The address to connect to: an IP literal as is, a name through DNS. Unless private
 * addresses are allowed, every address the name has must be public: a name that also
 * resolves to 127.0.0.1 is refused rather than tried on its other addresses.
 */
async function resolveTarget(url: URL, lookupAll: LookupAll, allowPrivate: boolean, signal: AbortSignal): Promise<Target | PageRefusal> {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const literal = isIP(host);
  if (literal) {
    const kind = allowPrivate ? undefined : privateAddressKind(host);
    if (kind) return refuse('private-address', url, `${host} is a ${kind} address; only public addresses are fetched; the page was skipped`);
    return { address: host, family: literal };
  }
  const name = host.toLowerCase().replace(/\.$/, '');
  if (!allowPrivate && (name === 'localhost' || name.endsWith('.localhost'))) {
    return refuse('private-address', url, `${name} is this machine (loopback); only public addresses are fetched; the page was skipped`);
  }
  let addresses: readonly { address: string; family: number }[];
  try {
    addresses = await untilAborted(lookupAll(name), signal);
  } catch (error) {
    if (signal.aborted) throw error;
    return refuse('network', url, `could not resolve ${name} (${networkText(error)}); the page was skipped`);
  }
  const first = addresses[0];
  if (!first) return refuse('network', url, `${name} has no address; the page was skipped`);
  if (!allowPrivate) {
    for (const { address } of addresses) {
      const kind = privateAddressKind(address);
      if (kind) return refuse('private-address', url, `${name} resolves to ${address}, a ${kind} address; only public addresses are fetched; the page was skipped`);
    }
  }
  return { address: first.address, family: first.family === 6 || isIP(first.address) === 6 ? 6 : 4 };
}

/** `promise`, or a rejection as soon as `signal` aborts (a DNS lookup cannot be cancelled, only left). */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error as Error);
      },
    );
  });
}

const ipv4Ranges: [string, number, string][] = [
  ['0.0.0.0', 8, 'unspecified'],
  ['10.0.0.0', 8, 'private'],
  ['100.64.0.0', 10, 'private (shared, carrier-grade NAT)'],
  ['127.0.0.0', 8, 'loopback'],
  ['169.254.0.0', 16, 'link-local'],
  ['172.16.0.0', 12, 'private'],
  ['192.0.0.0', 24, 'reserved'],
  ['192.0.2.0', 24, 'documentation'],
  ['192.88.99.0', 24, 'reserved'],
  ['192.168.0.0', 16, 'private'],
  ['198.18.0.0', 15, 'reserved (benchmarking)'],
  ['198.51.100.0', 24, 'documentation'],
  ['203.0.113.0', 24, 'documentation'],
  ['224.0.0.0', 4, 'multicast'],
  ['240.0.0.0', 4, 'reserved'],
];
const ipv6Ranges: [string, number, string][] = [
  ['::', 128, 'unspecified'],
  ['::1', 128, 'loopback'],
  // IPv4-compatible (deprecated): nothing public lives there.
  ['::', 96, 'reserved'],
  ['64:ff9b:1::', 48, 'private (local NAT64)'],
  ['100::', 64, 'reserved (discard)'],
  ['2001:db8::', 32, 'documentation'],
  // 6to4 and Teredo embed an IPv4 address we would have to check; neither is used by shops.
  ['2002::', 16, 'reserved (6to4)'],
  ['2001::', 32, 'reserved (Teredo)'],
  ['fc00::', 7, 'unique-local'],
  ['fe80::', 10, 'link-local'],
  ['fec0::', 10, 'site-local'],
  ['ff00::', 8, 'multicast'],
];
const ipv4Lists = ipv4Ranges.map(([net, prefix, kind]) => {
  const list = new BlockList();
  list.addSubnet(net, prefix, 'ipv4');
  return { list, kind };
});
const ipv6Lists = ipv6Ranges.map(([net, prefix, kind]) => {
  const list = new BlockList();
  list.addSubnet(net, prefix, 'ipv6');
  return { list, kind };
});

/**
 * What kind of non-public address `address` is (`loopback`, `private`, `link-local`,
 * `unique-local`, `multicast`, `unspecified`, …), or undefined for a public one. IPv4-mapped
 * IPv6 (`::ffff:127.0.0.1`) and NAT64 (`64:ff9b::7f00:1`) addresses are judged by their IPv4 part.
 */
export function privateAddressKind(address: string): string | undefined {
  const bare = address.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  const family = isIP(bare);
  if (family === 4) return ipv4Lists.find(({ list }) => list.check(bare, 'ipv4'))?.kind;
  if (family !== 6) return 'unreadable';
  const embedded = embeddedIpv4(bare);
  if (embedded) return privateAddressKind(embedded);
  return ipv6Lists.find(({ list }) => list.check(bare, 'ipv6'))?.kind;
}

/** The IPv4 address inside an IPv4-mapped (::ffff:0:0/96) or NAT64 (64:ff9b::/96) address. */
function embeddedIpv4(ipv6: string): string | undefined {
  const groups = expandIpv6(ipv6);
  if (!groups) return undefined;
  const mapped = groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff;
  const nat64 = groups[0] === 0x64 && groups[1] === 0xff9b && groups.slice(2, 6).every((g) => g === 0);
  if (!mapped && !nat64) return undefined;
  const hi = groups[6] ?? 0;
  const lo = groups[7] ?? 0;
  return `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;
}

function expandIpv6(address: string): number[] | undefined {
  let text = address.toLowerCase();
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted?.[1]) {
    const [a, b, c, d] = dotted[1].split('.').map(Number) as [number, number, number, number];
    text = `${text.slice(0, -dotted[1].length)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const parse = (part: string) => (part === '' ? [] : part.split(':').map((g) => Number.parseInt(g, 16)));
  const left = parse(head);
  const right = tail === undefined ? [] : parse(tail);
  const fill = 8 - left.length - right.length;
  if (fill < 0 || (tail === undefined && fill !== 0)) return undefined;
  return [...left, ...Array<number>(fill).fill(0), ...right];
}

function send(url: URL, headers: OutgoingHttpHeaders, target: Target, signal: AbortSignal): Promise<IncomingMessage> {
  // The connection goes to the address we checked, whatever DNS says by now.
  const pinned: LookupFunction = (_hostname, opts, callback) => {
    if (opts.all) (callback as (e: null, a: { address: string; family: number }[]) => void)(null, [{ address: target.address, family: target.family }]);
    else callback(null, target.address, target.family);
  };
  return new Promise((resolve, reject) => {
    const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
    // No shared agent: no pooled socket outlives the call or carries one site's connection into another's.
    const req = request(url, { method: 'GET', headers, signal, lookup: pinned, agent: false }, resolve);
    req.on('error', reject);
    req.end();
  });
}

/** Reads the body through its decoders, stopping as soon as the decoded bytes pass `maxBytes`. */
async function readCapped(res: IncomingMessage, decoders: Transform[], maxBytes: number): Promise<{ ok: true; bytes: Buffer } | { ok: false }> {
  const chunks: Buffer[] = [];
  let size = 0;
  let over = false;
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      size += chunk.byteLength;
      if (size > maxBytes) {
        over = true;
        done(new Error('too large'));
        return;
      }
      chunks.push(chunk);
      done();
    },
  });
  try {
    // pipeline destroys the response (and so the socket) and every decoder when the sink stops.
    await pipeline([res, ...decoders, sink]);
  } catch (error) {
    if (over) return { ok: false };
    throw error;
  }
  return { ok: true, bytes: Buffer.concat(chunks) };
}

function decoderFor(encoding: string): Transform | undefined {
  switch (encoding) {
    case 'gzip':
    case 'x-gzip':
      return createGunzip();
    case 'deflate':
      return createInflate();
    case 'br':
      return createBrotliDecompress();
    default:
      return undefined;
  }
}

function contentEncodings(header: string | undefined): string[] {
  return (header ?? '')
    .split(',')
    .map((e) => e.trim().toLowerCase())
    .filter((e) => e && e !== 'identity');
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function mediaTypeOf(header: string | undefined): string {
  return (header ?? '').split(';')[0]!.trim().toLowerCase();
}

function mediaTypeMatches(accepted: string, actual: string): boolean {
  const a = accepted.toLowerCase();
  if (a === '*/*') return true;
  if (!actual) return false;
  if (a.endsWith('/*')) return actual.startsWith(a.slice(0, -1));
  return a === actual;
}

/** An image must look like one of the accepted image types, whatever its header claims. */
function checkImage(raw: Raw, accept: readonly string[]): PageRefusal | undefined {
  const sniffed = sniffImage(raw.body);
  if (!sniffed) return refuse('wrong-content-type', raw.url, `claims to be ${raw.mediaType} but its bytes are not a JPEG, PNG, GIF, WebP or AVIF image; the page was skipped`);
  if (!accept.some((a) => mediaTypeMatches(a, sniffed))) return refuse('wrong-content-type', raw.url, `claims to be ${raw.mediaType} but is ${sniffed}, not ${accept.join(' or ')}; the page was skipped`);
  return undefined;
}

/** The image type the first bytes show, or undefined when they are not an image we know. */
export function sniffImage(bytes: Uint8Array): string | undefined {
  const starts = (sig: number[], at = 0) => sig.every((b, i) => bytes[at + i] === b);
  const ascii = (text: string, at: number) => starts([...text].map((c) => c.charCodeAt(0)), at);
  if (starts([0xff, 0xd8, 0xff])) return 'image/jpeg';
  if (starts([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'image/png';
  if (ascii('GIF87a', 0) || ascii('GIF89a', 0)) return 'image/gif';
  if (ascii('RIFF', 0) && ascii('WEBP', 8)) return 'image/webp';
  if (ascii('ftyp', 4)) {
    // The major brand and the compatible brands follow `ftyp`, four bytes each.
    const boxSize = Math.min(((bytes[0] ?? 0) << 24) | ((bytes[1] ?? 0) << 16) | ((bytes[2] ?? 0) << 8) | (bytes[3] ?? 0), bytes.length, 64);
    for (let at = 8; at + 4 <= boxSize; at += 4) if (ascii('avif', at) || ascii('avis', at)) return 'image/avif';
  }
  return undefined;
}

/**
 * Decodes a text body as browsers do: a byte-order mark first, then the Content-Type charset,
 * then a `<meta charset>` / `<meta http-equiv>` (or an XML declaration) in the first 1024
 * bytes, else UTF-8. Unknown labels fall through to the next source.
 */
export function decodeText(bytes: Uint8Array, contentTypeHeader: string | undefined, mediaType = mediaTypeOf(contentTypeHeader)): { text: string; charset: string } {
  const bom = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 'utf-8' : bytes[0] === 0xfe && bytes[1] === 0xff ? 'utf-16be' : bytes[0] === 0xff && bytes[1] === 0xfe ? 'utf-16le' : undefined;
  const fromHeader = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(contentTypeHeader ?? '')?.[1];
  const head = Buffer.from(bytes.subarray(0, 1024)).toString('latin1');
  const markup = mediaType.includes('html') || mediaType.includes('xml') || mediaType === '';
  const fromMeta = markup ? (/<meta[^>]*?charset\s*=\s*["']?\s*([\w.:-]+)/i.exec(head)?.[1] ?? /^\s*<\?xml[^>]*encoding\s*=\s*["']([\w.:-]+)/i.exec(head)?.[1]) : undefined;
  for (const [label, source] of [
    [bom, 'bom'],
    [fromHeader, 'header'],
    [fromMeta, 'meta'],
  ] as const) {
    if (!label) continue;
    const decoder = decoderForLabel(label);
    if (!decoder) continue;
    // A page cannot declare UTF-16 from inside itself: its bytes were read as ASCII to find the tag.
    if (source === 'meta' && decoder.encoding.startsWith('utf-16')) break;
    return { text: decoder.decode(bytes), charset: decoder.encoding };
  }
  return { text: new TextDecoder('utf-8').decode(bytes), charset: 'utf-8' };
}

function decoderForLabel(label: string): TextDecoder | undefined {
  try {
    return new TextDecoder(label);
  } catch {
    return undefined;
  }
}

function withoutHash(url: URL): string {
  const copy = new URL(url);
  copy.hash = '';
  return copy.toString();
}

function formatBytes(n: number): string {
  if (n >= MiB && n % MiB === 0) return `${n / MiB} MiB`;
  if (n >= 1024 && n % 1024 === 0) return `${n / 1024} KiB`;
  return `${n} bytes`;
}

function networkText(error: unknown): string {
  let e: unknown = error;
  while (e instanceof Error && e.cause instanceof Error) e = e.cause;
  const code = (e as { code?: unknown } | undefined)?.code;
  const message = e instanceof Error ? e.message : String(e);
  return typeof code === 'string' && !message.includes(code) ? `${code}: ${message}` : message;
}

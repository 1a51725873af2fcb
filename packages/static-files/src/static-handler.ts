import { createReadStream, promises as fs } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream';
import { BodyCache } from './body-cache.ts';
import { assetPolicy, baseSecurityHeaders, htmlPolicy, inlineScriptHashes } from './csp.ts';
import { negotiateEncoding, type Encoding } from './encoding.ts';
import { parseRange } from './range.ts';
import { parseRequestTarget } from './request-path.ts';
import { indexStaticFiles, type IndexOptions, type StaticFile, type StaticIndex } from './static-index.ts';

export interface StaticHandlerOptions extends IndexOptions {
  /** The release's client folder (Astro's static output). */
  root: string;
  /** Memory for file bodies (default 64 MiB); files not kept are read from disk. */
  cacheBytes?: number;
  /** Largest body kept in memory (default 1 MiB); larger files are streamed. */
  maxCachedFileBytes?: number;
  /** Told about a file that could not be read (the request gets a 500). */
  onError?: (error: unknown, path: string) => void;
  /** An index made already (`patchStaticIndex`) instead of walking `root`. */
  index?: StaticIndex;
  /** The release served, sent as `X-Rose-Release` with every file (deploy checks, debugging). */
  release?: string;
}

export interface StaticHandler {
  /**
   * Answers `req` when it is for a file of the release (or a folder of one, or uses a method
   * no route takes) and returns true; returns false, having written nothing, for everything
   * else (on-demand routes, islands), which the caller passes on.
   */
  handle(req: IncomingMessage, res: ServerResponse): boolean;
  /** Number of files served (variants not counted). */
  readonly fileCount: number;
  readonly root: string;
  readonly index: StaticIndex;
}

/** Methods some route may take; anything else is refused before any route sees it. */
export const routeMethods: ReadonlySet<string> = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
const routeMethodList = [...routeMethods].join(', ');
// Methods `fetch`'s Request refuses (Astro would answer them with a 500).
const forbiddenMethods = new Set(['TRACE', 'TRACK', 'CONNECT']);

const security = Object.entries(baseSecurityHeaders).flat();

interface Representation {
  encoding: Encoding;
  abs: string;
  size: number;
  etag: string;
  /** Flat header list of the 200 response (for `writeHead`). */
  ok: string[];
  /** Headers that are the same on 200, 206 and 304 (validators, caching, security). */
  common: string[];
}

interface Entry {
  file: StaticFile;
  /** Set when the page is the redirect `astro build` writes (a meta refresh): answered as one. */
  redirect?: { status: 301 | 302; location: string };
  reps?: { identity: Representation; br?: Representation; gzip?: Representation };
  etags?: Set<string>;
  preparing?: Promise<void>;
}

/**
 * Serves the files of one release from an index built once (see `indexStaticFiles`), with
 * precompressed variants chosen by `Accept-Encoding`, `ETag`/`If-None-Match` and
 * `If-Modified-Since` (304), single byte ranges (206/416), HEAD, caching rules (a year and
 * `immutable` for hashed assets, revalidation for pages), security headers on every answer
 * (a per-page CSP allowing exactly the page's inline scripts), `/folder` → 301 `/folder/`,
 * 405 for other methods on files, and 405/501 for methods no route takes (any path).
 *
 * @example
 * const statics = await createStaticHandler({ root: 'dist/current/client' });
 * http.createServer((req, res) => statics.handle(req, res) || astroHandler(req, res));
 */
export async function createStaticHandler(opts: StaticHandlerOptions): Promise<StaticHandler> {
  const index = opts.index ?? (await indexStaticFiles(opts.root, opts));
  const releaseHeader = opts.release ? ['X-Rose-Release', opts.release] : [];
  const entries = new Map<string, Entry>();
  const byFile = new Map<StaticFile, Entry>();
  for (const [urlPath, file] of index.files) {
    let entry = byFile.get(file);
    if (!entry) byFile.set(file, (entry = { file }));
    entries.set(urlPath, entry);
  }
  const cache = new BodyCache(opts.cacheBytes ?? 64 * 1024 * 1024, opts.maxCachedFileBytes ?? 1024 * 1024);
  const loading = new Map<string, Promise<Buffer>>();
  const onError = opts.onError ?? ((error: unknown) => console.error(error));

  const readBody = (abs: string): Promise<Buffer> => {
    let pending = loading.get(abs);
    if (!pending) {
      pending = fs.readFile(abs).then(
        (body) => {
          loading.delete(abs);
          cache.set(abs, body);
          return body;
        },
        (error: unknown) => {
          loading.delete(abs);
          throw error;
        },
      );
      loading.set(abs, pending);
    }
    return pending;
  };

  const prepare = (entry: Entry): Promise<void> | undefined => {
    if (entry.reps) return undefined;
    if (!entry.file.html) {
      finishPreparing(entry, assetPolicy, releaseHeader);
      return undefined;
    }
    // A page's policy names its inline scripts: read it once (and keep it when it fits).
    entry.preparing ??= fs.readFile(entry.file.abs).then((body) => {
      cache.set(entry.file.abs, body);
      const text = body.toString('utf8');
      const redirect = body.length <= maxRedirectPageBytes ? redirectOf(text) : undefined;
      if (redirect) entry.redirect = redirect;
      finishPreparing(entry, htmlPolicy(inlineScriptHashes(text)), releaseHeader);
    });
    return entry.preparing;
  };

  const fail = (res: ServerResponse, error: unknown, file: StaticFile) => {
    onError(error, file.rel);
    if (!res.headersSent) sendPlain(res, 500, 'Internal error', []);
    else res.destroy();
  };

  const serve = (req: IncomingMessage, res: ServerResponse, entry: Entry, head: boolean): void => {
    if (entry.redirect) {
      const query = req.url && req.url.includes('?') && !entry.redirect.location.includes('?') ? req.url.slice(req.url.indexOf('?')) : '';
      sendPlain(res, entry.redirect.status, entry.redirect.status === 301 ? 'Moved permanently' : 'Found', ['Location', entry.redirect.location + query, 'Cache-Control', 'public, max-age=3600']);
      return;
    }
    const reps = entry.reps!;
    const headers = req.headers;
    const range = head ? undefined : headers.range;
    const accept = headers['accept-encoding'];
    let rep = reps.identity;
    if (range === undefined && accept !== undefined && (reps.br || reps.gzip)) {
      const encoding = negotiateEncoding(accept, { br: !!reps.br, gzip: !!reps.gzip });
      if (encoding !== 'identity') rep = reps[encoding]!;
    }
    const inm = headers['if-none-match'];
    if (inm !== undefined ? matchesEtag(inm, rep.etag, entry.etags!) : notModifiedSince(headers['if-modified-since'], entry.file.mtimeMs)) {
      res.writeHead(304, rep.common);
      res.end();
      return;
    }
    if (range !== undefined && ifRangeHolds(headers['if-range'] as string | undefined, entry.file)) {
      const r = parseRange(range, rep.size);
      if (r.kind === 'unsatisfiable') {
        sendPlain(res, 416, 'Range not satisfiable', ['Content-Range', `bytes */${rep.size}`]);
        return;
      }
      if (r.kind === 'range') {
        const partial = ['Content-Type', entry.file.contentType, 'Content-Length', String(r.end - r.start + 1), 'Content-Range', `bytes ${r.start}-${r.end}/${rep.size}`, ...rep.common];
        sendBody(res, 206, partial, rep, entry.file, r.start, r.end);
        return;
      }
    }
    if (head) {
      res.writeHead(200, rep.ok);
      res.end();
      return;
    }
    sendBody(res, 200, rep.ok, rep, entry.file);
  };

  const sendBody = (res: ServerResponse, status: number, headers: string[], rep: Representation, file: StaticFile, start?: number, end?: number): void => {
    const cached = cache.get(rep.abs);
    if (cached) {
      res.writeHead(status, headers);
      res.end(start === undefined ? cached : cached.subarray(start, end! + 1));
      return;
    }
    if (rep.size <= cache.maxBodyBytes) {
      readBody(rep.abs).then(
        (body) => {
          res.writeHead(status, headers);
          res.end(start === undefined ? body : body.subarray(start, end! + 1));
        },
        (error: unknown) => fail(res, error, file),
      );
      return;
    }
    const stream = createReadStream(rep.abs, start === undefined ? {} : { start, end });
    stream.once('open', () => res.writeHead(status, headers));
    pipeline(stream, res, (error) => {
      if (error && (error as NodeJS.ErrnoException).code !== 'ERR_STREAM_PREMATURE_CLOSE') fail(res, error, file);
    });
  };

  return {
    root: opts.root,
    index,
    fileCount: byFile.size,
    handle(req, res) {
      const method = req.method ?? 'GET';
      const readOnly = method === 'GET' || method === 'HEAD';
      if (!readOnly && !routeMethods.has(method)) {
        if (forbiddenMethods.has(method)) sendPlain(res, 405, 'Method not allowed', ['Allow', routeMethodList]);
        else sendPlain(res, 501, 'Method not implemented', []);
        return true;
      }
      const target = parseRequestTarget(req.url);
      if (target.kind === 'other') return false;
      if (target.kind === 'bad') {
        sendPlain(res, 400, 'Bad request', []);
        return true;
      }
      const entry = entries.get(target.path);
      if (!entry) {
        if (!index.folders.has(target.path)) return false;
        if (!readOnly) sendPlain(res, 405, 'Method not allowed', ['Allow', 'GET, HEAD']);
        else sendPlain(res, 301, 'Moved permanently', ['Location', encodeURI(`${target.path}/`) + target.query, 'Cache-Control', 'public, max-age=3600']);
        return true;
      }
      if (!readOnly) {
        sendPlain(res, 405, 'Method not allowed', ['Allow', 'GET, HEAD']);
        return true;
      }
      const head = method === 'HEAD';
      const preparing = prepare(entry);
      if (!preparing) serve(req, res, entry, head);
      else
        preparing.then(
          () => serve(req, res, entry, head),
          (error: unknown) => {
            entry.preparing = undefined;
            fail(res, error, entry.file);
          },
        );
      return true;
    },
  };
}

const maxRedirectPageBytes = 1024;
// `redirectTemplate` of astro/dist/core/routing/3xx.js (with or without its line breaks):
// a delay of 0 for permanent redirects, 2 for 302.
const astroRedirectPage = /^<!doctype html>\s*<title>Redirecting to: [^<]*<\/title>\s*<meta http-equiv="refresh" content="(\d+);url=([^"]+)">/;
const htmlEntities: Record<string, string> = { '&amp;': '&', '&lt;': '<', '&gt;': '>', '&quot;': '"', '&#39;': "'", '&#x27;': "'" };

/** Where a redirect page written by `astro build` (or the warm renderer) points, if it is one. */
export function redirectOf(html: string): { status: 301 | 302; location: string } | undefined {
  const m = astroRedirectPage.exec(html);
  if (!m) return undefined;
  const location = m[2]!.replace(/&(?:amp|lt|gt|quot|#39|#x27);/g, (e) => htmlEntities[e]!);
  // Only paths on this site: a meta refresh elsewhere is left to the browser.
  if (!location.startsWith('/') || location.startsWith('//')) return undefined;
  return { status: m[1] === '0' ? 301 : 302, location };
}

function finishPreparing(entry: Entry, policy: string, releaseHeader: readonly string[]): void {
  const f = entry.file;
  const vary = f.br || f.gzip ? ['Vary', 'Accept-Encoding'] : [];
  const make = (encoding: Encoding, abs: string, size: number, etag: string): Representation => {
    const common = ['ETag', etag, 'Last-Modified', f.lastModified, 'Cache-Control', f.cacheControl, 'Accept-Ranges', 'bytes', ...vary, ...security, 'Content-Security-Policy', policy, ...releaseHeader];
    const ok = ['Content-Type', f.contentType, 'Content-Length', String(size), ...(encoding === 'identity' ? [] : ['Content-Encoding', encoding]), ...common];
    return { encoding, abs, size, etag, ok, common };
  };
  const tag = (suffix: string) => `${f.etag.slice(0, -1)}-${suffix}"`;
  entry.reps = {
    identity: make('identity', f.abs, f.size, f.etag),
    ...(f.br ? { br: make('br', f.br.abs, f.br.size, tag('br')) } : {}),
    ...(f.gzip ? { gzip: make('gzip', f.gzip.abs, f.gzip.size, tag('gz')) } : {}),
  };
  entry.etags = new Set([entry.reps.identity.etag, entry.reps.br?.etag, entry.reps.gzip?.etag].filter((t): t is string => !!t));
}

/** `If-None-Match` (weak comparison, RFC 9110 §13.1.2): any representation of this file still held counts. */
function matchesEtag(header: string, current: string, all: Set<string>): boolean {
  if (header === current) return true;
  for (const raw of header.split(',')) {
    const tag = raw.trim();
    if (tag === '*') return true;
    if (all.has(tag.startsWith('W/') ? tag.slice(2) : tag)) return true;
  }
  return false;
}

function notModifiedSince(header: string | undefined, mtimeMs: number): boolean {
  if (header === undefined) return false;
  const since = Date.parse(header);
  return Number.isFinite(since) && Math.floor(mtimeMs / 1000) * 1000 <= since;
}

/** `If-Range`: the range applies only to the representation the client already has part of. */
function ifRangeHolds(header: string | undefined, file: StaticFile): boolean {
  if (header === undefined) return true;
  const h = header.trim();
  if (h.startsWith('"') || h.startsWith('W/')) return h === file.etag;
  return Date.parse(h) === Math.floor(file.mtimeMs / 1000) * 1000;
}

function sendPlain(res: ServerResponse, status: number, message: string, headers: string[]): void {
  const body = `${message}\n`;
  res.writeHead(status, [
    'Content-Type',
    'text/plain; charset=utf-8',
    'Content-Length',
    String(Buffer.byteLength(body)),
    ...security,
    ...(headers.includes('Content-Security-Policy') ? [] : ['Content-Security-Policy', assetPolicy]),
    ...headers,
  ]);
  res.end(body);
}

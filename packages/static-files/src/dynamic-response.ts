import { STATUS_CODES, type IncomingMessage, type OutgoingHttpHeader, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import zlib from 'node:zlib';
import { isCompressibleType } from './content-types.ts';
import { baseSecurityHeaders, defaultDynamicPolicy } from './csp.ts';
import { negotiateEncoding } from './encoding.ts';

export interface DynamicResponseOptions {
  /** Bodies shorter than this go uncompressed (default 1024 bytes). */
  threshold?: number;
}

type Chunk = string | Uint8Array;
type Callback = (error?: Error | null) => void;
interface Held {
  body: Buffer;
  callback: Callback | undefined;
}

/**
 * Prepares `res` for a response rendered on demand (islands, on-demand pages, endpoints, the
 * OpenID provider): the security headers it did not set itself (nosniff, referrer policy, a
 * framing/`<base>` policy), and compression on the fly (brotli or gzip, as the client
 * accepts) of compressible types, streamed: what the renderer writes in one go is flushed to
 * the client when it pauses, so a streamed page still arrives as it renders. Bodies of known
 * or final length under `threshold`, HEAD, 204/206/304, `Cache-Control: no-transform` and
 * already-encoded responses go as they are.
 *
 * Call it before handing `res` to the handler; it patches `writeHead`, `write` and `end` of
 * this one response and gives the originals back once it knows the body stays as it is.
 */
export function prepareDynamicResponse(req: IncomingMessage, res: ServerResponse, opts: DynamicResponseOptions = {}): void {
  const threshold = opts.threshold ?? 1024;
  const encoding = req.method === 'HEAD' ? 'identity' : negotiateEncoding(req.headers['accept-encoding'], { br: true, gzip: true });
  const original = {
    writeHead: res.writeHead,
    write: res.write as (this: ServerResponse, chunk: Chunk, ...rest: unknown[]) => boolean,
    end: res.end as (this: ServerResponse, ...rest: unknown[]) => ServerResponse,
    flushHeaders: res.flushHeaders,
  };
  let state: 'open' | 'held' | 'plain' | 'compressed' = 'open';
  let held: Held[] = [];
  let heldBytes = 0;
  let heldTimer: NodeJS.Immediate | undefined;
  let stream: zlib.BrotliCompress | zlib.Gzip | undefined;
  let flushQueued = false;

  const restore = () => {
    res.writeHead = original.writeHead;
    res.write = original.write as typeof res.write;
    res.end = original.end as typeof res.end;
    res.flushHeaders = original.flushHeaders;
  };

  const decide = () => {
    for (const [name, value] of Object.entries(baseSecurityHeaders)) if (!res.hasHeader(name)) res.setHeader(name, value);
    if (!res.hasHeader('content-security-policy')) res.setHeader('Content-Security-Policy', defaultDynamicPolicy);
    const status = res.statusCode;
    if (status < 200 || status === 204 || status === 206 || status === 304 || req.method === 'HEAD' || res.hasHeader('content-encoding')) return goPlain();
    if (!isCompressibleType(headerText(res.getHeader('content-type')))) return goPlain();
    addVary(res);
    if (encoding === 'identity' || /\bno-transform\b/i.test(headerText(res.getHeader('cache-control')))) return goPlain();
    const length = res.getHeader('content-length');
    if (length !== undefined) return Number(length) >= threshold ? goCompressed() : goPlain();
    state = 'held';
  };

  const goPlain = () => {
    state = 'plain';
    restore();
    original.writeHead.call(res, res.statusCode);
  };

  const goCompressed = () => {
    state = 'compressed';
    restore();
    res.removeHeader('content-length');
    res.removeHeader('accept-ranges');
    res.setHeader('Content-Encoding', encoding);
    const etag = res.getHeader('etag');
    if (typeof etag === 'string' && etag.startsWith('"')) res.setHeader('ETag', `W/${etag}`);
    original.writeHead.call(res, res.statusCode);
    const z =
      encoding === 'br'
        ? zlib.createBrotliCompress({ params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 4, [zlib.constants.BROTLI_PARAM_MODE]: zlib.constants.BROTLI_MODE_TEXT } })
        : zlib.createGzip({ level: 5 });
    stream = z;
    z.on('data', (chunk: Buffer) => {
      if (!original.write.call(res, chunk)) {
        z.pause();
        res.once('drain', () => z.resume());
      }
    });
    z.on('end', () => original.end.call(res));
    z.on('error', (error) => res.destroy(error));
    res.once('close', () => {
      if (!z.writableFinished) z.destroy();
    });
    res.write = compressedWrite as typeof res.write;
    res.end = compressedEnd as typeof res.end;
    res.flushHeaders = () => {};
    for (const h of held) z.write(h.body, h.callback);
    held = [];
    if (heldTimer) clearImmediate(heldTimer);
    queueFlush();
  };

  // Flush once the renderer pauses, not after every chunk: the chunks of one tick share a block.
  const queueFlush = () => {
    if (flushQueued) return;
    flushQueued = true;
    setImmediate(() => {
      flushQueued = false;
      const z = stream!;
      if (z.writableEnded || z.destroyed) return;
      if (encoding === 'br') (z as zlib.BrotliCompress).flush(zlib.constants.BROTLI_OPERATION_FLUSH);
      else (z as zlib.Gzip).flush(zlib.constants.Z_SYNC_FLUSH);
    });
  };

  function compressedWrite(chunk: Chunk, enc?: BufferEncoding | Callback, cb?: Callback): boolean {
    const callback = typeof enc === 'function' ? enc : cb;
    stream!.write(toBuffer(chunk, typeof enc === 'string' ? enc : undefined), callback);
    queueFlush();
    return true;
  }

  function compressedEnd(chunk?: Chunk | (() => void), enc?: BufferEncoding | (() => void), cb?: () => void): ServerResponse {
    const callback = [chunk, enc, cb].find((a) => typeof a === 'function') as (() => void) | undefined;
    if (callback) res.once('finish', callback);
    if (chunk !== undefined && typeof chunk !== 'function') stream!.write(toBuffer(chunk, typeof enc === 'string' ? enc : undefined));
    stream!.end();
    return res;
  }

  res.writeHead = function writeHead(statusCode: number, reason?: string | OutgoingHttpHeaders | OutgoingHttpHeader[], headers?: OutgoingHttpHeaders | OutgoingHttpHeader[]) {
    res.statusCode = statusCode;
    // Astro keeps the Response's default statusText ("OK") when a page only sets its status:
    // "HTTP/1.1 400 OK" would contradict itself, so a stale "OK" gives way to the status's phrase.
    if (typeof reason === 'string') res.statusMessage = reason === 'OK' && statusCode !== 200 ? (STATUS_CODES[statusCode] ?? '') : reason;
    applyHeaders(res, typeof reason === 'string' ? headers : reason);
    if (state === 'open') decide();
    return res;
  } as typeof res.writeHead;

  res.write = function write(chunk: Chunk, enc?: BufferEncoding | Callback, cb?: Callback): boolean {
    if (state === 'open') decide();
    if (state !== 'held') return res.write(chunk, enc as BufferEncoding, cb);
    const body = toBuffer(chunk, typeof enc === 'string' ? enc : undefined);
    held.push({ body, callback: typeof enc === 'function' ? enc : cb });
    heldBytes += body.length;
    if (heldBytes >= threshold) goCompressed();
    // The renderer paused below the threshold: what it wrote so far must not wait for the rest.
    else heldTimer ??= setImmediate(() => state === 'held' && goCompressed());
    return true;
  } as typeof res.write;

  res.end = function end(chunk?: Chunk | (() => void), enc?: BufferEncoding | (() => void), cb?: () => void): ServerResponse {
    if (state === 'open') {
      // The whole body is here: its length decides.
      if (chunk !== undefined && typeof chunk !== 'function' && !res.hasHeader('content-length')) {
        res.setHeader('Content-Length', toBuffer(chunk, typeof enc === 'string' ? enc : undefined).length);
      }
      decide();
    }
    if (state === 'held') {
      if (heldTimer) clearImmediate(heldTimer);
      const body = chunk !== undefined && typeof chunk !== 'function' ? toBuffer(chunk, typeof enc === 'string' ? enc : undefined) : undefined;
      const callback = [chunk, enc, cb].find((a) => typeof a === 'function') as (() => void) | undefined;
      if (body) {
        held.push({ body, callback: undefined });
        heldBytes += body.length;
      }
      if (heldBytes >= threshold) {
        goCompressed();
        return callback ? res.end(callback) : res.end();
      }
      state = 'plain';
      restore();
      res.setHeader('Content-Length', heldBytes);
      original.writeHead.call(res, res.statusCode);
      for (const h of held) original.write.call(res, h.body, h.callback);
      held = [];
      return callback ? original.end.call(res, callback) : original.end.call(res);
    }
    return res.end(chunk as Chunk, enc as BufferEncoding, cb);
  } as typeof res.end;

  res.flushHeaders = function flushHeaders() {
    if (state === 'open') decide();
    if (state === 'held') goCompressed();
    else original.flushHeaders.call(res);
  };
}

function toBuffer(chunk: Chunk, enc: BufferEncoding | undefined): Buffer {
  return typeof chunk === 'string' ? Buffer.from(chunk, enc ?? 'utf8') : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
}

function headerText(value: number | string | string[] | undefined): string {
  return value === undefined ? '' : Array.isArray(value) ? value.join(', ') : String(value);
}

function applyHeaders(res: ServerResponse, headers: OutgoingHttpHeaders | OutgoingHttpHeader[] | undefined): void {
  if (!headers) return;
  if (Array.isArray(headers)) {
    if (headers.length > 0 && Array.isArray(headers[0])) {
      for (const pair of headers as unknown as [string, string][]) res.appendHeader(pair[0], pair[1]);
    } else {
      for (let i = 0; i + 1 < headers.length; i += 2) res.appendHeader(String(headers[i]), headers[i + 1] as string | string[]);
    }
    return;
  }
  for (const [name, value] of Object.entries(headers)) if (value !== undefined) res.setHeader(name, value);
}

function addVary(res: ServerResponse): void {
  const vary = headerText(res.getHeader('vary'));
  if (vary.trim() === '*' || /(?:^|,)\s*accept-encoding\s*(?:,|$)/i.test(vary)) return;
  res.setHeader('Vary', vary ? `${vary}, Accept-Encoding` : 'Accept-Encoding');
}

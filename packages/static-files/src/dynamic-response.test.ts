import http from 'node:http';
import type { AddressInfo } from 'node:net';
import zlib from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { prepareDynamicResponse } from './dynamic-response.ts';

interface Reply {
  status: number;
  statusMessage: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

const bigHtml = `<!DOCTYPE html><html><body>${'<p>Bread, cheese and apples at the Saturday market.</p>'.repeat(100)}</body></html>`;

describe('prepareDynamicResponse', () => {
  let server: http.Server | undefined;
  afterEach(async () => {
    await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
    server = undefined;
  });

  const serve = async (handler: http.RequestListener) => {
    server = http.createServer((req, res) => {
      prepareDynamicResponse(req, res);
      handler(req, res);
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    return (server.address() as AddressInfo).port;
  };

  const request = (port: number, headers: Record<string, string> = {}, method = 'GET') =>
    new Promise<Reply>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, path: '/', method, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode!, statusMessage: res.statusMessage ?? '', headers: res.headers, body: Buffer.concat(chunks) }));
      });
      req.on('error', reject);
      req.end();
    });

  // Astro's writeResponse: writeHead with the headers, then the body in chunks, then end().
  const astroLike: http.RequestListener = async (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html', 'set-cookie': ['a=1', 'b=2'] });
    for (let i = 0; i < bigHtml.length; i += 500) {
      res.write(new TextEncoder().encode(bigHtml.slice(i, i + 500)));
      await Promise.resolve();
    }
    res.end();
  };

  it("gives a page that only set its status the status's own reason phrase, not Astro's stale OK", async () => {
    const port = await serve((_req, res) => void res.writeHead(400, 'OK', { 'content-type': 'text/plain' }).end('bad'));
    const res = await request(port);
    expect([res.status, res.statusMessage]).toEqual([400, 'Bad Request']);
  });

  it('compresses a streamed page with brotli when the client takes it', async () => {
    const port = await serve(astroLike);
    const res = await request(port, { 'Accept-Encoding': 'gzip, deflate, br' });
    expect(res.status).toBe(200);
    expect(res.headers['content-encoding']).toBe('br');
    expect(res.headers.vary).toBe('Accept-Encoding');
    expect(res.headers['content-length']).toBeUndefined();
    expect(res.headers['set-cookie']).toEqual(['a=1', 'b=2']);
    expect(zlib.brotliDecompressSync(res.body).toString()).toBe(bigHtml);
    expect(res.body.length).toBeLessThan(bigHtml.length / 5);
  });

  it('uses gzip for gzip-only clients and sends the body as it is to the others', async () => {
    const port = await serve(astroLike);
    const gz = await request(port, { 'Accept-Encoding': 'gzip' });
    expect(gz.headers['content-encoding']).toBe('gzip');
    expect(zlib.gunzipSync(gz.body).toString()).toBe(bigHtml);
    const plain = await request(port);
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.headers.vary).toBe('Accept-Encoding');
    expect(plain.body.toString()).toBe(bigHtml);
  });

  it('sends small bodies (an island) as they are, with their length', async () => {
    const port = await serve((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/html' });
      res.write('<nav class="account-menu"><a href="/auth/login">Sign in</a></nav>');
      res.end();
    });
    const res = await request(port, { 'Accept-Encoding': 'br' });
    expect(res.headers['content-encoding']).toBeUndefined();
    expect(res.headers['content-length']).toBe(String(res.body.length));
    expect(res.body.toString()).toContain('Sign in');
  });

  it('compresses a body set in one go (setHeader + end) when it is long enough', async () => {
    const json = JSON.stringify({ items: Array.from({ length: 200 }, (_, i) => ({ id: i, name: `item ${i}` })) });
    const port = await serve((_req, res) => {
      res.statusCode = 201;
      res.setHeader('Content-Type', 'application/json; charset=utf-8');
      res.setHeader('Content-Length', Buffer.byteLength(json));
      res.setHeader('ETag', '"v1"');
      res.end(json);
    });
    const res = await request(port, { 'Accept-Encoding': 'br' });
    expect(res.status).toBe(201);
    expect(res.headers['content-encoding']).toBe('br');
    expect(res.headers.etag).toBe('W/"v1"');
    expect(JSON.parse(zlib.brotliDecompressSync(res.body).toString())).toEqual(JSON.parse(json));
  });

  it('leaves alone types that do not compress, HEAD, 304, no-transform and encoded bodies', async () => {
    const png = Buffer.alloc(4096, 1);
    let port = await serve((req, res) => {
      if (req.method === 'HEAD') {
        res.writeHead(200, { 'Content-Type': 'text/html', 'Content-Length': '5000' });
        return res.end();
      }
      res.writeHead(200, { 'Content-Type': 'image/png' });
      res.end(png);
    });
    const image = await request(port, { 'Accept-Encoding': 'br' });
    expect(image.headers['content-encoding']).toBeUndefined();
    expect(image.headers.vary).toBeUndefined();
    expect(image.body).toEqual(png);
    const head = await request(port, { 'Accept-Encoding': 'br' }, 'HEAD');
    expect(head.headers['content-encoding']).toBeUndefined();
    expect(head.headers['content-length']).toBe('5000');
    await new Promise((resolve) => server!.close(resolve));

    port = await serve((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/html', 'Cache-Control': 'no-transform' });
      res.end(bigHtml);
    });
    expect((await request(port, { 'Accept-Encoding': 'br' })).headers['content-encoding']).toBeUndefined();
    await new Promise((resolve) => server!.close(resolve));

    const pre = zlib.gzipSync(bigHtml);
    port = await serve((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/html', 'Content-Encoding': 'gzip' });
      res.end(pre);
    });
    const encoded = await request(port, { 'Accept-Encoding': 'br, gzip' });
    expect(encoded.headers['content-encoding']).toBe('gzip');
    expect(encoded.body).toEqual(pre);
  });

  it('flushes what the renderer wrote when it pauses, so a streamed page arrives as it renders', async () => {
    let releaseRest!: () => void;
    const rest = new Promise<void>((resolve) => (releaseRest = resolve));
    const head = `<!DOCTYPE html><html><head><title>Account</title></head><body>${'<p>header</p>'.repeat(120)}`;
    const port = await serve(async (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
      res.write(head);
      await rest; // e.g. waiting for the database
      res.end('<p>the rest</p></body></html>');
    });
    const received = await new Promise<string>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, path: '/', headers: { 'Accept-Encoding': 'br' } }, (res) => {
        expect(res.headers['content-encoding']).toBe('br');
        const inflate = zlib.createBrotliDecompress();
        let text = '';
        inflate.on('data', (c: Buffer) => {
          text += c.toString();
          // The first part arrived while the handler still waits: only then let it finish.
          if (text === head) releaseRest();
        });
        inflate.on('end', () => resolve(text));
        inflate.on('error', reject);
        res.pipe(inflate);
      });
      req.on('error', reject);
      req.end();
    });
    expect(received).toBe(`${head}<p>the rest</p></body></html>`);
  });

  it('adds the security headers a response did not set, and keeps those it did', async () => {
    const port = await serve((req, res) => {
      if (req.headers['x-own'] === '1') res.setHeader('Content-Security-Policy', "frame-ancestors 'none'");
      res.setHeader('Content-Type', 'text/plain');
      res.end('ok');
    });
    const plain = await request(port);
    expect(plain.headers['x-content-type-options']).toBe('nosniff');
    expect(plain.headers['referrer-policy']).toBe('strict-origin-when-cross-origin');
    expect(plain.headers['content-security-policy']).toBe("frame-ancestors 'self'; base-uri 'self'; object-src 'none'");
    expect((await request(port, { 'x-own': '1' })).headers['content-security-policy']).toBe("frame-ancestors 'none'");
  });

  it('sends the status set on an error path after writeHead was held (nothing was written yet)', async () => {
    const port = await serve((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/html' });
      // Astro's handler does this when rendering throws before the first chunk.
      if (!res.headersSent) {
        res.statusCode = 500;
        res.end('Internal Server Error');
      }
    });
    const res = await request(port, { 'Accept-Encoding': 'br' });
    expect(res.status).toBe(500);
    expect(res.body.toString()).toBe('Internal Server Error');
  });
});

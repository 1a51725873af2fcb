import { promises as fs } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inlineScriptHashes } from './csp.ts';
import { precompressTree } from './precompress.ts';
import { createStaticHandler } from './static-handler.ts';

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

const island = 'let r = await fetch("/_server-islands/AccountMenu?e=1");';
const pageHtml = `<!DOCTYPE html><html><head><title>Blog</title><style>body{margin:0}</style></head><body><script>function replaceServerIsland(){}</script><script type="module" data-island-id="1">${island}</script>${'<p>Bread, cheese and apples at the Saturday market.</p>'.repeat(60)}</body></html>`;

describe('createStaticHandler', () => {
  let base: string;
  let root: string;
  let server: http.Server;
  let port: number;
  const errors: string[] = [];

  const request = (target: string, opts: { method?: string; headers?: Record<string, string> } = {}) =>
    new Promise<Reply>((resolve, reject) => {
      // http.request sends the target exactly as given (no normalising of `..`).
      const req = http.request({ host: '127.0.0.1', port, path: target, method: opts.method ?? 'GET', headers: opts.headers ?? {} }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
      });
      req.on('error', reject);
      req.end();
    });

  beforeAll(async () => {
    base = await fs.mkdtemp(path.join(os.tmpdir(), 'static-handler-'));
    root = path.join(base, 'client');
    await fs.mkdir(path.join(root, 'blog', 'post'), { recursive: true });
    await fs.mkdir(path.join(root, '_astro'), { recursive: true });
    await fs.writeFile(path.join(root, 'index.html'), pageHtml);
    await fs.writeFile(path.join(root, 'blog', 'index.html'), pageHtml);
    await fs.writeFile(path.join(root, 'blog', 'post', 'index.html'), pageHtml.replace('Blog', 'Post'));
    await fs.writeFile(path.join(root, 'blog', 'rss.xml'), `<rss>${'<item>x</item>'.repeat(200)}</rss>`);
    await fs.writeFile(path.join(root, '_astro', 'app.Ab12Cd.js'), 'console.log("hello from a hashed asset");\n'.repeat(100));
    await fs.writeFile(path.join(root, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
    await fs.writeFile(path.join(root, 'blog', 'atom.xml'), '<feed/>');
    await fs.writeFile(path.join(root, 'blog', 'feed.json'), '{}');
    await fs.writeFile(path.join(root, 'favicon.ico'), Buffer.from([0, 0, 1, 0]));
    await fs.mkdir(path.join(root, 'blog', 'images'), { recursive: true });
    await fs.writeFile(path.join(root, 'blog', 'images', 'market-480.0123456789abcdef.avif'), Buffer.from('not really avif'));
    // The redirect pages `astro build` writes (compressed HTML) and the warm renderer used to write.
    await fs.mkdir(path.join(root, 'blog', 'page', '1'), { recursive: true });
    await fs.writeFile(
      path.join(root, 'blog', 'page', '1', 'index.html'),
      '<!doctype html><title>Redirecting to: /blog/</title><meta http-equiv="refresh" content="0;url=/blog/"><meta name="robots" content="noindex"><link rel="canonical" href="http://localhost:4321/blog/"><body>\t<a href="/blog/">Redirecting from <code>/blog/page/1/</code> to <code>/blog/</code></a></body>',
    );
    await fs.mkdir(path.join(root, 'old'), { recursive: true });
    await fs.writeFile(path.join(root, 'old', 'index.html'), '<!doctype html>\n<title>Redirecting to: /blog/?a=1&amp;b=2</title>\n<meta http-equiv="refresh" content="2;url=/blog/?a=1&amp;b=2">\n<body></body>');
    await fs.writeFile(path.join(root, 'big.bin'), Buffer.alloc(3 * 1024 * 1024, 7));
    await fs.writeFile(path.join(root, 'archive.tar.gz'), Buffer.from([0x1f, 0x8b, 1, 2, 3]));
    await fs.writeFile(path.join(base, 'secret.txt'), 'outside the release');
    await fs.symlink(path.join(base, 'secret.txt'), path.join(root, 'link.txt'));
    await precompressTree(root);
    // A variant left from an older page (other modification time) and one whose page is gone.
    await fs.writeFile(path.join(root, 'blog', 'rss.xml.gz'), zlib.gzipSync('<rss>old</rss>'));
    await fs.mkdir(path.join(root, 'blog', 'gone'));
    await fs.writeFile(path.join(root, 'blog', 'gone', 'index.html.br'), zlib.brotliCompressSync('members only'));
    const statics = await createStaticHandler({ root, maxCachedFileBytes: 1024 * 1024, onError: (_e, file) => errors.push(file) });
    server = http.createServer((req, res) => {
      if (statics.handle(req, res)) return;
      res.writeHead(299, { 'Content-Type': 'text/plain' });
      res.end('passed on');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    await fs.rm(base, { recursive: true, force: true });
  });

  it('serves a folder index as brotli when the client takes it, with validators, caching and security headers', async () => {
    const res = await request('/blog/', { headers: { 'Accept-Encoding': 'gzip, deflate, br' } });
    expect(res.status).toBe(200);
    expect(res.headers['content-encoding']).toBe('br');
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.headers.vary).toBe('Accept-Encoding');
    expect(res.headers['cache-control']).toBe('public, no-cache');
    expect(res.headers.etag).toMatch(/^"[0-9a-z]+-[0-9a-z]+-br"$/);
    expect(res.headers['last-modified']).toBeDefined();
    expect(Number(res.headers['content-length'])).toBe(res.body.length);
    expect(zlib.brotliDecompressSync(res.body).toString()).toBe(pageHtml);
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['referrer-policy']).toBe('strict-origin-when-cross-origin');
  });

  it("gives each page a CSP that allows exactly the page's inline scripts", async () => {
    const res = await request('/blog/post/');
    const csp = res.headers['content-security-policy'] as string;
    const scriptSrc = csp.split('; ').find((d) => d.startsWith('script-src'))!;
    expect(scriptSrc).toBe(`script-src 'self' ${inlineScriptHashes(pageHtml).join(' ')}`);
    expect(inlineScriptHashes(pageHtml)).toHaveLength(2);
    expect(csp).toContain("frame-ancestors 'self'");
    expect(csp).not.toMatch(/script-src[^;]*unsafe/);
  });

  it('serves gzip to gzip-only clients and the file as it is to others', async () => {
    const gz = await request('/blog/', { headers: { 'Accept-Encoding': 'gzip' } });
    expect(gz.headers['content-encoding']).toBe('gzip');
    expect(zlib.gunzipSync(gz.body).toString()).toBe(pageHtml);
    expect(gz.headers.etag).toMatch(/-gz"$/);
    const plain = await request('/blog/');
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.body.toString()).toBe(pageHtml);
    expect(plain.headers.vary).toBe('Accept-Encoding');
    const refused = await request('/blog/', { headers: { 'Accept-Encoding': 'br;q=0, gzip;q=0' } });
    expect(refused.headers['content-encoding']).toBeUndefined();
  });

  it('serves / from index.html and files by their own name', async () => {
    expect((await request('/')).body.toString()).toBe(pageHtml);
    expect((await request('/blog/index.html')).body.toString()).toBe(pageHtml);
    const rss = await request('/blog/rss.xml?utm=x');
    expect(rss.status).toBe(200);
    expect(rss.headers['content-type']).toBe('application/rss+xml; charset=utf-8');
    expect(rss.headers['cache-control']).toBe('public, max-age=300');
  });

  it('caches hashed assets for a year, immutable', async () => {
    const res = await request('/_astro/app.Ab12Cd.js', { headers: { 'Accept-Encoding': 'br' } });
    expect(res.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(res.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(zlib.brotliDecompressSync(res.body).toString()).toContain('hashed asset');
  });

  it('serves feeds as what they are, and the icon', async () => {
    expect((await request('/blog/atom.xml')).headers['content-type']).toBe('application/atom+xml; charset=utf-8');
    expect((await request('/blog/feed.json')).headers['content-type']).toBe('application/feed+json; charset=utf-8');
    expect((await request('/favicon.ico')).headers['content-type']).toBe('image/x-icon');
  });

  it('caches files named by a content hash (media variants) for a year, immutable', async () => {
    const res = await request('/blog/images/market-480.0123456789abcdef.avif');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('image/avif');
    expect(res.headers['cache-control']).toBe('public, max-age=31536000, immutable');
  });

  it('answers the redirect pages Astro writes with the redirect itself (301, or 302), keeping the query', async () => {
    const res = await request('/blog/page/1/?utm=x');
    expect(res.status).toBe(301);
    expect(res.headers.location).toBe('/blog/?utm=x');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect((await request('/blog/page/1/', { method: 'HEAD' })).status).toBe(301);
    const temporary = await request('/old/');
    expect(temporary.status).toBe(302);
    expect(temporary.headers.location).toBe('/blog/?a=1&b=2');
  });

  it('redirects a folder without its slash, keeping the query', async () => {
    const res = await request('/blog/post?page=2');
    expect(res.status).toBe(301);
    expect(res.headers.location).toBe('/blog/post/?page=2');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
  });

  it('answers 304 to If-None-Match (any of the file’s representations) and If-Modified-Since', async () => {
    const first = await request('/blog/', { headers: { 'Accept-Encoding': 'br' } });
    const again = await request('/blog/', { headers: { 'Accept-Encoding': 'br', 'If-None-Match': first.headers.etag! } });
    expect(again.status).toBe(304);
    expect(again.body.length).toBe(0);
    expect(again.headers.etag).toBe(first.headers.etag);
    expect(again.headers['cache-control']).toBe('public, no-cache');
    expect(again.headers['content-security-policy']).toBeDefined();
    expect((await request('/blog/', { headers: { 'If-None-Match': `"nope", W/${first.headers.etag}` } })).status).toBe(304);
    expect((await request('/blog/', { headers: { 'If-None-Match': '"nope"' } })).status).toBe(200);
    expect((await request('/blog/', { headers: { 'If-Modified-Since': first.headers['last-modified']! } })).status).toBe(304);
    expect((await request('/blog/', { headers: { 'If-Modified-Since': 'Thu, 01 Jan 1970 00:00:00 GMT' } })).status).toBe(200);
  });

  it('serves byte ranges of the file as it is (206), refuses ranges past the end (416), ignores several ranges', async () => {
    const part = await request('/blog/', { headers: { Range: 'bytes=0-14', 'Accept-Encoding': 'br' } });
    expect(part.status).toBe(206);
    expect(part.body.toString()).toBe('<!DOCTYPE html>');
    expect(part.headers['content-range']).toBe(`bytes 0-14/${Buffer.byteLength(pageHtml)}`);
    expect(part.headers['content-encoding']).toBeUndefined();
    const tail = await request('/blog/', { headers: { Range: 'bytes=-7' } });
    expect(tail.body.toString()).toBe('</html>');
    const past = await request('/blog/', { headers: { Range: 'bytes=999999-' } });
    expect(past.status).toBe(416);
    expect(past.headers['content-range']).toBe(`bytes */${Buffer.byteLength(pageHtml)}`);
    const several = await request('/blog/', { headers: { Range: 'bytes=0-1,4-5' } });
    expect(several.status).toBe(200);
    const stale = await request('/blog/', { headers: { Range: 'bytes=0-1', 'If-Range': '"other"' } });
    expect(stale.status).toBe(200);
    expect(stale.body.toString()).toBe(pageHtml);
  });

  it('streams files too large to keep in memory, ranges included', async () => {
    const whole = await request('/big.bin');
    expect(whole.status).toBe(200);
    expect(whole.body.length).toBe(3 * 1024 * 1024);
    const part = await request('/big.bin', { headers: { Range: 'bytes=1048576-1048585' } });
    expect(part.status).toBe(206);
    expect(part.body).toEqual(Buffer.alloc(10, 7));
  });

  it('answers HEAD with the headers of GET and no body', async () => {
    const res = await request('/blog/', { method: 'HEAD', headers: { 'Accept-Encoding': 'br' } });
    expect(res.status).toBe(200);
    expect(res.body.length).toBe(0);
    expect(res.headers['content-encoding']).toBe('br');
    expect(Number(res.headers['content-length'])).toBeGreaterThan(0);
  });

  it('refuses other methods on files with 405 and Allow: GET, HEAD', async () => {
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']) {
      const res = await request('/blog/', { method });
      expect(res.status, method).toBe(405);
      expect(res.headers.allow).toBe('GET, HEAD');
    }
    expect((await request('/blog', { method: 'POST' })).status).toBe(405);
  });

  it('refuses TRACE anywhere (405) and methods no route takes (501), before anything else', async () => {
    const trace = await request('/api/anything', { method: 'TRACE' });
    expect(trace.status).toBe(405);
    expect(trace.headers.allow).toBe('GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS');
    for (const method of ['PROPFIND', 'MKCOL', 'PURGE', 'QUERY', 'LOCK']) {
      const res = await request('/blog/', { method });
      expect(res.status, method).toBe(501);
      expect(res.headers['x-content-type-options']).toBe('nosniff');
    }
  });

  it('passes on what is not a file: on-demand routes, islands, unknown paths, other methods there', async () => {
    for (const target of ['/api/health', '/_server-islands/AccountMenu?e=1', '/auth/login', '/blog/no-such-post/', '/blog/post/index.htm']) {
      expect((await request(target)).status, target).toBe(299);
    }
    expect((await request('/api/ghost/webhook', { method: 'POST' })).status).toBe(299);
  });

  it('never reaches outside the release: dot segments, encoded or not, NUL and symlinks', async () => {
    for (const target of ['/../secret.txt', '/blog/../../secret.txt', '/blog/%2e%2e/%2e%2e/secret.txt', '/%2E%2E%2Fsecret.txt', '/blog/%00', '/index.html%00.txt']) {
      const res = await request(target);
      expect(res.status, target).toBe(400);
      expect(res.body.toString()).not.toContain('outside the release');
    }
    expect((await request('/link.txt')).status).toBe(299);
  });

  it('serves no stale variant, and no variant whose page is gone', async () => {
    const rss = await request('/blog/rss.xml', { headers: { 'Accept-Encoding': 'gzip' } });
    expect(rss.headers['content-encoding']).toBeUndefined();
    expect(rss.body.toString()).toContain('<item>x</item>');
    expect((await request('/blog/gone/index.html.br')).status).toBe(299);
    expect((await request('/blog/gone/', { headers: { 'Accept-Encoding': 'br' } })).status).toBe(299);
    expect((await request('/blog/index.html.br')).status).toBe(299);
  });

  it('serves compressed files of other kinds as they are', async () => {
    const res = await request('/archive.tar.gz', { headers: { 'Accept-Encoding': 'gzip, br' } });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/gzip');
    expect(res.headers['content-encoding']).toBeUndefined();
    expect(res.body).toEqual(Buffer.from([0x1f, 0x8b, 1, 2, 3]));
  });

  it('answers a file that vanished from disk with a 500 and reports it', async () => {
    await fs.rm(path.join(root, 'favicon.svg'));
    const res = await request('/favicon.svg');
    expect(res.status).toBe(500);
    expect(errors).toContain('favicon.svg');
  });
});

import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { brotliCompressSync, createGzip, gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { createPageFetcher, privateAddressKind, sniffImage, type PageFetcherOptions, type PageRequest } from './page-fetcher.ts';

type Handler = (req: { path: string; headers: IncomingHttpHeaders }, res: ServerResponse) => void;

const servers: { close(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

/** A real node:http server on 127.0.0.1 (or ::1), so sockets, zlib and timers all run for real. */
async function serve(handler: Handler, host = '127.0.0.1') {
  const seen: { path: string; headers: IncomingHttpHeaders }[] = [];
  const http = createServer((req, res) => {
    const r = { path: req.url ?? '/', headers: req.headers };
    seen.push(r);
    handler(r, res);
  });
  await new Promise<void>((resolve) => http.listen(0, host, resolve));
  const { port } = http.address() as AddressInfo;
  const server = {
    port,
    host: host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`,
    origin: host.includes(':') ? `http://[${host}]:${port}` : `http://${host}:${port}`,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        http.closeAllConnections();
        http.close(() => resolve());
      }),
  };
  servers.push(server);
  return server;
}

const html = (body: string, headers: Record<string, string> = {}) => (res: ServerResponse) => {
  res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', ...headers });
  res.end(body);
};

function fetcher(opts: PageFetcherOptions = {}) {
  return createPageFetcher({ allowPrivateAddresses: true, contactUrl: 'https://coop.example/bot', ...opts });
}

const page = (url: string, allowedHosts: PageRequest['allowedHosts'], extra: Partial<PageRequest> = {}): PageRequest => ({ url, accept: ['text/html', 'application/xhtml+xml'], allowedHosts, ...extra });

const pngBytes = Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63f8cfc0f01f0005000201a5f1b8e20000000049454e44ae426082', 'hex');

describe('fetching a page', () => {
  it('returns the text, the final URL and the validators, and says who we are', async () => {
    const s = await serve((_, res) => html('<p>Oat milk £1.50</p>', { etag: '"v1"', 'last-modified': 'Sun, 29 Nov 2026 10:00:00 GMT' })(res));
    const result = await fetcher().fetchText(page(`${s.origin}/p/oat-milk`, [s.host]));
    expect(result).toEqual({
      kind: 'ok',
      url: `${s.origin}/p/oat-milk`,
      status: 200,
      contentType: 'text/html',
      text: '<p>Oat milk £1.50</p>',
      charset: 'utf-8',
      etag: '"v1"',
      lastModified: 'Sun, 29 Nov 2026 10:00:00 GMT',
    });
    expect(s.seen[0]!.headers['user-agent']).toBe('RoseAsh-MarketBot/1.0 (+https://coop.example/bot)');
    expect(s.seen[0]!.headers['accept']).toBe('text/html, application/xhtml+xml, */*;q=0.1');
  });

  it('sends the previous validators and reports a 304 as not modified', async () => {
    const s = await serve((req, res) => {
      if (req.headers['if-none-match'] === '"v1"' && req.headers['if-modified-since'] === 'Sun, 29 Nov 2026 10:00:00 GMT') res.writeHead(304).end();
      else html('changed')(res);
    });
    const result = await fetcher().fetchText(page(`${s.origin}/p`, [s.host], { etag: '"v1"', lastModified: 'Sun, 29 Nov 2026 10:00:00 GMT' }));
    expect(result).toEqual({ kind: 'not-modified', url: `${s.origin}/p` });
  });

  it('decodes by the Content-Type charset, then <meta charset>, then <meta http-equiv>, else UTF-8', async () => {
    const latin1 = Buffer.from('<p>Cr\xe8me fra\xeeche \xa33</p>', 'latin1');
    const s = await serve((req, res) => {
      if (req.path === '/header') res.writeHead(200, { 'content-type': 'text/html; charset=ISO-8859-1' }).end(latin1);
      else if (req.path === '/meta') res.writeHead(200, { 'content-type': 'text/html' }).end(Buffer.concat([Buffer.from('<meta charset="windows-1252">'), latin1]));
      else if (req.path === '/equiv') res.writeHead(200, { 'content-type': 'text/html' }).end(Buffer.concat([Buffer.from('<meta http-equiv="Content-Type" content="text/html; charset=latin1">'), latin1]));
      else res.writeHead(200, { 'content-type': 'text/html' }).end(Buffer.from('<p>Crème fraîche £3</p>'));
    });
    const f = fetcher();
    const get = async (path: string) => {
      const r = await f.fetchText(page(`${s.origin}${path}`, [s.host]));
      if (r.kind !== 'ok') throw new Error(r.kind);
      return [r.charset, r.text.replace(/<meta[^>]*>/, '')];
    };
    expect(await get('/header')).toEqual(['windows-1252', '<p>Crème fraîche £3</p>']);
    expect(await get('/meta')).toEqual(['windows-1252', '<p>Crème fraîche £3</p>']);
    expect(await get('/equiv')).toEqual(['windows-1252', '<p>Crème fraîche £3</p>']);
    expect(await get('/plain')).toEqual(['utf-8', '<p>Crème fraîche £3</p>']);
  });

  it('reads gzip and brotli bodies', async () => {
    const s = await serve((req, res) => {
      const gzip = req.path === '/gz';
      res.writeHead(200, { 'content-type': 'text/html', 'content-encoding': gzip ? 'gzip' : 'br' });
      res.end(gzip ? gzipSync('<h1>Honey</h1>') : brotliCompressSync('<h1>Jam</h1>'));
    });
    expect(await fetcher().fetchText(page(`${s.origin}/gz`, [s.host]))).toMatchObject({ kind: 'ok', text: '<h1>Honey</h1>' });
    expect(await fetcher().fetchText(page(`${s.origin}/br`, [s.host]))).toMatchObject({ kind: 'ok', text: '<h1>Jam</h1>' });
  });

  it('refuses an error status, naming it', async () => {
    const s = await serve((_, res) => res.writeHead(404).end('nope'));
    expect(await fetcher().fetchText(page(`${s.origin}/gone`, [s.host]))).toEqual({
      kind: 'refused',
      reason: 'http-status',
      status: 404,
      url: `${s.origin}/gone`,
      message: `${s.origin}/gone: answered HTTP 404; the page was skipped`,
    });
  });

  it('reports a refused connection as a network problem', async () => {
    const s = await serve(() => {});
    const { origin, host } = s;
    await servers.pop()!.close();
    const result = await fetcher().fetchText(page(`${origin}/`, [host]));
    expect(result).toMatchObject({ kind: 'refused', reason: 'network' });
    expect(result.kind === 'refused' && result.message).toContain('ECONNREFUSED');
  });
});

describe('redirects', () => {
  it('follows them by hand and returns the final URL', async () => {
    const s = await serve((req, res) => {
      if (req.path === '/old') res.writeHead(301, { location: '/middle' }).end();
      else if (req.path === '/middle') res.writeHead(302, { location: `/new#top` }).end();
      else html('new place')(res);
    });
    expect(await fetcher().fetchText(page(`${s.origin}/old`, [s.host]))).toMatchObject({ kind: 'ok', url: `${s.origin}/new`, text: 'new place' });
  });

  it('refuses a loop, too many hops, another host and another scheme', async () => {
    const other = await serve((_, res) => html('elsewhere')(res));
    const s = await serve((req, res) => {
      const n = Number(/\/hop(\d+)/.exec(req.path)?.[1] ?? 0);
      if (req.path === '/a') res.writeHead(302, { location: '/b' }).end();
      else if (req.path === '/b') res.writeHead(302, { location: '/a' }).end();
      else if (req.path.startsWith('/hop')) res.writeHead(302, { location: `/hop${n + 1}` }).end();
      else if (req.path === '/away') res.writeHead(302, { location: `http://localhost:${other.port}/x` }).end();
      else if (req.path === '/file') res.writeHead(302, { location: 'file:///etc/passwd' }).end();
    });
    const f = fetcher({ maxRedirects: 3 });
    const refusal = async (path: string) => {
      const r = await f.fetchText(page(`${s.origin}${path}`, [s.host, other.host]));
      return r.kind === 'refused' ? [r.reason, r.message.replaceAll(s.origin, 'SITE').replaceAll(String(other.port), 'PORT')] : r.kind;
    };
    expect(await refusal('/a')).toEqual(['redirect-loop', `SITE/b: redirects back to SITE/a, a loop; the page was skipped`]);
    expect(await refusal('/hop0')).toEqual(['too-many-redirects', 'SITE/hop3: more than 3 redirects (next: SITE/hop4); the page was skipped']);
    expect(await refusal('/away')).toEqual([
      'host-not-allowed',
      'http://localhost:PORT/x: redirected to host localhost:PORT, which is not in the allowed hosts; the page was skipped',
    ]);
    expect(await refusal('/file')).toEqual(['bad-scheme', 'file:///etc/passwd: redirected to a file: address; only http and https are fetched; the page was skipped']);
    expect(other.seen).toEqual([]);
  });

  it('refuses a start URL that is not http(s) or not on an allowed host', async () => {
    const f = fetcher();
    expect(await f.fetchText(page('ftp://shop.example/list', ['shop.example']))).toMatchObject({ reason: 'bad-scheme' });
    expect(await f.fetchText(page('https://evil.example/', ['shop.example', '*.shop.example']))).toMatchObject({ reason: 'host-not-allowed' });
  });
});

describe('limits', () => {
  it('times out a server that sends headers and then stalls', async () => {
    const s = await serve((_, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.write('<html><body>');
    });
    const result = await fetcher({ timeoutMs: 200 }).fetchText(page(`${s.origin}/slow`, [s.host]));
    expect(result).toEqual({ kind: 'refused', reason: 'timeout', url: `${s.origin}/slow`, message: `${s.origin}/slow: no complete answer within 200 ms; the page was skipped` });
  });

  it('counts a DNS lookup that never answers against the timeout', async () => {
    const f = fetcher({ timeoutMs: 100, lookup: () => new Promise(() => {}) });
    expect(await f.fetchText(page('http://shop.test/', ['shop.test']))).toEqual({
      kind: 'refused',
      reason: 'timeout',
      url: 'http://shop.test/',
      message: 'http://shop.test/: no complete answer within 100 ms; the page was skipped',
    });
  });

  it('stops reading a body past the cap, announced or not', async () => {
    const big = 'x'.repeat(64 * 1024);
    const s = await serve((req, res) => {
      if (req.path === '/announced') res.writeHead(200, { 'content-type': 'text/html', 'content-length': String(10 * 1024 * 1024) }).write(big);
      else {
        res.writeHead(200, { 'content-type': 'text/html' });
        // Endless: only the cap ends this.
        const more = () => {
          while (res.write(big));
        };
        res.on('drain', more);
        more();
      }
    });
    const f = fetcher({ maxBytes: 1024 * 1024 });
    expect(await f.fetchText(page(`${s.origin}/announced`, [s.host]))).toMatchObject({ reason: 'too-large', message: `${s.origin}/announced: body of 10 MiB exceeds 1 MiB; the page was skipped` });
    expect(await f.fetchText(page(`${s.origin}/endless`, [s.host]))).toMatchObject({ reason: 'too-large', message: `${s.origin}/endless: body exceeded 1 MiB; the page was skipped` });
  });

  it('stops a gzip bomb at the cap on the decoded bytes', async () => {
    // 100 MiB of zeros, gzipped as it is sent (about 100 KB on the wire).
    const s = await serve((_, res) => {
      res.writeHead(200, { 'content-type': 'text/html', 'content-encoding': 'gzip' });
      const gzip = createGzip({ level: 9 });
      gzip.pipe(res);
      const zeros = Buffer.alloc(1024 * 1024);
      let left = 100;
      const more = () => {
        while (left > 0) {
          left--;
          if (!gzip.write(zeros)) return void gzip.once('drain', more);
        }
        gzip.end();
      };
      res.on('close', () => gzip.destroy());
      more();
    });
    const result = await fetcher().fetchText(page(`${s.origin}/bomb`, [s.host]));
    expect(result).toEqual({ kind: 'refused', reason: 'too-large', url: `${s.origin}/bomb`, message: `${s.origin}/bomb: body exceeded 5 MiB after decoding; the page was skipped` });
  });
});

describe('content types', () => {
  it('refuses HTML served as application/octet-stream, and any type not asked for', async () => {
    const s = await serve((_, res) => res.writeHead(200, { 'content-type': 'application/octet-stream' }).end('<html>hi</html>'));
    expect(await fetcher().fetchText(page(`${s.origin}/p`, [s.host]))).toEqual({
      kind: 'refused',
      reason: 'wrong-content-type',
      url: `${s.origin}/p`,
      message: `${s.origin}/p: is application/octet-stream, not text/html or application/xhtml+xml; the page was skipped`,
    });
  });

  it('accepts an image only when its bytes are one, and reports the type the bytes show', async () => {
    const s = await serve((req, res) => {
      if (req.path === '/real.png') res.writeHead(200, { 'content-type': 'image/png' }).end(pngBytes);
      else if (req.path === '/mislabelled.jpg') res.writeHead(200, { 'content-type': 'image/jpeg' }).end(pngBytes);
      else res.writeHead(200, { 'content-type': 'image/png' }).end('<html><script>alert(1)</script></html>');
    });
    const images = ['image/jpeg', 'image/png', 'image/webp', 'image/gif', 'image/avif'];
    const f = fetcher();
    const get = (path: string) => f.fetchBytes({ url: `${s.origin}${path}`, accept: images, allowedHosts: [s.host] });
    const real = await get('/real.png');
    expect(real.kind === 'ok' && [real.contentType, Buffer.from(real.bytes).equals(pngBytes)]).toEqual(['image/png', true]);
    expect(await get('/mislabelled.jpg')).toMatchObject({ kind: 'ok', contentType: 'image/png' });
    expect(await get('/lying.png')).toMatchObject({
      reason: 'wrong-content-type',
      message: `${s.origin}/lying.png: claims to be image/png but its bytes are not a JPEG, PNG, GIF, WebP or AVIF image; the page was skipped`,
    });
  });

  it('sniffs the image formats it accepts', () => {
    const at4 = (brand: string) => Buffer.concat([Buffer.from([0, 0, 0, 0x1c]), Buffer.from(`ftyp${brand}\0\0\0\0mif1miaf`)]);
    expect(sniffImage(Buffer.from([0xff, 0xd8, 0xff, 0xe0]))).toBe('image/jpeg');
    expect(sniffImage(Buffer.from('GIF89a...'))).toBe('image/gif');
    expect(sniffImage(Buffer.from('RIFF\0\0\0\0WEBPVP8 '))).toBe('image/webp');
    expect(sniffImage(at4('avif'))).toBe('image/avif');
    expect(sniffImage(at4('heic'))).toBeUndefined();
    expect(sniffImage(Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>'))).toBeUndefined();
  });
});

describe('private addresses', () => {
  it('refuses loopback addresses, IPv4 and IPv6, and localhost, before connecting', async () => {
    const v4 = await serve((_, res) => html('internal')(res));
    const v6 = await serve((_, res) => html('internal')(res), '::1');
    const f = createPageFetcher();
    const refusal = async (url: string, allowed: string) => {
      const r = await f.fetchText(page(url, [allowed]));
      return r.kind === 'refused' ? [r.reason, r.message] : r.kind;
    };
    expect(await refusal(`${v4.origin}/admin`, v4.host)).toEqual(['private-address', `${v4.origin}/admin: 127.0.0.1 is a loopback address; only public addresses are fetched; the page was skipped`]);
    expect(await refusal(`${v6.origin}/admin`, v6.host)).toEqual(['private-address', `${v6.origin}/admin: ::1 is a loopback address; only public addresses are fetched; the page was skipped`]);
    expect(await refusal(`http://localhost:${v4.port}/`, 'localhost')).toEqual(['private-address', `http://localhost:${v4.port}/: localhost is this machine (loopback); only public addresses are fetched; the page was skipped`]);
    expect(await refusal(`http://[::ffff:127.0.0.1]:${v4.port}/`, `[::ffff:7f00:1]`)).toEqual([
      'private-address',
      `http://[::ffff:7f00:1]:${v4.port}/: ::ffff:7f00:1 is a loopback address; only public addresses are fetched; the page was skipped`,
    ]);
    expect([...v4.seen, ...v6.seen]).toEqual([]);
  });

  it('refuses a name that resolves to a private address, even among public ones', async () => {
    const s = await serve((_, res) => html('internal')(res));
    const looked: string[] = [];
    const f = createPageFetcher({
      lookup: async (host) => {
        looked.push(host);
        return host === 'shop.test' ? [{ address: '127.0.0.1', family: 4 }] : [{ address: '93.184.215.14', family: 4 }, { address: 'fd12::1', family: 6 }];
      },
    });
    expect(await f.fetchText(page(`http://shop.test:${s.port}/`, ['shop.test']))).toMatchObject({
      reason: 'private-address',
      message: `http://shop.test:${s.port}/: shop.test resolves to 127.0.0.1, a loopback address; only public addresses are fetched; the page was skipped`,
    });
    expect(await f.fetchText(page(`http://mixed.test:${s.port}/`, ['mixed.test']))).toMatchObject({
      reason: 'private-address',
      message: `http://mixed.test:${s.port}/: mixed.test resolves to fd12::1, a unique-local address; only public addresses are fetched; the page was skipped`,
    });
    expect(looked).toEqual(['shop.test', 'mixed.test']);
    expect(s.seen).toEqual([]);
  });

  it('connects to the address it looked up, once per hop, not to whatever DNS says later', async () => {
    const s = await serve((req, res) => (req.path === '/start' ? res.writeHead(302, { location: '/end' }).end() : html('pinned')(res)));
    const looked: string[] = [];
    // shop.test exists only in this lookup: reaching the server proves the connection used it.
    const f = fetcher({
      lookup: async (host) => {
        looked.push(host);
        return [{ address: '127.0.0.1', family: 4 }];
      },
    });
    expect(await f.fetchText(page(`http://shop.test:${s.port}/start`, ['shop.test']))).toMatchObject({ kind: 'ok', text: 'pinned', url: `http://shop.test:${s.port}/end` });
    expect(looked).toEqual(['shop.test', 'shop.test']);
    expect(s.seen.map((r) => r.headers.host)).toEqual([`shop.test:${s.port}`, `shop.test:${s.port}`]);
  });

  it('classifies addresses', () => {
    const table = {
      '127.0.0.1': 'loopback',
      '10.1.2.3': 'private',
      '172.31.255.255': 'private',
      '192.168.1.1': 'private',
      '169.254.169.254': 'link-local',
      '100.64.0.1': 'private (shared, carrier-grade NAT)',
      '0.0.0.0': 'unspecified',
      '224.0.0.1': 'multicast',
      '255.255.255.255': 'reserved',
      '::1': 'loopback',
      '::': 'unspecified',
      'fe80::1%eth0': 'link-local',
      'fd00::1': 'unique-local',
      'ff02::1': 'multicast',
      '::ffff:10.0.0.1': 'private',
      '::ffff:a00:1': 'private',
      '64:ff9b::7f00:1': 'loopback',
      '[::1]': 'loopback',
      '93.184.215.14': undefined,
      '172.32.0.1': undefined,
      '2606:4700::6810:84e5': undefined,
      '64:ff9b::5db8:d70e': undefined,
    };
    expect(Object.fromEntries(Object.keys(table).map((a) => [a, privateAddressKind(a)]))).toEqual(table);
  });
});

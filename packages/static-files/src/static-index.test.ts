import { promises as fs } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { precompressTree } from './precompress.ts';
import { createStaticHandler } from './static-handler.ts';
import { indexStaticFiles, patchStaticIndex } from './static-index.ts';

const page = (title: string) => `<!DOCTYPE html><html><head><title>${title}</title></head><body>${'<p>Seed swap and soup at the orchard.</p>'.repeat(60)}</body></html>`;

describe('patchStaticIndex: a rebuild served as soon as its pages are written', () => {
  let base: string;
  let live: string;
  let next: string;
  let server: http.Server;
  let port: number;

  const get = (target: string, headers: Record<string, string> = {}) =>
    new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }>((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port, path: target, headers }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
        })
        .on('error', reject);
    });

  beforeAll(async () => {
    base = await fs.mkdtemp(path.join(os.tmpdir(), 'static-index-'));
    live = path.join(base, 'live');
    next = path.join(base, 'next');
    for (const p of ['blog/a', 'blog/b', 'blog/gone']) {
      await fs.mkdir(path.join(live, p), { recursive: true });
      await fs.writeFile(path.join(live, p, 'index.html'), page(`${p} v1`));
    }
    await precompressTree(live);
    // The rebuild wrote a changed page and a new one (with variants) into the next release.
    for (const p of ['blog/a', 'blog/new']) {
      await fs.mkdir(path.join(next, p), { recursive: true });
      await fs.writeFile(path.join(next, p, 'index.html'), page(`${p} v2`));
    }
    await precompressTree(next);
    const index = await patchStaticIndex(await indexStaticFiles(live), next, { written: ['blog/a/index.html', 'blog/new/index.html'], removed: ['blog/gone/index.html'] });
    const statics = await createStaticHandler({ root: next, index });
    server = http.createServer((req, res) => {
      if (statics.handle(req, res)) return;
      res.writeHead(299);
      res.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    await fs.rm(base, { recursive: true, force: true });
  });

  it('serves the written pages (and their variants) from the new release', async () => {
    const res = await get('/blog/a/', { 'Accept-Encoding': 'br' });
    expect(res.headers['content-encoding']).toBe('br');
    expect(zlib.brotliDecompressSync(res.body).toString()).toContain('blog/a v2');
    expect((await get('/blog/new/')).body.toString()).toContain('blog/new v2');
    expect((await get('/blog/new')).status).toBe(301);
  });

  it('keeps serving the unchanged pages from the live release', async () => {
    const res = await get('/blog/b/', { 'Accept-Encoding': 'gzip' });
    expect(zlib.gunzipSync(res.body).toString()).toContain('blog/b v1');
  });

  it('no longer serves removed pages (nor redirects to them)', async () => {
    expect((await get('/blog/gone/')).status).toBe(299);
    expect((await get('/blog/gone')).status).toBe(299);
    expect((await get('/blog/gone/index.html')).status).toBe(299);
  });
});

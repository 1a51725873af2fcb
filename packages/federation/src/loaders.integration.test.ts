import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { MemoryKvStore } from '@fedify/fedify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Kysely } from 'kysely';
import type { Database } from '@rose/db';
import { systemClock } from '@rose/core';
import { createRoseFederation } from './federation.ts';
import { boundedDocumentLoader, timedLoaderFactories } from './loaders.ts';

describe('document loaders', () => {
  let server: http.Server;
  let url: string;
  beforeAll(async () => {
    // Answers nothing, ever.
    server = http.createServer(() => {});
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/users/slow`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it('gives up on a server that never answers', async () => {
    const loaders = timedLoaderFactories(new MemoryKvStore(), 'rose-ash/test', 300);
    const started = Date.now();
    await expect(loaders.documentLoaderFactory({ allowPrivateAddress: true })(url)).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(20_000);
  });

  it('refuses loopback and private addresses unless told otherwise', async () => {
    const loaders = timedLoaderFactories(new MemoryKvStore(), 'rose-ash/test', 300);
    await expect(loaders.documentLoaderFactory()(url)).rejects.toThrow(/private|loopback|disallowed|localhost|invalid/i);
    await expect(loaders.documentLoaderFactory()('http://10.0.0.1/users/x')).rejects.toThrow();
  });
});

describe('the bounded document loader', () => {
  let server: http.Server;
  let base: string;
  const note = { '@context': 'https://www.w3.org/ns/activitystreams', id: '', type: 'Note', content: 'hello' };
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      const url = req.url ?? '/';
      if (url === '/note') return void res.writeHead(200, { 'Content-Type': 'application/activity+json' }).end(JSON.stringify({ ...note, id: `${base}/note` }));
      if (url === '/moved') return void res.writeHead(301, { Location: '/note' }).end();
      if (url === '/loop') return void res.writeHead(302, { Location: '/loop' }).end();
      if (url === '/huge-declared') return void res.writeHead(200, { 'Content-Type': 'application/activity+json', 'Content-Length': String(5 * 1024 * 1024) }).end();
      // No Content-Length: the size shows only while reading.
      res.writeHead(200, { 'Content-Type': 'application/activity+json' });
      res.write(`{"padding":"`);
      for (let i = 0; i < 3; i++) res.write('x'.repeat(512 * 1024));
      res.end('"}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it('loads a document, following redirects, and refuses loops and anything over the size limit', async () => {
    const load = boundedDocumentLoader({ allowPrivateAddress: true, userAgent: 'rose-ash/test', maxBytes: 1024 * 1024 });
    expect((await load(`${base}/note`)).document).toMatchObject({ type: 'Note', content: 'hello' });
    expect(await load(`${base}/moved`)).toMatchObject({ documentUrl: `${base}/note`, document: { type: 'Note' } });
    await expect(load(`${base}/loop`)).rejects.toThrow(/loop|redirect/i);
    await expect(load(`${base}/huge-declared`)).rejects.toThrow(/larger than/);
    await expect(load(`${base}/huge-streamed`)).rejects.toThrow(/larger than/);
    // Preloaded contexts never reach the network.
    expect((await boundedDocumentLoader({ userAgent: 'x' })('https://www.w3.org/ns/activitystreams')).document).toBeTruthy();
    await expect(boundedDocumentLoader({ userAgent: 'x' })(`${base}/note`)).rejects.toThrow();
  });
});

describe('the federation outside tests', () => {
  it('is built with the time-limited loaders (Fedify refuses them beside allowPrivateAddress)', () => {
    const silent = { info: () => {}, warn: () => {}, error: () => {} };
    const options = { db: {} as Kysely<Database>, kv: new MemoryKvStore(), siteUrl: 'https://coop.example', clock: systemClock, logger: silent, profileUrl: (h: string) => `/social/@${h}`, describe: async () => ({ name: 'x', summary: '' }), software: { name: 'rose-ash', version: '0.1.0' } };
    expect(() => createRoseFederation(options)).not.toThrow();
    expect(() => createRoseFederation({ ...options, allowPrivateAddress: true })).not.toThrow();
  });
});

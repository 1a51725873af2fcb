import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { MemoryKvStore } from '@fedify/fedify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Kysely } from 'kysely';
import type { Database } from '@rose/db';
import { systemClock } from '@rose/core';
import { createRoseFederation } from './federation.ts';
import { timedLoaderFactories } from './loaders.ts';

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

describe('the federation outside tests', () => {
  it('is built with the time-limited loaders (Fedify refuses them beside allowPrivateAddress)', () => {
    const silent = { info: () => {}, warn: () => {}, error: () => {} };
    const options = { db: {} as Kysely<Database>, kv: new MemoryKvStore(), siteUrl: 'https://coop.example', clock: systemClock, logger: silent, profileUrl: (h: string) => `/social/@${h}`, describe: async () => ({ name: 'x', summary: '' }), software: { name: 'rose-ash', version: '0.1.0' } };
    expect(() => createRoseFederation(options)).not.toThrow();
    expect(() => createRoseFederation({ ...options, allowPrivateAddress: true })).not.toThrow();
  });
});

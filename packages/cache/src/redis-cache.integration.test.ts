import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { testRedisUrl, freePort } from '@rose/testing';
import { describeCacheContract } from './cache.contract.ts';
import { createRedisCache } from './redis-cache.ts';

// A namespace per run keeps this file's keys apart from anything else using the server.
const namespace = `rose-test:${randomBytes(4).toString('hex')}:`;
describeCacheContract('redis', () => createRedisCache({ url: testRedisUrl, namespace }), (ms) => new Promise((r) => setTimeout(r, ms)));

describe('redis cache when Redis is unreachable', () => {
  it('fails fast with a message naming the server, and ping reports it', async () => {
    const port = await freePort(); // nothing listens here
    const cache = createRedisCache({ url: `redis://:hunter2@127.0.0.1:${port}/0`, connectTimeoutMs: 300 });
    const started = Date.now();
    const error = await cache.get('x').then(
      () => undefined,
      (e: Error) => e,
    );
    expect(error?.message).toMatch(new RegExp(`Redis at redis://:\\*\\*\\*\\*@127\\.0\\.0\\.1:${port}/0 is unavailable`));
    expect(error?.message).not.toContain('hunter2');
    expect(Date.now() - started).toBeLessThan(3_000);
    await expect(cache.ping()).rejects.toThrow(/unavailable/);
    await cache.close();
  });
});

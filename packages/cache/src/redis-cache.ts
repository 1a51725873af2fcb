import { Redis } from 'ioredis';
import { maskUrl } from '@rose/core';
import type { Cache } from './cache.ts';

/**
 * Redis-backed cache. While Redis is unreachable, commands fail at once (no offline queue)
 * so a page never waits on a dead cache; the client keeps reconnecting in the background.
 */
export function createRedisCache(opts: { url: string; namespace?: string; connectTimeoutMs?: number }): Cache {
  const namespace = opts.namespace ?? 'rose:';
  const client = new Redis(opts.url, {
    lazyConnect: false,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeout: opts.connectTimeoutMs ?? 2000,
    retryStrategy: (times) => Math.min(200 * times, 2000),
  });
  // Without a listener ioredis prints every reconnect failure; ping() reports the state instead.
  let lastError: Error | undefined;
  client.on('error', (error: Error) => {
    lastError = error;
  });
  client.on('ready', () => {
    lastError = undefined;
  });

  const unavailable = () =>
    new Error(
      `Redis at ${maskUrl(opts.url)} is unavailable (${client.status}${lastError ? `: ${lastError.message || (lastError as NodeJS.ErrnoException).code}` : ''})`,
    );
  const run = async <T>(fn: () => Promise<T>): Promise<T> => {
    if (client.status !== 'ready') {
      // Give a connecting client a brief chance, so the first request after start works.
      if (client.status === 'connecting' || client.status === 'connect' || client.status === 'wait') {
        await new Promise<void>((resolve) => {
          const done = () => {
            clearTimeout(timer);
            client.off('ready', done);
            resolve();
          };
          const timer = setTimeout(done, opts.connectTimeoutMs ?? 2000);
          client.once('ready', done);
        });
      }
      // The status may have changed while we waited.
      if ((client.status as string) !== 'ready') throw unavailable();
    }
    return fn();
  };

  return {
    kind: 'redis',
    get: (key) => run(async () => (await client.get(namespace + key)) ?? undefined),
    set: (key, value, ttlSeconds) =>
      run(async () => {
        if (ttlSeconds && ttlSeconds > 0) await client.set(namespace + key, value, 'EX', ttlSeconds);
        else await client.set(namespace + key, value);
      }),
    increment: (key, windowSeconds) =>
      run(async () => {
        const [[, count]] = (await client.multi().incr(namespace + key).expire(namespace + key, windowSeconds, 'NX').exec()) as [[Error | null, number]];
        return count;
      }),
    delete: (key) =>
      run(async () => {
        await client.del(namespace + key);
      }),
    deleteByPrefix: (prefix) =>
      run(async () => {
        let cursor = '0';
        let count = 0;
        const pattern = `${escapeGlob(namespace + prefix)}*`;
        do {
          const [next, keys] = await client.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
          cursor = next;
          if (keys.length > 0) count += await client.unlink(...keys);
        } while (cursor !== '0');
        return count;
      }),
    ping: () =>
      run(async () => {
        await client.ping();
      }),
    close: async () => {
      if (client.status === 'end') return;
      try {
        await client.quit();
      } catch {
        client.disconnect();
      }
    },
  };
}

function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}

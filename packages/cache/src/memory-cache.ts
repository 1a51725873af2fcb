import type { Clock } from '@rose/core';
import { systemClock } from '@rose/core';
import type { Cache } from './cache.ts';

/** In-process cache for the embedded default and for tests. Bounded: oldest entries go first. */
export function createMemoryCache(opts: { clock?: Clock; maxEntries?: number } = {}): Cache {
  const clock = opts.clock ?? systemClock;
  const maxEntries = opts.maxEntries ?? 10_000;
  const entries = new Map<string, { value: string; expiresAt: number | undefined }>();
  let closed = false;

  const live = (key: string) => {
    const entry = entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt !== undefined && entry.expiresAt <= clock.now().getTime()) {
      entries.delete(key);
      return undefined;
    }
    return entry;
  };
  const assertOpen = () => {
    if (closed) throw new Error('The memory cache is closed');
  };

  return {
    kind: 'memory',
    async get(key) {
      assertOpen();
      return live(key)?.value;
    },
    async set(key, value, ttlSeconds) {
      assertOpen();
      entries.delete(key); // re-insert so Map order is recency order
      entries.set(key, { value, expiresAt: ttlSeconds ? clock.now().getTime() + ttlSeconds * 1000 : undefined });
      while (entries.size > maxEntries) {
        const oldest = entries.keys().next().value;
        if (oldest === undefined) break;
        entries.delete(oldest);
      }
    },
    async delete(key) {
      assertOpen();
      entries.delete(key);
    },
    async increment(key, windowSeconds) {
      assertOpen();
      const entry = live(key);
      const next = (entry ? Number(entry.value) : 0) + 1;
      entries.set(key, { value: String(next), expiresAt: entry?.expiresAt ?? clock.now().getTime() + windowSeconds * 1000 });
      return next;
    },
    async deleteByPrefix(prefix) {
      assertOpen();
      let count = 0;
      for (const key of [...entries.keys()]) {
        if (key.startsWith(prefix) && live(key)) count++;
        if (key.startsWith(prefix)) entries.delete(key);
      }
      return count;
    },
    async ping() {
      assertOpen();
    },
    async close() {
      closed = true;
      entries.clear();
    },
  };
}

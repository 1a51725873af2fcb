import type { Cache } from '@rose/cache';

export interface RateLimit {
  /** Counts an attempt; `ok: false` once more than `limit` happened in the window. */
  hit(key: string): Promise<{ ok: true } | { ok: false; retryAfterSeconds: number }>;
  reset(key: string): Promise<void>;
}

/**
 * Fixed-window attempt counting in the cache (Redis when configured, so all servers share
 * it; memory otherwise). If the cache is down, attempts are allowed: a cache outage must not
 * lock everybody out, and password hashing still slows guessing down.
 */
export function createRateLimit(deps: { cache: Cache; name: string; limit: number; windowSeconds: number }): RateLimit {
  const keyOf = (key: string) => `ratelimit:${deps.name}:${key}`;
  return {
    async hit(key) {
      let count: number;
      try {
        count = await deps.cache.increment(keyOf(key), deps.windowSeconds);
      } catch {
        return { ok: true };
      }
      return count > deps.limit ? { ok: false, retryAfterSeconds: deps.windowSeconds } : { ok: true };
    },
    async reset(key) {
      await deps.cache.delete(keyOf(key)).catch(() => {});
    },
  };
}

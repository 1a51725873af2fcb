import { describe, expect, it } from 'vitest';
import { createFixedClock } from '@rose/core';
import { getOrSet } from './cache.ts';
import { describeCacheContract } from './cache.contract.ts';
import { createMemoryCache } from './memory-cache.ts';

const clock = createFixedClock(new Date('2026-01-01T00:00:00Z'));
describeCacheContract('memory', () => createMemoryCache({ clock }), async (ms) => clock.advance(ms));

describe('memory cache', () => {
  it('evicts the oldest entries beyond its bound', async () => {
    const cache = createMemoryCache({ maxEntries: 2 });
    await cache.set('a', '1');
    await cache.set('b', '2');
    await cache.set('c', '3');
    expect(await cache.get('a')).toBeUndefined();
    expect(await cache.get('c')).toBe('3');
  });

  it('getOrSet still computes when the cache fails, and reports the failure', async () => {
    const cache = createMemoryCache();
    await cache.close(); // every call now throws
    const errors: unknown[] = [];
    expect(await getOrSet(cache, 'k', 10, async () => 'fresh', (e) => errors.push(e))).toBe('fresh');
    expect(errors).toHaveLength(1);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getOrSet, type Cache } from './cache.ts';

/**
 * The behaviour every Cache must have. Run by memory-cache.test.ts and
 * redis-cache.integration.test.ts against their implementation.
 */
export function describeCacheContract(name: string, create: () => Promise<Cache> | Cache, advance: (ms: number) => Promise<void>): void {
  describe(`${name} cache (contract)`, () => {
    let cache: Cache;
    beforeAll(async () => {
      cache = await create();
    });
    afterAll(async () => {
      await cache.close();
    });

    it('returns undefined for a missing key', async () => {
      expect(await cache.get('missing')).toBeUndefined();
    });

    it('stores, overwrites and deletes values', async () => {
      await cache.set('k1', 'one');
      expect(await cache.get('k1')).toBe('one');
      await cache.set('k1', 'two');
      expect(await cache.get('k1')).toBe('two');
      await cache.delete('k1');
      expect(await cache.get('k1')).toBeUndefined();
    });

    it('keeps unicode and large values intact', async () => {
      const value = `Café ☕ ${'x'.repeat(100_000)}`;
      await cache.set('big', value);
      expect(await cache.get('big')).toBe(value);
    });

    it('expires entries after their TTL', async () => {
      await cache.set('short', 'soon gone', 1);
      expect(await cache.get('short')).toBe('soon gone');
      await advance(1_100);
      expect(await cache.get('short')).toBeUndefined();
    });

    it('deletes by prefix, and only that prefix', async () => {
      await cache.set('fragment:menu:a', '1');
      await cache.set('fragment:menu:b', '2');
      await cache.set('fragment:menus', 'sibling');
      await cache.set('other', '3');
      expect(await cache.deleteByPrefix('fragment:menu:')).toBe(2);
      expect(await cache.get('fragment:menu:a')).toBeUndefined();
      expect(await cache.get('fragment:menus')).toBe('sibling');
      expect(await cache.get('other')).toBe('3');
    });

    it('treats glob characters in a prefix literally', async () => {
      await cache.set('a*b:1', 'x');
      await cache.set('aXb:1', 'y');
      expect(await cache.deleteByPrefix('a*b:')).toBe(1);
      expect(await cache.get('aXb:1')).toBe('y');
    });

    it('getOrSet computes once and then serves the cached value', async () => {
      let calls = 0;
      const compute = async () => `v${++calls}`;
      expect(await getOrSet(cache, 'computed', 60, compute)).toBe('v1');
      expect(await getOrSet(cache, 'computed', 60, compute)).toBe('v1');
      expect(calls).toBe(1);
    });

    it('counts in a fixed window', async () => {
      expect(await cache.increment('hits', 1)).toBe(1);
      expect(await cache.increment('hits', 1)).toBe(2);
      await advance(1_100);
      expect(await cache.increment('hits', 1)).toBe(1);
    });

    it('answers ping', async () => {
      await expect(cache.ping()).resolves.toBeUndefined();
    });
  });
}

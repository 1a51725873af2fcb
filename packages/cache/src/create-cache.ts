import type { Config } from '@rose/config';
import type { Cache } from './cache.ts';
import { createMemoryCache } from './memory-cache.ts';
import { createRedisCache } from './redis-cache.ts';

export function createCache(cache: Config['cache']): Cache {
  return cache.kind === 'redis' ? createRedisCache({ url: cache.url, namespace: cache.namespace }) : createMemoryCache();
}

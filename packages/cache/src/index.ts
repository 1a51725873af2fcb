export { getOrSet, type Cache } from './cache.ts';
export { createMemoryCache } from './memory-cache.ts';
export { createCache } from './create-cache.ts';

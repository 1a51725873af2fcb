export interface Cache {
  readonly kind: 'redis' | 'memory';
  get(key: string): Promise<string | undefined>;
  /** `ttlSeconds` 0 or undefined: keep until deleted. */
  set(key: string, value: string, ttlSeconds?: number): Promise<void>;
  delete(key: string): Promise<void>;
  /**
   * Adds 1 to a counter and returns the new value; the first increment starts its expiry
   * (a fixed window). Atomic in Redis, so several servers share one count.
   */
  increment(key: string, windowSeconds: number): Promise<number>;
  /** Deletes every key starting with `prefix`; returns how many were deleted. */
  deleteByPrefix(prefix: string): Promise<number>;
  /** Resolves when the backing store answers; rejects with the reason otherwise. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Returns the cached value for `key`, or computes, stores and returns it.
 * A cache that is down is treated as a miss: the value is computed and the error reported
 * through `onCacheError`, never thrown, so an outage slows pages down instead of breaking them.
 */
export async function getOrSet(
  cache: Cache,
  key: string,
  ttlSeconds: number,
  compute: () => Promise<string>,
  onCacheError: (error: unknown) => void = () => {},
): Promise<string> {
  try {
    const hit = await cache.get(key);
    if (hit !== undefined) return hit;
  } catch (error) {
    onCacheError(error);
    return compute();
  }
  const value = await compute();
  try {
    await cache.set(key, value, ttlSeconds);
  } catch (error) {
    onCacheError(error);
  }
  return value;
}

import { getOrSet, type Cache } from '@rose/cache';
import type { Clock } from '@rose/core';
import { systemClock } from '@rose/core';
import type { Logger } from './logger.ts';

export interface Fragments {
  /**
   * Renders a server-island fragment through the cache. If rendering throws, the error is
   * logged once with the component's name, `fallback` is returned, and the component is not
   * tried again for `failureTtlSeconds` (one bad island must not be retried on every request).
   */
  render(component: string, variant: string, compute: () => Promise<string>, fallback: string): Promise<string>;
  /**
   * Like `render` for a fragment that differs per visitor (members-only content): the same
   * failure handling, but the HTML is never stored in the shared cache, so one visitor's
   * fragment can never be served to another. `variant` only names the failure back-off.
   */
  renderPrivate(component: string, variant: string, compute: () => Promise<string>, fallback: string): Promise<string>;
  /** Drops every cached variant of a component. */
  purge(component: string): Promise<number>;
}

export function createFragments(deps: {
  cache: Cache;
  logger: Logger;
  ttlSeconds: number;
  failureTtlSeconds?: number;
  clock?: Clock;
  /** Told whether each cached lookup was a hit (the app counts them: the island cache hit ratio). */
  onLookup?: (component: string, hit: boolean) => void;
}): Fragments {
  const clock = deps.clock ?? systemClock;
  const failureTtlMs = (deps.failureTtlSeconds ?? 30) * 1000;
  const failedUntil = new Map<string, number>();
  let lastCacheWarning = 0;
  const onCacheError = (error: unknown) => {
    // A cache outage is reported at most once a minute, not once per request.
    const now = clock.now().getTime();
    if (now - lastCacheWarning > 60_000) {
      lastCacheWarning = now;
      deps.logger.warn({ err: error }, 'fragment cache unavailable; rendering without it');
    }
  };
  const guarded = async (component: string, variant: string, compute: () => Promise<string>, fallback: string) => {
    const key = `${component}:${variant}`;
    const until = failedUntil.get(key);
    if (until !== undefined) {
      if (until > clock.now().getTime()) return fallback;
      failedUntil.delete(key);
    }
    try {
      return await compute();
    } catch (error) {
      failedUntil.set(key, clock.now().getTime() + failureTtlMs);
      deps.logger.error({ component, variant, err: error }, `server island "${component}" failed; showing its fallback for ${failureTtlMs / 1000}s`);
      return fallback;
    }
  };
  return {
    render: (component, variant, compute, fallback) =>
      guarded(
        component,
        variant,
        async () => {
          let rendered = false;
          try {
            return await getOrSet(
              deps.cache,
              `fragment:${component}:${variant}`,
              deps.ttlSeconds,
              () => {
                rendered = true;
                return compute();
              },
              onCacheError,
            );
          } finally {
            deps.onLookup?.(component, !rendered);
          }
        },
        fallback,
      ),
    renderPrivate: (component, variant, compute, fallback) => guarded(component, variant, compute, fallback),
    async purge(component) {
      for (const key of [...failedUntil.keys()]) if (key.startsWith(`${component}:`)) failedUntil.delete(key);
      return deps.cache.deleteByPrefix(`fragment:${component}:`);
    },
  };
}

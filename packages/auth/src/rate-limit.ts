import type { Cache } from '@rose/cache';
import { systemClock, type Clock } from '@rose/core';

export type Throttled = { ok: false; retryAfterSeconds: number };

export interface RateLimit {
  /** Counts an attempt; `ok: false` once more than `limit` happened in the window. */
  hit(key: string): Promise<{ ok: true } | Throttled>;
  reset(key: string): Promise<void>;
}

/** Fixed windows aligned to the clock, so the time left (Retry-After) is known exactly. */
function windowOf(clock: Clock, windowSeconds: number): { index: number; secondsLeft: number } {
  const ms = windowSeconds * 1000;
  const now = clock.now().getTime();
  const index = Math.floor(now / ms);
  return { index, secondsLeft: Math.max(1, Math.ceil(((index + 1) * ms - now) / 1000)) };
}

/**
 * Fixed-window attempt counting in the cache (Redis when configured, so all servers share
 * it; memory otherwise). If the cache is down, attempts are allowed: a cache outage must not
 * lock everybody out, and password hashing still slows guessing down.
 */
export function createRateLimit(deps: { cache: Cache; name: string; limit: number; windowSeconds: number; clock?: Clock }): RateLimit {
  const clock = deps.clock ?? systemClock;
  const keyOf = (key: string, index: number) => `ratelimit:${deps.name}:${key}:${index}`;
  return {
    async hit(key) {
      const w = windowOf(clock, deps.windowSeconds);
      let count: number;
      try {
        count = await deps.cache.increment(keyOf(key, w.index), w.secondsLeft);
      } catch {
        return { ok: true };
      }
      return count > deps.limit ? { ok: false, retryAfterSeconds: w.secondsLeft } : { ok: true };
    },
    async reset(key) {
      await deps.cache.delete(keyOf(key, windowOf(clock, deps.windowSeconds).index)).catch(() => {});
    },
  };
}

export interface LoginThrottleSettings {
  /** Attempts from one address, whatever the account (credential stuffing). */
  perIp: { limit: number; windowSeconds: number };
  /** Attempts on one account from one address since that address last signed in to it. */
  perAccountIp: { limit: number; windowSeconds: number };
  /**
   * Once an account has had more than `freeFailures` failed attempts in the window (from
   * anywhere), an address that already tried it may try again only once per growing delay
   * (1 s, 2 s, 4 s, … up to `maxDelaySeconds`). An address that has not tried the account
   * yet is never held back: the owner on their own device always gets their password checked.
   */
  perAccount: { freeFailures: number; windowSeconds: number; maxDelaySeconds: number };
}

export const defaultLoginThrottle: LoginThrottleSettings = {
  perIp: { limit: 100, windowSeconds: 15 * 60 },
  perAccountIp: { limit: 10, windowSeconds: 15 * 60 },
  perAccount: { freeFailures: 5, windowSeconds: 15 * 60, maxDelaySeconds: 30 },
};

export interface LoginThrottle {
  /** Before a password is checked: may this attempt go ahead? Counts it. */
  attempt(account: string, ip: string): Promise<{ ok: true } | Throttled>;
  /** The password was wrong (or the account does not exist). */
  failed(account: string, ip: string): Promise<void>;
  /** The password was right: this address starts afresh on this account. */
  succeeded(account: string, ip: string): Promise<void>;
}

/**
 * Sign-in throttling that slows guessing without letting a stranger lock a member out:
 * hard limits apply per address and per account+address, and the per-account part only
 * spaces out further tries from addresses that already failed on it.
 * Counters live in the cache; when it is down, attempts are allowed (see createRateLimit).
 */
export function createLoginThrottle(deps: { cache: Cache; clock?: Clock; settings?: LoginThrottleSettings }): LoginThrottle {
  const clock = deps.clock ?? systemClock;
  const s = deps.settings ?? defaultLoginThrottle;
  const pairKey = (account: string, ip: string, index: number) => `ratelimit:login-pair:${account}|${ip}:${index}`;
  const failuresKey = (account: string, index: number) => `ratelimit:login-account:${account}:${index}`;
  const tolerant = async <T>(fn: () => Promise<T>, fallback: T): Promise<T> => {
    try {
      return await fn();
    } catch {
      return fallback;
    }
  };

  return {
    async attempt(account, ip) {
      const ipWindow = windowOf(clock, s.perIp.windowSeconds);
      const fromIp = await tolerant(() => deps.cache.increment(`ratelimit:login-ip:${ip}:${ipWindow.index}`, ipWindow.secondsLeft), 0);
      if (fromIp > s.perIp.limit) return { ok: false, retryAfterSeconds: ipWindow.secondsLeft };

      const pairWindow = windowOf(clock, s.perAccountIp.windowSeconds);
      const fromPair = await tolerant(() => deps.cache.increment(pairKey(account, ip, pairWindow.index), pairWindow.secondsLeft), 0);
      if (fromPair > s.perAccountIp.limit) return { ok: false, retryAfterSeconds: pairWindow.secondsLeft };
      if (fromPair <= 1) return { ok: true }; // first try from this address: never held back

      const accountWindow = windowOf(clock, s.perAccount.windowSeconds);
      const failures = Number(await tolerant(() => deps.cache.get(failuresKey(account, accountWindow.index)), undefined)) || 0;
      if (failures <= s.perAccount.freeFailures) return { ok: true };
      const delay = Math.min(2 ** (failures - s.perAccount.freeFailures - 1), s.perAccount.maxDelaySeconds);
      // One such try per `delay` seconds for the whole account: the first to bump the gate
      // opens it (atomic in Redis) and the gate closes for `delay` seconds.
      const gate = `ratelimit:login-gate:${account}`;
      const now = clock.now().getTime();
      const inGate = await tolerant(() => deps.cache.increment(gate, delay), 0);
      if (inGate <= 1) {
        await tolerant(() => deps.cache.set(`${gate}:until`, String(now + delay * 1000), delay), undefined);
        return { ok: true };
      }
      const until = Number(await tolerant(() => deps.cache.get(`${gate}:until`), undefined));
      return { ok: false, retryAfterSeconds: until > now ? Math.ceil((until - now) / 1000) : delay };
    },
    async failed(account) {
      const w = windowOf(clock, s.perAccount.windowSeconds);
      await tolerant(() => deps.cache.increment(failuresKey(account, w.index), w.secondsLeft), 0);
    },
    async succeeded(account, ip) {
      await tolerant(() => deps.cache.delete(pairKey(account, ip, windowOf(clock, s.perAccountIp.windowSeconds).index)), undefined);
    },
  };
}

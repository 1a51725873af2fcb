/**
 * A first-come, first-served lock on the one PGlite session. Whoever holds it (the owning
 * process's own Kysely, or one client connected over the socket) is the only one talking to
 * PGlite until it releases it, so the statements of two transactions never interleave.
 *
 * @example
 * const release = await lock.acquire();
 * try { await pglite.query('select 1'); } finally { release(); }
 */
export interface SessionLock {
  /**
   * Resolves with a release function once the caller holds the lock. Rejects with the
   * signal's reason if `signal` aborts first (the caller then never holds it).
   */
  acquire(signal?: AbortSignal): Promise<() => void>;
  /** True while someone holds the lock. */
  readonly held: boolean;
  /** How many are waiting for it. */
  readonly waiting: number;
}

export function createSessionLock(): SessionLock {
  let held = false;
  const queue: Array<() => void> = [];
  const grant = (): (() => void) => {
    held = true;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = queue.shift();
      if (next) next();
      else held = false;
    };
  };
  return {
    acquire(signal) {
      if (signal?.aborted) return Promise.reject(signal.reason);
      if (!held) return Promise.resolve(grant());
      return new Promise((resolve, reject) => {
        const waiter = () => {
          signal?.removeEventListener('abort', onAbort);
          resolve(grant());
        };
        const onAbort = () => {
          const i = queue.indexOf(waiter);
          if (i >= 0) queue.splice(i, 1);
          reject(signal!.reason);
        };
        signal?.addEventListener('abort', onAbort, { once: true });
        queue.push(waiter);
      });
    },
    get held() {
      return held;
    },
    get waiting() {
      return queue.length;
    },
  };
}

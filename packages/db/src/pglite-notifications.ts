import type { PGlite } from '@electric-sql/pglite';
import type { SessionLock } from './session-lock.ts';

/** A listener on a notification channel; `close()` stops it (and resolves once it has). */
export interface NotificationListener {
  close(): Promise<void>;
}

/**
 * The notification listeners of one process on the embedded database. While this process
 * owns the database, every channel somebody listens on is LISTENed in PGlite's one session,
 * and notifications reach the listeners from two places: PGlite's own parsing of the owner's
 * queries (`pglite.listen`), and the socket server reading them out of its clients' output
 * (`deliver`), which PGlite never parses. While this process is a client there is no session
 * of its own to LISTEN in: its listeners hear nothing (callers poll) until it takes the
 * database over, when `attach` LISTENs on their channels in its new PGlite.
 */
export interface NotificationHub {
  listen(channel: string, onNotify: (payload: string) => void): Promise<NotificationListener>;
  /** A notification read out of a client's output. */
  deliver(channel: string, payload: string): void;
  /** This process owns the database now: LISTEN on every channel somebody listens on. */
  attach(session: { pglite: PGlite; lock: SessionLock }): Promise<void>;
  /** The owner of `pglite` is closing: its session's LISTENs go with it. */
  detach(pglite: PGlite): void;
}

interface OwnerSession {
  readonly pglite: PGlite;
  readonly lock: SessionLock;
  /** The channels this session LISTENs on, each with what UNLISTENs it. */
  readonly listening: Map<string, () => Promise<void>>;
}

/** `onError` hears what nobody awaits: a listener that threw, an UNLISTEN that failed. */
export function createNotificationHub(onError: (error: Error) => void): NotificationHub {
  const listeners = new Map<string, Set<(payload: string) => void>>();
  let owner: OwnerSession | undefined;
  let chain: Promise<void> = Promise.resolve();
  // One LISTEN or UNLISTEN at a time, so the session follows `listeners` however callers interleave.
  const serially = (step: () => Promise<void>): Promise<void> => {
    const run = chain.then(step);
    chain = run.catch(() => {});
    return run;
  };

  const deliver = (channel: string, payload: string) => {
    for (const onNotify of [...(listeners.get(channel) ?? [])]) {
      try {
        onNotify(payload);
      } catch (error) {
        onError(error as Error);
      }
    }
  };

  /** LISTENs on `channel` in the owner's session exactly while somebody in this process listens. */
  const sync = async (channel: string): Promise<void> => {
    const session = owner;
    if (!session) return;
    const wanted = (listeners.get(channel)?.size ?? 0) > 0;
    if (wanted === session.listening.has(channel)) return;
    // The owner's Kysely and each client hold this lock for a whole transaction: a LISTEN run
    // in the middle of a client's transaction would be undone with it.
    const release = await session.lock.acquire();
    try {
      if (owner !== session || session.pglite.closed) return;
      if (wanted) {
        session.listening.set(channel, await session.pglite.listen(channel, (payload) => deliver(channel, payload)));
      } else {
        const unlisten = session.listening.get(channel)!;
        session.listening.delete(channel);
        await unlisten();
      }
    } finally {
      release();
    }
  };

  return {
    deliver,
    async listen(channel, onNotify) {
      // The name goes into LISTEN as it is, and must equal what NOTIFY reports.
      if (!/^[a-z_][a-z0-9_]*$/.test(channel)) {
        throw new Error(`Cannot listen on the channel "${channel}": name it with lower-case letters, digits and underscores only`);
      }
      // A function of its own: the same callback given twice is two listeners, closed one by one.
      const callback = (payload: string) => onNotify(payload);
      const forget = () => {
        const set = listeners.get(channel);
        set?.delete(callback);
        if (set?.size === 0) listeners.delete(channel);
      };
      listeners.set(channel, (listeners.get(channel) ?? new Set()).add(callback));
      try {
        await serially(() => sync(channel));
      } catch (error) {
        forget();
        await serially(() => sync(channel)).catch(() => {});
        throw error;
      }
      let closing: Promise<void> | undefined;
      return {
        close: () =>
          (closing ??= (async () => {
            forget();
            // A stale LISTEN costs notifications written into clients' streams and ignored;
            // not worth failing the caller's shutdown for.
            await serially(() => sync(channel)).catch((error: unknown) => onError(error as Error));
          })()),
      };
    },
    async attach(session) {
      owner = { ...session, listening: new Map() };
      for (const channel of [...listeners.keys()]) {
        // The database opens all the same; the listeners' callers poll.
        await serially(() => sync(channel)).catch((error: unknown) => onError(error as Error));
      }
    },
    detach(pglite) {
      if (owner?.pglite === pglite) owner = undefined;
    },
  };
}

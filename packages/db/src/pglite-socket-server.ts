import fs from 'node:fs';
import net from 'node:net';
import type { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketHandler, type PGLiteSocketHandlerOptions } from '@electric-sql/pglite-socket';
import type { SessionLock } from './session-lock.ts';

/**
 * The owner's side of the shared embedded database: a Postgres wire-protocol server on a
 * unix socket in front of the owner's PGlite.
 *
 * pglite-socket's own server queues single protocol messages, not transactions: a message
 * from a second client may run between another client's `BEGIN` and `COMMIT` when the first
 * has nothing queued, in the middle of its Parse/Bind/Execute (the unnamed statement is
 * shared), and it never waits for the owner's own queries. So this server keeps
 * pglite-socket's per-connection handler (framing, SSL and cancel requests) and replaces the
 * queue: a client takes the session lock with its first message and keeps it until PGlite
 * answers it with ReadyForQuery "idle" — after a whole transaction, or a whole extended-protocol
 * query. The owner's own Kysely takes the same lock (see pglite-shared.ts).
 */
export interface PgliteSocketServer {
  /** Path of the socket file (`<dir>/.s.PGSQL.<port>`, so `psql -h <dir>` works). */
  readonly socketPath: string;
  /** Open client connections. */
  readonly connections: number;
  /**
   * Stops accepting connections, waits up to `graceMs` for a client's transaction to end
   * (then cuts it: its transaction rolls back), closes every client, and resolves holding the
   * session lock so nothing runs while the caller closes PGlite.
   */
  stop(graceMs?: number): Promise<() => void>;
}

export interface PgliteSocketServerOptions {
  pglite: PGlite;
  lock: SessionLock;
  socketPath: string;
  /**
   * A client holding the session (inside a transaction) that sends nothing for this long is
   * disconnected and its transaction rolled back, so a stuck command cannot stall the site.
   */
  idleInTransactionTimeoutMs: number;
  /** Told about client-side protocol failures (logged by the caller; the connection is closed). */
  onClientError?: (error: Error) => void;
  /**
   * Told about each NotificationResponse in a client's output. PGlite has one session, so a
   * NOTIFY raised by a client's statement (and heard because the session LISTENs) is written
   * into that client's stream, which PGlite itself does not parse: the owner's
   * `pglite.listen()` never hears it. Called once the client's message has run; the bytes go
   * to the client unchanged (pg ignores a notification nobody listens for).
   */
  onNotification?: (channel: string, payload: string) => void;
}

// Protocol bytes (https://www.postgresql.org/docs/current/protocol-message-formats.html).
const READY_FOR_QUERY = 0x5a; // 'Z'
const NOTIFICATION_RESPONSE = 0x41; // 'A'
const TERMINATE = 0x58; // 'X'
const IDLE = 0x49; // 'I': not in a transaction block
const SYNC = new Uint8Array([0x53, 0, 0, 0, 4]);

export async function startPgliteSocketServer(opts: PgliteSocketServerOptions): Promise<PgliteSocketServer> {
  const { pglite, lock } = opts;
  const sessions = new Map<number, ClientSession>();
  let stopping = false;

  const endSession = async (session: ClientSession): Promise<void> => {
    if (session.ended) return session.ended;
    session.aborted.abort(new Error('client disconnected'));
    clearTimeout(session.idleTimer);
    session.ended = (async () => {
      await session.chain;
      const release = session.release;
      session.release = undefined;
      if (!release) return;
      try {
        // A client that left in the middle of an extended-protocol query (or after an error
        // there) leaves the backend waiting for Sync; one Sync resets that. Then an open
        // transaction is rolled back: a client that disconnects never commits.
        await pglite.runExclusive(() => pglite.execProtocolRaw(SYNC));
        if (pglite.isInTransaction()) await pglite.exec('ROLLBACK');
      } catch (error) {
        opts.onClientError?.(error as Error);
      } finally {
        release();
      }
    })();
    await session.ended;
    sessions.delete(session.id);
  };

  const execute = async (session: ClientSession, message: Uint8Array, onData: (data: Uint8Array) => void): Promise<number> => {
    if (session.ended || session.aborted.signal.aborted) throw new Error('Handler disconnected');
    clearTimeout(session.idleTimer);
    if (message[0] === TERMINATE) {
      // The client is leaving; its socket closes next and endSession cleans up. PGlite has no
      // backend process to end, so the message is not passed on.
      return 0;
    }
    session.release ??= await lock.acquire(session.aborted.signal);
    const notifications: Array<[channel: string, payload: string]> = [];
    const tracker = createMessageTracker(opts.onNotification && ((channel, payload) => notifications.push([channel, payload])));
    let bytes = 0;
    try {
      await pglite.runExclusive(() =>
        pglite.execProtocolRawStream(message, {
          onRawData: (data) => {
            bytes += data.length;
            tracker.feed(data);
            onData(data);
          },
        }),
      );
    } finally {
      // Outside PGlite's write callback: a listener may well query the database.
      for (const [channel, payload] of notifications) {
        try {
          opts.onNotification!(channel, payload);
        } catch (error) {
          opts.onClientError?.(error as Error);
        }
      }
    }
    if (tracker.readyAndIdle()) {
      const release = session.release;
      session.release = undefined;
      release();
    } else if (opts.idleInTransactionTimeoutMs > 0) {
      session.idleTimer = setTimeout(() => {
        session.socket.end(fatalError('25P03', `terminating connection: idle in a transaction for more than ${opts.idleInTransactionTimeoutMs / 1000} s while the embedded database is shared`));
        session.socket.destroySoon();
      }, opts.idleInTransactionTimeoutMs);
      session.idleTimer.unref();
    }
    return bytes;
  };

  // pglite-socket types its queue as its own (unexported) class; this object is the same
  // shape, pinned by the exact pglite-socket version in package.json and the tests beside.
  const queue = {
    enqueue(handlerId: number, message: Uint8Array, onData: (data: Uint8Array) => void): Promise<number> {
      const session = sessions.get(handlerId);
      if (!session) return Promise.reject(new Error('Handler disconnected'));
      const run = session.chain.then(() => execute(session, message, onData));
      session.chain = run.then(
        () => undefined,
        () => undefined,
      );
      return run;
    },
    clearQueueForHandler(handlerId: number): void {
      sessions.get(handlerId)?.aborted.abort(new Error('client disconnected'));
    },
    async clearTransactionIfNeeded(handlerId: number): Promise<void> {
      const session = sessions.get(handlerId);
      if (session) await endSession(session);
    },
    getQueueLength: () => lock.waiting,
  } as unknown as PGLiteSocketHandlerOptions['queryQueue'];

  const server = net.createServer((socket) => {
    if (stopping) {
      socket.destroy();
      return;
    }
    const handler = new PGLiteSocketHandler({ queryQueue: queue, closeOnDetach: true });
    const session: ClientSession = {
      id: handler.handlerId,
      socket,
      chain: Promise.resolve(),
      release: undefined,
      aborted: new AbortController(),
      idleTimer: undefined,
      ended: undefined,
    };
    sessions.set(session.id, session);
    handler.addEventListener('error', (event) => {
      const error = (event as CustomEvent<Error>).detail;
      // A client going away (or us closing it) is not worth a word; a broken protocol is.
      if (!session.aborted.signal.aborted && !/ECONNRESET|EPIPE/.test(error?.message ?? '')) opts.onClientError?.(error);
      void endSession(session);
    });
    handler.addEventListener('close', () => void endSession(session));
    socket.on('close', () => void endSession(session));
    void handler.attach(socket);
  });
  server.maxConnections = 64;

  fs.rmSync(opts.socketPath, { force: true }); // a socket file left by a killed owner
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.socketPath, () => {
      server.off('error', reject);
      resolve();
    });
  });
  // Failing to accept one connection (EMFILE, …) must not take the owner down.
  server.on('error', (error) => opts.onClientError?.(error));
  // The directory is private already (0700); the socket itself is owner-only too.
  fs.chmodSync(opts.socketPath, 0o600);

  return {
    socketPath: opts.socketPath,
    get connections() {
      return sessions.size;
    },
    async stop(graceMs = 10_000) {
      stopping = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      const acquiring = lock.acquire();
      let timer: NodeJS.Timeout | undefined;
      const graceOver = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), graceMs);
      });
      if ((await Promise.race([acquiring.then(() => 'held' as const), graceOver])) === 'timeout') {
        // A client is still inside a transaction: cut it (its transaction rolls back).
        for (const session of sessions.values()) session.socket.destroy();
      }
      clearTimeout(timer);
      const release = await acquiring;
      for (const session of sessions.values()) {
        session.aborted.abort(new Error('server stopping'));
        session.socket.destroy();
      }
      await closed;
      return release;
    },
  };
}

interface ClientSession {
  readonly id: number;
  readonly socket: net.Socket;
  /** This client's messages, one after another. */
  chain: Promise<unknown>;
  /** Set while this client holds the session lock. */
  release: (() => void) | undefined;
  readonly aborted: AbortController;
  idleTimer: NodeJS.Timeout | undefined;
  ended: Promise<void> | undefined;
}

/**
 * Follows backend messages across chunks and remembers whether the last complete one was
 * ReadyForQuery with status idle: the point where a client's session may be handed on. Each
 * complete NotificationResponse is passed to `onNotification`, however its bytes were split.
 */
export function createMessageTracker(onNotification?: (channel: string, payload: string) => void): { feed(data: Uint8Array): void; readyAndIdle(): boolean } {
  const header = new Uint8Array(5);
  let headerLength = 0;
  let remaining = 0;
  let type = 0;
  let status = 0;
  let lastType = 0;
  let lastStatus = 0;
  // The body of a NotificationResponse being read, and how much of it has arrived.
  let body: Uint8Array | undefined;
  let bodyLength = 0;
  return {
    feed(data) {
      let i = 0;
      while (i < data.length) {
        if (headerLength < 5) {
          header[headerLength++] = data[i++]!;
          if (headerLength === 5) {
            type = header[0]!;
            remaining = ((header[1]! << 24) | (header[2]! << 16) | (header[3]! << 8) | header[4]!) - 4;
            status = 0;
            if (remaining <= 0) {
              lastType = type;
              lastStatus = 0;
              headerLength = 0;
            } else if (type === NOTIFICATION_RESPONSE && onNotification) {
              body = new Uint8Array(remaining);
              bodyLength = 0;
            }
          }
          continue;
        }
        const take = Math.min(remaining, data.length - i);
        if (type === READY_FOR_QUERY && status === 0) status = data[i]!;
        if (body) {
          body.set(data.subarray(i, i + take), bodyLength);
          bodyLength += take;
        }
        i += take;
        remaining -= take;
        if (remaining === 0) {
          lastType = type;
          lastStatus = status;
          headerLength = 0;
          if (body) {
            const notification = parseNotification(body);
            body = undefined;
            if (notification) onNotification!(notification.channel, notification.payload);
          }
        }
      }
    },
    readyAndIdle: () => headerLength === 0 && lastType === READY_FOR_QUERY && lastStatus === IDLE,
  };
}

/** A NotificationResponse's body: int32 process id, channel and payload as C strings. */
function parseNotification(body: Uint8Array): { channel: string; payload: string } | undefined {
  const channelEnd = body.indexOf(0, 4);
  const payloadEnd = channelEnd < 0 ? -1 : body.indexOf(0, channelEnd + 1);
  if (payloadEnd < 0) return undefined; // malformed: not ours to fix, the client will complain
  const text = new TextDecoder();
  return { channel: text.decode(body.subarray(4, channelEnd)), payload: text.decode(body.subarray(channelEnd + 1, payloadEnd)) };
}

/** An ErrorResponse with severity FATAL, as Postgres sends before it closes a connection. */
function fatalError(code: string, message: string): Buffer {
  const fields = Buffer.concat([field('S', 'FATAL'), field('V', 'FATAL'), field('C', code), field('M', message), Buffer.from([0])]);
  const head = Buffer.alloc(5);
  head[0] = 0x45; // 'E'
  head.writeInt32BE(fields.length + 4, 1);
  return Buffer.concat([head, fields]);
}

function field(code: string, value: string): Buffer {
  return Buffer.concat([Buffer.from(code, 'ascii'), Buffer.from(value, 'utf8'), Buffer.from([0])]);
}

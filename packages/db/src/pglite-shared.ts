import fs from 'node:fs';
import {
  PGliteAdapter,
  PGliteDriver,
  PostgresDriver,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type CompiledQuery,
  type DatabaseConnection,
  type Dialect,
  type Driver,
  type Kysely,
  type QueryCompiler,
  type QueryResult,
  type TransactionSettings,
} from 'kysely';
import pg from 'pg';
import type { PGlite } from '@electric-sql/pglite';
import { RoseError } from '@rose/core';
import {
  SOCKET_PORT,
  describeThisCommand,
  embeddedPaths,
  prepareSocketDir,
  readLock,
  readSocketInfo,
  removeIfOurs,
  socketFile,
  tryTakeOwnership,
  writeSocketInfo,
  type EmbeddedPaths,
  type LockRecord,
  type SocketInfo,
} from './pglite-ownership.ts';
import { createNotificationHub, type NotificationHub, type NotificationListener } from './pglite-notifications.ts';
import type { PgliteSocketServer } from './pglite-socket-server.ts';
import { createSessionLock, type SessionLock } from './session-lock.ts';

/** How this process reaches the embedded database right now. */
export interface EmbeddedStatus {
  /**
   * `owner`: PGlite runs in this process and is shared over the socket; `client`: another
   * process owns it and this one connects over the socket; `memory`: a private in-memory
   * database (tests).
   */
  readonly role: 'owner' | 'client' | 'memory';
  readonly ownerPid: number;
  /** What the owner runs (`rose serve`). */
  readonly ownerCommand: string;
  /** Folder of the unix socket (`psql -h <socket>`); undefined in memory. */
  readonly socket: string | undefined;
}

export interface SharedPgliteOptions {
  /** Data folder; undefined keeps the database in memory, private to this process. */
  dir?: string | undefined;
  /** Start from a dumped data directory (in memory only: fast test databases). */
  loadDataDir?: Blob | undefined;
  /** How long to wait for a live owner that has not started sharing yet (it may be starting). */
  waitForOwnerMs?: number;
  /** See PgliteSocketServerOptions.idleInTransactionTimeoutMs. */
  idleInTransactionTimeoutMs?: number;
  /** Told about failures on the owner's side that nobody awaits (a client's broken protocol). */
  onBackgroundError?: (error: Error) => void;
}

export interface SharedPglite {
  readonly dialect: Dialect;
  status(): EmbeddedStatus;
  /** The owner's PGlite while this process owns the database (for tests and tools). */
  pglite(): PGlite | undefined;
  /**
   * While this process owns the database: whether someone holds the PGlite session, how many
   * wait for it (the owner's own queries and clients alike), and open client connections.
   */
  sessions(): { held: boolean; waiting: number; connections: number } | undefined;
  /**
   * Calls `onNotify` with the payload of each notification on `channel` (a lower-case name:
   * `rose_jobs`) while this process owns the database: raised by its own queries and by every
   * client's over the socket (the socket server reads them out of the clients' output), on
   * commit, never for a rolled-back transaction. While this process is a client it hears
   * nothing — poll as well — until it takes the database over from an owner that stopped;
   * then it hears them again. Several listeners may share a channel; the session stops
   * LISTENing when the last one closes.
   *
   * @example
   * const listener = await shared.listen('rose_jobs', () => worker.poke());
   * await listener.close();
   */
  listen(channel: string, onNotify: (payload: string) => void): Promise<NotificationListener>;
  /**
   * Stops sharing and closes PGlite (owner) or the connection (client). Kysely's `destroy()`
   * does this too, but only once Kysely has been used.
   */
  close(): Promise<void>;
}

/**
 * Opens the embedded database at `dir`: owns it (PGlite in this process, shared with other
 * processes over a unix socket) when nobody else does, otherwise connects to the owner with
 * `pg`. Statements of two sessions — the owner's own and each client's — never interleave:
 * one holds the PGlite session from the start of a transaction (or a lone statement) to
 * its end. When the owner stops, a client's next query finds the new owner or becomes it.
 *
 * @example
 * const shared = await openSharedPglite({ dir: '.rose/pglite' });
 * const db = new Kysely<Database>({ dialect: shared.dialect });
 * shared.status().role; // 'owner' or 'client'
 */
export async function openSharedPglite(opts: SharedPgliteOptions): Promise<SharedPglite> {
  const driver = new SharedPgliteDriver(opts);
  await driver.init();
  return {
    dialect: {
      createAdapter: () => new PGliteAdapter(),
      createDriver: () => driver,
      createIntrospector: (db: Kysely<unknown>) => new PostgresIntrospector(db),
      createQueryCompiler: () => new PostgresQueryCompiler(),
    },
    status: () => driver.status(),
    pglite: () => driver.ownedPglite(),
    sessions: () => driver.sessions(),
    listen: (channel, onNotify) => driver.notifications.listen(channel, onNotify),
    close: () => driver.destroy(),
  };
}

type Backend = OwnerBackend | ClientBackend;

interface OwnerBackend {
  readonly kind: 'owner' | 'memory';
  readonly pglite: PGlite;
  readonly driver: Driver;
  readonly lock: SessionLock;
  readonly server: PgliteSocketServer | undefined;
  readonly status: EmbeddedStatus;
  close(): Promise<void>;
}

interface ClientBackend {
  readonly kind: 'client';
  readonly driver: Driver;
  readonly info: SocketInfo;
  /** Why the owner last closed our connection, when it said (e.g. the idle-in-transaction limit). */
  readonly dropped: { error: Error | undefined };
  readonly status: EmbeddedStatus;
  close(): Promise<void>;
}

interface Lease {
  readonly backend: Backend;
  readonly inner: DatabaseConnection;
  readonly release: (() => void) | undefined;
}

class SharedPgliteDriver implements Driver {
  readonly #opts: SharedPgliteOptions;
  readonly #paths: EmbeddedPaths | undefined;
  #backend: Backend | undefined;
  #attaching: Promise<Backend> | undefined;
  #destroyed = false;
  readonly #leases = new WeakMap<DatabaseConnection, Lease>();
  readonly #wrappers = new WeakMap<DatabaseConnection, DatabaseConnection>();
  /** Outlives the backends: listeners keep listening when this process takes the database over. */
  readonly notifications: NotificationHub;

  constructor(opts: SharedPgliteOptions) {
    this.#opts = opts;
    this.#paths = opts.dir ? embeddedPaths(opts.dir) : undefined;
    this.notifications = createNotificationHub(backgroundErrors(opts, 'Embedded database notifications'));
  }

  async init(): Promise<void> {
    await this.#current();
  }

  status(): EmbeddedStatus {
    if (this.#backend) return this.#backend.status;
    const holder = this.#paths ? readLock(this.#paths.lockPath) : undefined;
    return { role: 'client', ownerPid: holder?.pid ?? 0, ownerCommand: 'unknown', socket: undefined };
  }

  sessions(): { held: boolean; waiting: number; connections: number } | undefined {
    const backend = this.#backend;
    if (!backend || backend.kind === 'client') return undefined;
    return { held: backend.lock.held, waiting: backend.lock.waiting, connections: backend.server?.connections ?? 0 };
  }

  ownedPglite(): PGlite | undefined {
    return this.#backend && this.#backend.kind !== 'client' ? this.#backend.pglite : undefined;
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    for (let attempt = 0; ; attempt++) {
      const backend = await this.#current();
      if (backend.kind !== 'client') {
        const release = await backend.lock.acquire();
        try {
          return this.#lease(backend, await backend.driver.acquireConnection(), release);
        } catch (error) {
          release();
          throw error;
        }
      }
      try {
        const inner = await backend.driver.acquireConnection();
        backend.dropped.error = undefined;
        return this.#lease(backend, inner, undefined);
      } catch (error) {
        // The owner stopped (or was killed) since we last spoke to it: nothing was sent, so
        // find the new owner — or become it — and try again.
        if (!isOwnerGone(error) || attempt >= 2) throw translateClientError(error, backend, this.#opts.dir);
        await this.#drop(backend);
      }
    }
  }

  async releaseConnection(connection: DatabaseConnection): Promise<void> {
    const lease = this.#take(connection);
    try {
      await lease.backend.driver.releaseConnection(lease.inner);
    } finally {
      lease.release?.();
    }
  }

  beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    return this.#on(connection, (driver, inner) => driver.beginTransaction(inner, settings));
  }

  commitTransaction(connection: DatabaseConnection): Promise<void> {
    return this.#on(connection, (driver, inner) => driver.commitTransaction(inner));
  }

  rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    return this.#on(connection, (driver, inner) => driver.rollbackTransaction(inner));
  }

  savepoint(connection: DatabaseConnection, name: string, compileQuery: QueryCompiler['compileQuery']): Promise<void> {
    return this.#on(connection, (driver, inner) => driver.savepoint!(inner, name, compileQuery));
  }

  rollbackToSavepoint(connection: DatabaseConnection, name: string, compileQuery: QueryCompiler['compileQuery']): Promise<void> {
    return this.#on(connection, (driver, inner) => driver.rollbackToSavepoint!(inner, name, compileQuery));
  }

  releaseSavepoint(connection: DatabaseConnection, name: string, compileQuery: QueryCompiler['compileQuery']): Promise<void> {
    return this.#on(connection, (driver, inner) => driver.releaseSavepoint!(inner, name, compileQuery));
  }

  #destroying: Promise<void> | undefined;

  destroy(): Promise<void> {
    this.#destroying ??= (async () => {
      this.#destroyed = true;
      const backend = this.#backend ?? (await this.#attaching?.catch(() => undefined));
      this.#backend = undefined;
      await backend?.close();
    })();
    return this.#destroying;
  }

  #lease(backend: Backend, inner: DatabaseConnection, release: (() => void) | undefined): DatabaseConnection {
    let wrapper = this.#wrappers.get(inner);
    if (!wrapper) {
      const dir = this.#opts.dir;
      wrapper =
        backend.kind === 'client'
          ? {
              executeQuery: <R>(query: CompiledQuery): Promise<QueryResult<R>> =>
                inner.executeQuery<R>(query).catch((error: unknown) => {
                  throw translateClientError(error, backend, dir);
                }),
              streamQuery: <R>(query: CompiledQuery, chunkSize: number) => inner.streamQuery<R>(query, chunkSize),
            }
          : {
              executeQuery: <R>(query: CompiledQuery) => inner.executeQuery<R>(query),
              streamQuery: <R>(query: CompiledQuery, chunkSize: number) => inner.streamQuery<R>(query, chunkSize),
            };
      this.#wrappers.set(inner, wrapper);
    }
    this.#leases.set(wrapper, { backend, inner, release });
    return wrapper;
  }

  /** Runs a driver call on the leased connection; a client's lost connection is explained. */
  async #on(connection: DatabaseConnection, call: (driver: Driver, inner: DatabaseConnection) => Promise<void>): Promise<void> {
    const lease = this.#get(connection);
    try {
      await call(lease.backend.driver, lease.inner);
    } catch (error) {
      throw lease.backend.kind === 'client' ? translateClientError(error, lease.backend, this.#opts.dir) : error;
    }
  }

  #get(connection: DatabaseConnection): Lease {
    const lease = this.#leases.get(connection);
    if (!lease) throw new Error('This connection was not acquired from the embedded database driver');
    return lease;
  }

  #take(connection: DatabaseConnection): Lease {
    const lease = this.#get(connection);
    this.#leases.delete(connection);
    return lease;
  }

  #current(): Promise<Backend> {
    if (this.#destroyed) return Promise.reject(new Error('The embedded database has been closed'));
    if (this.#backend) return Promise.resolve(this.#backend);
    this.#attaching ??= this.#attach().then(
      (backend) => {
        this.#attaching = undefined;
        if (this.#destroyed) {
          void backend.close();
          throw new Error('The embedded database has been closed');
        }
        this.#backend = backend;
        return backend;
      },
      (error: unknown) => {
        this.#attaching = undefined;
        throw error;
      },
    );
    return this.#attaching;
  }

  async #drop(backend: Backend): Promise<void> {
    if (this.#backend === backend) this.#backend = undefined;
    await backend.close().catch(() => {});
  }

  async #attach(): Promise<Backend> {
    const paths = this.#paths;
    if (!paths) return openOwner(undefined, this.#opts, this.notifications);
    const waitMs = this.#opts.waitForOwnerMs ?? 30_000;
    const deadline = Date.now() + waitMs;
    let holder: LockRecord | undefined;
    let info: SocketInfo | undefined;
    for (let round = 0; ; round++) {
      const ownership = tryTakeOwnership(paths);
      if (ownership.owned) return openOwner(paths, this.#opts, this.notifications, ownership);
      holder = ownership.holder;
      info = readSocketInfo(paths.infoPath);
      if (info && holder.token !== undefined && info.token === holder.token) {
        if (info.unshared !== undefined) {
          throw new RoseError({
            code: 'database-locked',
            title: 'Embedded database in use',
            message: `The embedded database at ${paths.dataDir} is open in \`${info.command}\` (process ${info.pid}), which could not share it with other processes: ${info.unshared}`,
            hint: 'Stop that process first, or set DATABASE_URL to a Postgres server that several processes can share.',
          });
        }
        const client = await connectClient(info);
        if (client) return client;
      }
      // The owner is starting (no socket yet) or stopping (socket gone, lock not yet).
      if (Date.now() >= deadline) break;
      await new Promise((resolve) => setTimeout(resolve, Math.min(25 * 2 ** Math.min(round, 3), 200)));
    }
    const who = `process ${holder.pid}${info?.pid === holder.pid ? ` (\`${info.command}\`)` : ''}`;
    throw new RoseError({
      code: 'database-locked',
      title: 'Embedded database in use',
      message: `The embedded database at ${paths.dataDir} is held by ${who}, which did not share it within ${Math.round(waitMs / 1000)} s.`,
      hint: `If ${who} is a \`rose\` command, it may be stuck: stop it and try again. If no such process runs, remove ${paths.lockPath}. Or set DATABASE_URL to a Postgres server.`,
    });
  }
}

async function openOwner(
  paths: EmbeddedPaths | undefined,
  opts: SharedPgliteOptions,
  notifications: NotificationHub,
  ownership?: Extract<ReturnType<typeof tryTakeOwnership>, { owned: true }>,
): Promise<OwnerBackend> {
  const { PGlite } = await import('@electric-sql/pglite');
  let pglite: PGlite;
  try {
    pglite = new PGlite({
      ...(paths ? { dataDir: paths.dataDir } : {}),
      ...(opts.loadDataDir ? { loadDataDir: opts.loadDataDir } : {}),
      // PGlite's default 128 MB of shared buffers is sized for a server; the embedded
      // database is small and the OS caches its files anyway. Saves ~120 MiB per process.
      postgresqlconf: 'shared_buffers=16MB',
    });
    await pglite.waitReady;
  } catch (error) {
    ownership?.release();
    throw new RoseError({
      code: 'database-unreachable',
      title: 'Embedded database failed to open',
      message: `Could not open the embedded database at ${paths?.dataDir ?? '(memory)'}: ${(error as Error).message}`,
      hint: 'If the folder is damaged, move it away and run `rose db migrate && rose db seed` to start afresh.',
      cause: error,
    });
  }
  const driver = new PGliteDriver({ pglite });
  await driver.init();
  const lock = createSessionLock();
  // Before any client can connect: a NOTIFY of the first client's is heard already.
  await notifications.attach({ pglite, lock });
  if (!paths || !ownership) {
    return {
      kind: 'memory',
      pglite,
      driver,
      lock,
      server: undefined,
      status: { role: 'memory', ownerPid: process.pid, ownerCommand: describeThisCommand(), socket: undefined },
      close: () => {
        notifications.detach(pglite);
        return pglite.close();
      },
    };
  }

  let server: PgliteSocketServer | undefined;
  let socketDir: { dir: string; temporary: boolean } | undefined;
  const command = describeThisCommand();
  // Should the process end without closing (a crash, process.exit), the files that would
  // mislead the next process go with it; the lock alone would be recognised as stale anyway.
  const cleanUp = () => {
    removeIfOurs(paths.infoPath, ownership.token);
    if (socketDir) fs.rmSync(socketDir.temporary ? socketDir.dir : socketFile(socketDir.dir), { recursive: true, force: true });
    ownership.release();
  };
  process.once('exit', cleanUp);
  const startedAt = new Date().toISOString();
  try {
    socketDir = prepareSocketDir(paths);
    // Loaded only by owners: a command that reaches another process's database needs just pg.
    const { startPgliteSocketServer } = await import('./pglite-socket-server.ts');
    server = await startPgliteSocketServer({
      pglite,
      lock,
      socketPath: socketFile(socketDir.dir),
      idleInTransactionTimeoutMs: opts.idleInTransactionTimeoutMs ?? 60_000,
      onClientError: backgroundErrors(opts, 'Embedded database socket'),
      onNotification: notifications.deliver,
    });
    writeSocketInfo(paths.infoPath, { pid: process.pid, token: ownership.token, command, socketDir: socketDir.dir, port: SOCKET_PORT, startedAt });
  } catch (error) {
    // This process still has the database; the others are told at once why they cannot
    // reach it, instead of waiting for a socket that will not come.
    await server?.stop(0).then((release) => release());
    server = undefined;
    const reason = (error as Error).message;
    process.emitWarning(`The embedded database at ${paths.dataDir} is not shared with other processes: ${reason}`);
    try {
      writeSocketInfo(paths.infoPath, { pid: process.pid, token: ownership.token, command, socketDir: '', port: 0, startedAt, unshared: reason });
    } catch {
      // they will time out waiting and name this process
    }
  }
  const running = server;
  return {
    kind: 'owner',
    pglite,
    driver,
    lock,
    server: running,
    status: { role: 'owner', ownerPid: process.pid, ownerCommand: command, socket: running ? socketDir?.dir : undefined },
    async close() {
      // Stop sharing first (clients finish or roll back their transaction), then close
      // PGlite, and only then let the next owner in. Listeners stay, dormant.
      notifications.detach(pglite);
      const release = running ? await running.stop() : await lock.acquire();
      try {
        if (!pglite.closed) await pglite.close();
      } finally {
        release();
        cleanUp();
        process.off('exit', cleanUp);
      }
    },
  };
}

function backgroundErrors(opts: SharedPgliteOptions, what: string): (error: Error) => void {
  return opts.onBackgroundError ?? ((error) => process.emitWarning(`${what}: ${error.message}`));
}

/** Connects to the owner; undefined when nobody answers on the socket (it stopped or died). */
async function connectClient(info: SocketInfo): Promise<ClientBackend | undefined> {
  const dropped: { error: Error | undefined } = { error: undefined };
  // pg emits 'error' on a checked-out client whose connection drops between queries (the
  // owner stopped, or cut an idle transaction); unheard, that would crash the process. The
  // next query on it fails instead, and is explained with what the owner said.
  class QuietClient extends pg.Client {
    constructor(config?: string | pg.ClientConfig) {
      super(config);
      this.on('error', (error: Error) => (dropped.error = error));
    }
  }
  const pool = new pg.Pool({
    host: info.socketDir,
    port: info.port,
    user: 'postgres',
    database: 'postgres',
    application_name: describeThisCommand().slice(0, 60),
    // One session at a time is all PGlite has; Kysely queues the rest (its PGlite adapter
    // holds one connection per query or transaction).
    max: 1,
    idleTimeoutMillis: 10_000,
    // The handshake waits for the owner's current transaction, which may be a long seed.
    connectionTimeoutMillis: 60_000,
    Client: QuietClient,
  });
  // An idle connection losing its owner must not crash the process; the next query reconnects.
  pool.on('error', () => {});
  try {
    const client = await pool.connect();
    client.release();
  } catch (error) {
    await pool.end().catch(() => {});
    if (isOwnerGone(error)) return undefined;
    throw new RoseError({
      code: 'database-unreachable',
      title: 'Embedded database unreachable',
      message: `Could not reach the embedded database through \`${info.command}\` (process ${info.pid}) at ${info.socketDir}: ${(error as Error).message}`,
      hint: `Check that process ${info.pid} is working (it may be busy or stuck), or stop it and run this command again.`,
      cause: error,
    });
  }
  const driver = new PostgresDriver({ pool });
  await driver.init();
  return {
    kind: 'client',
    driver,
    info,
    dropped,
    status: { role: 'client', ownerPid: info.pid, ownerCommand: info.command, socket: info.socketDir },
    close: () => driver.destroy(),
  };
}

/** The owner's socket is gone or closed on us: it stopped, or was killed. */
function isOwnerGone(error: unknown): boolean {
  const e = error as { code?: string; message?: string };
  if (e.code === 'ENOENT' || e.code === 'ECONNREFUSED' || e.code === 'ECONNRESET' || e.code === 'EPIPE') return true;
  return /Connection terminated|terminating connection|Client has encountered a connection error/i.test(e.message ?? '');
}

function translateClientError(error: unknown, backend: ClientBackend, dir: string | undefined): unknown {
  if (!isOwnerGone(error) || error instanceof RoseError) return error;
  const said = backend.dropped.error;
  if (said && said !== error && isOwnerGone(said)) error = new Error(said.message, { cause: error });
  const idle = /idle in a transaction/.test((error as Error).message);
  return new RoseError({
    code: 'database-unreachable',
    title: idle ? 'Embedded database connection closed' : 'Embedded database owner stopped',
    message: idle
      ? `\`${backend.info.command}\` (process ${backend.info.pid}) closed this command's connection to the embedded database: ${(error as Error).message}.`
      : `\`${backend.info.command}\` (process ${backend.info.pid}), which shared the embedded database at ${dir}, stopped while this command was using it. What this command was doing was not saved.`,
    hint: 'Run the command again: it reaches whichever process holds the database now, or opens it itself.',
    cause: error,
  });
}

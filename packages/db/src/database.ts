import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { DatabaseUnreachableError, maskUrl } from '@rose/core';
import type { Config } from '@rose/config';
import type { NotificationListener } from './pglite-notifications.ts';
import { openSharedPglite, type EmbeddedStatus } from './pglite-shared.ts';
import type { Database } from './schema.ts';

export interface DatabaseHandle {
  readonly db: Kysely<Database>;
  readonly kind: 'postgres' | 'pglite';
  /** Where the data lives, safe to print (password masked). */
  readonly description: string;
  /**
   * Embedded only: whether this process owns the PGlite data dir (and shares it over a
   * socket) or reaches the process that does. May change: when the owner stops, a client
   * finds the next owner or becomes it.
   */
  readonly embedded?: EmbeddedStatus | undefined;
  /**
   * Embedded only: calls `onNotify` with each notification's payload on `channel` (lower-case,
   * e.g. `rose_jobs`) while this process owns the database, whichever process raised it — the
   * owner's socket hears its clients' NOTIFYs. As a client, nothing is heard (poll as well)
   * until this process takes the database over. (Postgres needs a connection of its own for
   * LISTEN: `listenForJobs` in @rose/jobs.)
   */
  readonly listen?: (channel: string, onNotify: (payload: string) => void) => Promise<NotificationListener>;
  /** Resolves when a trivial query succeeds; rejects with the reason otherwise. */
  ping(timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

// Postgres returns int8/numeric as strings by default; counts in this schema fit in a JS number.
pg.types.setTypeParser(20, (value) => Number.parseInt(value, 10));

/**
 * Opens the database the config points at: real Postgres when DATABASE_URL is set,
 * otherwise embedded PGlite in `<dataDir>/pglite` — owned by this process, or reached over
 * the socket of the process that owns it (see openPglite). Fails with DatabaseUnreachableError
 * (URL masked, reason in words) when it cannot connect.
 *
 * @example
 * const handle = await openDatabase(config.database);
 * const users = await handle.db.selectFrom('users').selectAll().execute();
 * await handle.close();
 */
export async function openDatabase(database: Config['database'], opts: { connectTimeoutMs?: number } = {}): Promise<DatabaseHandle> {
  return database.kind === 'postgres'
    ? openPostgres(database.url, opts.connectTimeoutMs ?? 5000)
    : openPglite({ dir: database.dir });
}

async function openPostgres(url: string, connectTimeoutMs: number): Promise<DatabaseHandle> {
  const masked = maskUrl(url);
  const pool = new pg.Pool({ connectionString: url, max: 10, connectionTimeoutMillis: connectTimeoutMs, idleTimeoutMillis: 10_000 });
  // An idle client losing its connection must not crash the process; the next query reports it.
  pool.on('error', () => {});
  try {
    const client = await pool.connect();
    client.release();
  } catch (error) {
    await pool.end().catch(() => {});
    throw new DatabaseUnreachableError(masked, describePgError(error), error);
  }
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return {
    db,
    kind: 'postgres',
    description: masked,
    ping: (timeoutMs = 2000) => withTimeout(sql`select 1`.execute(db).then(() => undefined), timeoutMs, 'database ping'),
    close: () => db.destroy(),
  };
}

/**
 * Embedded Postgres (PGlite). `dir` undefined means in memory, private to this process;
 * `loadDataDir` starts from a dumped data directory (fast test databases). With a `dir`, the
 * first process to open it owns it and shares it over a unix socket; every other process
 * (or thread) connects to that owner, so `rose` commands work while `rose serve` runs.
 */
export async function openPglite(opts: { dir?: string; loadDataDir?: Blob; waitForOwnerMs?: number; idleInTransactionTimeoutMs?: number }): Promise<DatabaseHandle> {
  const shared = await openSharedPglite(opts);
  const db = new Kysely<Database>({ dialect: shared.dialect });
  let closed: Promise<void> | undefined;
  const where = opts.dir ? `embedded PGlite at ${opts.dir}` : 'embedded PGlite (in memory)';
  return {
    db,
    kind: 'pglite',
    get description() {
      const status = shared.status();
      switch (status.role) {
        case 'memory':
          return where;
        case 'owner':
          return `${where} (opened by this process, shared with other rose commands at ${status.socket})`;
        case 'client':
          return `${where} (open in \`${status.ownerCommand}\`, process ${status.ownerPid}; reached through its socket)`;
      }
    },
    get embedded() {
      return shared.status();
    },
    listen: (channel, onNotify) => shared.listen(channel, onNotify),
    ping: (timeoutMs = 2000) => withTimeout(sql`select 1`.execute(db).then(() => undefined), timeoutMs, 'database ping'),
    close: () => (closed ??= db.destroy().then(() => shared.close())),
  };
}

function describePgError(error: unknown): string {
  const e = error as { code?: string; message?: string };
  switch (e.code) {
    case 'ECONNREFUSED':
      return 'connection refused (is Postgres running and listening on that host and port?)';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'host name not found';
    case 'ETIMEDOUT':
      return 'connection timed out';
    case '3D000':
      return `the database does not exist (${e.message ?? ''}); create it with createdb`;
    case '28P01':
    case '28000':
      return `authentication failed (${e.message ?? ''})`;
    default:
      return e.message && e.message.length > 0 ? e.message : String(error);
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

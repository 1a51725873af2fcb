import fs from 'node:fs';
import path from 'node:path';
import { Kysely, PGliteDialect, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { DatabaseUnreachableError, RoseError, maskUrl } from '@rose/core';
import type { Config } from '@rose/config';
import type { Database } from './schema.ts';

export interface DatabaseHandle {
  readonly db: Kysely<Database>;
  readonly kind: 'postgres' | 'pglite';
  /** Where the data lives, safe to print (password masked). */
  readonly description: string;
  /** Resolves when a trivial query succeeds; rejects with the reason otherwise. */
  ping(timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

// Postgres returns int8/numeric as strings by default; counts in this schema fit in a JS number.
pg.types.setTypeParser(20, (value) => Number.parseInt(value, 10));

/**
 * Opens the database the config points at: real Postgres when DATABASE_URL is set,
 * otherwise embedded PGlite in `<dataDir>/pglite`. Fails with DatabaseUnreachableError
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
 * Embedded Postgres (PGlite). `dir` undefined means in memory; `loadDataDir` starts from a
 * dumped data directory (fast test databases).
 */
export async function openPglite(opts: { dir?: string; loadDataDir?: Blob }): Promise<DatabaseHandle> {
  const { PGlite } = await import('@electric-sql/pglite');
  let releaseLock = () => {};
  if (opts.dir) {
    fs.mkdirSync(path.dirname(opts.dir), { recursive: true });
    releaseLock = acquireLock(`${opts.dir}.lock`);
  }
  let pglite;
  try {
    pglite = new PGlite({
      ...(opts.dir ? { dataDir: opts.dir } : {}),
      ...(opts.loadDataDir ? { loadDataDir: opts.loadDataDir } : {}),
      // PGlite's default 128 MB of shared buffers is sized for a server; the embedded
      // database is small and the OS caches its files anyway. Saves ~120 MiB per process.
      postgresqlconf: 'shared_buffers=16MB',
    });
    await pglite.waitReady;
  } catch (error) {
    releaseLock();
    throw new RoseError({
      code: 'database-unreachable',
      title: 'Embedded database failed to open',
      message: `Could not open the embedded database at ${opts.dir ?? '(memory)'}: ${(error as Error).message}`,
      hint: 'If the folder is damaged, move it away and run `rose db migrate && rose db seed` to start afresh.',
      cause: error,
    });
  }
  const instance = pglite;
  const db = new Kysely<Database>({ dialect: new PGliteDialect({ pglite: instance }) });
  let closed = false;
  return {
    db,
    kind: 'pglite',
    description: opts.dir ? `embedded PGlite at ${opts.dir}` : 'embedded PGlite (in memory)',
    ping: (timeoutMs = 2000) => withTimeout(sql`select 1`.execute(db).then(() => undefined), timeoutMs, 'database ping'),
    close: async () => {
      if (closed) return;
      closed = true;
      await db.destroy();
      if (!instance.closed) await instance.close();
      releaseLock();
    },
  };
}

/** PGlite is single-process: two processes writing one data dir corrupt it. */
function acquireLock(lockPath: string): () => void {
  const pidText = String(process.pid);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(lockPath, pidText, { flag: 'wx' });
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        try {
          if (fs.readFileSync(lockPath, 'utf8') === pidText) fs.unlinkSync(lockPath);
        } catch {
          // already gone
        }
      };
      process.once('exit', release);
      return release;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = Number.parseInt(fs.readFileSync(lockPath, 'utf8'), 10);
      if (owner === process.pid) {
        throw new RoseError({
          code: 'database-locked',
          title: 'Embedded database already open',
          message: `This process already has the embedded database at ${lockPath.replace(/\.lock$/, '')} open.`,
          hint: 'Reuse the open handle (createServices) instead of opening it twice.',
        });
      }
      if (Number.isInteger(owner) && isAlive(owner)) {
        throw new RoseError({
          code: 'database-locked',
          title: 'Embedded database in use',
          message: `The embedded database at ${lockPath.replace(/\.lock$/, '')} is in use by process ${owner} (a running \`rose serve\` or \`rose dev\`?).`,
          hint: 'Stop that process first, or set DATABASE_URL to a Postgres server that several processes can share.',
        });
      }
      fs.rmSync(lockPath, { force: true }); // stale lock from a crashed process
    }
  }
  throw new Error(`Could not take the lock ${lockPath}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
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

import { sql, type Kysely } from 'kysely';
import { RoseError } from '@rose/core';
import { abortableSleep } from '@rose/http';
import type { Database } from '@rose/db';
import { listDeploys } from './deploy-history.repository.ts';

/** One deploy at a time per database: its migrations, seeds and switch are not interleaved with another's. */
const LOCK = sql`hashtext('rose deploy')`;

export interface LockOptions {
  /** Wait this long for a running deploy to finish; 0 refuses at once. */
  waitMs: number;
  /** Told once when the lock is taken by someone else and we wait. */
  onWait?: (holder: string) => void;
  signal?: AbortSignal;
}

/**
 * Runs `body` holding a Postgres advisory lock on a connection of its own, released when
 * `body` settles or the connection drops (a deploy killed with -9 frees it at once).
 */
export async function withDeployLock<T>(db: Kysely<Database>, opts: LockOptions, body: () => Promise<T>): Promise<T> {
  return db.connection().execute(async (conn) => {
    const deadline = Date.now() + opts.waitMs;
    let told = false;
    for (;;) {
      const got = (await sql<{ ok: boolean }>`select pg_try_advisory_lock(${LOCK}) as ok`.execute(conn)).rows[0]?.ok;
      if (got) break;
      const holder = await describeHolder(db);
      if (Date.now() >= deadline) {
        throw new RoseError({
          code: 'deploy-locked',
          title: 'Another deploy is running',
          message: `${holder} holds the deploy lock of this database${opts.waitMs > 0 ? ` and did not finish within ${Math.round(opts.waitMs / 1000)} s` : ''}.`,
          hint: 'Wait for it to finish (`rose deploy history` shows it), or run again with --wait to queue behind it.',
        });
      }
      if (!told) opts.onWait?.(holder);
      told = true;
      await abortableSleep(Math.min(1000, Math.max(50, deadline - Date.now())), opts.signal);
    }
    try {
      return await body();
    } finally {
      await sql`select pg_advisory_unlock(${LOCK})`.execute(conn).catch(() => undefined);
    }
  });
}

async function describeHolder(db: Kysely<Database>): Promise<string> {
  const running = (await listDeploys(db, { limit: 5 }).catch(() => [])).find((d) => d.result === 'running');
  return running ? `Deploy #${running.id} of "${running.target}" by ${running.deployedBy} (started ${running.startedAt.toISOString()})` : 'Another process';
}

/**
 * Runs `body` (a site rebuild by the target's own worker) when no deploy holds the lock of
 * this database, waiting for one that does: the rebuild then starts from the release the
 * deploy made live, and never switches `current` under a deploy's health check. Rebuilds
 * share the lock with each other (they are serialised by the outbox already).
 */
export async function whenNoDeploy<T>(db: Kysely<Database>, body: () => Promise<T>): Promise<T> {
  return db.connection().execute(async (conn) => {
    await sql`select pg_advisory_lock_shared(${LOCK})`.execute(conn);
    try {
      return await body();
    } finally {
      await sql`select pg_advisory_unlock_shared(${LOCK})`.execute(conn).catch(() => undefined);
    }
  });
}


import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database, Job } from '@rose/db';
import { currentRequestId } from '@rose/observability/context';

export interface NewJob {
  type: string;
  payload?: unknown;
  runAt?: Date;
  maxAttempts?: number;
  /** The request that queued it (for the worker's logs); by default the current log context's. */
  requestId?: string | null;
}

/** Adds a job; pass the transaction of the change it follows from. */
export async function enqueueJob(db: Kysely<Database> | Transaction<Database>, job: NewJob): Promise<number> {
  const row = await db
    .insertInto('jobs')
    .values({
      type: job.type,
      payload: JSON.stringify(job.payload ?? {}),
      request_id: job.requestId === undefined ? (currentRequestId() ?? null) : job.requestId,
      ...(job.runAt ? { run_at: job.runAt } : {}),
      ...(job.maxAttempts ? { max_attempts: job.maxAttempts } : {}),
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return Number(row.id);
}

/** Adds several jobs in one statement (all or none); pass the transaction of the change they follow from. */
export async function enqueueJobs(db: Kysely<Database> | Transaction<Database>, jobs: NewJob[]): Promise<number[]> {
  if (jobs.length === 0) return [];
  const fallback = currentRequestId() ?? null;
  const rows = await db
    .insertInto('jobs')
    .values(
      jobs.map((job) => ({
        type: job.type,
        payload: JSON.stringify(job.payload ?? {}),
        request_id: job.requestId === undefined ? fallback : job.requestId,
        // One statement needs one shape: the defaults the table would give, spelled out.
        run_at: job.runAt ?? sql<Date>`now()`,
        max_attempts: job.maxAttempts ?? sql<number>`default`,
      })),
    )
    .returning('id')
    .execute();
  return rows.map((r) => Number(r.id));
}

/**
 * The first instant after `now` that is not due by it. A JavaScript date counts whole
 * milliseconds, but the database stores microseconds (`run_at` defaults to its `now()`): a job
 * queued at 12:00:00.123456 is due for a worker whose clock reads 12:00:00.123 — the same
 * millisecond. Comparing `run_at <= now` instead left a job queued less than a millisecond
 * before a worker's claim (a NOTIFY wakes the worker that fast) waiting for the next poll.
 */
function notDueFrom(now: Date): Date {
  return new Date(now.getTime() + 1);
}

/** Takes up to `limit` ready jobs (of `types`, if given) for this worker. */
export async function claimJobs(db: Kysely<Database>, opts: { workerId: string; now: Date; limit: number; types?: string[] }): Promise<Job[]> {
  const ready = db
    .selectFrom('jobs')
    .select('id')
    .where('status', '=', 'pending')
    .where('run_at', '<', notDueFrom(opts.now))
    .$if(Boolean(opts.types?.length), (q) => q.where('type', 'in', opts.types!))
    .orderBy('run_at')
    .orderBy('id')
    .limit(opts.limit)
    .forUpdate()
    .skipLocked();
  const rows = await db
    .updateTable('jobs')
    .set({ status: 'running', locked_at: opts.now, locked_by: opts.workerId, attempts: sql<number>`attempts + 1`, updated_at: opts.now })
    .where('id', 'in', ready)
    .returningAll()
    .execute();
  return rows.map((r) => ({ ...r, id: Number(r.id) })).sort((a, b) => a.id - b.id);
}

/** A worker's lease on the jobs it claimed: `locked_by` is this worker and the job is still `running`. */
export interface Lease {
  workerId: string;
  now: Date;
}

/**
 * Marks jobs done — only those this worker still holds (`locked_by = workerId`, `running`).
 * A job taken back meanwhile (this worker could not renew its lock past the stale limit, so
 * another recovered it and may be running it) is left as it is. Returns the ids it marked.
 */
export async function completeJobs(db: Kysely<Database>, ids: number[], lease: Lease): Promise<number[]> {
  if (ids.length === 0) return [];
  const rows = await db
    .updateTable('jobs')
    .set({ status: 'done', finished_at: lease.now, updated_at: lease.now, locked_at: null, last_error: null })
    .where('id', 'in', ids)
    .where('status', '=', 'running')
    .where('locked_by', '=', lease.workerId)
    .returning('id')
    .execute();
  return rows.map((r) => Number(r.id));
}

/**
 * Sends jobs back for a retry with back-off, or marks them failed after their last attempt —
 * only those this worker still holds, as `completeJobs`. Returns the ids it changed.
 */
export async function failJobs(db: Kysely<Database>, jobs: Job[], error: unknown, lease: Lease & { random?: () => number }): Promise<number[]> {
  const message = (error instanceof Error ? error.message : String(error)).slice(0, 2000);
  const { now, workerId, random = Math.random } = lease;
  const changed: number[] = [];
  for (const job of jobs) {
    const update =
      job.attempts >= job.max_attempts
        ? db.updateTable('jobs').set({ status: 'failed', last_error: message, finished_at: now, updated_at: now, locked_at: null })
        : db.updateTable('jobs').set({ status: 'pending', last_error: message, run_at: new Date(now.getTime() + backoffMs(job.attempts, random)), updated_at: now, locked_at: null, locked_by: null });
    const row = await update.where('id', '=', job.id).where('status', '=', 'running').where('locked_by', '=', workerId).returning('id').executeTakeFirst();
    if (row) changed.push(Number(row.id));
  }
  return changed;
}

/** 2^attempts seconds, capped at 10 minutes, with ±20% jitter so retries do not stampede. */
export function backoffMs(attempts: number, random: () => number = Math.random): number {
  const base = Math.min(2 ** attempts * 1000, 600_000);
  return Math.round(base * (0.8 + random() * 0.4));
}

/**
 * Jobs left `running` by a worker that died (their lock not renewed for `staleAfterMs`) go back
 * to `pending`; the run that died counts as an attempt, so a job out of attempts (one that
 * kills its worker every time) is marked `failed` instead. Returns how many were taken back.
 */
export async function recoverStaleJobs(db: Kysely<Database>, opts: { now: Date; staleAfterMs: number }): Promise<number> {
  const result = await db
    .updateTable('jobs')
    .set({
      status: sql<Job['status']>`case when attempts >= max_attempts then 'failed' else 'pending' end`,
      last_error: sql<string>`'the worker running it (' || coalesce(locked_by, '?') || ') stopped before finishing it'`,
      finished_at: sql<Date | null>`case when attempts >= max_attempts then ${opts.now}::timestamptz end`,
      locked_at: null,
      locked_by: null,
      updated_at: opts.now,
    })
    .where('status', '=', 'running')
    .where('locked_at', '<', new Date(opts.now.getTime() - opts.staleAfterMs))
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

/** Renews this worker's lock on jobs it is still running, so they do not look stale. Returns the ids it still holds. */
export async function touchJobs(db: Kysely<Database>, ids: number[], lease: Lease): Promise<number[]> {
  if (ids.length === 0) return [];
  const rows = await db.updateTable('jobs').set({ locked_at: lease.now }).where('id', 'in', ids).where('status', '=', 'running').where('locked_by', '=', lease.workerId).returning('id').execute();
  return rows.map((r) => Number(r.id));
}

export interface JobCounts {
  /** Waiting to run: due now, or retrying after a failure (the backlog). */
  pending: number;
  /** Queued for later and never tried yet (a scheduled scrape, a rebuild when a cycle opens): not a backlog. */
  scheduled: number;
  running: number;
  done: number;
  failed: number;
}

export async function countJobs(db: Kysely<Database>, now: Date = new Date()): Promise<JobCounts> {
  const rows = await db
    .selectFrom('jobs')
    .select((eb) => ['status', eb.and([eb('status', '=', 'pending'), eb('attempts', '=', 0), eb('run_at', '>=', notDueFrom(now))]).as('later'), eb.fn.countAll<number>().as('n')])
    .groupBy(['status', 'later'])
    .execute();
  const counts: JobCounts = { pending: 0, scheduled: 0, running: 0, done: 0, failed: 0 };
  for (const r of rows) counts[r.later ? 'scheduled' : r.status] += Number(r.n);
  return counts;
}

/**
 * When the next job of `types` queued for later becomes due (after `now`), or undefined: a
 * worker sleeps until then rather than a whole poll (a delivery's retry, a scheduled rebuild).
 */
export async function nextDueAt(db: Kysely<Database>, opts: { now: Date; types: string[] }): Promise<Date | undefined> {
  if (opts.types.length === 0) return undefined;
  const row = await db
    .selectFrom('jobs')
    .select((eb) => eb.fn.min('run_at').as('at'))
    .where('status', '=', 'pending')
    .where('type', 'in', opts.types)
    .where('run_at', '>=', notDueFrom(opts.now))
    .executeTakeFirst();
  return row?.at ? new Date(row.at) : undefined;
}

/** How long the longest-waiting ready job (pending, due by `now`) has been due, in seconds; 0 when none waits. */
export async function oldestPendingJobAge(db: Kysely<Database>, now: Date = new Date()): Promise<number> {
  const row = await db.selectFrom('jobs').select((eb) => eb.fn.min('run_at').as('since')).where('status', '=', 'pending').where('run_at', '<', notDueFrom(now)).executeTakeFirst();
  const since = row?.since;
  return since ? Math.max(0, (now.getTime() - new Date(since).getTime()) / 1000) : 0;
}

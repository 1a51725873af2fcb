import { randomBytes } from 'node:crypto';
import os from 'node:os';
import type { Kysely } from 'kysely';
import { systemClock, type Clock } from '@rose/core';
import type { Database, Job } from '@rose/db';
import { claimJobs, completeJobs, failJobs, recoverStaleJobs, touchJobs } from './outbox.repository.ts';

/**
 * Handles every ready job of one type at once (a burst of changes becomes one rebuild).
 * Throwing fails the whole batch; a handler whose jobs are independent (one mail each)
 * returns the ones that failed instead, so the others are not done twice on the retry.
 * `signal` aborts when the batch passes its deadline: the jobs are failed (and retried)
 * whether or not the handler stops, so a handler should pass it on to what it awaits.
 */
export type BatchHandler = (jobs: Job[], ctx?: HandlerContext) => Promise<void | BatchOutcome>;

export interface HandlerContext {
  /** Aborted with a JobDeadlineError when the batch runs past its type's deadline. */
  readonly signal: AbortSignal;
}

export interface BatchOutcome {
  failed: { id: number; error: unknown }[];
}

export interface WorkerLogger {
  info(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface Worker {
  /** This worker's name in `jobs.locked_by` (host:pid:random). */
  readonly id: string;
  /** Runs every ready job once; returns how many were handled (done or failed). */
  drain(): Promise<number>;
  /** Polls until `stop()`; resolves when stopped. */
  run(): Promise<void>;
  stop(): Promise<void>;
  /** Wakes the loop now (right after enqueueing in the same process, or on a NOTIFY). */
  poke(): void;
}

/** A batch ran longer than its job type's deadline; its jobs were failed and will be retried. */
export class JobDeadlineError extends Error {
  readonly type: string;
  readonly deadlineMs: number;
  constructor(type: string, deadlineMs: number) {
    super(`${type} jobs ran longer than their deadline of ${deadlineMs / 1000} s and were abandoned; they are retried with back-off unless out of attempts`);
    this.name = 'JobDeadlineError';
    this.type = type;
    this.deadlineMs = deadlineMs;
  }
}

/** Defaults; a type that needs longer (a polite crawl) gets its own entry in `deadlines`. */
export const workerDefaults = {
  pollMs: 1000,
  batchSize: 100,
  /** A running job whose lock is older than this was left by a worker that died. */
  staleAfterMs: 2 * 60_000,
  deadlineMs: 30 * 60_000,
} as const;

/**
 * The outbox worker: polls (or is poked), claims ready jobs of each registered type with
 * `FOR UPDATE SKIP LOCKED` and runs them in batches. While a batch runs its locks are renewed
 * every quarter of `staleAfterMs`, so only the jobs of a worker that died (or hangs its whole
 * process) go stale; every worker puts stale jobs back — or fails them when out of attempts —
 * at most every quarter of `staleAfterMs`. A batch past its type's deadline is aborted and failed.
 *
 * @example
 * const worker = createWorker({ db, handlers: { ...handle(rebuildJob, rebuild) }, logger });
 * const running = worker.run();
 * // on SIGTERM:
 * await worker.stop();
 */
export function createWorker(deps: {
  db: Kysely<Database>;
  handlers: Record<string, BatchHandler>;
  logger: WorkerLogger;
  clock?: Clock;
  pollMs?: number;
  batchSize?: number;
  staleAfterMs?: number;
  /** Default deadline of a batch, in ms. */
  deadlineMs?: number;
  /** Deadlines of particular job types, in ms. */
  deadlines?: Record<string, number>;
  /**
   * Started by `run()` and closed by `stop()`: calls `poke` when jobs may be ready (e.g.
   * `listenForJobs` on Postgres). If it cannot start, the worker logs why and only polls.
   */
  wakeUps?: (poke: () => void) => Promise<{ close(): Promise<void> }>;
}): Worker {
  const clock = deps.clock ?? systemClock;
  const workerId = `${os.hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  const types = Object.keys(deps.handlers);
  const staleAfterMs = deps.staleAfterMs ?? workerDefaults.staleAfterMs;
  const renewEveryMs = Math.max(10, Math.floor(staleAfterMs / 4));
  let lastRecovery = Number.NEGATIVE_INFINITY;
  let stopping = false;
  let wake: (() => void) | undefined;
  let poked = false;
  let running: Promise<void> | undefined;

  const runBatch = async (type: string, jobs: Job[]): Promise<void | BatchOutcome> => {
    const deadlineMs = deps.deadlines?.[type] ?? deps.deadlineMs ?? workerDefaults.deadlineMs;
    const controller = new AbortController();
    let deadline: NodeJS.Timeout | undefined;
    const overdue = new Promise<never>((_, reject) => {
      deadline = setTimeout(() => {
        const error = new JobDeadlineError(type, deadlineMs);
        controller.abort(error);
        reject(error);
      }, deadlineMs);
    });
    const ids = jobs.map((j) => j.id);
    const renew = setInterval(() => {
      touchJobs(deps.db, ids, { workerId, now: clock.now() }).catch((error: unknown) => deps.logger.error({ type, jobs: ids, err: error }, 'could not renew the lock of running jobs'));
    }, renewEveryMs);
    try {
      // A handler that ignores the signal keeps running in the background; its jobs are
      // failed here all the same, so the worker goes on.
      return await Promise.race([deps.handlers[type]!(jobs, { signal: controller.signal }), overdue]);
    } finally {
      clearTimeout(deadline);
      clearInterval(renew);
    }
  };

  const drainType = async (type: string): Promise<number> => {
    const jobs = await claimJobs(deps.db, { workerId, now: clock.now(), limit: deps.batchSize ?? workerDefaults.batchSize, types: [type] });
    if (jobs.length === 0) return 0;
    const started = performance.now();
    try {
      const failed = (await runBatch(type, jobs))?.failed ?? [];
      const failedIds = new Set(failed.map((f) => f.id));
      const done = jobs.filter((j) => !failedIds.has(j.id));
      await completeJobs(deps.db, done.map((j) => j.id), clock.now());
      for (const f of failed) {
        const job = jobs.find((j) => j.id === f.id);
        if (job) await failJobs(deps.db, [job], f.error, clock.now());
      }
      if (done.length) deps.logger.info({ type, jobs: done.map((j) => j.id), ms: Math.round(performance.now() - started) }, 'jobs done');
      if (failed.length) deps.logger.error({ type, jobs: [...failedIds], err: failed[0]!.error }, 'jobs failed; will retry with back-off unless out of attempts');
    } catch (error) {
      await failJobs(deps.db, jobs, error, clock.now());
      deps.logger.error({ type, jobs: jobs.map((j) => j.id), err: error }, 'jobs failed; will retry with back-off unless out of attempts');
    }
    return jobs.length;
  };

  const recover = async () => {
    const now = clock.now();
    if (now.getTime() - lastRecovery < renewEveryMs) return;
    lastRecovery = now.getTime();
    const recovered = await recoverStaleJobs(deps.db, { now, staleAfterMs });
    if (recovered > 0) deps.logger.error({ jobs: recovered, staleAfterMs }, 'took back jobs a worker left running (it stopped or hung): retried unless out of attempts');
  };

  const drain = async () => {
    await recover();
    let total = 0;
    for (;;) {
      let round = 0;
      for (const type of types) round += await drainType(type);
      total += round;
      if (round === 0 || stopping) return total;
    }
  };

  const poke = () => {
    poked = true;
    wake?.();
  };

  return {
    id: workerId,
    drain,
    poke,
    run() {
      running ??= (async () => {
        const wakeUps = await deps.wakeUps?.(poke).catch((error: unknown) => {
          deps.logger.error({ err: error }, 'could not listen for new jobs; polling only');
          return undefined;
        });
        while (!stopping) {
          poked = false;
          try {
            await drain();
          } catch (error) {
            deps.logger.error({ err: error }, 'worker could not reach the database; retrying');
          }
          if (stopping) break;
          // A poke that came while draining may be for a job committed after this round's claim.
          if (poked) continue;
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, deps.pollMs ?? workerDefaults.pollMs);
            wake = () => {
              clearTimeout(timer);
              resolve();
            };
          });
          wake = undefined;
        }
        await wakeUps?.close();
      })();
      return running;
    },
    async stop() {
      stopping = true;
      wake?.();
      await running;
    },
  };
}

import { randomBytes } from 'node:crypto';
import os from 'node:os';
import type { Kysely } from 'kysely';
import { systemClock, type Clock } from '@rose/core';
import type { Database, Job } from '@rose/db';
import { claimJobs, completeJobs, failJobs, recoverStaleJobs } from './outbox.repository.ts';

/**
 * Handles every ready job of one type at once (a burst of changes becomes one rebuild).
 * Throwing fails the whole batch; a handler whose jobs are independent (one mail each)
 * returns the ones that failed instead, so the others are not done twice on the retry.
 */
export type BatchHandler = (jobs: Job[]) => Promise<void | BatchOutcome>;

export interface BatchOutcome {
  failed: { id: number; error: unknown }[];
}

export interface WorkerLogger {
  info(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface Worker {
  /** Runs every ready job once; returns how many were handled (done or failed). */
  drain(): Promise<number>;
  /** Polls until `stop()`; resolves when stopped. */
  run(): Promise<void>;
  stop(): Promise<void>;
  /** Wakes the loop now (e.g. right after enqueueing in the same process). */
  poke(): void;
}

export function createWorker(deps: {
  db: Kysely<Database>;
  handlers: Record<string, BatchHandler>;
  logger: WorkerLogger;
  clock?: Clock;
  pollMs?: number;
  batchSize?: number;
  staleAfterMs?: number;
}): Worker {
  const clock = deps.clock ?? systemClock;
  const workerId = `${os.hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  const types = Object.keys(deps.handlers);
  let stopping = false;
  let wake: (() => void) | undefined;
  let running: Promise<void> | undefined;

  const drainType = async (type: string): Promise<number> => {
    const jobs = await claimJobs(deps.db, { workerId, now: clock.now(), limit: deps.batchSize ?? 100, types: [type] });
    if (jobs.length === 0) return 0;
    const started = performance.now();
    try {
      const failed = (await deps.handlers[type]!(jobs))?.failed ?? [];
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

  const drain = async () => {
    await recoverStaleJobs(deps.db, { now: clock.now(), staleAfterMs: deps.staleAfterMs ?? 10 * 60_000 });
    let total = 0;
    for (;;) {
      let round = 0;
      for (const type of types) round += await drainType(type);
      total += round;
      if (round === 0 || stopping) return total;
    }
  };

  return {
    drain,
    poke() {
      wake?.();
    },
    run() {
      running ??= (async () => {
        while (!stopping) {
          try {
            await drain();
          } catch (error) {
            deps.logger.error({ err: error }, 'worker could not reach the database; retrying');
          }
          if (stopping) break;
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, deps.pollMs ?? 1000);
            wake = () => {
              clearTimeout(timer);
              resolve();
            };
          });
          wake = undefined;
        }
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

import { randomBytes } from 'node:crypto';
import os from 'node:os';
import type { Kysely } from 'kysely';
import { systemClock, type Clock } from '@rose/core';
import type { Database, Job } from '@rose/db';
import { claimJobs, completeJobs, failJobs, nextDueAt, recoverStaleJobs, touchJobs } from './outbox.repository.ts';

/**
 * Handles every ready job of one type at once (a burst of changes becomes one rebuild).
 * Throwing fails the whole batch; a handler whose jobs are independent (one mail each)
 * returns the ones that failed instead, so the others are not done twice on the retry.
 * `signal` aborts when the batch passes its deadline: the worker goes on, but the jobs stay
 * this worker's (no retry starts) until the handler settles, so a handler should pass it on to
 * what it awaits.
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
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface Worker {
  /** This worker's name in `jobs.locked_by` (host:pid:random). */
  readonly id: string;
  /** Runs every ready job once (the lanes side by side); returns how many were handled (done, failed, or left running past their deadline). */
  drain(): Promise<number>;
  /** Polls until `stop()`; resolves when stopped. */
  run(): Promise<void>;
  /** Stops the loop; batches still running past their deadline stop having their locks renewed (they go stale and are taken back once this process is gone). */
  stop(): Promise<void>;
  /** Wakes the loop now (right after enqueueing in the same process, or on a NOTIFY). */
  poke(): void;
}

/** A batch ran longer than its job type's deadline; its jobs are retried once its handler has stopped. */
export class JobDeadlineError extends Error {
  readonly type: string;
  readonly deadlineMs: number;
  constructor(type: string, deadlineMs: number) {
    super(`${type} jobs ran longer than their deadline of ${deadlineMs / 1000} s and were told to stop; they are retried with back-off (unless out of attempts) once their handler has returned`);
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
 * at most every quarter of `staleAfterMs`. A job is marked done or failed only while this worker
 * still holds it (its lease: `locked_by` and `running`); one another worker took back is left
 * alone and logged ("lease lost"). A batch past its type's deadline is aborted; the worker goes
 * on, and its jobs are failed for a retry once the handler has settled. Each of `lanes` is
 * drained by a loop of its own, so a slow type in one lane never holds up the types of another.
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
  /**
   * Groups of job types each drained by a loop of its own, side by side (a long scrape in one
   * lane does not hold up a rebuild in another); the types not listed form one more lane. Each
   * type listed needs a handler and may be in one lane only. Without lanes, one loop drains all.
   */
  lanes?: readonly (readonly string[])[];
}): Worker {
  const clock = deps.clock ?? systemClock;
  const workerId = `${os.hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  const lanes: Lane[] = planLanes(Object.keys(deps.handlers), deps.lanes ?? []).map((types) => ({ types, poked: false }));
  const staleAfterMs = deps.staleAfterMs ?? workerDefaults.staleAfterMs;
  const renewEveryMs = Math.max(10, Math.floor(staleAfterMs / 4));
  let lastRecovery = Number.NEGATIVE_INFINITY;
  let stopping = false;
  let running: Promise<void> | undefined;

  const lease = () => ({ workerId, now: clock.now() });
  /** Lets go of the lease of a batch running past its deadline; `stop()` calls these. */
  const overdue = new Set<() => void>();

  const reportLost = (type: string, ids: number[], kept: number[]): void => {
    const held = new Set(kept);
    const lost = ids.filter((id) => !held.has(id));
    if (lost.length) deps.logger.warn({ type, jobs: lost, workerId }, 'lease lost: another worker took these jobs back (this one could not renew its lock within the stale limit) and may be running them; left as they are');
  };

  /** Renews the lock on `ids` every quarter of the stale limit until the returned function is called. */
  const holdLease = (type: string, ids: number[]): (() => void) => {
    const warned = new Set<number>();
    const timer = setInterval(() => {
      touchJobs(deps.db, ids, lease())
        .then((kept) => {
          const fresh = kept.length === ids.length ? [] : ids.filter((id) => !kept.includes(id) && !warned.has(id));
          for (const id of fresh) warned.add(id);
          reportLost(type, fresh, []);
        })
        .catch((error: unknown) => deps.logger.error({ type, jobs: ids, err: error }, 'could not renew the lock of running jobs'));
    }, renewEveryMs);
    // Renewing alone never keeps the process alive (`rose worker --once` exits after its drain).
    timer.unref();
    return () => clearInterval(timer);
  };

  const drainType = async (type: string): Promise<number> => {
    const jobs = await claimJobs(deps.db, { workerId, now: clock.now(), limit: deps.batchSize ?? workerDefaults.batchSize, types: [type] });
    if (jobs.length === 0) return 0;
    const ids = jobs.map((j) => j.id);
    const started = performance.now();
    const deadlineMs = deps.deadlines?.[type] ?? deps.deadlineMs ?? workerDefaults.deadlineMs;
    const controller = new AbortController();
    const releaseLease = holdLease(type, ids);
    // A handler that throws before its first await counts as one that rejected.
    const run = Promise.resolve().then(() => deps.handlers[type]!(jobs, { signal: controller.signal }));
    let timer: NodeJS.Timeout | undefined;
    const pastDeadline = new Promise<'overdue'>((resolve) => (timer = setTimeout(() => resolve('overdue'), deadlineMs)));
    const first = await Promise.race([run.then(() => 'settled' as const, () => 'settled' as const), pastDeadline]);
    clearTimeout(timer);

    if (first === 'overdue') {
      const error = new JobDeadlineError(type, deadlineMs);
      controller.abort(error);
      deps.logger.error({ type, jobs: ids, err: error }, 'jobs ran past their deadline: told to stop; retried once their handler returns');
      // The jobs stay ours until the handler settles: the lease is renewed and only then are they
      // failed for a retry. Handing them back now would start the retry (here or in another
      // worker) beside a handler that ignores its signal: two rebuilds of one release at once, a
      // mail sent twice. Marking them failed ("abandoned") would prevent that too, but loses the
      // follow-up work for good (a slow scrape, a rebuild) until a person retries it; holding the
      // lease keeps delivery at-least-once and never concurrent. A handler that never settles holds
      // its jobs until this worker stops; then they go stale and another worker takes them back.
      let held = true;
      const release = () => {
        if (!held) return;
        held = false;
        releaseLease();
        overdue.delete(release);
      };
      overdue.add(release);
      void run
        .then(
          () => undefined,
          () => undefined,
        )
        .then(async () => {
          release();
          const kept = await failJobs(deps.db, jobs, error, lease());
          reportLost(type, ids, kept);
          if (kept.length) deps.logger.error({ type, jobs: kept, err: error, ms: Math.round(performance.now() - started) }, 'jobs past their deadline have stopped; will retry with back-off unless out of attempts');
        })
        .catch((failure: unknown) => deps.logger.error({ type, jobs: ids, err: failure }, 'could not hand back jobs past their deadline; they are taken back once their lock goes stale'));
      return jobs.length;
    }

    releaseLease();
    let outcome: void | BatchOutcome;
    try {
      outcome = await run;
    } catch (error) {
      const kept = await failJobs(deps.db, jobs, error, lease());
      reportLost(type, ids, kept);
      if (kept.length) deps.logger.error({ type, jobs: kept, err: error }, 'jobs failed; will retry with back-off unless out of attempts');
      return jobs.length;
    }
    const failed = outcome?.failed ?? [];
    const failedIds = new Set(failed.map((f) => f.id));
    const doneIds = ids.filter((id) => !failedIds.has(id));
    const completed = await completeJobs(deps.db, doneIds, lease());
    reportLost(type, doneIds, completed);
    const retried: number[] = [];
    for (const f of failed) {
      const job = jobs.find((j) => j.id === f.id);
      if (!job) continue;
      const kept = await failJobs(deps.db, [job], f.error, lease());
      reportLost(type, [job.id], kept);
      retried.push(...kept);
    }
    if (completed.length) deps.logger.info({ type, jobs: completed, ms: Math.round(performance.now() - started) }, 'jobs done');
    if (retried.length) deps.logger.error({ type, jobs: retried, err: failed[0]!.error }, 'jobs failed; will retry with back-off unless out of attempts');
    return jobs.length;
  };

  const recover = async () => {
    const now = clock.now();
    if (now.getTime() - lastRecovery < renewEveryMs) return;
    lastRecovery = now.getTime();
    const recovered = await recoverStaleJobs(deps.db, { now, staleAfterMs });
    if (recovered > 0) deps.logger.error({ jobs: recovered, staleAfterMs }, 'took back jobs a worker left running (it stopped or hung): retried unless out of attempts');
  };

  const drainLane = async (lane: Lane) => {
    let total = 0;
    for (;;) {
      let round = 0;
      for (const type of lane.types) round += await drainType(type);
      total += round;
      if (round === 0 || stopping) return total;
    }
  };

  const drain = async () => {
    await recover();
    // Every lane finishes before a failure is reported, so `rose worker --once` never exits
    // under a handler that is still running.
    const results = await Promise.allSettled(lanes.map(drainLane));
    const failure = results.find((r) => r.status === 'rejected');
    if (failure) throw failure.reason;
    return results.reduce((sum, r) => sum + (r.status === 'fulfilled' ? r.value : 0), 0);
  };

  /** Drains `lane`, then sleeps until the next poll, a poke, or a job of its types falls due; until `stop()`. */
  const runLane = async (lane: Lane) => {
    while (!stopping) {
      lane.poked = false;
      try {
        // Once per renew interval for the whole worker: `recover` skips calls in between.
        await recover();
        await drainLane(lane);
      } catch (error) {
        deps.logger.error({ err: error }, 'worker could not reach the database; retrying');
      }
      if (stopping) break;
      // A poke that came while draining may be for a job committed after this round's claim.
      if (lane.poked) continue;
      // Until the next poll, or until a job queued for later is due if that comes first
      // (a NOTIFY arrives when a job is queued, not when a delayed one becomes due).
      const pollMs = deps.pollMs ?? workerDefaults.pollMs;
      const due = await nextDueAt(deps.db, { now: clock.now(), types: lane.types }).catch(() => undefined);
      const sleepMs = due ? Math.min(pollMs, Math.max(5, due.getTime() - clock.now().getTime() + 1)) : pollMs;
      // A stop() that came while asking found no sleep to cut short: do not start one.
      if (lane.poked || stopping) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, sleepMs);
        lane.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      lane.wake = undefined;
    }
  };

  // A wake-up does not say which types it is for: every lane looks.
  const poke = () => {
    for (const lane of lanes) {
      lane.poked = true;
      lane.wake?.();
    }
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
        await Promise.all(lanes.map(runLane));
        await wakeUps?.close();
      })();
      return running;
    },
    async stop() {
      stopping = true;
      for (const lane of lanes) lane.wake?.();
      await running;
      for (const release of [...overdue]) release();
    },
  };
}

/** One loop's job types, and how to cut its sleep short. */
interface Lane {
  readonly types: string[];
  /** Set by `poke()`: look again before sleeping. */
  poked: boolean;
  wake?: () => void;
}

/** The lanes' job types, then the lane of every type not listed (all of them without lanes). */
function planLanes(types: string[], lanes: readonly (readonly string[])[]): string[][] {
  const laneOf = new Map<string, number>();
  lanes.forEach((lane, i) => {
    for (const type of lane) {
      if (!types.includes(type)) throw new Error(`createWorker: lane ${i + 1} lists the job type '${type}', which has no handler; register a handler for it or take it out of the lane`);
      const other = laneOf.get(type);
      if (other !== undefined) throw new Error(`createWorker: the job type '${type}' is listed in ${other === i ? `lane ${i + 1} twice` : `lane ${other + 1} and lane ${i + 1}`}; a type is drained by one lane only, so list it once`);
      laneOf.set(type, i);
    }
  });
  // The rest has a loop even with no types: a worker without handlers still runs one, as before,
  // and it takes back stale jobs while every listed lane is busy with a long batch.
  const rest = types.filter((type) => !laneOf.has(type));
  return [...lanes.filter((lane) => lane.length > 0).map((lane) => [...lane]), rest];
}

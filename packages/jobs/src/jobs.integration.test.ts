import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createFixedClock } from '@rose/core';
import { createTestDatabase, databaseKinds, type TestDatabase } from '@rose/testing';
import { sql } from 'kysely';
import { backoffMs, claimJobs, completeJobs, countJobs, enqueueJob, enqueueJobs, failJobs, oldestPendingJobAge, recoverStaleJobs } from './outbox.repository.ts';
import { createWorker, JobDeadlineError, type BatchHandler } from './worker.ts';

const silent = { info: () => {}, warn: () => {}, error: () => {} };

/** A logger that keeps every line and lets a test await the first line with a given message. */
function recordingLogger() {
  const lines: { level: 'info' | 'warn' | 'error'; obj: object; msg: string }[] = [];
  const waiting: { msg: string; resolve: () => void }[] = [];
  const log = (level: 'info' | 'warn' | 'error') => (obj: object, msg: string) => {
    lines.push({ level, obj, msg });
    for (const w of waiting.filter((w) => msg.startsWith(w.msg))) w.resolve();
  };
  return {
    lines,
    logger: { info: log('info'), warn: log('warn'), error: log('error') },
    logged: (msg: string) => (lines.some((l) => l.msg.startsWith(msg)) ? Promise.resolve() : new Promise<void>((resolve) => waiting.push({ msg, resolve }))),
  };
}

/** A promise and the function that resolves it. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((r) => (open = r));
  return { promise, open };
}

/** Polls `check` until it returns true; fails with `what` after the deadline. */
async function waitFor(what: string, check: () => boolean | Promise<boolean>, deadlineMs = 30_000): Promise<void> {
  const until = Date.now() + deadlineMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe.each(databaseKinds)('outbox on %s', (kind) => {
  let t: TestDatabase;
  const clock = createFixedClock(new Date('2026-11-24T12:00:00Z'));
  beforeAll(async () => {
    t = await createTestDatabase(kind);
  });
  afterAll(() => t?.drop());

  it('only keeps a job whose transaction committed', async () => {
    await expect(
      t.db.transaction().execute(async (trx) => {
        await enqueueJob(trx, { type: 'x', payload: { n: 1 } });
        throw new Error('the change failed');
      }),
    ).rejects.toThrow('the change failed');
    expect(await countJobs(t.db)).toEqual({ pending: 0, scheduled: 0, running: 0, done: 0, failed: 0 });
  });

  it('counts a job queued for later as scheduled, not as backlog, until it is due', async () => {
    const id = await enqueueJob(t.db, { type: 'later', runAt: new Date(clock.now().getTime() + 3_600_000) });
    expect(await countJobs(t.db, clock.now())).toMatchObject({ pending: 0, scheduled: 1 });
    expect(await countJobs(t.db, new Date(clock.now().getTime() + 3_600_000))).toMatchObject({ pending: 1, scheduled: 0 });
    await t.db.deleteFrom('jobs').where('id', '=', id).execute();
  });

  it('a running worker wakes when a job queued for later becomes due, not a whole poll later', async () => {
    const type = 'due-later';
    const done: number[] = [];
    const worker = createWorker({ db: t.db, logger: silent, pollMs: 600_000, handlers: { [type]: async (jobs) => void done.push(...jobs.map((j) => j.id)) } });
    // Queued before the worker starts, so no wake-up announces it: only its due time can.
    const id = await enqueueJob(t.db, { type, runAt: new Date(Date.now() + 300) });
    const running = worker.run();
    try {
      const until = Date.now() + 30_000;
      while (!done.includes(id) && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
      expect(done).toEqual([id]);
    } finally {
      await worker.stop();
      await running;
    }
  });

  it('adds several jobs in one statement, each with its own time and attempts or the defaults', async () => {
    expect(await enqueueJobs(t.db, [])).toEqual([]);
    const later = new Date(clock.now().getTime() + 60_000);
    const ids = await enqueueJobs(t.db, [{ type: 'many', payload: { n: 1 } }, { type: 'many', payload: { n: 2 }, runAt: later, maxAttempts: 3 }]);
    const rows = await t.db.selectFrom('jobs').select(['id', 'payload', 'run_at', 'max_attempts', 'status']).where('id', 'in', ids).orderBy('id').execute();
    expect(rows.map((r) => [Number(r.id), r.payload, r.status])).toEqual([[ids[0], { n: 1 }, 'pending'], [ids[1], { n: 2 }, 'pending']]);
    expect(rows[1]!.run_at.getTime()).toBe(later.getTime());
    expect(rows[1]!.max_attempts).toBe(3);
    expect(rows[0]!.max_attempts).toBeGreaterThan(3);
    await t.db.deleteFrom('jobs').where('id', 'in', ids).execute();
  });

  it('counts a job queued within the millisecond a worker reads from its clock as due (the database keeps microseconds)', async () => {
    const type = 'same-millisecond';
    const { id } = await t.db
      .insertInto('jobs')
      .values({ type, payload: '{}', run_at: sql<Date>`'2026-11-24T12:00:00.123456Z'::timestamptz` })
      .returning('id')
      .executeTakeFirstOrThrow();
    const now = new Date('2026-11-24T12:00:00.123Z');
    expect(await countJobs(t.db, now)).toMatchObject({ pending: 1, scheduled: 0 });
    expect(await oldestPendingJobAge(t.db, now)).toBe(0);
    expect((await claimJobs(t.db, { workerId: 'w', now: new Date('2026-11-24T12:00:00.122Z'), limit: 10, types: [type] })).map((j) => j.id)).toEqual([]);
    expect((await claimJobs(t.db, { workerId: 'w', now, limit: 10, types: [type] })).map((j) => j.id)).toEqual([Number(id)]);
    await t.db.deleteFrom('jobs').where('id', '=', id).execute();
  });

  it('retries with back-off, then marks the job failed with its last error', async () => {
    const id = await enqueueJob(t.db, { type: 'flaky', maxAttempts: 2, runAt: clock.now() });
    let [job] = await claimJobs(t.db, { workerId: 'w', now: clock.now(), limit: 10 });
    expect(job).toMatchObject({ id, status: 'running', attempts: 1 });
    await failJobs(t.db, [job!], new Error('boom 1'), { workerId: 'w', now: clock.now(), random: () => 0.5 });
    expect(await claimJobs(t.db, { workerId: 'w', now: clock.now(), limit: 10 })).toEqual([]); // not yet due
    clock.advance(backoffMs(1, () => 0.5));
    [job] = await claimJobs(t.db, { workerId: 'w', now: clock.now(), limit: 10 });
    expect(job).toMatchObject({ id, attempts: 2, last_error: 'boom 1' });
    await failJobs(t.db, [job!], new Error('boom 2'), { workerId: 'w', now: clock.now() });
    const row = await t.db.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ status: 'failed', last_error: 'boom 2' });
  });

  it('puts jobs of a dead worker back', async () => {
    const id = await enqueueJob(t.db, { type: 'orphan', runAt: clock.now() });
    await claimJobs(t.db, { workerId: 'dead', now: clock.now(), limit: 10, types: ['orphan'] });
    expect(await recoverStaleJobs(t.db, { now: clock.now(), staleAfterMs: 60_000 })).toBe(0);
    clock.advance(61_000);
    expect(await recoverStaleJobs(t.db, { now: clock.now(), staleAfterMs: 60_000 })).toBe(1);
    const [again] = await claimJobs(t.db, { workerId: 'w2', now: clock.now(), limit: 10, types: ['orphan'] });
    expect(again).toMatchObject({ id, attempts: 2, locked_by: 'w2' });
  });

  it('a worker hands every ready job of a type to its handler in one batch', async () => {
    for (let i = 0; i < 5; i++) await enqueueJob(t.db, { type: 'rebuild', payload: { slug: `p${i}` }, runAt: clock.now() });
    const batches: string[][] = [];
    const worker = createWorker({
      db: t.db,
      clock,
      logger: silent,
      handlers: {
        rebuild: async (jobs) => {
          batches.push(jobs.map((j) => (j.payload as { slug: string }).slug));
        },
      },
    });
    expect(await worker.drain()).toBe(5);
    expect(batches).toEqual([['p0', 'p1', 'p2', 'p3', 'p4']]);
    expect(await worker.drain()).toBe(0);
  });

  it('a handler that reports some jobs failed: only those are retried', async () => {
    const ids: number[] = [];
    for (let i = 0; i < 3; i++) ids.push(await enqueueJob(t.db, { type: 'mail', payload: { n: i }, runAt: clock.now() }));
    const handled: number[] = [];
    const worker = createWorker({
      db: t.db,
      clock,
      logger: silent,
      handlers: {
        mail: async (jobs) => {
          handled.push(...jobs.map((j) => j.id));
          return { failed: jobs.filter((j) => (j.payload as { n: number }).n === 1).map((j) => ({ id: j.id, error: new Error('mailbox full') })) };
        },
      },
    });
    expect(await worker.drain()).toBe(3);
    const rows = await t.db.selectFrom('jobs').select(['id', 'status', 'last_error']).where('id', 'in', ids).orderBy('id').execute();
    expect(rows.map((r) => [r.status, r.last_error])).toEqual([
      ['done', null],
      ['pending', 'mailbox full'],
      ['done', null],
    ]);
    clock.advance(10 * 60_000);
    handled.length = 0;
    expect(await worker.drain()).toBe(1);
    expect(handled).toEqual([ids[1]]);
  });

  it('completes or fails a job only for the worker holding its lease', async () => {
    const id = await enqueueJob(t.db, { type: 'leased', runAt: clock.now() });
    const [job] = await claimJobs(t.db, { workerId: 'b', now: clock.now(), limit: 10, types: ['leased'] });
    expect(await completeJobs(t.db, [id], { workerId: 'a', now: clock.now() })).toEqual([]);
    expect(await failJobs(t.db, [job!], new Error('late'), { workerId: 'a', now: clock.now() })).toEqual([]);
    expect(await t.db.selectFrom('jobs').select(['status', 'locked_by', 'last_error']).where('id', '=', id).executeTakeFirstOrThrow()).toEqual({ status: 'running', locked_by: 'b', last_error: null });
    expect(await completeJobs(t.db, [id], { workerId: 'b', now: clock.now() })).toEqual([id]);
    expect(await completeJobs(t.db, [id], { workerId: 'b', now: clock.now() })).toEqual([]); // done is not running
  });

  it.each<[string, string, (jobs: Parameters<BatchHandler>[0]) => ReturnType<BatchHandler>]>([
    ['returns (done)', 'lease-done', async () => {}],
    ['throws (retry)', 'lease-throws', async () => Promise.reject(new Error('boom'))],
    ['reports the job failed (retry)', 'lease-reports', async (jobs) => ({ failed: jobs.map((j) => ({ id: j.id, error: new Error('mailbox full') })) })],
  ])('a worker whose lease another worker took does not record the outcome when its handler %s', async (_, type, outcome) => {
    const id = await enqueueJob(t.db, { type, runAt: clock.now() });
    const started = gate();
    const proceed = gate();
    const { lines, logger } = recordingLogger();
    const a = createWorker({
      db: t.db,
      clock,
      logger,
      handlers: {
        [type]: async (jobs) => {
          started.open();
          await proceed.promise;
          return outcome(jobs);
        },
      },
    });
    const draining = a.drain();
    await started.promise;
    // Worker a lost the database past the stale limit: worker b took the job back and runs it.
    await t.db.updateTable('jobs').set({ locked_by: 'worker-b', locked_at: clock.now(), attempts: 2 }).where('id', '=', id).execute();
    proceed.open();
    expect(await draining).toBe(1);

    expect(await t.db.selectFrom('jobs').select(['status', 'locked_by', 'last_error']).where('id', '=', id).executeTakeFirstOrThrow()).toEqual({ status: 'running', locked_by: 'worker-b', last_error: null });
    expect(lines.filter((l) => l.level === 'warn').map((l) => [l.msg.split(':')[0], l.obj])).toEqual([['lease lost', { type, jobs: [id], workerId: a.id }]]);
    expect(lines.filter((l) => l.msg === 'jobs done' || l.msg.startsWith('jobs failed'))).toEqual([]);
    // Still b's: a third worker does not claim it.
    expect(await claimJobs(t.db, { workerId: 'c', now: new Date(clock.now().getTime() + 3_600_000), limit: 10, types: [type] })).toEqual([]);
  });

  it('past its deadline a batch keeps its lease until the handler that ignores its signal returns: no second run meanwhile, then a retry', async () => {
    const id = await enqueueJob(t.db, { type: 'stubborn', maxAttempts: 3, runAt: clock.now() });
    const runs: { attempt: number; signal: AbortSignal | undefined }[] = [];
    const proceed = gate();
    const { logger, logged } = recordingLogger();
    const handlers: Record<string, BatchHandler> = {
      stubborn: async (jobs, ctx) => {
        runs.push({ attempt: jobs[0]!.attempts, signal: ctx?.signal });
        // The first run ignores its signal and goes on until the test lets it finish.
        if (runs.length === 1) await proceed.promise;
      },
    };
    const worker = createWorker({ db: t.db, clock, logger, deadlines: { stubborn: 50 }, handlers });
    const other = createWorker({ db: t.db, clock, logger: silent, deadlines: { stubborn: 50 }, handlers });
    try {
      expect(await worker.drain()).toBe(1); // returned at the deadline, not when the handler did
      expect(runs[0]!.signal?.aborted).toBe(true);
      expect(runs[0]!.signal?.reason).toBeInstanceOf(JobDeadlineError);
      const row = () => t.db.selectFrom('jobs').select(['status', 'locked_by', 'attempts', 'last_error']).where('id', '=', id).executeTakeFirstOrThrow();
      expect(await row()).toEqual({ status: 'running', locked_by: worker.id, attempts: 1, last_error: null });

      // Past the back-off a retry would have had: neither this worker nor another starts one.
      clock.advance(backoffMs(1, () => 1) + 1000);
      expect(await worker.drain()).toBe(0);
      expect(await other.drain()).toBe(0);
      expect(runs).toHaveLength(1);

      // The handler returns: now the jobs are failed for a retry, which then runs.
      proceed.open();
      await logged('jobs past their deadline have stopped');
      expect(await row()).toMatchObject({ status: 'pending', locked_by: null, attempts: 1, last_error: new JobDeadlineError('stubborn', 50).message });
      clock.advance(backoffMs(1, () => 1) + 1000);
      expect(await other.drain()).toBe(1);
      expect(runs.map((r) => r.attempt)).toEqual([1, 2]);
      expect(await row()).toMatchObject({ status: 'done', locked_by: other.id, attempts: 2 });
    } finally {
      proceed.open();
      await worker.stop();
    }
  });

  describe('lanes', () => {
    const statusOf = async (id: number) => (await t.db.selectFrom('jobs').select('status').where('id', '=', id).executeTakeFirstOrThrow()).status;
    // Long enough that no lane wakes by itself while a test runs: only a poke or stop() does.
    const pollMs = 600_000;

    /** Runs a worker whose `slow` handler blocks until `release()`; once it runs a slow job, queues a `fast` job and pokes the worker. */
    async function slowAndFast(slow: string, fast: string, lanes?: string[][]) {
      const events: string[] = [];
      const started = gate();
      const release = gate();
      const worker = createWorker({
        db: t.db,
        logger: silent,
        pollMs,
        ...(lanes ? { lanes } : {}),
        handlers: {
          [slow]: async () => {
            events.push('slow started');
            started.open();
            await release.promise;
            events.push('slow returned');
          },
          [fast]: async () => void events.push('fast'),
        },
      });
      const slowJob = await enqueueJob(t.db, { type: slow });
      const running = worker.run();
      await started.promise;
      const fastJob = await enqueueJob(t.db, { type: fast });
      worker.poke();
      return {
        events,
        slowJob,
        fastJob,
        release: release.open,
        stop: async () => {
          release.open();
          await worker.stop();
          await running;
        },
      };
    }

    it('a job in one lane is done while a slow batch of another lane still runs', async () => {
      const w = await slowAndFast('lanes-slow', 'lanes-fast', [['lanes-slow'], ['lanes-fast']]);
      try {
        await waitFor('the fast job is done beside the slow batch', async () => (await statusOf(w.fastJob)) === 'done');
        expect(await statusOf(w.slowJob)).toBe('running');
        w.release();
        await waitFor('the slow job is done', async () => (await statusOf(w.slowJob)) === 'done');
        expect(w.events).toEqual(['slow started', 'fast', 'slow returned']);
      } finally {
        await w.stop();
      }
    });

    it('without lanes one loop drains every type, so a job queued behind a slow batch waits for it', async () => {
      const w = await slowAndFast('one-loop-slow', 'one-loop-fast');
      try {
        // A loop of its own would have done the poked job in milliseconds; this one is inside the
        // slow batch, so the job stays pending however long we look.
        for (let look = 0; look < 20; look++) {
          expect(await statusOf(w.fastJob)).toBe('pending');
          await new Promise((r) => setTimeout(r, 50));
        }
        w.release();
        await waitFor('both jobs are done', async () => (await statusOf(w.fastJob)) === 'done' && (await statusOf(w.slowJob)) === 'done');
        expect(w.events).toEqual(['slow started', 'slow returned', 'fast']);
      } finally {
        await w.stop();
      }
    });

    it('refuses lanes that list a type without a handler, or a type in two lanes', () => {
      const handlers = { a: async () => {}, b: async () => {} };
      expect(() => createWorker({ db: t.db, logger: silent, handlers, lanes: [['a'], ['c']] })).toThrowErrorMatchingInlineSnapshot(`[Error: createWorker: lane 2 lists the job type 'c', which has no handler; register a handler for it or take it out of the lane]`);
      expect(() => createWorker({ db: t.db, logger: silent, handlers, lanes: [['a', 'b'], ['b']] })).toThrowErrorMatchingInlineSnapshot(`[Error: createWorker: the job type 'b' is listed in lane 1 and lane 2; a type is drained by one lane only, so list it once]`);
    });

    it('stop() cuts the sleep of every lane short', async () => {
      const timers = vi.spyOn(globalThis, 'setTimeout');
      const worker = createWorker({ db: t.db, logger: silent, pollMs, lanes: [['sleepy-a'], ['sleepy-b']], handlers: { 'sleepy-a': async () => {}, 'sleepy-b': async () => {}, 'sleepy-rest': async () => {} } });
      const running = worker.run();
      try {
        // Each lane sleeps on a timer of its own: two listed lanes and the lane of the rest.
        await waitFor('all three lanes sleep', () => timers.mock.calls.filter(([, ms]) => ms === pollMs).length === 3);
      } finally {
        timers.mockRestore();
      }
      let late: NodeJS.Timeout | undefined;
      const tooLate = new Promise<never>((_, reject) => (late = setTimeout(() => reject(new Error('stop() was still waiting for a sleeping lane after 30 s')), 30_000)));
      try {
        await Promise.race([worker.stop().then(() => running), tooLate]);
      } finally {
        clearTimeout(late);
      }
    });
  });
});

describe('outbox on postgres with two workers', () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase('postgres');
  });
  afterAll(() => t?.drop());

  it('never hands the same job to two workers (FOR UPDATE SKIP LOCKED)', async () => {
    const now = new Date();
    const ids: number[] = [];
    for (let i = 0; i < 20; i++) ids.push(await enqueueJob(t.db, { type: 'x', runAt: new Date(now.getTime() - 1000) }));
    const claims = await Promise.all(Array.from({ length: 6 }, (_, w) => claimJobs(t.db, { workerId: `w${w}`, now, limit: 5 })));
    const claimed = claims.flat().map((j) => j.id);
    expect(new Set(claimed).size).toBe(claimed.length);
    expect(claimed.sort((a, b) => a - b)).toEqual(ids);
  });

  it('skips a job another transaction holds', async () => {
    const id = await enqueueJob(t.db, { type: 'held', runAt: new Date(Date.now() - 1000) });
    let release!: () => void;
    let locked!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const isLocked = new Promise<void>((r) => (locked = r));
    const holder = t.db.transaction().execute(async (trx) => {
      await trx.selectFrom('jobs').select('id').where('id', '=', id).forUpdate().execute();
      locked();
      await held;
    });
    // The row is locked once the holder's SELECT … FOR UPDATE has returned (or the holder failed).
    await Promise.race([isLocked, holder]);
    expect(await claimJobs(t.db, { workerId: 'w', now: new Date(), limit: 10, types: ['held'] })).toEqual([]);
    release();
    await holder;
    expect((await claimJobs(t.db, { workerId: 'w', now: new Date(), limit: 10, types: ['held'] })).map((j) => j.id)).toEqual([id]);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFixedClock } from '@rose/core';
import { createTestDatabase, databaseKinds, type TestDatabase } from '@rose/testing';
import { backoffMs, claimJobs, countJobs, enqueueJob, failJobs, recoverStaleJobs } from './outbox.repository.ts';
import { createWorker } from './worker.ts';

const silent = { info: () => {}, error: () => {} };

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

  it('retries with back-off, then marks the job failed with its last error', async () => {
    const id = await enqueueJob(t.db, { type: 'flaky', maxAttempts: 2, runAt: clock.now() });
    let [job] = await claimJobs(t.db, { workerId: 'w', now: clock.now(), limit: 10 });
    expect(job).toMatchObject({ id, status: 'running', attempts: 1 });
    await failJobs(t.db, [job!], new Error('boom 1'), clock.now(), () => 0.5);
    expect(await claimJobs(t.db, { workerId: 'w', now: clock.now(), limit: 10 })).toEqual([]); // not yet due
    clock.advance(backoffMs(1, () => 0.5));
    [job] = await claimJobs(t.db, { workerId: 'w', now: clock.now(), limit: 10 });
    expect(job).toMatchObject({ id, attempts: 2, last_error: 'boom 1' });
    await failJobs(t.db, [job!], new Error('boom 2'), clock.now());
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

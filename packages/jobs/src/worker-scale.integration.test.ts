import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '@rose/testing';
import { enqueueJob } from './outbox.repository.ts';
import { listenForJobs } from './postgres-job-listener.ts';
import { createWorker, JobDeadlineError } from './worker.ts';

// Several workers on one Postgres, each a real process with its own connection pool
// (outbox-worker-process.fixture.ts: the createWorker loop `rose worker` runs, with a test job
// type, since `rose worker` registers only the app's types).

const fixture = fileURLToPath(new URL('./outbox-worker-process.fixture.ts', import.meta.url));
const silent = { info: () => {}, warn: () => {}, error: () => {} };

interface WorkerProcess {
  name: string;
  id: string;
  child: ChildProcess;
  exited: Promise<number | null>;
}

let t: TestDatabase;
const children: WorkerProcess[] = [];

beforeAll(async () => {
  t = await createTestDatabase('postgres');
  await sql`create table job_runs (id serial primary key, job_id bigint not null, worker text not null, attempt int not null, at timestamptz not null default clock_timestamp())`.execute(t.db);
});
afterEach(async () => {
  for (const w of children.splice(0)) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
});
afterAll(() => t?.drop());

function startWorker(name: string, env: Record<string, string> = {}): Promise<WorkerProcess> {
  return new Promise((resolve, reject) => {
    let stderr = '';
    const child = fork(fixture, [], { env: { PATH: process.env.PATH, DATABASE_URL: t.url, WORKER_NAME: name, ...env }, stdio: ['ignore', 'ignore', 'pipe', 'ipc'], execArgv: [] });
    child.stderr!.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    child.once('message', (m: { id: string }) => {
      const w = { name, id: m.id, child, exited };
      children.push(w);
      resolve(w);
    });
    child.once('exit', (code, signal) => reject(new Error(`worker ${name} exited (${code ?? signal}) before it was ready: ${stderr}`)));
  });
}

async function stopWorker(w: WorkerProcess): Promise<void> {
  w.child.kill('SIGTERM');
  expect(await w.exited).toBe(0);
}

/** Polls `check` until it returns true; fails with `what` after the deadline. */
async function waitFor(what: string, check: () => Promise<boolean>, deadlineMs = 90_000): Promise<void> {
  const until = Date.now() + deadlineMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const statusOf = async (id: number) => t.db.selectFrom('jobs').select(['status', 'attempts', 'last_error']).where('id', '=', id).executeTakeFirstOrThrow();
const runsOf = async (id: number) => (await sql<{ worker: string; attempt: number }>`select worker, attempt from job_runs where job_id = ${id} order by id`.execute(t.db)).rows;

describe('outbox workers in separate processes on one Postgres', () => {
  it('four workers share thousands of jobs, some queued while they run: every job done exactly once, each worker did some', async () => {
    const workers = await Promise.all(['w1', 'w2', 'w3', 'w4'].map((n) => startWorker(n)));
    const ids: number[] = [];
    // A burst committed at once, which the four race for…
    await t.db.transaction().execute(async (trx) => {
      for (let i = 0; i < 2000; i++) ids.push(await enqueueJob(trx, { type: 'test.record', payload: { i } }));
    });
    // …then a trickle of small commits while they work.
    for (let k = 0; k < 20; k++) {
      await t.db.transaction().execute(async (trx) => {
        for (let i = 0; i < 50; i++) ids.push(await enqueueJob(trx, { type: 'test.record', payload: { k, i } }));
      });
    }
    await waitFor('3,000 jobs are done', async () => (await t.db.selectFrom('jobs').select((eb) => eb.fn.countAll<number>().as('n')).where('status', '=', 'done').executeTakeFirstOrThrow()).n === 3000);
    await Promise.all(workers.map(stopWorker));

    const perJob = (await sql<{ job_id: number; n: number }>`select job_id::int as job_id, count(*)::int as n from job_runs group by job_id`.execute(t.db)).rows;
    expect(perJob.length).toBe(3000);
    expect(perJob.filter((r) => r.n !== 1)).toEqual([]);
    expect(new Set(perJob.map((r) => r.job_id))).toEqual(new Set(ids));
    const perWorker = (await sql<{ worker: string; n: number }>`select worker, count(*)::int as n from job_runs group by worker order by worker`.execute(t.db)).rows;
    expect(perWorker.map((r) => r.worker)).toEqual(['w1', 'w2', 'w3', 'w4']);
    expect(perWorker.every((r) => r.n > 0)).toBe(true);
    // Who did each job, as the outbox recorded it, agrees with the handler's own record.
    const lockedBy = await t.db.selectFrom('jobs').select(['locked_by']).select((eb) => eb.fn.countAll<number>().as('n')).groupBy('locked_by').execute();
    expect(lockedBy.map((r) => r.locked_by).sort()).toEqual(workers.map((w) => w.id).sort());
  });

  it('a worker killed mid-job: another takes the job back after the stale limit and finishes it once; a job out of attempts fails instead', async () => {
    const a = await startWorker('a');
    // One commit, so worker a claims both in one batch (it hangs in the first batch it takes).
    const [retried, lastTry] = await t.db.transaction().execute(async (trx) => [
      await enqueueJob(trx, { type: 'test.record', payload: { hangIn: 'a' } }),
      await enqueueJob(trx, { type: 'test.record', payload: { hangIn: 'a' }, maxAttempts: 1 }),
    ]);
    await waitFor('worker a is running both jobs', async () => (await runsOf(retried)).length === 1 && (await runsOf(lastTry)).length === 1);
    a.child.kill('SIGKILL');
    await a.exited;
    expect(await statusOf(retried)).toMatchObject({ status: 'running', attempts: 1 });

    const b = await startWorker('b', { STALE_AFTER_MS: '1000' });
    await waitFor('worker b has dealt with both jobs', async () => (await statusOf(retried)).status === 'done' && (await statusOf(lastTry)).status === 'failed');
    await stopWorker(b);

    expect(await runsOf(retried)).toEqual([
      { worker: 'a', attempt: 1 },
      { worker: 'b', attempt: 2 },
    ]);
    expect(await statusOf(retried)).toMatchObject({ status: 'done', attempts: 2 });
    expect(await runsOf(lastTry)).toEqual([{ worker: 'a', attempt: 1 }]);
    expect((await statusOf(lastTry)).last_error).toMatch(new RegExp(`^the worker running it \\(${a.id.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\) stopped before finishing it$`));
  });
});

describe('one worker', () => {
  it('past a batch\'s deadline aborts its signal and goes on with other types; the jobs are failed for a retry once the handler returns', async () => {
    const hung = await enqueueJob(t.db, { type: 'test.hang', maxAttempts: 3 });
    const other = await enqueueJob(t.db, { type: 'test.quick' });
    let signal: AbortSignal | undefined;
    let finish!: () => void;
    const finished = new Promise<void>((r) => (finish = r));
    const errors: unknown[] = [];
    const worker = createWorker({
      db: t.db,
      logger: { info: () => {}, warn: () => {}, error: (obj) => errors.push((obj as { err?: unknown }).err) },
      deadlineMs: 60_000,
      deadlines: { 'test.hang': 300 },
      handlers: {
        // Ignores its signal: the worker must not wait for it, nor retry its job while it runs.
        'test.hang': async (_jobs, ctx) => {
          signal = ctx?.signal;
          await finished;
        },
        'test.quick': async () => {},
      },
    });
    try {
      expect(await worker.drain()).toBe(2);
      expect(signal?.aborted).toBe(true);
      expect(signal?.reason).toBeInstanceOf(JobDeadlineError);
      expect(errors.some((e) => e instanceof JobDeadlineError)).toBe(true);
      expect(await statusOf(hung)).toEqual({ status: 'running', attempts: 1, last_error: null });
      expect((await statusOf(other)).status).toBe('done');
      finish();
      await waitFor('the job is handed back', async () => (await statusOf(hung)).status === 'pending', 30_000);
      expect(await statusOf(hung)).toEqual({
        status: 'pending',
        attempts: 1,
        last_error: 'test.hang jobs ran longer than their deadline of 0.3 s and were told to stop; they are retried with back-off (unless out of attempts) once their handler has returned',
      });
    } finally {
      finish();
      await worker.stop();
    }
  });

  it('renews the lock of a long batch, so a live worker\'s job never looks stale to another', async () => {
    const id = await enqueueJob(t.db, { type: 'test.long' });
    let finish!: () => void;
    const finished = new Promise<void>((r) => (finish = r));
    const slow = createWorker({ db: t.db, logger: silent, staleAfterMs: 2000, handlers: { 'test.long': () => finished } });
    const other = createWorker({ db: t.db, logger: silent, staleAfterMs: 2000, handlers: { 'test.long': async () => {} } });
    const draining = slow.drain();
    const lockedAt = async () => (await t.db.selectFrom('jobs').select(['locked_at', 'created_at']).where('id', '=', id).executeTakeFirstOrThrow()).locked_at;
    await waitFor('the job is running', async () => (await lockedAt()) !== null);
    const claimedAt = (await lockedAt())!.getTime();
    // Renewed past the stale limit: without renewal the other worker would take it back now.
    await waitFor('the lock is renewed past the stale limit', async () => (await lockedAt())!.getTime() > claimedAt + 2000);
    expect(await other.drain()).toBe(0);
    expect(await t.db.selectFrom('jobs').select(['status', 'locked_by']).where('id', '=', id).executeTakeFirstOrThrow()).toEqual({ status: 'running', locked_by: slow.id });
    finish();
    expect(await draining).toBe(1);
    expect((await statusOf(id)).status).toBe('done');
  });

  it('on Postgres a NOTIFY from the committing transaction wakes a worker that would otherwise sleep for ten minutes, also after its listening connection was cut', async () => {
    const errors: string[] = [];
    const logger = { info: () => {}, warn: () => {}, error: (_obj: object, msg: string) => void errors.push(msg) };
    const worker = createWorker({ db: t.db, logger, pollMs: 600_000, handlers: { 'test.wake': async () => {} }, wakeUps: (poke) => listenForJobs({ url: t.url!, onJobs: poke, logger, retryMs: 50 }) });
    const listenerPid = async () => (await sql<{ pid: number }>`select pid from pg_stat_activity where application_name = 'rose-jobs-listener' and datname = current_database() and query ilike 'LISTEN%'`.execute(t.db)).rows[0]?.pid;
    const running = worker.run();
    try {
      await waitFor('the worker listens', async () => (await listenerPid()) !== undefined);
      const first = await enqueueJob(t.db, { type: 'test.wake' });
      await waitFor('the first job is done', async () => (await statusOf(first)).status === 'done', 30_000);
      const second = await enqueueJob(t.db, { type: 'test.wake' });
      await waitFor('the second job is done', async () => (await statusOf(second)).status === 'done', 30_000);

      const cut = (await listenerPid())!;
      await sql`select pg_terminate_backend(${cut})`.execute(t.db);
      await waitFor('the worker listens again', async () => ![undefined, cut].includes(await listenerPid()));
      const third = await enqueueJob(t.db, { type: 'test.wake' });
      await waitFor('the job queued after the reconnect is done', async () => (await statusOf(third)).status === 'done', 30_000);
      expect(errors).toContain('the job listener lost its connection; reconnecting (polling covers the gap)');
    } finally {
      await worker.stop();
      await running;
    }
    await waitFor('stop() closed the listening connection', async () => (await listenerPid()) === undefined);
  });
});

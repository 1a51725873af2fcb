/**
 * The outbox on Postgres: `npm run bench -- --only jobs [--jobs N] [--latency-jobs M]`.
 *
 * On a fresh Postgres database (DATABASE_URL's server, default the local test server), with
 * each worker a separate process running the real createWorker loop and its own pool:
 * - enqueue→start latency (median, p99) of jobs queued one per transaction at random gaps,
 *   for a worker polling every 1000 ms (the default) and every 100 ms with the `jobs_notify`
 *   trigger disabled, and for a worker woken by LISTEN/NOTIFY (`listenForJobs`, as `rose
 *   worker` does on Postgres; the trigger notifies when the enqueuing transaction commits);
 * - what the trigger adds to the enqueuing transaction;
 * - throughput (jobs/s) of a backlog of N no-op jobs with 1 and with 4 worker processes.
 * Latency is measured on the database's clock (job `created_at`, the transaction's start,
 * to the handler's `clock_timestamp()`), so no two clocks are compared.
 */
import { fork, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { sql } from 'kysely';
import { createMigrations, openDatabase } from '@rose/db';
import { createWorker, listenForJobs } from '@rose/jobs';
import { createEmptyPostgresDatabase, migrationsDir } from '@rose/testing';

const { values } = parseArgs({ options: { jobs: { type: 'string', default: '20000' }, 'latency-jobs': { type: 'string', default: '200' }, worker: { type: 'string' }, listen: { type: 'boolean', default: false }, poll: { type: 'string', default: '1000' } }, strict: false });
const log = (s: string) => process.stdout.write(`${s}\n`);
const load = () => `load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')} on ${os.availableParallelism()} cores`;

if (values.worker) {
  // A worker process: records when each job started, on the database's clock.
  const url = values.worker as string;
  const handle = await openDatabase({ kind: 'postgres', url });
  const logger = { info: () => {}, warn: (obj: object, msg: string) => process.stderr.write(`${msg} ${JSON.stringify(obj)}\n`), error: (obj: object, msg: string) => process.stderr.write(`${msg} ${JSON.stringify(obj)}\n`) };
  const worker = createWorker({
    db: handle.db,
    logger,
    pollMs: Number(values.poll),
    handlers: {
      'bench.noop': async (jobs) => {
        await sql`insert into bench_runs (job_id) values ${sql.join(jobs.map((j) => sql`(${j.id})`))}`.execute(handle.db);
      },
    },
    ...(values.listen ? { wakeUps: (poke: () => void) => listenForJobs({ url, onJobs: poke, logger }) } : {}),
  });
  const running = worker.run();
  process.send?.('ready');
  process.once('SIGTERM', () => {
    void (async () => {
      await worker.stop();
      await running;
      await handle.close();
      process.exit(0);
    })();
  });
} else {
  await main();
}

async function main(): Promise<void> {
  const fresh = await createEmptyPostgresDatabase();
  const handle = await openDatabase({ kind: 'postgres', url: fresh.url });
  const db = handle.db;
  const started: ChildProcess[] = [];
  const startWorkers = async (n: number, args: string[]) => {
    const children = Array.from({ length: n }, () => fork(fileURLToPath(import.meta.url), ['--worker', fresh.url, ...args], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: [] }));
    started.push(...children);
    await Promise.all(children.map((c) => new Promise((resolve, reject) => (c.once('message', resolve), c.once('exit', (code) => reject(new Error(`worker exited with ${code}`)))))));
    return async () => {
      await Promise.all(children.map((c) => new Promise((r) => (c.once('exit', r), c.kill('SIGTERM')))));
    };
  };
  const waitAllDone = async () => {
    for (;;) {
      const { n } = await db.selectFrom('jobs').select((eb) => eb.fn.countAll<number>().as('n')).where('status', '!=', 'done').executeTakeFirstOrThrow();
      if (n === 0) return;
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  const reset = async () => {
    await sql`truncate jobs, bench_runs`.execute(db);
  };
  try {
    await createMigrations(db, migrationsDir).migrateToLatest();
    await sql`create table bench_runs (job_id bigint not null, started_at timestamptz not null default clock_timestamp())`.execute(db);
    const latencyJobs = Number(values['latency-jobs']);
    log(`Outbox on Postgres (${handle.description}), each worker its own process — ${load()}`);

    // Latency: one job per transaction, at random gaps of 5–45 ms (so jobs land at every
    // phase of the poll), against one worker.
    const enqueueMs: Record<string, number[]> = {};
    const latency = async (label: string, args: string[], notify: boolean) => {
      await reset();
      await sql.raw(`alter table jobs ${notify ? 'enable' : 'disable'} trigger jobs_notify`).execute(db);
      const stop = await startWorkers(1, args);
      const spent: number[] = [];
      for (let i = 0; i < latencyJobs; i++) {
        const t = performance.now();
        await db.transaction().execute(async (trx) => {
          await trx.insertInto('jobs').values({ type: 'bench.noop', payload: '{}' }).execute();
        });
        spent.push(performance.now() - t);
        await new Promise((r) => setTimeout(r, 5 + Math.random() * 40));
      }
      await waitAllDone();
      await stop();
      enqueueMs[label] = spent;
      const rows = await sql<{ ms: number }>`select extract(epoch from (r.started_at - j.created_at)) * 1000 as ms from bench_runs r join jobs j on j.id = r.job_id`.execute(db);
      return rows.rows.map((r) => Number(r.ms));
    };
    const poll1000 = await latency('poll 1000 ms', ['--poll', '1000'], false);
    const poll100 = await latency('poll 100 ms', ['--poll', '100'], false);
    const notify = await latency('NOTIFY (poll 1000 ms as fallback)', ['--poll', '1000', '--listen'], true);
    log(`enqueue→start latency, ${latencyJobs} jobs, one per transaction:`);
    const row = (label: string, xs: number[]) => log(`  ${label.padEnd(36)} median ${fmt(quantile(xs, 0.5)).padStart(8)} ms   p99 ${fmt(quantile(xs, 0.99)).padStart(8)} ms`);
    row('polling every 1000 ms (default)', poll1000);
    row('polling every 100 ms', poll100);
    row('LISTEN/NOTIFY wake-up', notify);
    log(`  NOTIFY vs polling every 1000 ms: median ×${(quantile(poll1000, 0.5) / quantile(notify, 0.5)).toFixed(0)} faster, p99 ×${(quantile(poll1000, 0.99) / quantile(notify, 0.99)).toFixed(0)} faster`);
    log(`  enqueue transaction: median ${fmt(quantile(enqueueMs['poll 1000 ms']!, 0.5))} ms without the jobs_notify trigger, ${fmt(quantile(enqueueMs['NOTIFY (poll 1000 ms as fallback)']!, 0.5))} ms with it`);

    // Throughput: a backlog of N jobs, drained by 1 and by 4 worker processes.
    const n = Number(values.jobs);
    const throughput = async (workers: number) => {
      await reset();
      await sql`alter table jobs enable trigger jobs_notify`.execute(db);
      await sql`insert into jobs (type, payload) select 'bench.noop', '{}' from generate_series(1, ${n})`.execute(db);
      const t = performance.now();
      const stop = await startWorkers(workers, ['--poll', '100']);
      await waitAllDone();
      const wallMs = performance.now() - t;
      await stop();
      // From the first job started to the last job finished, on the database's clock.
      const { ms } = (await sql<{ ms: number }>`select extract(epoch from ((select max(finished_at) from jobs) - (select min(started_at) from bench_runs))) * 1000 as ms`.execute(db)).rows[0]!;
      const { dup } = (await sql<{ dup: number }>`select count(*) - count(distinct job_id) as dup from bench_runs`.execute(db)).rows[0]!;
      if (Number(dup) !== 0) throw new Error(`${dup} jobs ran twice`);
      return { perSecond: n / (Number(ms) / 1000), wallMs };
    };
    const one = await throughput(1);
    const four = await throughput(4);
    log(`throughput, ${n} no-op jobs queued (batches of 100):`);
    log(`  1 worker process    ${Math.round(one.perSecond).toString().padStart(7)} jobs/s   (wall ${(one.wallMs / 1000).toFixed(1)} s with start-up)`);
    log(`  4 worker processes  ${Math.round(four.perSecond).toString().padStart(7)} jobs/s   (wall ${(four.wallMs / 1000).toFixed(1)} s with start-up)   ×${(four.perSecond / one.perSecond).toFixed(2)}`);
    log(`  (no job ran twice) — ${load()}`);
  } finally {
    for (const c of started) if (c.exitCode === null) c.kill('SIGKILL');
    await handle.close();
    await fresh.drop();
  }
}

function quantile(xs: number[], q: number): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

function fmt(ms: number): string {
  return ms < 10 ? ms.toFixed(2) : ms.toFixed(0);
}

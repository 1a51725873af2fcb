/**
 * One outbox worker in its own process, for worker-scale.integration.test.ts: its own pg pool
 * (openDatabase), the real createWorker loop, and a test job type whose handler records every
 * execution in `job_runs` (no unique constraint: a job done twice shows as two rows).
 *
 * `rose worker` registers the app's job types only (createServices → startOutboxWorker), with
 * no way to add a test type, so the test forks this script instead: same packages, same loop.
 *
 * Env: DATABASE_URL, WORKER_NAME, and optionally POLL_MS, BATCH_SIZE, STALE_AFTER_MS.
 * A job whose payload has `hangIn` equal to WORKER_NAME is recorded, then never finishes (the
 * test SIGKILLs the process). Tells the parent `{ready, id}` over IPC once polling; SIGTERM
 * stops the loop and closes the pool.
 */
import { sql } from 'kysely';
import { openDatabase } from '@rose/db';
import { createWorker } from './worker.ts';

const url = process.env.DATABASE_URL;
const name = process.env.WORKER_NAME;
if (!url || !name) throw new Error('DATABASE_URL and WORKER_NAME are required');
const numberEnv = (key: string) => (process.env[key] ? Number(process.env[key]) : undefined);

const handle = await openDatabase({ kind: 'postgres', url });
const worker = createWorker({
  db: handle.db,
  logger: { info: () => {}, warn: (obj, msg) => process.stderr.write(`${name}: ${msg} ${JSON.stringify(obj)}\n`), error: (obj, msg) => process.stderr.write(`${name}: ${msg} ${JSON.stringify(obj)}\n`) },
  pollMs: numberEnv('POLL_MS') ?? 25,
  batchSize: numberEnv('BATCH_SIZE') ?? 20,
  ...(numberEnv('STALE_AFTER_MS') ? { staleAfterMs: numberEnv('STALE_AFTER_MS')! } : {}),
  handlers: {
    'test.record': async (jobs) => {
      // One row per execution (no unique constraint: a job done twice shows as two rows).
      await sql`insert into job_runs (job_id, worker, attempt) values ${sql.join(jobs.map((j) => sql`(${j.id}, ${name}, ${j.attempts})`))}`.execute(handle.db);
      if (jobs.some((j) => (j.payload as { hangIn?: string }).hangIn === name)) await new Promise<never>(() => {});
    },
  },
});
const running = worker.run();
process.send?.({ ready: true, id: worker.id });

process.once('SIGTERM', () => {
  void (async () => {
    await worker.stop();
    await running;
    await handle.close();
    process.exit(0);
  })();
});

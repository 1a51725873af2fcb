import type { DatabaseHandle } from '@rose/db';
import { jobsChannel, type JobListener } from './postgres-job-listener.ts';

/**
 * The embedded database's `listenForJobs`: calls `onJobs` whenever a transaction that queued
 * jobs commits, in this process or in any `rose` command reaching the database through this
 * process's socket — while this process owns the embedded database (`rose serve` does). While
 * another process owns it nothing is heard and the worker's polling covers, until this
 * process takes it over (ADR 0012).
 *
 * @example
 * const worker = createWorker({ db, handlers, logger, wakeUps: (poke) => listenForEmbeddedJobs({ listen: handle.listen!, onJobs: poke }) });
 */
export function listenForEmbeddedJobs(opts: { listen: NonNullable<DatabaseHandle['listen']>; onJobs: () => void }): Promise<JobListener> {
  return opts.listen(jobsChannel, () => opts.onJobs());
}

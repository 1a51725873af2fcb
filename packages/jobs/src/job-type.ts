import type { Kysely, Transaction } from 'kysely';
import type { z } from 'zod';
import { parseWithFriendlyErrors } from '@rose/core';
import type { Database, Job } from '@rose/db';
import { enqueueJob, enqueueJobs } from './outbox.repository.ts';
import type { BatchHandler, BatchOutcome, HandlerContext } from './worker.ts';

/**
 * A kind of outbox job: its name and the schema of its payload. Payloads are checked when
 * queued and parsed again when claimed, so a handler never sees a payload cast from unknown.
 *
 * @example
 * const rebuild = defineJob('blog.rebuild', z.object({ slugs: z.array(z.string()) }));
 * await enqueue(trx, rebuild, { slugs: ['hello'] });
 * const handlers = { ...handle(rebuild, async (payloads) => rebuildSlugs(payloads.flatMap((p) => p.slugs))) };
 */
export interface JobType<S extends z.ZodType> {
  readonly type: string;
  readonly schema: S;
}

export function defineJob<S extends z.ZodType>(type: string, schema: S): JobType<S> {
  return { type, schema };
}

/**
 * Queues a job of `job`'s type; pass the transaction of the change it follows from. The job
 * carries the id of the request being handled (the log context), unless `requestId` says otherwise.
 */
export async function enqueue<S extends z.ZodType>(
  db: Kysely<Database> | Transaction<Database>,
  job: JobType<S>,
  payload: z.input<S>,
  opts: { runAt?: Date; maxAttempts?: number; requestId?: string | null } = {},
): Promise<number> {
  const parsed = parseWithFriendlyErrors(job.schema, payload);
  if (!parsed.ok) throw new Error(`Refusing to queue a ${job.type} job with a bad payload: ${parsed.problems.join('; ')}`);
  return enqueueJob(db, { type: job.type, payload: parsed.value, ...opts });
}

/** Queues several jobs of one type in one statement (all or none). */
export async function enqueueMany<S extends z.ZodType>(
  db: Kysely<Database> | Transaction<Database>,
  job: JobType<S>,
  payloads: z.input<S>[],
  opts: { runAt?: Date; maxAttempts?: number; requestId?: string | null } = {},
): Promise<number[]> {
  const parsed = payloads.map((payload) => {
    const result = parseWithFriendlyErrors(job.schema, payload);
    if (!result.ok) throw new Error(`Refusing to queue a ${job.type} job with a bad payload: ${result.problems.join('; ')}`);
    return result.value;
  });
  return enqueueJobs(db, parsed.map((payload) => ({ type: job.type, payload, ...opts })));
}

/**
 * The worker's handler for one job type: payloads are parsed on claim; jobs whose payload
 * does not parse fail with the reason (they would fail the same way on every retry) and the
 * rest are handled as one batch.
 */
export function handle<S extends z.ZodType>(
  job: JobType<S>,
  handler: (payloads: z.output<S>[], jobs: Job[], ctx: HandlerContext) => Promise<void | BatchOutcome>,
): Record<string, BatchHandler> {
  return {
    [job.type]: async (jobs, ctx) => {
      const good: Job[] = [];
      const payloads: z.output<S>[] = [];
      const failed: BatchOutcome['failed'] = [];
      for (const j of jobs) {
        const parsed = parseWithFriendlyErrors(job.schema, j.payload);
        if (parsed.ok) {
          good.push(j);
          payloads.push(parsed.value);
        } else failed.push({ id: j.id, error: new Error(`Bad ${job.type} payload: ${parsed.problems.join('; ')}`) });
      }
      if (good.length === 0) return { failed };
      const outcome = await handler(payloads, good, ctx ?? { signal: new AbortController().signal });
      return { failed: [...failed, ...(outcome?.failed ?? [])] };
    },
  };
}

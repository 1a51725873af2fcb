import type { Kysely } from 'kysely';
import { z } from 'zod';
import type { Message, MessageQueue, MessageQueueDepth, MessageQueueEnqueueOptions, MessageQueueListenOptions } from '@fedify/fedify';
import { systemClock, type Clock } from '@rose/core';
import type { Database } from '@rose/db';
import { defineJob, enqueue, enqueueMany, handle, type BatchHandler } from '@rose/jobs';
import { durationMs } from './fedify-kv.ts';

// Fedify's background tasks (deliver an activity to one inbox, fan one out to many inboxes,
// process a received activity) become outbox jobs, so they share the worker, its retries, its
// logs and `rose jobs` with everything else, and a task queued in a transaction is kept only if
// it commits. Fedify's messages are plain JSON (URLs as strings, times as ISO strings, keys as
// JWK); Fedify asks that they be treated as opaque, so the payload schema checks only that.

/**
 * One Fedify task. `orderingKey` is the key Fedify passed to `enqueue`: tasks with the same key
 * run one after another, in the order they were queued, within a worker's batch.
 */
export const fedifyTaskJob = defineJob(
  'federation.task',
  z.object({
    message: z.record(z.string(), z.json()),
    orderingKey: z.string().optional(),
  }),
);

/**
 * The message as it will come back out of the jobs table: Fedify leaves optional fields
 * `undefined` (`orderingKey`, `sharedInbox`), which JSON drops; the payload schema then sees
 * exactly what the worker will hand to Fedify.
 */
function toPayload(message: unknown, options: MessageQueueEnqueueOptions | undefined): z.input<typeof fedifyTaskJob.schema> {
  const json: unknown = JSON.parse(JSON.stringify(message) ?? 'null');
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new TypeError(`A Fedify task must be a JSON object; got ${Array.isArray(json) ? 'an array' : String(json)}`);
  }
  return { message: json as z.input<typeof fedifyTaskJob.schema>['message'], ...(options?.orderingKey === undefined ? {} : { orderingKey: options.orderingKey }) };
}

/** Fedify's MessageQueue with the parts it may use (`enqueueMany`, `getDepth`) always present. */
export type JobsMessageQueue = MessageQueue & Required<Pick<MessageQueue, 'enqueueMany' | 'getDepth'>>;

/**
 * Fedify's message queue on our outbox: `enqueue` queues a `federation.task` job (run at now +
 * `delay`), and the outbox worker runs it with `fedifyTaskHandlers`. So `listen` runs nothing —
 * it only waits for its signal, as Fedify expects of a queue that is not being listened to.
 * `nativeRetrial` is false: Fedify retries a failed delivery itself with its own back-off (it
 * queues the message again), so a job fails only when Fedify's processing throws unexpectedly,
 * and then the outbox retries it.
 *
 * @example
 * const queue = createJobsMessageQueue(db, { onEnqueued: () => worker.poke() });
 * const federation = createFederation({ kv, queue, manuallyStartQueue: true, ... });
 */
export function createJobsMessageQueue(db: Kysely<Database>, opts: { onEnqueued?: () => void; clock?: Clock } = {}): JobsMessageQueue {
  const clock = opts.clock ?? systemClock;
  // No delay: the database's now() (the default for every job), so the task is due at once.
  const runAt = (options: MessageQueueEnqueueOptions | undefined): { runAt?: Date } => {
    if (options?.delay == null) return {};
    const now = clock.now();
    const ms = durationMs(options.delay, now);
    return ms > 0 ? { runAt: new Date(now.getTime() + ms) } : {};
  };

  return {
    nativeRetrial: false,

    async enqueue(message: unknown, options?: MessageQueueEnqueueOptions): Promise<void> {
      await enqueue(db, fedifyTaskJob, toPayload(message, options), runAt(options));
      opts.onEnqueued?.();
    },

    /** All or none: one statement (Fedify sends one activity to many inboxes this way). */
    async enqueueMany(messages: readonly unknown[], options?: MessageQueueEnqueueOptions): Promise<void> {
      if (messages.length === 0) return;
      await enqueueMany(db, fedifyTaskJob, messages.map((m) => toPayload(m, options)), runAt(options));
      opts.onEnqueued?.();
    },

    /** Tasks waiting (not those a worker is running): due now (`ready`) or later (`delayed`, retries included). */
    async getDepth(): Promise<MessageQueueDepth> {
      // A job is due within the millisecond the clock reads (run_at keeps microseconds), as the worker claims it.
      const notDueFrom = new Date(clock.now().getTime() + 1);
      const row = await db
        .selectFrom('jobs')
        .select((eb) => [eb.fn.countAll<string | number>().as('queued'), eb.fn.countAll<string | number>().filterWhere('run_at', '<', notDueFrom).as('ready')])
        .where('type', '=', fedifyTaskJob.type)
        .where('status', '=', 'pending')
        .executeTakeFirstOrThrow();
      const queued = Number(row.queued);
      const ready = Number(row.ready);
      return { queued, ready, delayed: queued - ready };
    },

    listen(_handler: (message: unknown) => Promise<void> | void, options?: MessageQueueListenOptions): Promise<void> {
      return new Promise<void>((resolve) => {
        const signal = options?.signal;
        if (!signal) return; // as the interface says: without a signal it never resolves
        if (signal.aborted) return resolve();
        signal.addEventListener('abort', () => resolve(), { once: true });
      });
    },
  };
}

/**
 * The outbox worker's handler for Fedify's tasks: each message goes through `process` (the
 * wiring passes `(message) => federation.processQueuedTask(contextData, message)`). Messages
 * are independent: one that throws is retried on its own and the rest are done. Up to
 * `concurrency` run at once (deliveries wait on other servers); messages that share an ordering
 * key run one at a time, oldest first. Once the batch passes its deadline no new message starts;
 * those not started are retried.
 *
 * @example
 * const worker = createWorker({ db, handlers: { ...fedifyTaskHandlers((m) => federation.processQueuedTask(data, m)) }, logger });
 */
export function fedifyTaskHandlers(process: (message: Message) => Promise<void>, opts: { concurrency?: number } = {}): Record<string, BatchHandler> {
  const concurrency = Math.max(1, opts.concurrency ?? 8);
  return handle(fedifyTaskJob, async (payloads, jobs, ctx) => {
    // Jobs come oldest first; a lane is one ordering key (or one message without a key).
    const lanes = new Map<string, number[]>();
    payloads.forEach((payload, i) => {
      const lane = payload.orderingKey === undefined ? `#${i}` : `key:${payload.orderingKey}`;
      const queued = lanes.get(lane);
      if (queued) queued.push(i);
      else lanes.set(lane, [i]);
    });
    const waiting = [...lanes.values()];
    const failed: { id: number; error: unknown }[] = [];

    const runLanes = async () => {
      for (let lane = waiting.shift(); lane; lane = waiting.shift()) {
        for (const i of lane) {
          if (ctx.signal.aborted) {
            failed.push({ id: jobs[i]!.id, error: ctx.signal.reason });
            continue;
          }
          try {
            // The payload is the JSON of the message Fedify queued (see toPayload).
            await process(payloads[i]!.message as unknown as Message);
          } catch (error) {
            failed.push({ id: jobs[i]!.id, error });
          }
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, waiting.length) }, runLanes));
    return { failed };
  });
}

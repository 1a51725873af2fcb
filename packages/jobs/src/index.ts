export { countJobs, oldestPendingJobAge, type JobCounts } from './outbox.repository.ts';
export { createWorker, JobDeadlineError, workerDefaults, type Worker, type BatchHandler, type HandlerContext } from './worker.ts';
export { defineJob, enqueue, enqueueMany, handle } from './job-type.ts';
export { listenForJobs, type JobListener } from './postgres-job-listener.ts';
export { listenForEmbeddedJobs } from './pglite-job-listener.ts';
export { recordInboundDelivery } from './inbound-delivery.repository.ts';

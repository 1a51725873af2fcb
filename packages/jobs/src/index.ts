export { enqueueJob, claimJobs, completeJobs, failJobs, recoverStaleJobs, countJobs, backoffMs, type NewJob, type JobCounts } from './outbox.repository.ts';
export { createWorker, type Worker, type BatchHandler, type BatchOutcome, type WorkerLogger } from './worker.ts';
export { defineJob, enqueue, handle, type JobType } from './job-type.ts';
export { recordInboundDelivery, type InboundDelivery } from './inbound-delivery.repository.ts';

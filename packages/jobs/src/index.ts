export { countJobs, type JobCounts } from './outbox.repository.ts';
export { createWorker, type Worker, type BatchHandler } from './worker.ts';
export { defineJob, enqueue, handle } from './job-type.ts';
export { recordInboundDelivery } from './inbound-delivery.repository.ts';

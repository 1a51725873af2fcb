// What the app's wiring, the CLI and the app's job queues use; the rest stays inside.
export { createRoseFederation, type FederationData, type RoseFederationOptions, type FederationLogger } from './federation.ts';
export { createFederationFrontHandler, inboxAdmission } from './front-handler.ts';
export { createSocial, type Social, type TimelineItem, type Notification, type Author, type ComposeProblem, type FollowProblem } from './social.service.ts';
export { ensurePartActors, partActors, type LocalActor, type PartActor, type HandleProblem } from './actors.repository.ts';
export { createSqlKvStore, purgeExpired } from './fedify-kv.ts';
export { createJobsMessageQueue, fedifyTaskHandlers } from './fedify-queue.ts';
export { federationProfileHandlers, federationSendHandlers } from './delivery.ts';
export { federationSyncHandlers, federationSyncJob, syncPartObjects, type DesiredObject, type SyncSummary } from './part-sync.ts';
export { keylessQueue, withPrivateKeys } from './keyless-queue.ts';
export { pruneInboxLog } from './inbox.ts';

export { createGhostContentClient } from './ghost-content.client.ts';
export { createGhostAdminClient } from './ghost-admin.client.ts';
export { signGhostPayload } from './webhook-signature.ts';
export { ghostWebhookEvents, type GhostWebhookEvent } from './ghost.types.ts';
export { syncFromGhost, type SyncProgress, type SyncResult } from './ghost-sync.service.ts';
export { handleGhostWebhook, type WebhookOutcome, type WebhookRejection } from './ghost-webhook.service.ts';

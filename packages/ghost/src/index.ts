export { GhostApiError, type GhostApiErrorKind, type GhostKeySetting } from './ghost-api.error.ts';
export {
  createGhostContentClient,
  formatGhostFilterDate,
  type GhostContentClient,
  type GhostContentClientOptions,
} from './ghost-content.client.ts';
export {
  createGhostAdminClient,
  type CreateWebhookInput,
  type GhostAdminClient,
  type GhostAdminClientOptions,
} from './ghost-admin.client.ts';
export { verifyGhostSignature, signGhostPayload, type GhostSignatureFailure, type VerifyGhostSignatureInput } from './webhook-signature.ts';
export {
  ghostPostSchema,
  ghostTagSchema,
  ghostAuthorSchema,
  ghostSettingsSchema,
  ghostSiteSchema,
  ghostWebhookSchema,
  ghostItemStampSchema,
  ghostAdminBodySchema,
  ghostWebhookEvents,
  type GhostPost,
  type GhostPage,
  type GhostTag,
  type GhostAuthor,
  type GhostSettings,
  type GhostNavigationItem,
  type GhostSite,
  type GhostWebhook,
  type GhostWebhookEvent,
  type GhostItemStamp,
  type GhostAdminBody,
} from './ghost.types.ts';
export { syncFromGhost, toSitePath, syncMarkKey, type SyncMark, type SyncProgress, type SyncResult } from './ghost-sync.service.ts';
export { handleGhostWebhook, type WebhookOutcome, type WebhookRejection } from './ghost-webhook.service.ts';

import { createHash } from 'node:crypto';
import type { Kysely, Transaction } from 'kysely';
import { z } from 'zod';
import { applyImport, type ImportSummary } from '@rose/blog';
import { err, ok, systemClock, type Clock, type Result } from '@rose/core';
import type { Database } from '@rose/db';
import { recordInboundDelivery } from '@rose/jobs';
import type { GhostAdminClient } from './ghost-admin.client.ts';
import type { GhostContentClient } from './ghost-content.client.ts';
import { toImportedAuthor, toImportedPosts, toImportedTag } from './ghost-sync.service.ts';
import { verifyGhostSignature } from './webhook-signature.ts';

export type WebhookOutcome =
  | { status: 'applied'; resource: 'post' | 'page'; id: string; summary: ImportSummary }
  | { status: 'queued-sync'; resource: 'tag' | 'site' }
  | { status: 'duplicate' };

export type WebhookRejection =
  | { type: 'missing' | 'malformed' | 'bad-signature' | 'stale'; message: string }
  | { type: 'bad-payload'; message: string };

const idSchema = z.string().regex(/^[0-9a-f]{24}$/);
const resourceSchema = z.object({ current: z.object({ id: idSchema.optional() }).loose().optional(), previous: z.object({ id: idSchema.optional() }).loose().optional() });
const payloadSchema = z.object({ post: resourceSchema.optional(), page: resourceSchema.optional(), tag: resourceSchema.optional() }).loose();

/**
 * Handles one Ghost webhook delivery: verifies `X-Ghost-Signature` (HMAC-SHA256 over body +
 * timestamp, constant-time, at most 5 minutes old), ignores a delivery already handled,
 * re-reads the post or page from the Content API (so members-only bodies are gated exactly
 * as in a full sync, and unpublished/deleted ones disappear), applies the change and calls
 * `enqueue` — all in one transaction. Tag and site changes queue a sync instead.
 */
export async function handleGhostWebhook(
  deps: {
    db: Kysely<Database>;
    client: GhostContentClient;
    /** Reads gated posts' members-only parts, as sync does (undefined: only teasers). */
    admin: GhostAdminClient | undefined;
    ghostUrl: string;
    secret: string;
    clock?: Clock;
    enqueue: (trx: Transaction<Database>, job: { type: 'blog.rebuild'; slugs: string[]; shared: boolean } | { type: 'ghost.sync' }) => Promise<void>;
  },
  request: { signature: string | null; body: string },
): Promise<Result<WebhookOutcome, WebhookRejection>> {
  const clock = deps.clock ?? systemClock;
  const verified = verifyGhostSignature({ header: request.signature ?? undefined, body: request.body, secret: deps.secret, now: clock.now() });
  if (!verified.ok) {
    const messages = {
      missing: 'The X-Ghost-Signature header is missing.',
      malformed: 'The X-Ghost-Signature header is not in Ghost\'s "sha256=<hex>, t=<ms>" form.',
      'bad-signature': 'The signature does not match the body: wrong GHOST_WEBHOOK_SECRET, or the body was altered.',
      stale: 'The signature is more than 5 minutes old (or from the future); replayed deliveries are refused.',
    } as const;
    return err({ type: verified.error.type, message: messages[verified.error.type] });
  }
  let json: unknown;
  try {
    json = JSON.parse(request.body);
  } catch {
    return err({ type: 'bad-payload', message: 'The body is not JSON.' });
  }
  const parsed = payloadSchema.safeParse(json);
  if (!parsed.success) return err({ type: 'bad-payload', message: `The body is not a Ghost webhook payload: ${parsed.error.issues[0]?.message ?? 'unknown shape'}.` });
  const payload = parsed.data;
  const deliveryId = createHash('sha256').update(request.signature ?? '').digest('hex');

  const resourceName = payload.post ? 'post' : payload.page ? 'page' : payload.tag ? 'tag' : 'site';
  if (resourceName === 'tag' || resourceName === 'site') {
    return deps.db.transaction().execute(async (trx) => {
      if (!(await recordInboundDelivery(trx, { source: 'ghost', deliveryId }))) return ok({ status: 'duplicate' as const });
      await deps.enqueue(trx, { type: 'ghost.sync' });
      return ok({ status: 'queued-sync' as const, resource: resourceName });
    });
  }
  const resource = (payload.post ?? payload.page)!;
  const id = resource.current?.id ?? resource.previous?.id;
  if (!id) return err({ type: 'bad-payload', message: `The ${resourceName} in the payload has no id.` });

  // Network first, transaction second: never hold a transaction open across HTTP.
  const found = resourceName === 'post' ? await deps.client.postsByIds([id]) : await deps.client.pagesByIds([id]);
  const item = found[0];
  // The same mapping and import rule as sync (slugs the blog cannot serve, gated bodies).
  const imported = item ? await toImportedPosts([item], resourceName, deps) : [];
  return deps.db.transaction().execute(async (trx) => {
    if (!(await recordInboundDelivery(trx, { source: 'ghost', deliveryId }))) return ok({ status: 'duplicate' as const });
    const summary = await applyImport(
      trx,
      item ? { upsertPosts: imported, mergeTags: item.tags.map(toImportedTag), mergeAuthors: item.authors.map(toImportedAuthor) } : { removeSourceIds: [id] },
      { clock },
    );
    if (summary.changedSlugs.length > 0 || summary.sharedChanged) {
      await deps.enqueue(trx, { type: 'blog.rebuild', slugs: summary.changedSlugs, shared: summary.sharedChanged });
    }
    return ok({ status: 'applied' as const, resource: resourceName, id, summary });
  });
}

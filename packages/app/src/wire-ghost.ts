import type { Kysely } from 'kysely';
import type { Config } from '@rose/config';
import { err, ok, RoseError, type Clock, type Result } from '@rose/core';
import type { Database } from '@rose/db';
import {
  createGhostAdminClient,
  createGhostContentClient,
  ghostWebhookEvents,
  handleGhostWebhook,
  syncFromGhost,
  type GhostWebhookEvent,
  type SyncProgress,
  type SyncResult,
  type WebhookOutcome,
  type WebhookRejection,
} from '@rose/ghost';
import { enqueueBlogJob } from './blog-jobs.ts';

/** The events the blog listens to: content and site changes. */
export const blogWebhookEvents = ghostWebhookEvents.filter((e) => /^(post|page|tag)\.|^site\.changed$/.test(e)) as GhostWebhookEvent[];

/** The blog's Ghost connection, as routes, commands and jobs use it. */
export interface GhostServices {
  /** Whether GHOST_URL and GHOST_CONTENT_KEY are set (every verb refuses otherwise). */
  readonly configured: boolean;
  readonly url: string | undefined;
  /** Whether the Admin API key is set (members-only bodies, webhook registration). */
  readonly hasAdmin: boolean;
  /** Syncs the blog (incremental after the first run); queues a rebuild of what changed. */
  sync(opts?: { full?: boolean; onProgress?: (p: SyncProgress) => void }): Promise<SyncResult>;
  /** A webhook delivery: verified, applied and a rebuild queued in one transaction. */
  handleWebhook(request: { signature: string | null; body: string }): Promise<Result<WebhookOutcome, WebhookRejection | { type: 'not-configured'; message: string }>>;
  /** Registers the blog's webhooks in Ghost, pointing at `target`. */
  installWebhooks(target: string): Promise<{ events: number; created: number; existing: number }>;
}

export function wireGhost(deps: { db: Kysely<Database>; config: Config; clock: Clock; onJobQueued: () => void }): GhostServices {
  const g = deps.config.ghost;
  const content = g ? createGhostContentClient({ url: g.url, key: g.contentKey }) : undefined;
  const admin = g?.adminKey ? createGhostAdminClient({ url: g.url, adminKey: g.adminKey }) : undefined;
  const required = () => {
    if (!g || !content) {
      throw new RoseError({
        code: 'ghost-not-configured',
        title: 'Ghost is not configured',
        message: 'GHOST_URL and GHOST_CONTENT_KEY are not set, so there is no Ghost to sync from.',
        hint: 'Create a custom integration in Ghost Admin (Settings → Integrations) and set GHOST_URL and GHOST_CONTENT_KEY.',
      });
    }
    return { url: g.url, content };
  };
  return {
    configured: Boolean(g),
    url: g?.url,
    hasAdmin: Boolean(admin),
    async sync(opts = {}) {
      const { url, content: client } = required();
      const result = await syncFromGhost(
        { db: deps.db, client, admin, ghostUrl: url, clock: deps.clock },
        {
          ...(opts.full ? { full: true } : {}),
          ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
          inTransaction: async (trx, summary) => {
            if (summary.changedSlugs.length || summary.sharedChanged) await enqueueBlogJob(trx, { type: 'blog.rebuild', slugs: summary.changedSlugs, shared: summary.sharedChanged });
          },
        },
      );
      deps.onJobQueued();
      return result;
    },
    async handleWebhook(request) {
      if (!g || !content || !g.webhookSecret) return err({ type: 'not-configured' as const, message: 'Ghost webhooks are not configured here (GHOST_URL, GHOST_CONTENT_KEY and GHOST_WEBHOOK_SECRET).' });
      const result = await handleGhostWebhook({ db: deps.db, client: content, admin, ghostUrl: g.url, secret: g.webhookSecret, clock: deps.clock, enqueue: enqueueBlogJob }, request);
      if (result.ok) deps.onJobQueued();
      return result.ok ? ok(result.value) : result;
    },
    async installWebhooks(target) {
      required();
      if (!admin) {
        throw new RoseError({
          code: 'ghost-admin-missing',
          title: 'No Ghost Admin API key',
          message: 'Registering webhooks needs the Admin API key of the integration.',
          hint: 'Set GHOST_ADMIN_KEY (the "Admin API key" shown next to the Content API key in Ghost).',
        });
      }
      if (!g!.webhookSecret) {
        throw new RoseError({
          code: 'ghost-webhook-secret-missing',
          title: 'No webhook secret',
          message: 'Webhooks are signed with GHOST_WEBHOOK_SECRET, and it is not set; unsigned webhooks would be refused.',
          hint: 'Set GHOST_WEBHOOK_SECRET to a long random string (e.g. `openssl rand -hex 32`) here and in every server.',
        });
      }
      let created = 0;
      let existing = 0;
      for (const event of blogWebhookEvents) {
        try {
          await admin.createWebhook({ event, targetUrl: target, name: `Rose Ash: ${event}`, secret: g!.webhookSecret });
          created++;
        } catch (error) {
          if ((error as { kind?: string }).kind === 'rejected' && /already been used/i.test((error as Error).message)) existing++;
          else throw error;
        }
      }
      return { events: blogWebhookEvents.length, created, existing };
    },
  };
}

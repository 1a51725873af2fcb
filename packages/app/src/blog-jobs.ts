import type { Transaction } from 'kysely';
import { z } from 'zod';
import type { Database } from '@rose/db';
import { federationSyncJob } from '@rose/federation';
import { defineJob, enqueue, handle, type BatchHandler } from '@rose/jobs';
import type { Services } from './services.ts';

/** Pages of the blog changed: the slugs of posts/pages added, edited or removed. */
export const blogRebuildJob = defineJob(
  'blog.rebuild',
  z.object({
    slugs: z.array(z.string().min(1).max(200)).max(100_000),
    /** Something every page shows changed (navigation, site settings, tags, authors). */
    shared: z.boolean(),
  }),
);
/** Tags or site settings changed in Ghost: run an incremental sync. */
export const ghostSyncJob = defineJob('ghost.sync', z.object({}).strict());

export type BlogJob = { type: 'blog.rebuild'; slugs: string[]; shared: boolean } | { type: 'ghost.sync' };

/** Writes a blog job into the outbox, inside the caller's transaction. */
export async function enqueueBlogJob(trx: Transaction<Database>, job: BlogJob): Promise<void> {
  if (job.type === 'ghost.sync') await enqueue(trx, ghostSyncJob, {});
  else {
    await enqueue(trx, blogRebuildJob, { slugs: job.slugs, shared: job.shared });
    // The blog actor's followers hear of new, edited and withdrawn posts — a few seconds after
    // the rebuild: the sync reads every post, and on the embedded database (one session) its
    // reads would hold up the rebuild's, which runs beside it in its own lane.
    if (job.slugs.length) await enqueue(trx, federationSyncJob, { part: 'blog' }, { runAt: afterTheRebuild() });
  }
}

/** When a federation sync queued with a change should run: once the change's rebuild is live. */
export function afterTheRebuild(): Date {
  return new Date(Date.now() + 5_000);
}

/** A targeted rebuild of one static part (blog, market). */
export interface RebuildRequest {
  part: 'blog' | 'market';
  slugs: string[];
  shared: boolean;
}

/**
 * Outbox handlers of the blog: a Ghost sync (queued by tag/site webhooks) and a rebuild of
 * the pages that show the changed posts, which `rebuild` carries out; rebuilds without a
 * build pipeline in this process (`rose dev`) fail and are retried by a worker that has one.
 */
export function createBlogJobHandlers(services: Pick<Services, 'ghost'>, rebuild: (request: RebuildRequest) => Promise<void>): Record<string, BatchHandler> {
  return {
    ...handle(ghostSyncJob, async () => {
      if (!services.ghost.configured) throw new Error('A Ghost sync was queued but GHOST_URL is not set here');
      await services.ghost.sync();
    }),
    // A burst of changes becomes one rebuild.
    ...handle(blogRebuildJob, async (payloads) =>
      rebuild({ part: 'blog', slugs: [...new Set(payloads.flatMap((p) => p.slugs))].sort(), shared: payloads.some((p) => p.shared) }),
    ),
  };
}

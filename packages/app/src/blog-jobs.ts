import type { Transaction } from 'kysely';
import type { Database, Job } from '@rose/db';
import { syncFromGhost } from '@rose/ghost';
import { enqueueJob, type BatchHandler } from '@rose/jobs';
import type { Services } from './services.ts';

export interface RebuildRequest {
  /** Slugs of posts/pages that changed (added, edited, removed). */
  slugs: string[];
  /** Something every page shows changed (navigation, site settings, tags, authors). */
  shared: boolean;
}

export type BlogJob = { type: 'blog.rebuild'; slugs: string[]; shared: boolean } | { type: 'ghost.sync' };

/** Writes a blog job into the outbox, inside the caller's transaction. */
export async function enqueueBlogJob(trx: Transaction<Database>, job: BlogJob): Promise<void> {
  const { type, ...payload } = job;
  await enqueueJob(trx, { type, payload });
}

/** Merges a burst of rebuild jobs into one request. */
export function mergeRebuilds(jobs: Job[]): RebuildRequest {
  const slugs = new Set<string>();
  let shared = false;
  for (const j of jobs) {
    const p = j.payload as Partial<RebuildRequest>;
    for (const s of p.slugs ?? []) slugs.add(s);
    shared ||= Boolean(p.shared);
  }
  return { slugs: [...slugs].sort(), shared };
}

/**
 * Outbox handlers of the blog: a Ghost sync (queued by tag/site webhooks) and a rebuild
 * (queued by content changes), which `rebuild` carries out.
 */
export function createBlogJobHandlers(services: Services, rebuild: (request: RebuildRequest) => Promise<void>): Record<string, BatchHandler> {
  return {
    'ghost.sync': async () => {
      if (!services.ghost) throw new Error('A Ghost sync was queued but GHOST_URL is not set here');
      const ghost = services.ghost;
      await syncFromGhost(
        { db: services.database.db, client: ghost.content, ghostUrl: ghost.url, clock: services.clock },
        {
          inTransaction: async (trx, summary) => {
            if (summary.changedSlugs.length || summary.sharedChanged) await enqueueBlogJob(trx, { type: 'blog.rebuild', slugs: summary.changedSlugs, shared: summary.sharedChanged });
          },
        },
      );
    },
    'blog.rebuild': async (jobs) => rebuild(mergeRebuilds(jobs)),
  };
}

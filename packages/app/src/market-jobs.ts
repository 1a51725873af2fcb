import type { Kysely, Transaction } from 'kysely';
import { z } from 'zod';
import type { Database } from '@rose/db';
import { federationSyncJob } from '@rose/federation';
import { defineJob, enqueue, handle, type BatchHandler } from '@rose/jobs';
import { sql } from 'kysely';
import { nextCycleBoundary, type MarketChange } from '@rose/market';
import { afterTheRebuild, type RebuildRequest } from './blog-jobs.ts';
import type { Services } from './services.ts';

const slugs = z.array(z.string().min(1).max(200)).max(100_000);

/**
 * Market pages changed: the products (and producers) whose pages show what changed. The
 * rebuild re-reads the market snapshot (a handful of queries) and re-renders only the pages
 * whose keys changed, so the slugs are for the log and for a future partial read.
 */
export const marketRebuildJob = defineJob('market.rebuild', z.object({ products: slugs, producers: slugs }));

/** Queues the rebuild of a market change, inside the change's transaction (the outbox rule). */
export async function enqueueMarketRebuild(trx: Transaction<Database>, change: MarketChange): Promise<void> {
  await enqueue(trx, marketRebuildJob, { products: change.products, producers: change.producers });
  // The market actor's followers hear of new products and order cycles.
  await enqueue(trx, federationSyncJob, { part: 'market' }, { runAt: afterTheRebuild() });
}

/**
 * The market's rebuild: the stock island's cache is purged first — here too, because the
 * change may have been made by another process (a CLI command) whose purge reached only its
 * own in-process cache — then the pages whose keys changed are re-rendered.
 */
export function createMarketJobHandlers(purgeStock: () => Promise<unknown>, rebuild: (request: RebuildRequest) => Promise<void>, afterRebuild?: () => Promise<unknown>): Record<string, BatchHandler> {
  return handle(marketRebuildJob, async (payloads) => {
    await purgeStock();
    await rebuild({ part: 'market', slugs: [...new Set(payloads.flatMap((p) => [...p.products, ...p.producers]))].sort(), shared: false });
    await afterRebuild?.();
  });
}

/** A scheduled scrape: these suppliers (all when empty), and again every `everyHours` when given. */
export const marketScrapeJob = defineJob(
  'market.scrape',
  z.object({
    suppliers: slugs,
    everyHours: z.number().min(0.25).max(24 * 30).optional(),
    allowPrivateAddresses: z.boolean().optional(),
  }),
);

/**
 * Queues a scrape now, replacing pending scrapes of the same suppliers (one schedule per set of
 * suppliers); returns how many it replaced.
 */
export async function enqueueMarketScrape(trx: Transaction<Database>, job: { suppliers: string[]; everyHours?: number | undefined; allowPrivateAddresses?: boolean | undefined }, runAt?: Date): Promise<number> {
  const key = JSON.stringify(job.suppliers);
  const removed = await trx
    .deleteFrom('jobs')
    .where('type', '=', marketScrapeJob.type)
    .where('status', '=', 'pending')
    .where(sql<string>`payload->'suppliers'`, '=', sql<string>`${key}::jsonb`)
    .executeTakeFirst();
  await enqueue(trx, marketScrapeJob, { suppliers: job.suppliers, ...(job.everyHours ? { everyHours: job.everyHours } : {}), ...(job.allowPrivateAddresses ? { allowPrivateAddresses: true } : {}) }, runAt ? { runAt } : {});
  return Number(removed.numDeletedRows);
}

/**
 * Scheduled scrapes, in the worker: each job runs its suppliers, logs the outcome, and queues
 * the next run when it repeats. A run that fails as a whole is logged and still rescheduled
 * (the next one may succeed); the job itself succeeds so it is not retried at once.
 */
export function createMarketScrapeHandlers(db: Kysely<Database>, services: { market: Pick<Services['market'], 'scrape'> } & Pick<Services, 'logger' | 'clock'>): Record<string, BatchHandler> {
  return handle(marketScrapeJob, async (payloads) => {
    for (const job of payloads) {
      try {
        const runs = await services.market.scrape(job.suppliers, { allowPrivateAddresses: Boolean(job.allowPrivateAddresses) });
        for (const run of runs) {
          if (run.ok) services.logger.info({ supplier: run.supplier, pages: run.report.pages, new: run.report.new.length, priceChanged: run.report.priceChanged.length, gone: run.report.gone.length, problems: run.report.errors.length, seconds: Math.round(run.seconds) }, 'scrape done');
          else services.logger.warn({ supplier: run.supplier, error: run.error }, 'scrape failed');
        }
      } catch (error) {
        services.logger.error({ err: error, suppliers: job.suppliers }, 'scheduled scrape could not run');
      }
      if (job.everyHours) {
        const next = new Date(services.clock.now().getTime() + job.everyHours * 3_600_000);
        await db.transaction().execute((trx) => enqueueMarketScrape(trx, job, next));
      }
    }
  });
}

/**
 * Queues a market rebuild for the next time a cycle opens or closes (unless one is queued for
 * then already), so pages saying "opens …" or "open until …" change when the cycle does. Called
 * when a worker with a build pipeline starts and after each market rebuild, so the chain goes on.
 */
export async function scheduleCycleBoundaryRebuild(db: Kysely<Database>, now: Date): Promise<Date | undefined> {
  const at = await nextCycleBoundary(db, now);
  if (!at) return undefined;
  // A second after the boundary: the snapshot then reads the cycle as opened (or gone).
  const runAt = new Date(at.getTime() + 1000);
  await db.transaction().execute(async (trx) => {
    const queued = await trx.selectFrom('jobs').select('id').where('type', '=', marketRebuildJob.type).where('status', '=', 'pending').where('run_at', '=', runAt).executeTakeFirst();
    if (!queued) await enqueue(trx, marketRebuildJob, { products: [], producers: [] }, { runAt });
  });
  return runAt;
}

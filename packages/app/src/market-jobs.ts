import type { Transaction } from 'kysely';
import { z } from 'zod';
import type { Database } from '@rose/db';
import { defineJob, enqueue, handle, type BatchHandler } from '@rose/jobs';
import type { MarketChange } from '@rose/market';
import type { RebuildRequest } from './blog-jobs.ts';

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
}

/**
 * The market's rebuild: the stock island's cache is purged first — here too, because the
 * change may have been made by another process (a CLI command) whose purge reached only its
 * own in-process cache — then the pages whose keys changed are re-rendered.
 */
export function createMarketJobHandlers(purgeStock: () => Promise<unknown>, rebuild: (request: RebuildRequest) => Promise<void>): Record<string, BatchHandler> {
  return handle(marketRebuildJob, async (payloads) => {
    await purgeStock();
    await rebuild({ part: 'market', slugs: [...new Set(payloads.flatMap((p) => [...p.products, ...p.producers]))].sort(), shared: false });
  });
}

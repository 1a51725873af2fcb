import type { Kysely } from 'kysely';
import type { Clock } from '@rose/core';
import type { Database } from '@rose/db';
import {
  createMarketManager,
  currentCycle,
  loadMarketSnapshot,
  prepareMarketImages,
  readLiveProducts,
  seedMarket,
  type LiveProduct,
  type MarketBundle,
  type MarketManager,
  type MarketSeedSummary,
  type MarketSnapshot,
} from '@rose/market';
import type { Fragments } from './fragments.ts';
import { enqueueMarketRebuild } from './market-jobs.ts';

/** The name of the stock island's fragments: purged whenever stock, price or ordering changes. */
export const marketStockFragment = 'market-stock';

/** The market as routes, commands and jobs use it. */
export interface MarketServices {
  /** The static market's snapshot, read fresh (dev; builds read theirs through the build pipeline). */
  snapshot(): Promise<MarketSnapshot>;
  /** Stock, prices and ordering as they are now (the stock island). */
  live(slugs: readonly string[]): Promise<Map<string, LiveProduct>>;
  /** The cycle open now, else the next one to open. */
  currentCycle(): ReturnType<typeof currentCycle>;
  /** Staff verbs; each change is audited and queues a targeted rebuild in its transaction. */
  readonly manage: MarketManager;
  /** Loads a validated market bundle in one transaction (images included), as `rose db seed` does. */
  seed(bundle: MarketBundle, opts?: { prune?: boolean }): Promise<MarketSeedSummary>;
}

export function wireMarket(deps: { db: Kysely<Database>; clock: Clock; fragments: Fragments; locale: () => Promise<string>; onJobQueued: () => void }): MarketServices {
  const { db, clock } = deps;
  const manage = createMarketManager({
    db,
    clock,
    afterChange: (trx, change) => enqueueMarketRebuild(trx, change),
    afterCommit: async (change) => {
      if (change.live) await deps.fragments.purge(marketStockFragment);
      deps.onJobQueued();
    },
  });
  return {
    snapshot: () => loadMarketSnapshot(db, { now: clock.now() }),
    live: async (slugs) => readLiveProducts(db, slugs, { now: clock.now(), locale: await deps.locale() }),
    currentCycle: () => currentCycle(db, clock.now()),
    manage,
    async seed(bundle, opts = {}) {
      const summary = await seedMarket(db, bundle, { clock, prune: Boolean(opts.prune), images: await prepareMarketImages(db, bundle) });
      if (!summary.unchanged) await deps.fragments.purge(marketStockFragment);
      return summary;
    },
  };
}

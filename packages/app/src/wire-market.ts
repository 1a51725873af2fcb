import path from 'node:path';
import type { Kysely } from 'kysely';
import type { Clock } from '@rose/core';
import type { Database } from '@rose/db';
import {
  createMarketManager,
  currentCycle,
  lastScrapeRuns,
  loadSuppliers,
  runScrapes,
  selectSuppliers,
  type ScrapeRunOptions,
  type ScrapeRunRow,
  type SupplierRun,
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
import { marketStockFragment } from './fragment-names.ts';
import type { Fragments } from './fragments.ts';
import { enqueueMarketRebuild, enqueueMarketScrape } from './market-jobs.ts';

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
  /** Where suppliers are defined: `<content>/market/suppliers.json`. */
  readonly suppliersFile: string;
  /**
   * Scrapes suppliers (all when none are named) and applies what they show; each supplier's
   * changes queue a rebuild in their transaction. Unknown names and a bad suppliers file are
   * refused before anything is fetched.
   */
  scrape(suppliers: readonly string[], opts?: Omit<ScrapeRunOptions, 'afterChange' | 'now'>): Promise<SupplierRun[]>;
  /** The newest run of each supplier. */
  scrapeRuns(): Promise<ScrapeRunRow[]>;
  /** Queues a scrape for the worker, now and then every `everyHours` (replacing a schedule of the same suppliers). */
  scheduleScrape(suppliers: readonly string[], opts: { everyHours?: number; allowPrivateAddresses?: boolean }): Promise<{ replaced: number }>;
}

export function wireMarket(deps: { db: Kysely<Database>; clock: Clock; fragments: Fragments; locale: () => Promise<string>; onJobQueued: () => void; contentDir: string; imageCacheDir?: string }): MarketServices {
  const { db, clock } = deps;
  const suppliersFile = path.join(deps.contentDir, 'market', 'suppliers.json');
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
      const summary = await seedMarket(db, bundle, { clock, prune: Boolean(opts.prune), images: await prepareMarketImages(db, bundle, { cacheDir: deps.imageCacheDir }) });
      if (!summary.unchanged) await deps.fragments.purge(marketStockFragment);
      return summary;
    },
    suppliersFile,
    async scrape(names, opts = {}) {
      const suppliers = selectSuppliers(await loadSuppliers(suppliersFile), names);
      const runs = await runScrapes(db, suppliers, { ...opts, now: () => clock.now(), afterChange: (trx, products) => enqueueMarketRebuild(trx, { products, producers: [], live: true }) });
      if (!opts.dryRun && runs.some((r) => r.ok && r.report.changedProducts.length > 0)) {
        await deps.fragments.purge(marketStockFragment);
        deps.onJobQueued();
      }
      return runs;
    },
    scrapeRuns: () => lastScrapeRuns(db),
    async scheduleScrape(names, opts) {
      // Checked now, so a bad name is refused at once rather than failing in the worker later.
      selectSuppliers(await loadSuppliers(suppliersFile), names);
      const replaced = await db.transaction().execute((trx) => enqueueMarketScrape(trx, { suppliers: [...names].sort(), ...opts }));
      deps.onJobQueued();
      return { replaced };
    },
  };
}

import type { Kysely } from 'kysely';
import { loadContent, prepareContentImages, readContentImages, seedContent, type SeedSummary } from '@rose/blog';
import type { Clock } from '@rose/core';
import type { Database } from '@rose/db';
import { federationSyncJob } from '@rose/federation';
import { enqueue } from '@rose/jobs';
import { loadMarketContent, prepareMarketImages, seedMarket, type MarketSeedSummary } from '@rose/market';
import { imageCacheDir } from '@rose/media';

export interface ContentSeedSummary {
  /** Posts, pages, tags, authors, images, navigation and site settings; undefined when the blog was not asked for. */
  blog: SeedSummary | undefined;
  /** Undefined when the market was not asked for, or the folder has no market/. */
  market: MarketSeedSummary | undefined;
  /** The market was asked for but `content/market/` does not exist. */
  noMarketFolder: boolean;
}

// `@rose/app/seed`: used by `rose db seed` and deploys, kept out of the pages' bundle.

/**
 * Loads `dir` (as `rose db seed` does) into the database for the parts asked: every file of
 * those parts is validated before anything is written, then each part is seeded in one
 * transaction with its images prepared first. The database must be migrated.
 */
export async function seedContentDir(
  db: Kysely<Database>,
  opts: { dir: string; root: string; clock: Clock; prune?: boolean; parts?: readonly string[] },
): Promise<ContentSeedSummary> {
  const want = (part: string) => !opts.parts || opts.parts.includes(part);
  const bundle = want('blog') ? await loadContent(opts.dir) : undefined;
  const images = bundle ? await readContentImages(opts.dir, bundle) : undefined;
  const market = want('market') ? await loadMarketContent(opts.dir) : undefined;
  const cacheDir = imageCacheDir(opts.root);
  const prune = Boolean(opts.prune);
  const blog = bundle && images ? await seedContent(db, bundle, { clock: opts.clock, prune, images: await prepareContentImages(db, images, { cacheDir }) }) : undefined;
  // The blog actor's followers hear of posts the seed added, changed or removed.
  if (blog && !blog.unchanged) await enqueue(db, federationSyncJob, { part: 'blog' });
  const marketSummary = market ? await seedMarket(db, market, { clock: opts.clock, prune, images: await prepareMarketImages(db, market, { cacheDir }) }) : undefined;
  return { blog, market: marketSummary, noMarketFolder: want('market') && !market };
}

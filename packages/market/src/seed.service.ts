import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Kysely, Selectable, Transaction } from 'kysely';
import { ContentError, RoseError, systemClock, type Clock } from '@rose/core';
import type { Database, MarketVariantsTable } from '@rose/db';
import { imageHashes, processImageCached, replaceImages, sourceHashOf, type ImageInput } from '@rose/media';
import type { ContentCycle, ContentProduct, MarketBundle } from './content-loader.ts';

export interface MarketSeedCounts {
  added: number;
  updated: number;
  unchanged: number;
  /** Rows archived (products, variants, producers, cycles) or removed (categories, images). */
  removed: number;
}

export interface MarketSeedSummary {
  categories: MarketSeedCounts;
  producers: MarketSeedCounts;
  products: MarketSeedCounts;
  variants: MarketSeedCounts;
  cycles: MarketSeedCounts;
  images: MarketSeedCounts;
  /** Content rows staff have edited since (source 'staff'): the seed leaves them as they are. */
  keptStaffEdits: number;
  unchanged: boolean;
  /** Slugs of the products whose rows changed (for a targeted rebuild). */
  changedProducts: string[];
}

/** More archivals than this in one seed need `prune` (`rose db seed --prune`), as for the blog. */
export const marketPruneLimit = 3;

export class MarketSeedPruneNeededError extends RoseError {
  readonly removals: Record<string, string[]>;
  constructor(removals: Record<string, string[]>) {
    const lines = Object.entries(removals)
      .filter(([, list]) => list.length > 0)
      .map(([kind, list]) => `  ${kind} (${list.length}): ${list.slice(0, 10).join(', ')}${list.length > 10 ? ` and ${list.length - 10} more` : ''}`);
    const total = Object.values(removals).reduce((n, l) => n + l.length, 0);
    super({
      code: 'seed-needs-prune',
      title: 'Seeding would archive market content',
      message: `The market folder no longer has ${total} items the database has from it; seeding would archive them:\n${lines.join('\n')}`,
      hint: `Nothing was changed. Check that the folder is the right one; to archive more than ${marketPruneLimit} items, run again with --prune.`,
    });
    this.name = 'MarketSeedPruneNeededError';
    this.removals = removals;
  }
}

/** How content refers to a market image in the media tables: `market/images/<file>`. */
export const marketImageRef = (file: string) => `market/${file}`;

/**
 * Reads the market's images (`images/…` of producers and products) and makes the variants of
 * new or changed ones. A missing file is a ContentError naming who refers to it; nothing is
 * changed.
 */
export async function prepareMarketImages(db: Kysely<Database>, bundle: MarketBundle, opts: { cacheDir?: string | undefined } = {}): Promise<ImageInput[]> {
  const wanted = new Map<string, string>();
  for (const p of bundle.producers) if (p.image) wanted.set(p.image, p.file);
  for (const p of bundle.products) if (p.image && !wanted.has(p.image)) wanted.set(p.image, `${p.file} (${p.slug})`);
  const problems: string[] = [];
  const read: { file: string; bytes: Buffer }[] = [];
  for (const [file, usedBy] of wanted) {
    try {
      read.push({ file, bytes: await fs.readFile(path.join(bundle.dir, file)) });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      problems.push(`${usedBy}: image: ${code === 'ENOENT' ? `no file market/${file}` : `market/${file} cannot be read (${code ?? String(error)})`}`);
    }
  }
  if (problems.length > 0) {
    const message = `${problems.length} problem(s) in ${bundle.dir}:\n${problems.map((p) => `  ${p}`).join('\n')}`;
    const error = new ContentError(problems[0]!.split(':')[0]!, message, `Put the images in ${path.join(bundle.dir, 'images')}/ (or fix the references) and run \`rose db seed\` again; nothing was changed.`);
    Object.defineProperty(error, 'message', { value: message });
    throw error;
  }
  const known = await imageHashes(db, 'market');
  return Promise.all(
    read.map(async ({ file, bytes }): Promise<ImageInput> => {
      const ref = marketImageRef(file);
      const sourceHash = sourceHashOf(bytes);
      if (known.get(ref) === sourceHash) return { ref, sourceHash };
      return { ref, sourceHash, processed: await processImageCached(bytes, { stem: path.basename(file, path.extname(file)), label: `market/${file}`, cacheDir: opts.cacheDir }) };
    }),
  );
}

const counts = (): MarketSeedCounts => ({ added: 0, updated: 0, unchanged: 0, removed: 0 });

function same(current: Record<string, unknown>, wanted: Record<string, unknown>): boolean {
  return Object.entries(wanted).every(([k, v]) => {
    const have = current[k];
    if (v instanceof Date || have instanceof Date) return (have as Date | null)?.getTime?.() === (v as Date | null)?.getTime?.();
    return (have ?? null) === (v ?? null);
  });
}

/**
 * Makes the market's content rows match a bundle, in one transaction: new rows inserted,
 * changed ones updated, rows no longer in the folder archived (products, variants, producers,
 * cycles — orders will refer to them) or removed (categories nothing uses). Rows staff added
 * or edited (source 'staff') and scraped products are never touched. Stock is taken from the
 * folder only when a variant is new: after that it belongs to staff and orders.
 * Idempotent; archiving more than `marketPruneLimit` rows needs `prune`.
 *
 * @example
 * const bundle = await loadMarketContent('content');
 * if (bundle) await seedMarket(db, bundle, { images: await prepareMarketImages(db, bundle) });
 */
export async function seedMarket(db: Kysely<Database>, bundle: MarketBundle, deps: { clock?: Clock; prune?: boolean; images?: readonly ImageInput[] } = {}): Promise<MarketSeedSummary> {
  const now = (deps.clock ?? systemClock).now();
  return db.transaction().execute(async (trx) => {
    const summary: MarketSeedSummary = {
      categories: counts(),
      producers: counts(),
      products: counts(),
      variants: counts(),
      cycles: counts(),
      images: counts(),
      keptStaffEdits: 0,
      unchanged: true,
      changedProducts: [],
    };
    await refuseLargeArchival(trx, bundle, Boolean(deps.prune));
    if (deps.images) summary.images = await replaceImages(trx, 'market', deps.images, now);
    const categoryIds = await seedCategories(trx, bundle, summary, now);
    const producerIds = await seedProducers(trx, bundle, summary, now);
    const productIds = await seedProducts(trx, bundle, summary, producerIds, categoryIds, now);
    await seedCycles(trx, bundle.cycles, summary, producerIds, productIds, now);
    const all = [summary.categories, summary.producers, summary.products, summary.variants, summary.cycles, summary.images];
    summary.unchanged = all.every((c) => c.added + c.updated + c.removed === 0);
    return summary;
  });
}

async function refuseLargeArchival(trx: Transaction<Database>, bundle: MarketBundle, prune: boolean): Promise<void> {
  const live = async (table: 'market_producers' | 'market_products' | 'market_cycles') =>
    (await trx.selectFrom(table).select('slug').where('source', '=', 'content').where('archived_at', 'is', null).execute()).map((r) => r.slug);
  const keepProducers = new Set(bundle.producers.map((p) => p.slug));
  const keepProducts = new Set(bundle.products.map((p) => p.slug));
  const keepCycles = new Set(bundle.cycles.map((c) => c.slug));
  const removals = {
    producers: (await live('market_producers')).filter((s) => !keepProducers.has(s)),
    products: (await live('market_products')).filter((s) => !keepProducts.has(s)),
    cycles: (await live('market_cycles')).filter((s) => !keepCycles.has(s)),
  };
  const total = removals.producers.length + removals.products.length + removals.cycles.length;
  if (total > marketPruneLimit && !prune) throw new MarketSeedPruneNeededError(removals);
}

async function seedCategories(trx: Transaction<Database>, bundle: MarketBundle, summary: MarketSeedSummary, now: Date): Promise<Map<string, string>> {
  const existing = await trx.selectFrom('market_categories').selectAll().execute();
  const bySlug = new Map(existing.map((r) => [r.slug, r]));
  const ids = new Map(existing.map((r) => [r.slug, r.id]));
  for (const c of bundle.categories) {
    const fields = { name: c.name, description: c.description, position: c.position };
    const row = bySlug.get(c.slug);
    if (!row) {
      const { id } = await trx.insertInto('market_categories').values({ slug: c.slug, ...fields, source: 'content', created_at: now, updated_at: now }).returning('id').executeTakeFirstOrThrow();
      ids.set(c.slug, id);
      summary.categories.added++;
    } else if (row.source !== 'content') summary.keptStaffEdits++;
    else if (same(row, fields)) summary.categories.unchanged++;
    else {
      await trx.updateTable('market_categories').set({ ...fields, updated_at: now }).where('id', '=', row.id).execute();
      summary.categories.updated++;
    }
  }
  // A category the folder dropped goes when no product uses it any more; else it stays.
  const wanted = new Set(bundle.categories.map((c) => c.slug));
  const usedBy = new Set(bundle.products.map((p) => p.category));
  for (const row of existing) {
    if (row.source !== 'content' || wanted.has(row.slug) || usedBy.has(row.slug)) continue;
    const inUse = await trx.selectFrom('market_products').select('id').where('category_id', '=', row.id).where('source', '!=', 'content').limit(1).executeTakeFirst();
    if (inUse) continue;
    await trx.updateTable('market_products').set({ category_id: null, updated_at: now }).where('category_id', '=', row.id).execute();
    await trx.deleteFrom('market_categories').where('id', '=', row.id).execute();
    ids.delete(row.slug);
    summary.categories.removed++;
  }
  return ids;
}

async function seedProducers(trx: Transaction<Database>, bundle: MarketBundle, summary: MarketSeedSummary, now: Date): Promise<Map<string, string>> {
  const existing = await trx.selectFrom('market_producers').selectAll().execute();
  const bySlug = new Map(existing.map((r) => [r.slug, r]));
  const ids = new Map(existing.map((r) => [r.slug, r.id]));
  for (const p of bundle.producers) {
    const fields = {
      name: p.name,
      story_html: p.storyHtml,
      location: p.location,
      website: p.website,
      image: p.image ? marketImageRef(p.image) : null,
      contact_email: p.contactEmail,
      contact_phone: p.contactPhone,
      featured: p.featured,
      archived_at: null,
    };
    const row = bySlug.get(p.slug);
    if (!row) {
      const { id } = await trx.insertInto('market_producers').values({ slug: p.slug, ...fields, source: 'content', created_at: now, updated_at: now }).returning('id').executeTakeFirstOrThrow();
      ids.set(p.slug, id);
      summary.producers.added++;
    } else if (row.source !== 'content') summary.keptStaffEdits++;
    else if (same(row, fields)) summary.producers.unchanged++;
    else {
      await trx.updateTable('market_producers').set({ ...fields, updated_at: now }).where('id', '=', row.id).execute();
      summary.producers.updated++;
    }
  }
  const wanted = new Set(bundle.producers.map((p) => p.slug));
  const gone = existing.filter((r) => r.source === 'content' && r.archived_at === null && !wanted.has(r.slug));
  for (const r of gone) await trx.updateTable('market_producers').set({ archived_at: now, updated_at: now }).where('id', '=', r.id).execute();
  summary.producers.removed += gone.length;
  return ids;
}

async function seedProducts(
  trx: Transaction<Database>,
  bundle: MarketBundle,
  summary: MarketSeedSummary,
  producerIds: Map<string, string>,
  categoryIds: Map<string, string>,
  now: Date,
): Promise<Map<string, string>> {
  const existing = await trx.selectFrom('market_products').selectAll().execute();
  const bySlug = new Map(existing.map((r) => [r.slug, r]));
  const ids = new Map(existing.map((r) => [r.slug, r.id]));
  const variants = await trx.selectFrom('market_variants').selectAll().execute();
  const variantsBySku = new Map(variants.map((v) => [v.sku, v]));
  const changed = new Set<string>();

  for (const p of bundle.products) {
    const fields = {
      producer_id: producerIds.get(p.producer)!,
      category_id: p.category ? (categoryIds.get(p.category) ?? null) : null,
      name: p.name,
      description: p.description,
      image: p.image ? marketImageRef(p.image) : null,
      available: p.available,
      archived_at: null,
    };
    const row = bySlug.get(p.slug);
    let id: string;
    if (!row) {
      ({ id } = await trx.insertInto('market_products').values({ slug: p.slug, ...fields, source: 'content', created_at: now, updated_at: now }).returning('id').executeTakeFirstOrThrow());
      ids.set(p.slug, id);
      summary.products.added++;
      changed.add(p.slug);
    } else if (row.source !== 'content') {
      summary.keptStaffEdits++;
      continue;
    } else {
      id = row.id;
      if (same(row, fields)) summary.products.unchanged++;
      else {
        await trx.updateTable('market_products').set({ ...fields, updated_at: now }).where('id', '=', id).execute();
        summary.products.updated++;
        changed.add(p.slug);
      }
    }
    if (await seedVariants(trx, p, id, variantsBySku, summary, now)) changed.add(p.slug);
  }
  const wanted = new Set(bundle.products.map((p) => p.slug));
  const gone = existing.filter((r) => r.source === 'content' && r.archived_at === null && !wanted.has(r.slug));
  for (const r of gone) {
    await trx.updateTable('market_products').set({ archived_at: now, updated_at: now }).where('id', '=', r.id).execute();
    changed.add(r.slug);
  }
  summary.products.removed += gone.length;
  summary.changedProducts = [...changed].sort();
  return ids;
}

/** Returns whether any variant of the product changed. */
async function seedVariants(
  trx: Transaction<Database>,
  product: ContentProduct,
  productId: string,
  bySku: Map<string, Selectable<MarketVariantsTable>>,
  summary: MarketSeedSummary,
  now: Date,
): Promise<boolean> {
  let changed = false;
  for (const [position, v] of product.variants.entries()) {
    const fields = { product_id: productId, unit: v.unit, size: v.size, price_minor: v.priceMinor, currency: v.currency, position, archived_at: null };
    const row = bySku.get(v.sku);
    if (!row) {
      const stock = v.stock === 'on-demand' ? { stock_mode: 'on-demand' as const, stock_count: null } : { stock_mode: 'tracked' as const, stock_count: v.stock };
      await trx.insertInto('market_variants').values({ sku: v.sku, ...fields, ...stock, created_at: now, updated_at: now }).execute();
      summary.variants.added++;
      changed = true;
    } else if (row.product_id !== productId && row.archived_at === null) {
      throw new ContentError(product.file, `variants: SKU "${v.sku}" belongs to another product in the database; SKUs never move between products`, 'Give the variant a new SKU.');
    } else if (same(row, fields)) summary.variants.unchanged++;
    else {
      await trx.updateTable('market_variants').set({ ...fields, updated_at: now }).where('id', '=', row.id).execute();
      summary.variants.updated++;
      changed = true;
    }
  }
  const wanted = new Set(product.variants.map((v) => v.sku));
  for (const row of bySku.values()) {
    if (row.product_id !== productId || row.archived_at !== null || wanted.has(row.sku)) continue;
    await trx.updateTable('market_variants').set({ archived_at: now, updated_at: now }).where('id', '=', row.id).execute();
    summary.variants.removed++;
    changed = true;
  }
  return changed;
}

async function seedCycles(
  trx: Transaction<Database>,
  cycles: readonly ContentCycle[],
  summary: MarketSeedSummary,
  producerIds: Map<string, string>,
  productIds: Map<string, string>,
  now: Date,
): Promise<void> {
  const existing = await trx.selectFrom('market_cycles').selectAll().execute();
  const bySlug = new Map(existing.map((r) => [r.slug, r]));
  for (const c of cycles) {
    const fields = { name: c.name, opens_at: c.opensAt, closes_at: c.closesAt, time_zone: c.timeZone, note: c.note, archived_at: null };
    const row = bySlug.get(c.slug);
    let id: string;
    let changed = false;
    if (!row) {
      ({ id } = await trx.insertInto('market_cycles').values({ slug: c.slug, ...fields, source: 'content', created_at: now, updated_at: now }).returning('id').executeTakeFirstOrThrow());
      summary.cycles.added++;
      changed = true;
    } else if (row.source !== 'content') {
      summary.keptStaffEdits++;
      continue;
    } else {
      id = row.id;
      if (!same(row, fields)) {
        await trx.updateTable('market_cycles').set({ ...fields, updated_at: now }).where('id', '=', id).execute();
        changed = true;
      }
    }
    const wantProducts = c.products.map((s) => productIds.get(s)).filter((x): x is string => x !== undefined).sort();
    const wantProducers = c.producers.map((s) => producerIds.get(s)!).sort();
    const haveProducts = (await trx.selectFrom('market_cycle_products').select('product_id').where('cycle_id', '=', id).orderBy('product_id').execute()).map((r) => r.product_id);
    const haveProducers = (await trx.selectFrom('market_cycle_producers').select('producer_id').where('cycle_id', '=', id).orderBy('producer_id').execute()).map((r) => r.producer_id);
    if (haveProducts.join() !== wantProducts.join()) {
      await trx.deleteFrom('market_cycle_products').where('cycle_id', '=', id).execute();
      if (wantProducts.length) await trx.insertInto('market_cycle_products').values(wantProducts.map((product_id) => ({ cycle_id: id, product_id }))).execute();
      changed = true;
    }
    if (haveProducers.join() !== wantProducers.join()) {
      await trx.deleteFrom('market_cycle_producers').where('cycle_id', '=', id).execute();
      await trx.insertInto('market_cycle_producers').values(wantProducers.map((producer_id) => ({ cycle_id: id, producer_id }))).execute();
      changed = true;
    }
    if (row && changed) summary.cycles.updated++;
    else if (row) summary.cycles.unchanged++;
  }
  const wanted = new Set(cycles.map((c) => c.slug));
  const gone = existing.filter((r) => r.source === 'content' && r.archived_at === null && !wanted.has(r.slug));
  for (const r of gone) await trx.updateTable('market_cycles').set({ archived_at: now, updated_at: now }).where('id', '=', r.id).execute();
  summary.cycles.removed += gone.length;
}

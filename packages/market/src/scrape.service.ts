import { createHash } from 'node:crypto';
import type { Kysely, Transaction } from 'kysely';
import type { Money } from '@rose/core';
import type { Database } from '@rose/db';
import { imageHashes, processImage, sourceHashOf, upsertImages, type ImageInput } from '@rose/media';
import { changeReport, type KnownProduct } from './scrape/change-report.ts';
import type { ScrapedProduct } from './scrape/extract.ts';
import { productKey } from './scrape/extract.ts';

/** What a crawl of one supplier found (the engine's result, `scrapeSupplier`). */
export interface CrawlOutcome {
  products: readonly ScrapedProduct[];
  /** Pages that answered 304: their products are as they were. */
  notModified: readonly string[];
  errors: readonly { url: string; reason: string }[];
  pagesFetched: number;
  validators: ReadonlyMap<string, { etag?: string | undefined; lastModified?: string | undefined }>;
  /** The crawl stopped at the supplier's page limit: products it did not reach are not gone. */
  maxPagesReached?: boolean;
  /** Pages that failed or robots.txt kept us from: their products were not checked, so they are not gone. */
  failedPages?: readonly string[];
}

export interface ScrapeChange {
  url: string;
  name: string;
  /** The supplier's SKU, when it gives one. */
  sku?: string | undefined;
}

/** What a run changed, product by product; `errors` are pages or products it had to skip. */
export interface ScrapeReport {
  supplier: string;
  pages: number;
  notModified: number;
  new: ScrapeChange[];
  priceChanged: (ScrapeChange & { from: Money; to: Money })[];
  backInStock: ScrapeChange[];
  outOfStock: ScrapeChange[];
  /** In the database from this supplier, not seen on a page that was read (not a 304, not a failed page): now unavailable. */
  gone: ScrapeChange[];
  /** Known, but their pages failed or were not reached this run: left as they were. */
  unchecked: ScrapeChange[];
  unchanged: number;
  errors: { url: string; reason: string }[];
  /** Products whose pages must be rebuilt (their slugs). */
  changedProducts: string[];
}

/** Fetches an image for a product (the engine's page fetcher, image content types only). */
export type ImageFetch = (url: string) => Promise<{ ok: true; bytes: Uint8Array } | { ok: false; reason: string }>;

const variantSku = (supplier: string, p: ScrapedProduct) => {
  const base = supplier.toUpperCase().replace(/[^A-Z0-9]+/g, '-');
  const own = (p.sku ?? '').toUpperCase().replace(/[^A-Z0-9]+/g, '-').replace(/^-+|-+$/g, '');
  const id = own && own.length <= 40 ? own : createHash('sha256').update(productKey(p)).digest('hex').slice(0, 10).toUpperCase();
  return `${base}-${id}`.replace(/-+/g, '-');
};

const slugify = (text: string) =>
  text
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 60)
    .replace(/-+$/g, '') || 'product';

const imageRef = (url: string) => `scrape/${createHash('sha256').update(url).digest('hex').slice(0, 24)}`;

/**
 * Applies one supplier's crawl to the market in one transaction: products upserted by supplier
 * URL, variants by the supplier's SKU; prices only from prices that were read (never guessed);
 * products neither seen nor on an unchanged page become unavailable, never deleted; images
 * fetched under the crawl's rules and stored like content images. `dryRun` computes the report
 * and writes nothing. `afterChange` runs inside the transaction (the app queues the rebuild).
 *
 * @example
 * const report = await applyScrape(db, supplier, await scrapeSupplier(supplier, opts), { now: new Date(), fetchImage });
 */
export async function applyScrape(
  db: Kysely<Database>,
  supplier: { slug: string; producer: string },
  crawl: CrawlOutcome,
  deps: { now: Date; dryRun?: boolean; fetchImage?: ImageFetch; afterChange?: (trx: Transaction<Database>, products: string[]) => Promise<void> },
): Promise<ScrapeReport> {
  const producer = await db.selectFrom('market_producers').select(['id', 'archived_at']).where('slug', '=', supplier.producer).executeTakeFirst();
  if (!producer || producer.archived_at) {
    throw new ScrapeSetupError(`Supplier "${supplier.slug}" belongs to producer "${supplier.producer}", which ${producer ? 'is archived' : 'does not exist'}.`, `Add the producer (rose market producers add --slug ${supplier.producer} …) or fix "producer" in content/market/suppliers.json.`);
  }
  const report: ScrapeReport = { supplier: supplier.slug, pages: crawl.pagesFetched, notModified: crawl.notModified.length, new: [], priceChanged: [], backInStock: [], outOfStock: [], gone: [], unchecked: [], unchanged: 0, errors: [...crawl.errors], changedProducts: [] };
  // A product whose price could not be read is not applied, and not gone either: unchecked.
  const unpriced = new Set<string>();

  // One product per supplier URL; its variants are the SKUs found at that URL.
  const byUrl = new Map<string, ScrapedProduct[]>();
  for (const p of crawl.products) {
    if (!p.price) {
      report.errors.push({ url: p.url, reason: p.priceProblem ? `price "${p.priceProblem.text}" not read: ${p.priceProblem.message}` : 'no price on the page' });
      unpriced.add(p.pageUrl);
      continue;
    }
    byUrl.set(p.url, [...(byUrl.get(p.url) ?? []).filter((q) => productKey(q) !== productKey(p)), p]);
  }

  // Images before the transaction: each image URL fetched and encoded once (many products of
  // a shop share a picture), and only when the database does not have it yet.
  const images = new Map<string, string>();
  const toStore: ImageInput[] = [];
  if (deps.fetchImage && !deps.dryRun) {
    const known = await imageHashes(db, 'scrape');
    const outcome = new Map<string, string | undefined>();
    for (const [url, variants] of byUrl) {
      const imageUrl = variants.find((v) => v.imageUrl)?.imageUrl;
      if (!imageUrl) continue;
      const ref = imageRef(imageUrl);
      if (!outcome.has(imageUrl)) outcome.set(imageUrl, known.has(ref) ? ref : await fetchAndProcess(imageUrl, ref));
      const stored = outcome.get(imageUrl);
      if (stored) images.set(url, stored);
    }
  }
  async function fetchAndProcess(imageUrl: string, ref: string): Promise<string | undefined> {
    const fetched = await deps.fetchImage!(imageUrl);
    if (!fetched.ok) {
      report.errors.push({ url: imageUrl, reason: `image not stored: ${fetched.reason}` });
      return undefined;
    }
    try {
      // Named after the file, not a product: one picture, one set of files.
      const stem = slugify(decodeURIComponent(new URL(imageUrl).pathname.split('/').pop() ?? '').replace(/\.[a-z0-9]+$/i, '')).slice(0, 40);
      const processed = await processImage(Buffer.from(fetched.bytes), { stem: `${supplier.slug}-${stem}`, label: imageUrl });
      toStore.push({ ref, sourceHash: sourceHashOf(Buffer.from(fetched.bytes)), processed });
      return ref;
    } catch (error) {
      report.errors.push({ url: imageUrl, reason: `image not stored: ${(error as Error).message}` });
      return undefined;
    }
  }

  const run = async (trx: Transaction<Database>) => {
    const existing = await trx.selectFrom('market_products').selectAll().where('supplier', '=', supplier.slug).execute();
    const existingByUrl = new Map(existing.map((r) => [r.supplier_url!, r]));
    const ids = existing.map((r) => r.id);
    const variants = ids.length ? await trx.selectFrom('market_variants').selectAll().where('product_id', 'in', ids).execute() : [];
    const taken = new Set((await trx.selectFrom('market_products').select('slug').execute()).map((r) => r.slug));
    const skus = new Set((await trx.selectFrom('market_variants').select('sku').execute()).map((r) => r.sku));
    const changed = new Set<string>();
    // What the last runs left, as the engine's change report compares it.
    const pageOf = new Map((await trx.selectFrom('market_scrape_pages').select(['url', 'product_url']).where('supplier', '=', supplier.slug).execute()).filter((r) => r.product_url).map((r) => [r.product_url!, r.url]));
    const known: KnownProduct[] = existing
      .filter((r) => r.available && r.archived_at === null)
      .flatMap((r) =>
        variants
          .filter((v) => v.product_id === r.id && v.archived_at === null)
          .map((v) => ({ url: r.supplier_url!, ...(v.supplier_sku ? { sku: v.supplier_sku } : {}), name: r.name, price: { minor: v.price_minor, currency: v.currency }, availability: v.stock_mode === 'tracked' && v.stock_count === 0 ? ('out-of-stock' as const) : ('in-stock' as const), pageUrl: pageOf.get(r.supplier_url!) })),
      );
    const priced = [...byUrl.values()].flat();
    const diff = changeReport(known, priced, crawl.notModified, { failedPages: [...(crawl.failedPages ?? []), ...unpriced], incomplete: Boolean(crawl.maxPagesReached) });
    const ref = (p: { url: string; name: string; sku?: string | undefined }): ScrapeChange => ({ url: p.url, name: p.name, ...(p.sku ? { sku: p.sku } : {}) });
    report.new = diff.new.map(ref);
    report.priceChanged = diff.priceChanged.filter((c) => c.from && c.to).map((c) => ({ ...ref(c), from: c.from!, to: c.to! }));
    report.backInStock = diff.backInStock.map(ref);
    report.outOfStock = diff.outOfStock.map(ref);
    report.gone = diff.gone.map(ref);
    report.unchecked = diff.unchecked.map(ref);
    report.unchanged = diff.unchanged;
    if (toStore.length) await upsertImages(trx, 'scrape', toStore, deps.now);

    for (const [url, found] of byUrl) {
      const first = found[0]!;
      const row = existingByUrl.get(url);
      let productId: string;
      let slug: string;
      const fields = { name: first.name.slice(0, 200), description: (first.description ?? '').slice(0, 5000), image: images.get(url) ?? row?.image ?? null, available: true, archived_at: null };
      if (!row) {
        slug = `${supplier.slug}-${slugify(first.name)}`.slice(0, 110).replace(/-+$/, '');
        for (let n = 2; taken.has(slug); n++) slug = `${slug.replace(/-\d+$/, '')}-${n}`;
        taken.add(slug);
        const inserted = await trx
          .insertInto('market_products')
          .values({ slug, producer_id: producer.id, ...fields, source: 'scrape', supplier: supplier.slug, supplier_url: url, created_at: deps.now, updated_at: deps.now })
          .returning('id')
          .executeTakeFirstOrThrow();
        productId = inserted.id;
        changed.add(slug);
      } else {
        productId = row.id;
        slug = row.slug;
        const same = row.name === fields.name && row.description === fields.description && row.image === fields.image && row.available && row.archived_at === null;
        if (!same) {
          await trx.updateTable('market_products').set({ ...fields, updated_at: deps.now }).where('id', '=', row.id).execute();
          changed.add(slug);
        }
      }
      for (const [position, p] of found.entries()) {
        const current = variants.find((v) => v.product_id === productId && v.supplier_sku === (p.sku ?? ''));
        let sku = current?.sku ?? variantSku(supplier.slug, p);
        // A SKU the supplier reused on another page (or one of ours): made unique, never moved.
        if (!current && skus.has(sku)) sku = `${sku}-${createHash('sha256').update(productKey(p)).digest('hex').slice(0, 6).toUpperCase()}`;
        skus.add(sku);
        const stock = p.availability === 'out-of-stock' ? { stock_mode: 'tracked' as const, stock_count: 0 } : { stock_mode: 'on-demand' as const, stock_count: null };
        const price = p.price!;
        if (!current) {
          await trx
            .insertInto('market_variants')
            .values({ product_id: productId, sku, supplier_sku: p.sku ?? '', unit: (p.unit ?? 'each').slice(0, 40), size: null, price_minor: price.minor, currency: price.currency, ...stock, position, created_at: deps.now, updated_at: deps.now })
            .execute();
          changed.add(slug);
          continue;
        }
        const same = current.price_minor === price.minor && current.currency === price.currency && current.stock_mode === stock.stock_mode && current.stock_count === stock.stock_count && current.archived_at === null;
        if (same) continue;
        await trx.updateTable('market_variants').set({ price_minor: price.minor, currency: price.currency, ...stock, archived_at: null, updated_at: deps.now }).where('id', '=', current.id).execute();
        changed.add(slug);
      }
    }
    // Not seen on a page that was read this run (not a 304, not a failed page): no longer offered.
    for (const gone of diff.gone) {
      const row = existingByUrl.get(gone.url);
      if (!row || !row.available) continue;
      await trx.updateTable('market_products').set({ available: false, updated_at: deps.now }).where('id', '=', row.id).execute();
      changed.add(row.slug);
    }
    const productOfPage = new Map(crawl.products.map((p) => [p.pageUrl, p.url]));
    for (const [url, v] of crawl.validators) {
      const product_url = productOfPage.get(url);
      await trx
        .insertInto('market_scrape_pages')
        .values({ url, supplier: supplier.slug, etag: v.etag ?? null, last_modified: v.lastModified ?? null, product_url: product_url ?? null, fetched_at: deps.now })
        .onConflict((oc) => oc.column('url').doUpdateSet({ supplier: supplier.slug, etag: v.etag ?? null, last_modified: v.lastModified ?? null, ...(product_url ? { product_url } : {}), fetched_at: deps.now }))
        .execute();
    }
    report.changedProducts = [...changed].sort();
    if (changed.size > 0) {
      await trx.insertInto('market_audit').values({ actor: `scrape:${supplier.slug}`, action: 'scrape', entity: 'product', entity_slug: supplier.slug, details: JSON.stringify({ new: report.new.length, priceChanged: report.priceChanged.length, gone: report.gone.length }), at: deps.now }).execute();
      await deps.afterChange?.(trx, report.changedProducts);
    }
  };
  if (deps.dryRun) {
    // The same statements, rolled back: the report is exactly what a real run would do.
    await db
      .transaction()
      .execute(async (trx) => {
        await run(trx);
        throw new DryRunRollback();
      })
      .catch((error: unknown) => {
        if (!(error instanceof DryRunRollback)) throw error;
      });
  } else {
    await db.transaction().execute(run);
  }
  return report;
}

class DryRunRollback extends Error {}

/** The run cannot start (its producer is missing): the command fails, nothing changes. */
export class ScrapeSetupError extends Error {
  readonly hint: string;
  constructor(message: string, hint: string) {
    super(message);
    this.name = 'ScrapeSetupError';
    this.hint = hint;
  }
}

/** The validators kept from earlier runs, for conditional requests. */
export async function previousValidators(db: Kysely<Database>, supplier: string): Promise<Map<string, { etag?: string; lastModified?: string }>> {
  const rows = await db.selectFrom('market_scrape_pages').select(['url', 'etag', 'last_modified']).where('supplier', '=', supplier).execute();
  return new Map(rows.map((r) => [r.url, { ...(r.etag ? { etag: r.etag } : {}), ...(r.last_modified ? { lastModified: r.last_modified } : {}) }]));
}

/** Records a run (and its outcome) so staff can see the last run per supplier. */
export async function recordScrapeRun(db: Kysely<Database>, run: { supplier: string; startedAt: Date; finishedAt: Date; status: 'ok' | 'failed' | 'dry-run'; pages: number; report?: ScrapeReport; error?: string }): Promise<void> {
  await db
    .insertInto('market_scrape_runs')
    .values({ supplier: run.supplier, started_at: run.startedAt, finished_at: run.finishedAt, status: run.status, pages: run.pages, report: JSON.stringify(run.report ?? {}), error: run.error ?? null })
    .execute();
}

export interface ScrapeRunRow {
  supplier: string;
  startedAt: Date;
  finishedAt: Date | null;
  status: string;
  pages: number;
  report: ScrapeReport | Record<string, never>;
  error: string | null;
}

/** The newest run of each supplier. */
export async function lastScrapeRuns(db: Kysely<Database>): Promise<ScrapeRunRow[]> {
  const rows = await db.selectFrom('market_scrape_runs').selectAll().orderBy('supplier').orderBy('started_at', 'desc').execute();
  const seen = new Set<string>();
  const out: ScrapeRunRow[] = [];
  for (const r of rows) {
    if (seen.has(r.supplier)) continue;
    seen.add(r.supplier);
    out.push({ supplier: r.supplier, startedAt: r.started_at, finishedAt: r.finished_at, status: r.status, pages: r.pages, report: r.report as ScrapeReport, error: r.error });
  }
  return out;
}

import type { Kysely, Transaction } from 'kysely';
import { z } from 'zod';
import { err, isCurrency, isTimeZone, localTimeToInstant, ok, parseAmount, parseWithFriendlyErrors, systemClock, type Clock, type Result } from '@rose/core';
import type { Database, StockMode } from '@rose/db';
import { renderMarkdown } from '@rose/rich-text';
import { marketSlugPattern, skuPattern } from './content-loader.ts';

/** What went wrong with a staff change: nothing was changed. */
export type ManageError =
  | { type: 'not-found'; entity: 'producer' | 'product' | 'variant' | 'cycle' | 'category'; slug: string }
  | { type: 'conflict'; message: string }
  | { type: 'invalid'; problems: string[] };

/** What a change touched: the app queues a targeted rebuild and purges the stock island for it. */
export interface MarketChange {
  /** Products whose pages (and listings, producer page) show something that changed. */
  products: string[];
  /** Producers whose pages changed (name, story, …). */
  producers: string[];
  /** Live stock or price changed: the cached stock island is stale. */
  live: boolean;
}

export interface ManageDeps {
  db: Kysely<Database>;
  clock?: Clock;
  /** Runs in the change's transaction (queue the rebuild in the same commit: the outbox rule). */
  afterChange?: (trx: Transaction<Database>, change: MarketChange) => Promise<void>;
  /** Runs once the change is committed (purge caches: a purge before the commit could be refilled with old data). */
  afterCommit?: (change: MarketChange) => Promise<void>;
}

const slug = z.string().trim().regex(marketSlugPattern, 'expected a slug: lowercase letters, digits and single hyphens (e.g. "higher-farm")').max(120);
const sku = z.string().trim().regex(skuPattern, 'expected a SKU: uppercase letters, digits and single hyphens (e.g. "HF-POT-2K")').max(64);
const text = (max: number) => z.string().trim().min(1, 'must not be empty').max(max, `expected at most ${max} characters`);
const optionalText = (max: number) => z.string().trim().max(max, `expected at most ${max} characters`).nullable().optional();
const httpUrl = z.url({ protocol: /^https?$/, error: 'expected an http(s) URL' });

export const producerInput = z.strictObject({
  slug,
  name: text(200),
  story: z.string().max(20000).optional(),
  location: optionalText(200),
  website: httpUrl.nullable().optional(),
  contactEmail: z.email('expected an email address').nullable().optional(),
  contactPhone: optionalText(40),
  featured: z.boolean().optional(),
});
export const producerPatch = producerInput.omit({ slug: true }).partial();

const stockValue = z.union([z.number().int('expected a whole number').min(0, 'must not be negative').max(1_000_000, 'expected at most 1000000'), z.literal('on-demand')], {
  error: 'expected a count (0 or more) or "on-demand"',
});
export const productInput = z.strictObject({
  slug,
  name: text(200),
  producer: slug,
  category: slug.nullable().optional(),
  description: z.string().trim().max(5000, 'expected at most 5000 characters').optional(),
  available: z.boolean().optional(),
  variant: z.strictObject({ sku, unit: text(40), size: optionalText(60), price: z.string().trim(), currency: z.string().refine(isCurrency, 'expected an ISO 4217 currency code like "GBP"'), stock: stockValue }),
});
export const productPatch = z
  .strictObject({ name: text(200), category: slug.nullable(), description: z.string().trim().max(5000, 'expected at most 5000 characters'), available: z.boolean() })
  .partial();
export const cycleInput = z.strictObject({
  slug,
  name: text(200),
  opensAt: z.string().trim(),
  closesAt: z.string().trim(),
  timeZone: z.string().trim().refine(isTimeZone, 'expected an IANA time zone like "Europe/London"'),
  note: z.string().trim().max(2000).optional(),
});
export const cyclePatch = cycleInput.omit({ slug: true }).partial();

export interface ProducerRow {
  slug: string;
  name: string;
  location: string | null;
  website: string | null;
  featured: boolean;
  products: number;
  archived: boolean;
  source: string;
}
export interface ProductRow {
  slug: string;
  name: string;
  producer: string;
  category: string | null;
  available: boolean;
  archived: boolean;
  source: string;
  supplier: string | null;
  variants: { sku: string; unit: string; size: string | null; priceMinor: number; currency: string; stockMode: StockMode; stockCount: number | null }[];
}
export interface CycleRow {
  slug: string;
  name: string;
  opensAt: Date;
  closesAt: Date;
  timeZone: string;
  note: string;
  products: number;
  archived: boolean;
}

export interface AuditEntry {
  at: Date;
  actor: string;
  action: string;
  entity: string;
  slug: string;
  details: unknown;
}

function parse<S extends z.ZodType>(schema: S, input: unknown): Result<z.output<S>, ManageError> {
  const parsed = parseWithFriendlyErrors(schema, input);
  return parsed.ok ? ok(parsed.value) : err({ type: 'invalid', problems: parsed.problems });
}

/** One sentence for a ManageError, for the CLI and staff pages. */
export function describeManageError(e: ManageError): string {
  switch (e.type) {
    case 'not-found':
      return `No ${e.entity} "${e.slug}".`;
    case 'conflict':
      return e.message;
    case 'invalid':
      return e.problems.join('; ');
  }
}

/**
 * The staff side of the market: list, add, update and archive producers, products, stock,
 * prices and cycles. Every input is validated here (the CLI and staff pages share it), every
 * change is one transaction with an audit row naming `actor`, and `afterChange` runs inside it.
 *
 * @example
 * const market = createMarketManager({ db, afterChange: queueRebuild });
 * await market.setStock('cli:ana', 'HF-POT-2K', 12);
 */
export function createMarketManager(deps: ManageDeps) {
  const { db } = deps;
  const clock = deps.clock ?? systemClock;
  const change = async (actor: string, entity: 'producer' | 'product' | 'variant' | 'cycle', entitySlug: string, action: string, details: unknown, touched: MarketChange, run: (trx: Transaction<Database>, now: Date) => Promise<Result<void, ManageError>>): Promise<Result<void, ManageError>> => {
    try {
      const result = await db.transaction().execute(async (trx) => {
        const now = clock.now();
        const outcome = await run(trx, now);
        if (!outcome.ok) throw new Abort(outcome.error);
        await trx.insertInto('market_audit').values({ actor, action, entity, entity_slug: entitySlug, details: JSON.stringify(details ?? {}), at: now }).execute();
        await deps.afterChange?.(trx, touched);
        return outcome;
      });
      await deps.afterCommit?.(touched);
      return result;
    } catch (error) {
      if (error instanceof Abort) return err(error.reason);
      if ((error as { code?: string }).code === '23505') return err({ type: 'conflict', message: `That ${entity} already exists (${(error as { detail?: string }).detail ?? entitySlug}).` });
      throw error;
    }
  };
  const idOf = async (trx: Kysely<Database>, table: 'market_producers' | 'market_products' | 'market_cycles' | 'market_categories', s: string) =>
    (await trx.selectFrom(table).select('id').where('slug', '=', s).executeTakeFirst())?.id;
  const productsOfProducer = async (trx: Kysely<Database>, producerId: string) =>
    (await trx.selectFrom('market_products').select('slug').where('producer_id', '=', producerId).where('archived_at', 'is', null).execute()).map((r) => r.slug);

  return {
    async listProducers(opts: { archived?: boolean } = {}): Promise<ProducerRow[]> {
      let q = db
        .selectFrom('market_producers as p')
        .select((eb) => ['p.slug', 'p.name', 'p.location', 'p.website', 'p.featured', 'p.archived_at', 'p.source', eb.selectFrom('market_products').select((e) => e.fn.countAll<string>().as('n')).whereRef('producer_id', '=', 'p.id').where('archived_at', 'is', null).as('products')])
        .orderBy('p.name');
      if (!opts.archived) q = q.where('p.archived_at', 'is', null);
      return (await q.execute()).map((r) => ({ slug: r.slug, name: r.name, location: r.location, website: r.website, featured: r.featured, products: Number(r.products ?? 0), archived: r.archived_at !== null, source: r.source }));
    },

    async addProducer(actor: string, input: unknown): Promise<Result<void, ManageError>> {
      const v = parse(producerInput, input);
      if (!v.ok) return v;
      const p = v.value;
      return change(actor, 'producer', p.slug, 'add', p, { products: [], producers: [p.slug], live: false }, async (trx, now) => {
        await trx
          .insertInto('market_producers')
          .values({ slug: p.slug, name: p.name, story_html: renderMarkdown(p.story ?? ''), location: p.location ?? null, website: p.website ?? null, contact_email: p.contactEmail ?? null, contact_phone: p.contactPhone ?? null, featured: p.featured ?? false, source: 'staff', created_at: now, updated_at: now })
          .execute();
        return ok(undefined);
      });
    },

    async updateProducer(actor: string, producerSlug: string, input: unknown): Promise<Result<void, ManageError>> {
      const v = parse(producerPatch, input);
      if (!v.ok) return v;
      const p = v.value;
      const id = await idOf(db, 'market_producers', producerSlug);
      if (!id) return err({ type: 'not-found', entity: 'producer', slug: producerSlug });
      const products = await productsOfProducer(db, id);
      return change(actor, 'producer', producerSlug, 'update', p, { products, producers: [producerSlug], live: false }, async (trx, now) => {
        const set = {
          ...(p.name !== undefined ? { name: p.name } : {}),
          ...(p.story !== undefined ? { story_html: renderMarkdown(p.story) } : {}),
          ...(p.location !== undefined ? { location: p.location } : {}),
          ...(p.website !== undefined ? { website: p.website } : {}),
          ...(p.contactEmail !== undefined ? { contact_email: p.contactEmail } : {}),
          ...(p.contactPhone !== undefined ? { contact_phone: p.contactPhone } : {}),
          ...(p.featured !== undefined ? { featured: p.featured } : {}),
        };
        // A row staff edited is staff's: `rose db seed` leaves it alone from now on.
        await trx.updateTable('market_producers').set({ ...set, source: 'staff', updated_at: now }).where('id', '=', id).execute();
        return ok(undefined);
      });
    },

    async archiveProducer(actor: string, producerSlug: string): Promise<Result<void, ManageError>> {
      const id = await idOf(db, 'market_producers', producerSlug);
      if (!id) return err({ type: 'not-found', entity: 'producer', slug: producerSlug });
      const products = await productsOfProducer(db, id);
      return change(actor, 'producer', producerSlug, 'archive', {}, { products, producers: [producerSlug], live: true }, async (trx, now) => {
        await trx.updateTable('market_producers').set({ archived_at: now, source: 'staff', updated_at: now }).where('id', '=', id).execute();
        return ok(undefined);
      });
    },

    async listProducts(opts: { producer?: string; category?: string; archived?: boolean; limit?: number } = {}): Promise<ProductRow[]> {
      let q = db
        .selectFrom('market_products as p')
        .innerJoin('market_producers as pr', 'pr.id', 'p.producer_id')
        .leftJoin('market_categories as c', 'c.id', 'p.category_id')
        .select(['p.id', 'p.slug', 'p.name', 'pr.slug as producer', 'c.slug as category', 'p.available', 'p.archived_at', 'p.source', 'p.supplier'])
        .orderBy('p.name')
        .orderBy('p.slug');
      if (!opts.archived) q = q.where('p.archived_at', 'is', null);
      if (opts.producer) q = q.where('pr.slug', '=', opts.producer);
      if (opts.category) q = q.where('c.slug', '=', opts.category);
      if (opts.limit) q = q.limit(opts.limit);
      const rows = await q.execute();
      const variants = rows.length
        ? await db.selectFrom('market_variants').selectAll().where('product_id', 'in', rows.map((r) => r.id)).where('archived_at', 'is', null).orderBy('position').execute()
        : [];
      return rows.map((r) => ({
        slug: r.slug,
        name: r.name,
        producer: r.producer,
        category: r.category,
        available: r.available,
        archived: r.archived_at !== null,
        source: r.source,
        supplier: r.supplier,
        variants: variants.filter((v) => v.product_id === r.id).map((v) => ({ sku: v.sku, unit: v.unit, size: v.size, priceMinor: v.price_minor, currency: v.currency, stockMode: v.stock_mode, stockCount: v.stock_count })),
      }));
    },

    async addProduct(actor: string, input: unknown): Promise<Result<void, ManageError>> {
      const v = parse(productInput, input);
      if (!v.ok) return v;
      const p = v.value;
      const price = parseAmount(p.variant.price, p.variant.currency);
      if (!price.ok) return err({ type: 'invalid', problems: [`variant.price: ${price.error}`] });
      const producerId = await idOf(db, 'market_producers', p.producer);
      if (!producerId) return err({ type: 'not-found', entity: 'producer', slug: p.producer });
      const categoryId = p.category ? await idOf(db, 'market_categories', p.category) : null;
      if (p.category && !categoryId) return err({ type: 'not-found', entity: 'category', slug: p.category });
      return change(actor, 'product', p.slug, 'add', p, { products: [p.slug], producers: [p.producer], live: true }, async (trx, now) => {
        const { id } = await trx
          .insertInto('market_products')
          .values({ slug: p.slug, name: p.name, producer_id: producerId, category_id: categoryId ?? null, description: p.description ?? '', available: p.available ?? true, source: 'staff', created_at: now, updated_at: now })
          .returning('id')
          .executeTakeFirstOrThrow();
        const stock = p.variant.stock === 'on-demand' ? { stock_mode: 'on-demand' as const, stock_count: null } : { stock_mode: 'tracked' as const, stock_count: p.variant.stock };
        await trx
          .insertInto('market_variants')
          .values({ product_id: id, sku: p.variant.sku, unit: p.variant.unit, size: p.variant.size ?? null, price_minor: price.value, currency: p.variant.currency, ...stock, created_at: now, updated_at: now })
          .execute();
        return ok(undefined);
      });
    },

    async updateProduct(actor: string, productSlug: string, input: unknown): Promise<Result<void, ManageError>> {
      const v = parse(productPatch, input);
      if (!v.ok) return v;
      const p = v.value;
      const row = await db.selectFrom('market_products as p').innerJoin('market_producers as pr', 'pr.id', 'p.producer_id').select(['p.id', 'pr.slug as producer']).where('p.slug', '=', productSlug).executeTakeFirst();
      if (!row) return err({ type: 'not-found', entity: 'product', slug: productSlug });
      const categoryId = p.category ? await idOf(db, 'market_categories', p.category) : null;
      if (p.category && !categoryId) return err({ type: 'not-found', entity: 'category', slug: p.category });
      return change(actor, 'product', productSlug, 'update', p, { products: [productSlug], producers: [row.producer], live: p.available !== undefined }, async (trx, now) => {
        const set = {
          ...(p.name !== undefined ? { name: p.name } : {}),
          ...(p.category !== undefined ? { category_id: categoryId ?? null } : {}),
          ...(p.description !== undefined ? { description: p.description } : {}),
          ...(p.available !== undefined ? { available: p.available } : {}),
        };
        await trx.updateTable('market_products').set({ ...set, source: 'staff', updated_at: now }).where('id', '=', row.id).execute();
        return ok(undefined);
      });
    },

    async archiveProduct(actor: string, productSlug: string): Promise<Result<void, ManageError>> {
      const row = await db.selectFrom('market_products as p').innerJoin('market_producers as pr', 'pr.id', 'p.producer_id').select(['p.id', 'pr.slug as producer']).where('p.slug', '=', productSlug).executeTakeFirst();
      if (!row) return err({ type: 'not-found', entity: 'product', slug: productSlug });
      return change(actor, 'product', productSlug, 'archive', {}, { products: [productSlug], producers: [row.producer], live: true }, async (trx, now) => {
        await trx.updateTable('market_products').set({ archived_at: now, source: 'staff', updated_at: now }).where('id', '=', row.id).execute();
        return ok(undefined);
      });
    },

    /** Sets a variant's stock: a count, or 'on-demand' (made to order). */
    async setStock(actor: string, variantSku: string, stock: unknown): Promise<Result<{ product: string; before: number | 'on-demand'; after: number | 'on-demand' }, ManageError>> {
      const v = parse(stockValue, stock);
      if (!v.ok) return v;
      const row = await variantRow(db, variantSku);
      if (!row) return err({ type: 'not-found', entity: 'variant', slug: variantSku });
      const before = row.stock_mode === 'on-demand' ? ('on-demand' as const) : (row.stock_count ?? 0);
      const after = v.value;
      const result = await change(actor, 'variant', variantSku, 'stock', { before, after }, { products: [row.product], producers: [row.producer], live: true }, async (trx, now) => {
        const set = after === 'on-demand' ? { stock_mode: 'on-demand' as const, stock_count: null } : { stock_mode: 'tracked' as const, stock_count: after };
        await trx.updateTable('market_variants').set({ ...set, updated_at: now }).where('id', '=', row.id).execute();
        return ok(undefined);
      });
      return result.ok ? ok({ product: row.product, before, after }) : result;
    },

    /** Sets a variant's price from a decimal ("3.50") in its currency, or another currency given. */
    async setPrice(actor: string, variantSku: string, amount: string, currency?: string): Promise<Result<{ product: string; beforeMinor: number; afterMinor: number; currency: string }, ManageError>> {
      const row = await variantRow(db, variantSku);
      if (!row) return err({ type: 'not-found', entity: 'variant', slug: variantSku });
      const cur = currency ?? row.currency;
      if (!isCurrency(cur)) return err({ type: 'invalid', problems: [`currency: expected an ISO 4217 currency code like "GBP", not "${cur}"`] });
      const price = parseAmount(amount, cur);
      if (!price.ok) return err({ type: 'invalid', problems: [`price: ${price.error}`] });
      const result = await change(actor, 'variant', variantSku, 'price', { before: `${row.price_minor} ${row.currency}`, after: `${price.value} ${cur}` }, { products: [row.product], producers: [row.producer], live: true }, async (trx, now) => {
        await trx.updateTable('market_variants').set({ price_minor: price.value, currency: cur, updated_at: now }).where('id', '=', row.id).execute();
        return ok(undefined);
      });
      return result.ok ? ok({ product: row.product, beforeMinor: row.price_minor, afterMinor: price.value, currency: cur }) : result;
    },

    async listCycles(opts: { archived?: boolean } = {}): Promise<CycleRow[]> {
      let q = db
        .selectFrom('market_cycles as c')
        .select((eb) => ['c.slug', 'c.name', 'c.opens_at', 'c.closes_at', 'c.time_zone', 'c.note', 'c.archived_at', eb.selectFrom('market_cycle_products').select((e) => e.fn.countAll<string>().as('n')).whereRef('cycle_id', '=', 'c.id').as('products')])
        .orderBy('c.opens_at');
      if (!opts.archived) q = q.where('c.archived_at', 'is', null);
      return (await q.execute()).map((r) => ({ slug: r.slug, name: r.name, opensAt: r.opens_at, closesAt: r.closes_at, timeZone: r.time_zone, note: r.note, products: Number(r.products ?? 0), archived: r.archived_at !== null }));
    },

    async addCycle(actor: string, input: unknown, offer: { producers?: string[]; products?: string[] } = {}): Promise<Result<void, ManageError>> {
      const v = parse(cycleInput, input);
      if (!v.ok) return v;
      const c = v.value;
      const times = cycleTimes(c.opensAt, c.closesAt, c.timeZone);
      if (!times.ok) return times;
      const offered = await resolveOffer(db, offer);
      if (!offered.ok) return offered;
      return change(actor, 'cycle', c.slug, 'add', { ...c, ...offer }, { products: offered.value.productSlugs, producers: [], live: true }, async (trx, now) => {
        const { id } = await trx
          .insertInto('market_cycles')
          .values({ slug: c.slug, name: c.name, opens_at: times.value.opensAt, closes_at: times.value.closesAt, time_zone: c.timeZone, note: c.note ?? '', source: 'staff', created_at: now, updated_at: now })
          .returning('id')
          .executeTakeFirstOrThrow();
        if (offered.value.productIds.length) await trx.insertInto('market_cycle_products').values(offered.value.productIds.map((product_id) => ({ cycle_id: id, product_id }))).execute();
        if (offered.value.producerIds.length) await trx.insertInto('market_cycle_producers').values(offered.value.producerIds.map((producer_id) => ({ cycle_id: id, producer_id }))).execute();
        return ok(undefined);
      });
    },

    async updateCycle(actor: string, cycleSlug: string, input: unknown, offer: { add?: string[]; remove?: string[] } = {}): Promise<Result<void, ManageError>> {
      const v = parse(cyclePatch, input);
      if (!v.ok) return v;
      const c = v.value;
      const row = await db.selectFrom('market_cycles').selectAll().where('slug', '=', cycleSlug).executeTakeFirst();
      if (!row) return err({ type: 'not-found', entity: 'cycle', slug: cycleSlug });
      const zone = c.timeZone ?? row.time_zone;
      const opens = c.opensAt !== undefined ? localTimeToInstant(c.opensAt, zone) : ok(row.opens_at);
      const closes = c.closesAt !== undefined ? localTimeToInstant(c.closesAt, zone) : ok(row.closes_at);
      if (!opens.ok) return err({ type: 'invalid', problems: [`opensAt: ${opens.error}`] });
      if (!closes.ok) return err({ type: 'invalid', problems: [`closesAt: ${closes.error}`] });
      if (closes.value <= opens.value) return err({ type: 'invalid', problems: ['closesAt: must be after opensAt'] });
      const add = await resolveOffer(db, { products: offer.add ?? [] });
      if (!add.ok) return add;
      const remove = await resolveOffer(db, { products: offer.remove ?? [] });
      if (!remove.ok) return remove;
      const offeredNow = (await db.selectFrom('market_cycle_products as cp').innerJoin('market_products as p', 'p.id', 'cp.product_id').select('p.slug').where('cp.cycle_id', '=', row.id).execute()).map((r) => r.slug);
      const timesChanged = c.opensAt !== undefined || c.closesAt !== undefined || c.timeZone !== undefined || c.name !== undefined;
      const touched = [...new Set([...(timesChanged ? offeredNow : []), ...add.value.productSlugs, ...remove.value.productSlugs])];
      return change(actor, 'cycle', cycleSlug, 'update', { ...c, ...offer }, { products: touched, producers: [], live: true }, async (trx, now) => {
        await trx
          .updateTable('market_cycles')
          .set({ ...(c.name !== undefined ? { name: c.name } : {}), ...(c.note !== undefined ? { note: c.note } : {}), opens_at: opens.value, closes_at: closes.value, time_zone: zone, source: 'staff', updated_at: now })
          .where('id', '=', row.id)
          .execute();
        if (add.value.productIds.length) await trx.insertInto('market_cycle_products').values(add.value.productIds.map((product_id) => ({ cycle_id: row.id, product_id }))).onConflict((oc) => oc.doNothing()).execute();
        if (remove.value.productIds.length) await trx.deleteFrom('market_cycle_products').where('cycle_id', '=', row.id).where('product_id', 'in', remove.value.productIds).execute();
        return ok(undefined);
      });
    },

    async archiveCycle(actor: string, cycleSlug: string): Promise<Result<void, ManageError>> {
      const row = await db.selectFrom('market_cycles').select('id').where('slug', '=', cycleSlug).executeTakeFirst();
      if (!row) return err({ type: 'not-found', entity: 'cycle', slug: cycleSlug });
      const offered = (await db.selectFrom('market_cycle_products as cp').innerJoin('market_products as p', 'p.id', 'cp.product_id').select('p.slug').where('cp.cycle_id', '=', row.id).execute()).map((r) => r.slug);
      return change(actor, 'cycle', cycleSlug, 'archive', {}, { products: offered, producers: [], live: true }, async (trx, now) => {
        await trx.updateTable('market_cycles').set({ archived_at: now, source: 'staff', updated_at: now }).where('id', '=', row.id).execute();
        return ok(undefined);
      });
    },

    /** The newest audit entries, optionally for one thing (`product`, `kale`). */
    async audit(opts: { entity?: string; slug?: string; limit?: number } = {}): Promise<AuditEntry[]> {
      let q = db.selectFrom('market_audit').selectAll().orderBy('id', 'desc').limit(opts.limit ?? 50);
      if (opts.entity) q = q.where('entity', '=', opts.entity as 'product');
      if (opts.slug) q = q.where('entity_slug', '=', opts.slug);
      return (await q.execute()).map((r) => ({ at: r.at, actor: r.actor, action: r.action, entity: r.entity, slug: r.entity_slug, details: r.details }));
    },
  };
}

export type MarketManager = ReturnType<typeof createMarketManager>;

class Abort extends Error {
  readonly reason: ManageError;
  constructor(reason: ManageError) {
    super('aborted');
    this.reason = reason;
  }
}

async function variantRow(db: Kysely<Database>, variantSku: string) {
  return db
    .selectFrom('market_variants as v')
    .innerJoin('market_products as p', 'p.id', 'v.product_id')
    .innerJoin('market_producers as pr', 'pr.id', 'p.producer_id')
    .select(['v.id', 'v.stock_mode', 'v.stock_count', 'v.price_minor', 'v.currency', 'p.slug as product', 'pr.slug as producer'])
    .where('v.sku', '=', variantSku)
    .where('v.archived_at', 'is', null)
    .executeTakeFirst();
}

function cycleTimes(opensAt: string, closesAt: string, zone: string): Result<{ opensAt: Date; closesAt: Date }, ManageError> {
  const opens = localTimeToInstant(opensAt, zone);
  const closes = localTimeToInstant(closesAt, zone);
  const problems = [...(opens.ok ? [] : [`opensAt: ${opens.error}`]), ...(closes.ok ? [] : [`closesAt: ${closes.error}`])];
  if (problems.length) return err({ type: 'invalid', problems });
  if (opens.ok && closes.ok && closes.value <= opens.value) return err({ type: 'invalid', problems: ['closesAt: must be after opensAt'] });
  return ok({ opensAt: (opens as { value: Date }).value, closesAt: (closes as { value: Date }).value });
}

/** Product slugs (and producers' available products) → ids; unknown slugs are an error. */
async function resolveOffer(db: Kysely<Database>, offer: { producers?: string[]; products?: string[] }): Promise<Result<{ productIds: string[]; producerIds: string[]; productSlugs: string[] }, ManageError>> {
  const producers = [...new Set(offer.producers ?? [])];
  const products = [...new Set(offer.products ?? [])];
  const producerRows = producers.length ? await db.selectFrom('market_producers').select(['id', 'slug']).where('slug', 'in', producers).where('archived_at', 'is', null).execute() : [];
  const missingProducer = producers.find((s) => !producerRows.some((r) => r.slug === s));
  if (missingProducer) return err({ type: 'not-found', entity: 'producer', slug: missingProducer });
  const productRows = products.length ? await db.selectFrom('market_products').select(['id', 'slug', 'producer_id']).where('slug', 'in', products).where('archived_at', 'is', null).execute() : [];
  const missingProduct = products.find((s) => !productRows.some((r) => r.slug === s));
  if (missingProduct) return err({ type: 'not-found', entity: 'product', slug: missingProduct });
  const ofProducers = producerRows.length
    ? await db.selectFrom('market_products').select(['id', 'slug', 'producer_id']).where('producer_id', 'in', producerRows.map((r) => r.id)).where('archived_at', 'is', null).where('available', '=', true).execute()
    : [];
  const all = new Map([...ofProducers, ...productRows].map((r) => [r.id, r]));
  const producerIds = new Set([...producerRows.map((r) => r.id), ...productRows.map((r) => r.producer_id)]);
  return ok({ productIds: [...all.keys()], producerIds: [...producerIds], productSlugs: [...all.values()].map((r) => r.slug) });
}

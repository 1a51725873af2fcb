import type { Kysely } from 'kysely';
import { formatMoney, marketLinks, type Money } from '@rose/core';
import type { Database, StockMode } from '@rose/db';
import { loadImages, publishedFiles, responsiveImage, type PublishedFile, type ResponsiveImage, type StoredImage } from '@rose/media';
import { loadSiteChrome, type Navigation, type SiteSettings } from '@rose/site-chrome';

/** What a static page may say about stock: never a count (that is live, in the island). */
export type Availability = 'in-stock' | 'out-of-stock' | 'on-demand' | 'unavailable';

export interface VariantView {
  sku: string;
  unit: string;
  size: string | null;
  price: Money;
  /** The price for people, in the site's locale (`£3.50`). */
  priceText: string;
  stockMode: StockMode;
  availability: Availability;
}

export interface ProducerRef {
  slug: string;
  name: string;
  url: string;
}
export interface CategoryRef {
  slug: string;
  name: string;
  url: string;
}

/** What a listing shows of a product. */
export interface ProductCard {
  slug: string;
  name: string;
  url: string;
  producer: ProducerRef;
  category: CategoryRef | null;
  image: ResponsiveImage | null;
  /** The cheapest variant's price ("from £3.50" when variants differ). */
  fromPrice: Money | null;
  fromPriceText: string | null;
  pricesDiffer: boolean;
  availability: Availability;
}

export interface ProductView extends ProductCard {
  description: string;
  variants: VariantView[];
  /** Current and upcoming cycles offering it. */
  cycles: CycleRef[];
  createdAt: Date;
  updatedAt: Date;
}

export interface CycleRef {
  slug: string;
  name: string;
  opensAt: Date;
  closesAt: Date;
  timeZone: string;
}

export interface CycleView extends CycleRef {
  note: string;
  producers: ProducerRef[];
  productCount: number;
}

export interface ProducerView extends ProducerRef {
  storyHtml: string;
  location: string | null;
  website: string | null;
  image: ResponsiveImage | null;
  contactEmail: string | null;
  contactPhone: string | null;
  featured: boolean;
  products: ProductCard[];
  /** The newest change to the producer or one of their products. */
  updatedAt: Date;
}

export interface CategoryView extends CategoryRef {
  description: string | null;
  productCount: number;
  /** The newest change to a product listed in it. */
  updatedAt: Date;
}

export interface MarketSnapshot {
  site: SiteSettings;
  navigation: Navigation;
  /** Categories with at least one listed product, in their order. */
  categories: CategoryView[];
  /** Producers not archived, by name. */
  producers: ProducerView[];
  /** Products not archived, by name. */
  products: ProductView[];
  productsByCategory: ReadonlyMap<string, ProductView[]>;
  /** Cycles not archived that had not closed when the snapshot was read, by opening time. */
  cycles: CycleView[];
  /** When the snapshot was read: pages say "upcoming" or "open" as of then; the island says it live. */
  readAt: Date;
  lastModified: Date;
  images: StoredImage[];
  /** Image files, published under `/market/images/`. */
  mediaFiles: PublishedFile[];
}

const byName = <T extends { name: string; slug: string }>(a: T, b: T) => a.name.localeCompare(b.name, 'en') || (a.slug < b.slug ? -1 : 1);

export function availabilityOf(variants: readonly { stockMode: StockMode; stockCount: number | null }[], available: boolean): Availability {
  if (!available || variants.length === 0) return 'unavailable';
  if (variants.some((v) => v.stockMode === 'tracked' && (v.stockCount ?? 0) > 0)) return 'in-stock';
  if (variants.some((v) => v.stockMode === 'on-demand')) return 'on-demand';
  return 'out-of-stock';
}

/**
 * Everything the static market shows, in a fixed handful of queries whatever the size. Stock
 * counts are not in it: pages say in stock / sold out / made to order, and the stock island
 * gives the count live.
 *
 * @example
 * const snapshot = await loadMarketSnapshot(db, { now: new Date() });
 */
export async function loadMarketSnapshot(db: Kysely<Database>, opts: { now?: Date } = {}): Promise<MarketSnapshot> {
  const now = opts.now ?? new Date();
  const chrome = await loadSiteChrome(db);
  const locale = chrome.site.locale;
  const [categoryRows, producerRows, productRows, variantRows, cycleRows] = await Promise.all([
    db.selectFrom('market_categories').selectAll().orderBy('position').orderBy('slug').execute(),
    db.selectFrom('market_producers').selectAll().where('archived_at', 'is', null).execute(),
    db.selectFrom('market_products').selectAll().where('archived_at', 'is', null).execute(),
    db.selectFrom('market_variants').selectAll().where('archived_at', 'is', null).orderBy('position').orderBy('sku').execute(),
    db.selectFrom('market_cycles').selectAll().where('archived_at', 'is', null).where('closes_at', '>', now).orderBy('opens_at').orderBy('slug').execute(),
  ]);
  const cycleIds = cycleRows.map((c) => c.id);
  const [cycleProducts, cycleProducers] = cycleIds.length
    ? await Promise.all([
        db.selectFrom('market_cycle_products').select(['cycle_id', 'product_id']).where('cycle_id', 'in', cycleIds).execute(),
        db.selectFrom('market_cycle_producers').select(['cycle_id', 'producer_id']).where('cycle_id', 'in', cycleIds).execute(),
      ])
    : [[], []];

  const refs = [...producerRows.map((p) => p.image), ...productRows.map((p) => p.image)].filter((r): r is string => r !== null);
  const images = await loadImages(db, refs);
  const imageByRef = new Map(images.map((i) => [i.ref, responsiveImage(i, marketLinks.image)]));
  const mediaFiles = [...new Map(images.flatMap((i) => publishedFiles(i, marketLinks.image)).map((f) => [f.name, f])).values()].sort((a, b) => (a.name < b.name ? -1 : 1));

  const producerById = new Map(producerRows.map((p) => [p.id, { slug: p.slug, name: p.name, url: marketLinks.producer(p.slug) } satisfies ProducerRef]));
  const categoryById = new Map(categoryRows.map((c) => [c.id, { slug: c.slug, name: c.name, url: marketLinks.category(c.slug) } satisfies CategoryRef]));
  const variantsByProduct = new Map<string, typeof variantRows>();
  for (const v of variantRows) {
    const list = variantsByProduct.get(v.product_id) ?? [];
    list.push(v);
    variantsByProduct.set(v.product_id, list);
  }
  const cycleRef = new Map(cycleRows.map((c) => [c.id, { slug: c.slug, name: c.name, opensAt: c.opens_at, closesAt: c.closes_at, timeZone: c.time_zone } satisfies CycleRef]));
  const cyclesByProduct = new Map<string, CycleRef[]>();
  for (const cp of cycleProducts) {
    const list = cyclesByProduct.get(cp.product_id) ?? [];
    list.push(cycleRef.get(cp.cycle_id)!);
    cyclesByProduct.set(cp.product_id, list);
  }

  let lastModified = new Date(0);
  const touch = (d: Date) => {
    if (d > lastModified) lastModified = d;
  };
  const products: ProductView[] = [];
  for (const p of productRows) {
    const producer = producerById.get(p.producer_id);
    // A product of an archived producer is not listed.
    if (!producer) continue;
    touch(p.updated_at);
    const rows = variantsByProduct.get(p.id) ?? [];
    const variants: VariantView[] = rows.map((v) => {
      touch(v.updated_at);
      const price = { minor: v.price_minor, currency: v.currency };
      const availability = availabilityOf([{ stockMode: v.stock_mode, stockCount: v.stock_count }], p.available);
      return { sku: v.sku, unit: v.unit, size: v.size, price, priceText: formatMoney(price, locale), stockMode: v.stock_mode, availability };
    });
    const cheapest = variants.reduce<VariantView | null>((min, v) => (min === null || v.price.minor < min.price.minor ? v : min), null);
    products.push({
      slug: p.slug,
      name: p.name,
      url: marketLinks.product(p.slug),
      producer,
      category: p.category_id ? (categoryById.get(p.category_id) ?? null) : null,
      image: p.image ? (imageByRef.get(p.image) ?? null) : null,
      fromPrice: cheapest?.price ?? null,
      fromPriceText: cheapest?.priceText ?? null,
      pricesDiffer: new Set(variants.map((v) => `${v.price.minor}${v.price.currency}`)).size > 1,
      availability: availabilityOf(rows.map((v) => ({ stockMode: v.stock_mode, stockCount: v.stock_count })), p.available),
      description: p.description,
      variants,
      cycles: (cyclesByProduct.get(p.id) ?? []).sort((a, b) => a.opensAt.getTime() - b.opensAt.getTime()),
      createdAt: p.created_at,
      updatedAt: p.updated_at,
    });
  }
  products.sort(byName);

  const productsByCategory = new Map<string, ProductView[]>();
  const productsByProducer = new Map<string, ProductView[]>();
  for (const p of products) {
    if (p.category) productsByCategory.set(p.category.slug, [...(productsByCategory.get(p.category.slug) ?? []), p]);
    productsByProducer.set(p.producer.slug, [...(productsByProducer.get(p.producer.slug) ?? []), p]);
  }
  const card = (p: ProductView): ProductCard => ({
    slug: p.slug,
    name: p.name,
    url: p.url,
    producer: p.producer,
    category: p.category,
    image: p.image,
    fromPrice: p.fromPrice,
    fromPriceText: p.fromPriceText,
    pricesDiffer: p.pricesDiffer,
    availability: p.availability,
  });
  const producers: ProducerView[] = producerRows
    .map((p) => {
      touch(p.updated_at);
      return {
        slug: p.slug,
        name: p.name,
        url: marketLinks.producer(p.slug),
        storyHtml: p.story_html,
        location: p.location,
        website: p.website,
        image: p.image ? (imageByRef.get(p.image) ?? null) : null,
        contactEmail: p.contact_email,
        contactPhone: p.contact_phone,
        featured: p.featured,
        products: (productsByProducer.get(p.slug) ?? []).map(card),
        updatedAt: new Date(Math.max(p.updated_at.getTime(), ...(productsByProducer.get(p.slug) ?? []).map((x) => x.updatedAt.getTime()))),
      };
    })
    .sort(byName);
  const categories: CategoryView[] = categoryRows
    .map((c) => ({
      slug: c.slug,
      name: c.name,
      url: marketLinks.category(c.slug),
      description: c.description,
      productCount: productsByCategory.get(c.slug)?.length ?? 0,
      updatedAt: new Date(Math.max(c.updated_at.getTime(), ...(productsByCategory.get(c.slug) ?? []).map((x) => x.updatedAt.getTime()))),
    }))
    .filter((c) => c.productCount > 0);
  const producerRefsByCycle = new Map<string, ProducerRef[]>();
  for (const cp of cycleProducers) {
    const ref = producerById.get(cp.producer_id);
    if (ref) producerRefsByCycle.set(cp.cycle_id, [...(producerRefsByCycle.get(cp.cycle_id) ?? []), ref]);
  }
  const cycles: CycleView[] = cycleRows.map((c) => {
    touch(c.updated_at);
    return {
      ...cycleRef.get(c.id)!,
      note: c.note,
      producers: (producerRefsByCycle.get(c.id) ?? []).sort(byName),
      productCount: cycleProducts.filter((cp) => cp.cycle_id === c.id).length,
    };
  });
  return { site: chrome.site, navigation: chrome.navigation, categories, producers, products, productsByCategory, cycles, readAt: now, lastModified, images, mediaFiles };
}

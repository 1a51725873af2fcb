import type { Kysely } from 'kysely';
import { formatMoney, type Money } from '@rose/core';
import type { Database, StockMode } from '@rose/db';
import { availabilityOf, type Availability } from './market.view.ts';

export interface LiveVariant {
  sku: string;
  unit: string;
  size: string | null;
  price: Money;
  priceText: string;
  stockMode: StockMode;
  /** How many are left (tracked stock); null when made to order. */
  stockCount: number | null;
  availability: Availability;
}

/** Whether a product can be ordered right now, and until or from when. */
export type Ordering =
  | { state: 'open'; cycle: string; cycleName: string; closesAt: Date; timeZone: string }
  | { state: 'upcoming'; cycle: string; cycleName: string; opensAt: Date; timeZone: string }
  | { state: 'not-offered' }
  | { state: 'unavailable' };

export interface LiveProduct {
  slug: string;
  variants: LiveVariant[];
  availability: Availability;
  ordering: Ordering;
}

/**
 * Stock, prices and ordering of products as they are now: what the stock island shows over a
 * static page (cached briefly, purged when stock or price changes). Unknown or archived slugs
 * are missing from the map.
 *
 * @example
 * const live = await readLiveProducts(db, ['kale'], { now: new Date(), locale: 'en-GB' });
 */
export async function readLiveProducts(db: Kysely<Database>, slugs: readonly string[], opts: { now: Date; locale: string }): Promise<Map<string, LiveProduct>> {
  const out = new Map<string, LiveProduct>();
  const unique = [...new Set(slugs)];
  if (unique.length === 0) return out;
  const products = await db
    .selectFrom('market_products as p')
    .innerJoin('market_producers as pr', 'pr.id', 'p.producer_id')
    .select(['p.id', 'p.slug', 'p.available'])
    .where('p.slug', 'in', unique)
    .where('p.archived_at', 'is', null)
    .where('pr.archived_at', 'is', null)
    .execute();
  if (products.length === 0) return out;
  const ids = products.map((p) => p.id);
  const [variants, cycles] = await Promise.all([
    db.selectFrom('market_variants').selectAll().where('product_id', 'in', ids).where('archived_at', 'is', null).orderBy('position').orderBy('sku').execute(),
    db
      .selectFrom('market_cycle_products as cp')
      .innerJoin('market_cycles as c', 'c.id', 'cp.cycle_id')
      .select(['cp.product_id', 'c.slug', 'c.name', 'c.opens_at', 'c.closes_at', 'c.time_zone'])
      .where('cp.product_id', 'in', ids)
      .where('c.archived_at', 'is', null)
      .where('c.closes_at', '>', opts.now)
      .orderBy('c.opens_at')
      .execute(),
  ]);
  for (const p of products) {
    const rows = variants.filter((v) => v.product_id === p.id);
    const live: LiveVariant[] = rows.map((v) => {
      const price = { minor: v.price_minor, currency: v.currency };
      return {
        sku: v.sku,
        unit: v.unit,
        size: v.size,
        price,
        priceText: formatMoney(price, opts.locale),
        stockMode: v.stock_mode,
        stockCount: v.stock_count,
        availability: availabilityOf([{ stockMode: v.stock_mode, stockCount: v.stock_count }], p.available),
      };
    });
    const availability = availabilityOf(rows.map((v) => ({ stockMode: v.stock_mode, stockCount: v.stock_count })), p.available);
    const offered = cycles.filter((c) => c.product_id === p.id);
    const open = offered.find((c) => c.opens_at <= opts.now);
    const next = offered.find((c) => c.opens_at > opts.now);
    const ordering: Ordering = !p.available
      ? { state: 'unavailable' }
      : open
        ? { state: 'open', cycle: open.slug, cycleName: open.name, closesAt: open.closes_at, timeZone: open.time_zone }
        : next
          ? { state: 'upcoming', cycle: next.slug, cycleName: next.name, opensAt: next.opens_at, timeZone: next.time_zone }
          : { state: 'not-offered' };
    out.set(p.slug, { slug: p.slug, variants: live, availability, ordering });
  }
  return out;
}

/** The cycle open now (the first to close if several), or the next to open, or none. */
export async function currentCycle(db: Kysely<Database>, now: Date): Promise<{ state: 'open' | 'upcoming'; slug: string; name: string; opensAt: Date; closesAt: Date; timeZone: string; note: string } | null> {
  const rows = await db.selectFrom('market_cycles').selectAll().where('archived_at', 'is', null).where('closes_at', '>', now).orderBy('opens_at').execute();
  const open = rows.filter((c) => c.opens_at <= now).sort((a, b) => a.closes_at.getTime() - b.closes_at.getTime())[0];
  const pick = open ?? rows[0];
  if (!pick) return null;
  return { state: open ? 'open' : 'upcoming', slug: pick.slug, name: pick.name, opensAt: pick.opens_at, closesAt: pick.closes_at, timeZone: pick.time_zone, note: pick.note };
}

/**
 * The next instant a cycle opens or closes after `now` (static pages say "opens …" or "open
 * until …" as of their build: they must be rebuilt then), or undefined when none is planned.
 */
export async function nextCycleBoundary(db: Kysely<Database>, now: Date): Promise<Date | undefined> {
  const rows = await db.selectFrom('market_cycles').select(['opens_at', 'closes_at']).where('archived_at', 'is', null).where('closes_at', '>', now).execute();
  const times = rows.flatMap((r) => [r.opens_at, r.closes_at]).filter((t) => t > now);
  return times.length ? new Date(Math.min(...times.map((t) => t.getTime()))) : undefined;
}

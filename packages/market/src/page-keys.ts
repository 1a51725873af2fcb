import { createHash } from 'node:crypto';
import { marketLinks } from '@rose/core';
import type { CycleRef, MarketSnapshot, ProductCard, ProductView } from './market.view.ts';

/** Products on one page of a category listing. */
export const marketPerPage = 24;

/** Whether a cycle is open or upcoming as of the snapshot: part of what pages say. */
export function cycleState(cycle: CycleRef, at: Date): 'open' | 'upcoming' {
  return cycle.opensAt <= at ? 'open' : 'upcoming';
}

const cardText = (p: ProductCard) => JSON.stringify([p.slug, p.name, p.producer, p.category?.slug ?? null, p.image?.src ?? null, p.fromPrice, p.pricesDiffer, p.availability]);
const cycleText = (c: CycleRef, at: Date) => JSON.stringify([c.slug, c.name, c.opensAt.getTime(), c.closesAt.getTime(), c.timeZone, cycleState(c, at)]);

/**
 * A key per market page with a dynamic path (product, producer, category pages, images): the
 * same key means re-rendering gives the same HTML for the same code. Stock counts are never
 * in a key — a sale changes the live island, not the page — but a variant selling out (or
 * coming back) changes what the page says, so its availability is.
 *
 * @example
 * const keys = marketPageKeys(snapshot); // Map { '/market/products/kale/' => 'q1…', … }
 */
export function marketPageKeys(snapshot: MarketSnapshot): Map<string, string> {
  const shared = createHash('sha1').update(JSON.stringify([snapshot.site, snapshot.navigation])).digest('base64url');
  const at = snapshot.readAt;
  const keys = new Map<string, string>();
  // The market's home shows the cycles, which no other page key covers (its other contents —
  // producers, categories, products — change their own keys): a cycle change rebuilds the part.
  keys.set(marketLinks.home(), createHash('sha1').update(shared).update(JSON.stringify(snapshot.cycles.map((c) => [cycleText(c, at), c.note, c.productCount, c.producers.map((p) => p.slug)]))).digest('base64url'));
  for (const f of snapshot.mediaFiles) keys.set(f.url, f.name);
  const productKey = (p: ProductView) =>
    createHash('sha1')
      .update(shared)
      .update(cardText(p))
      .update(JSON.stringify([p.description, p.variants, p.image, p.createdAt.getTime()]))
      .update(p.cycles.map((c) => cycleText(c, at)).join('\u0001'))
      .digest('base64url');
  for (const p of snapshot.products) keys.set(p.url, productKey(p));
  for (const producer of snapshot.producers) {
    const h = createHash('sha1').update(shared).update(JSON.stringify([producer.name, producer.storyHtml, producer.location, producer.website, producer.image, producer.contactEmail, producer.contactPhone]));
    for (const p of producer.products) h.update('\u0001').update(cardText(p));
    keys.set(producer.url, h.digest('base64url'));
  }
  for (const category of snapshot.categories) {
    const products = snapshot.productsByCategory.get(category.slug) ?? [];
    const pages = Math.max(1, Math.ceil(products.length / marketPerPage));
    const head = JSON.stringify([shared, category.name, category.description, pages, snapshot.categories.map((c) => [c.slug, c.name])]);
    for (let n = 1; n <= pages; n++) {
      const h = createHash('sha1').update(head).update(String(n));
      for (const p of products.slice((n - 1) * marketPerPage, n * marketPerPage)) h.update('\u0001').update(cardText(p));
      keys.set(marketLinks.category(category.slug, n), h.digest('base64url'));
    }
  }
  return keys;
}

import { absoluteUrl, decimalAmount, escapeXml, marketLinks } from '@rose/core';
import type { MarketSnapshot, ProductView } from './market.view.ts';
import { marketPerPage } from './page-keys.ts';

const schemaAvailability = { 'in-stock': 'https://schema.org/InStock', 'out-of-stock': 'https://schema.org/OutOfStock', 'on-demand': 'https://schema.org/MadeToOrder', unavailable: 'https://schema.org/Discontinued' } as const;

/**
 * schema.org `Product` JSON-LD for a product page: one `Offer` per variant with its SKU,
 * price, currency and availability; the seller is the producer.
 */
export function productJsonLd(product: ProductView, siteUrl: string): Record<string, unknown> {
  const url = absoluteUrl(siteUrl, product.url);
  return {
    '@context': 'https://schema.org',
    '@type': 'Product',
    name: product.name,
    url,
    ...(product.description ? { description: product.description } : {}),
    ...(product.image ? { image: absoluteUrl(siteUrl, product.image.src) } : {}),
    ...(product.category ? { category: product.category.name } : {}),
    brand: { '@type': 'Brand', name: product.producer.name },
    ...(product.variants.length === 1 ? { sku: product.variants[0]!.sku } : {}),
    offers: product.variants.map((v) => ({
      '@type': 'Offer',
      sku: v.sku,
      name: [v.size, v.unit].filter(Boolean).join(' '),
      // A decimal string, never a float: "3.50".
      price: decimalAmount(v.price),
      priceCurrency: v.price.currency,
      availability: schemaAvailability[v.availability],
      url,
      seller: { '@type': 'Organization', name: product.producer.name, url: absoluteUrl(siteUrl, product.producer.url) },
    })),
  };
}

/** One entry of the market's search index (short keys: it is downloaded whole). */
export interface MarketSearchEntry {
  /** name */
  n: string;
  /** url */
  u: string;
  /** producer */
  p: string;
  /** category */
  c: string;
  /** price text ("from £3.50") */
  $: string;
  /** description, shortened */
  d: string;
}

export function buildMarketSearchIndex(snapshot: MarketSnapshot): MarketSearchEntry[] {
  return snapshot.products.map((p) => ({
    n: p.name,
    u: p.url,
    p: p.producer.name,
    c: p.category?.name ?? '',
    $: p.fromPriceText ? `${p.pricesDiffer ? 'from ' : ''}${p.fromPriceText}` : '',
    d: p.description.length > 160 ? `${p.description.slice(0, 157).trimEnd()}…` : p.description,
  }));
}

/** The market's pages for the sitemap: home, producers, products and every category page. */
export function marketSitemapEntries(snapshot: MarketSnapshot): { path: string; lastModified: Date }[] {
  const out: { path: string; lastModified: Date }[] = [
    { path: marketLinks.home(), lastModified: snapshot.lastModified },
    { path: marketLinks.producers(), lastModified: snapshot.lastModified },
  ];
  for (const c of snapshot.categories) {
    const pages = Math.max(1, Math.ceil(c.productCount / marketPerPage));
    for (let n = 1; n <= pages; n++) out.push({ path: marketLinks.category(c.slug, n), lastModified: c.updatedAt });
  }
  for (const p of snapshot.producers) out.push({ path: p.url, lastModified: p.updatedAt });
  for (const p of snapshot.products) out.push({ path: p.url, lastModified: p.updatedAt });
  return out;
}

/** RSS of the newest products (what members follow to see what is new at the market). */
export function renderMarketRss(snapshot: MarketSnapshot, siteUrl: string, limit = 30): string {
  const newest = [...snapshot.products].sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || (a.slug < b.slug ? -1 : 1)).slice(0, limit);
  const items = newest.map((p) => {
    const url = absoluteUrl(siteUrl, p.url);
    const price = p.fromPriceText ? ` — ${p.pricesDiffer ? 'from ' : ''}${p.fromPriceText}` : '';
    return [
      '    <item>',
      `      <title>${escapeXml(`${p.name} (${p.producer.name})`)}</title>`,
      `      <link>${escapeXml(url)}</link>`,
      `      <guid isPermaLink="true">${escapeXml(url)}</guid>`,
      `      <pubDate>${p.createdAt.toUTCString()}</pubDate>`,
      ...(p.category ? [`      <category>${escapeXml(p.category.name)}</category>`] : []),
      `      <description>${escapeXml(`${p.description}${price}`)}</description>`,
      '    </item>',
    ].join('\n');
  });
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom">',
    '  <channel>',
    `    <title>${escapeXml(`${snapshot.site.title}: market`)}</title>`,
    `    <link>${escapeXml(absoluteUrl(siteUrl, marketLinks.home()))}</link>`,
    `    <description>${escapeXml(`New products from the producers of ${snapshot.site.title}`)}</description>`,
    `    <language>${escapeXml(snapshot.site.locale)}</language>`,
    `    <lastBuildDate>${snapshot.lastModified.toUTCString()}</lastBuildDate>`,
    `    <atom:link href="${escapeXml(absoluteUrl(siteUrl, marketLinks.rss()))}" rel="self" type="application/rss+xml"/>`,
    ...items,
    '  </channel>',
    '</rss>',
    '',
  ].join('\n');
}

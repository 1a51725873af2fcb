import { gunzipSync } from 'node:zlib';
import { load } from 'cheerio';
import { RoseError } from '@rose/core';
import { createPageFetcher, decodeText, isHostAllowed, type PageFetcher, type PageRefusalReason } from '@rose/http';
import { extractLinks, extractProducts, productKey, type ScrapedProduct } from './extract.ts';
import { createHostLimiter, type HostLimiter } from './host-limiter.ts';
import { createRobots } from './robots.ts';
import type { SupplierConfig } from './supplier-config.ts';

/** A page's validators from its last fetch, sent back for a conditional request. */
export interface PageValidators {
  readonly etag?: string | undefined;
  readonly lastModified?: string | undefined;
}

/**
 * Why one page gave nothing: the fetcher's refusal reasons, `robots` for a host whose
 * robots.txt could not be read, `no-products` for a product page without product data,
 * `malformed` for a sitemap that is not one.
 */
export type ScrapeErrorReason = PageRefusalReason | 'no-products' | 'malformed';

export interface ScrapePageError {
  readonly url: string;
  readonly reason: ScrapeErrorReason;
  /** Plain and specific, starting with the URL. */
  readonly message: string;
}

export interface ScrapeOptions {
  /** Default: a page fetcher with `allowPrivateAddresses`. */
  readonly fetcher?: PageFetcher;
  /** Validators of product pages from the previous run, by page URL. */
  readonly previous?: ReadonlyMap<string, PageValidators>;
  /** After each page: pages done, pages known so far (at most maxPages), the page. */
  readonly onProgress?: (done: number, total: number, url: string) => void;
  /** Cancels the run: it then rejects with the signal's reason. */
  readonly signal?: AbortSignal;
  /** For tests against 127.0.0.1 (used when no fetcher is given). */
  readonly allowPrivateAddresses?: boolean;
  /** Milliseconds clock for the rate limit; tests pass one that `sleep` moves. */
  readonly now?: () => number;
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Requests in flight at once over all hosts. Default 4. */
  readonly globalConcurrency?: number;
  /** Sitemaps read at most (an index and its children). Default 20. */
  readonly maxSitemaps?: number;
}

export interface ScrapeResult {
  readonly supplier: string;
  /** Sorted by URL and SKU. */
  readonly products: ScrapedProduct[];
  /** Product pages that answered 304: their products are as before. */
  readonly notModified: string[];
  /** Pages (and sitemaps, robots.txt files) that gave nothing, each with why; sorted by URL. */
  readonly errors: ScrapePageError[];
  /** Pages requested (sitemaps and robots.txt not counted). */
  readonly pagesFetched: number;
  /** Pages robots.txt kept us from; sorted. */
  readonly robotsBlocked: string[];
  /** Validators of the product pages fetched now (or carried over when not modified), by page URL. */
  readonly validators: Map<string, PageValidators>;
  /** The crawl stopped at the supplier's maxPages: products not reached are not "gone". */
  readonly maxPagesReached: boolean;
}

/** A scrape that cannot start: the supplier's configuration leaves nothing to fetch. */
export class ScrapeConfigError extends RoseError {
  readonly supplier: string;
  readonly field: string;
  constructor(supplier: string, field: string, message: string) {
    super({
      code: 'content-invalid',
      title: 'Supplier cannot be scraped',
      message: `Supplier "${supplier}" ${field}: ${message}`,
      hint: 'Fix the supplier in content/market/suppliers.json: start URLs and the sitemap must be http(s) addresses on one of its allowedHosts.',
    });
    this.name = 'ScrapeConfigError';
    this.supplier = supplier;
    this.field = field;
  }
}

type PageKind = 'product' | 'listing' | 'page';

const pageTypes = ['text/html', 'application/xhtml+xml'];
const sitemapTypes = ['application/xml', 'text/xml', 'application/x-gzip', 'application/gzip', 'application/octet-stream', 'text/plain'];
const sitemapMaxBytes = 50 * 1024 * 1024;
const sitemapMaxUrls = 50_000;

/**
 * Scrapes one supplier's site: its sitemap and start pages, listing pages (the listing
 * pattern and `rel="next"`), and product pages (the product pattern; every page when the
 * supplier has no patterns), politely (robots.txt, Crawl-delay, a rate limit and concurrency
 * per host) and within `maxPages`. Product pages are fetched conditionally with `previous`
 * validators. A page that fails (slow, enormous, a redirect loop, a lying content type,
 * malformed) becomes an entry in `errors` and nothing else changes; robots.txt forbidding
 * everything is reported, not thrown. Throws only a ScrapeConfigError (nothing could be
 * fetched at all) or the signal's reason (cancelled).
 *
 * @example
 * const run = await scrapeSupplier(supplier, { previous: await validatorsOf(db, supplier.slug) });
 * const report = changeReport(before, run.products, run.notModified);
 */
export async function scrapeSupplier(supplier: SupplierConfig, options: ScrapeOptions = {}): Promise<ScrapeResult> {
  const starts = checkStartUrls(supplier);
  const signal = options.signal;
  signal?.throwIfAborted();
  const fetcher = options.fetcher ?? createPageFetcher({ allowPrivateAddresses: options.allowPrivateAddresses ?? false });
  const limiter: HostLimiter = createHostLimiter({
    rateLimitMs: supplier.rateLimitMs ?? 1000,
    perHostConcurrency: supplier.concurrency ?? 2,
    globalConcurrency: options.globalConcurrency ?? 4,
    ...(options.now ? { now: options.now } : {}),
    ...(options.sleep ? { sleep: options.sleep } : {}),
  });
  const robots = createRobots({ fetcher, allowedHosts: supplier.allowedHosts, limiter, ...(signal ? { signal } : {}) });
  const productPattern = supplier.productUrlPattern ? new RegExp(supplier.productUrlPattern) : undefined;
  const listingPattern = supplier.listingUrlPattern ? new RegExp(supplier.listingUrlPattern) : undefined;
  const maxSitemaps = options.maxSitemaps ?? 20;

  const products = new Map<string, ScrapedProduct>();
  const notModified: string[] = [];
  const errors: ScrapePageError[] = [];
  const robotsBlocked: string[] = [];
  const validators = new Map<string, PageValidators>();
  const closedHosts = new Set<string>();
  const seen = new Set<string>();
  const pending = new Set<Promise<void>>();
  let pagesFetched = 0;
  let done = 0;
  let maxPagesReached = false;
  let sitemapsRead = 0;
  let sitemapUrls = 0;

  /** Where a discovered URL goes, or nothing when the supplier's patterns leave it out. */
  const classify = (url: string): PageKind | undefined => {
    if (productPattern?.test(url)) return 'product';
    if (listingPattern?.test(url)) return 'listing';
    return productPattern ? undefined : 'page';
  };

  const spawn = (work: () => Promise<void>) => {
    const task: Promise<void> = work()
      .catch((error: unknown) => {
        // Only cancellation gets here; it is rethrown once everything has stopped.
        if (!signal?.aborted) throw error;
      })
      .finally(() => pending.delete(task));
    pending.add(task);
  };

  const enqueue = (url: string, kind: PageKind) => {
    if (seen.has(url) || signal?.aborted) return;
    seen.add(url);
    spawn(() => visitPage(url, kind));
  };

  /** Whether robots.txt lets us fetch `url`; records why not. */
  const allowedByRobots = async (url: string): Promise<boolean> => {
    const verdict = await robots.check(new URL(url));
    if (verdict.allowed) return true;
    robotsBlocked.push(url);
    const host = new URL(url).host;
    if (verdict.reason !== 'disallowed' && !closedHosts.has(host)) {
      closedHosts.add(host);
      errors.push({ url: `${new URL(url).origin}/robots.txt`, reason: 'robots', message: verdict.message });
    }
    return false;
  };

  const fail = (url: string, reason: ScrapeErrorReason, message: string) => errors.push({ url, reason, message });

  function readPage(url: string, kind: PageKind, finalUrl: string, text: string): void {
    // Product pages are leaves when there is a product pattern: their products come from them,
    // and other products are found through listings.
    if (kind !== 'product' || !productPattern) {
      const links = extractLinks(text, finalUrl, supplier);
      for (const link of links.products) enqueue(link, 'product');
      for (const link of links.listings) enqueue(link, 'listing');
      if (!productPattern) for (const link of links.other) enqueue(link, 'page');
    }
    if (kind === 'listing' && productPattern) return;
    // Found on the page as requested: products and validators share that key.
    const found = extractProducts(text, url, supplier);
    if (found.length === 0 && kind === 'product') fail(url, 'no-products', `${url}: no product data (JSON-LD, microdata, RDFa, OpenGraph${supplier.selectors ? ' or the supplier selectors' : ''}) on the page`);
    for (const product of found) {
      const key = productKey(product);
      if (!products.has(key)) products.set(key, product);
    }
  }

  async function visitPage(url: string, kind: PageKind): Promise<void> {
    signal?.throwIfAborted();
    try {
      if (!(await allowedByRobots(url))) return;
      if (pagesFetched >= supplier.maxPages) {
        maxPagesReached = true;
        return;
      }
      pagesFetched++;
      const before = kind === 'product' ? options.previous?.get(url) : undefined;
      const page = await limiter.run(
        new URL(url).host,
        () => fetcher.fetchText({ url, accept: pageTypes, allowedHosts: supplier.allowedHosts, etag: before?.etag, lastModified: before?.lastModified, signal }),
        signal,
      );
      switch (page.kind) {
        case 'refused':
          return void fail(url, page.reason, page.message);
        case 'not-modified':
          notModified.push(url);
          if (before) validators.set(url, before);
          return;
        case 'ok':
          break;
      }
      seen.add(page.url);
      if (kind === 'product') {
        const v = { ...(page.etag ? { etag: page.etag } : {}), ...(page.lastModified ? { lastModified: page.lastModified } : {}) };
        if (v.etag || v.lastModified) validators.set(url, v);
      }
      try {
        readPage(url, kind, page.url, page.text);
      } catch (error) {
        // A page our parsers choke on is that page's problem, not the run's.
        fail(url, 'malformed', `${url}: could not be read (${error instanceof Error ? error.message : String(error)}); the page was skipped`);
      }
    } finally {
      done++;
      options.onProgress?.(done, Math.min(seen.size, supplier.maxPages), url);
    }
  }

  const seenSitemaps = new Set<string>();
  async function visitSitemap(url: string): Promise<void> {
    signal?.throwIfAborted();
    // An index may list a sitemap twice, or itself.
    if (seenSitemaps.has(url) || sitemapsRead >= maxSitemaps) return;
    seenSitemaps.add(url);
    sitemapsRead++;
    if (!(await allowedByRobots(url))) return;
    const result = await limiter.run(new URL(url).host, () => fetcher.fetchBytes({ url, accept: sitemapTypes, allowedHosts: supplier.allowedHosts, maxBytes: sitemapMaxBytes, signal }), signal);
    if (result.kind === 'refused') return void fail(url, result.reason, result.message);
    if (result.kind === 'not-modified') return;
    let read: SitemapReading;
    try {
      read = readSitemap(result.bytes, result.contentType, url);
    } catch (error) {
      return void fail(url, 'malformed', `${url}: could not be read (${error instanceof Error ? error.message : String(error)}); it was skipped`);
    }
    if (!read.ok) return void fail(url, read.reason, read.message);
    for (const child of read.sitemaps) {
      const childUrl = allowedUrl(child, url, supplier);
      if (childUrl) spawn(() => visitSitemap(childUrl));
    }
    for (const loc of read.urls) {
      if (sitemapUrls >= sitemapMaxUrls) break;
      sitemapUrls++;
      const pageUrl = allowedUrl(loc, url, supplier);
      const kind = pageUrl ? classify(pageUrl) : undefined;
      if (pageUrl && kind) enqueue(pageUrl, kind);
    }
  }

  if (supplier.sitemap) spawn(() => visitSitemap(supplier.sitemap!));
  for (const url of starts) enqueue(url, productPattern?.test(url) ? 'product' : productPattern ? 'listing' : 'page');
  while (pending.size) await Promise.race(pending);
  signal?.throwIfAborted();

  const byUrl = (a: { url: string }, b: { url: string }) => (a.url < b.url ? -1 : a.url > b.url ? 1 : 0);
  return {
    supplier: supplier.slug,
    products: [...products.values()].sort((a, b) => byUrl(a, b) || ((a.sku ?? '') < (b.sku ?? '') ? -1 : (a.sku ?? '') > (b.sku ?? '') ? 1 : 0)),
    notModified: notModified.sort(),
    errors: errors.sort((a, b) => byUrl(a, b) || (a.message < b.message ? -1 : 1)),
    pagesFetched,
    robotsBlocked: robotsBlocked.sort(),
    validators,
    maxPagesReached,
  };
}

function checkStartUrls(supplier: SupplierConfig): string[] {
  if (!supplier.startUrls?.length && !supplier.sitemap) throw new ScrapeConfigError(supplier.slug, 'startUrls', 'there is neither a start URL nor a sitemap, so there is nothing to fetch.');
  const check = (raw: string, field: string): string => {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw new ScrapeConfigError(supplier.slug, field, `"${raw}" is not a URL.`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ScrapeConfigError(supplier.slug, field, `"${raw}" is not an http(s) address.`);
    if (!isHostAllowed(url, supplier.allowedHosts)) throw new ScrapeConfigError(supplier.slug, field, `"${raw}" is on ${url.host}, which is not in allowedHosts (${supplier.allowedHosts.join(', ')}).`);
    url.hash = '';
    return url.toString();
  };
  if (supplier.sitemap) check(supplier.sitemap, 'sitemap');
  return (supplier.startUrls ?? []).map((u, i) => check(u, `startUrls[${i}]`));
}

function allowedUrl(raw: string, base: string, supplier: SupplierConfig): string | undefined {
  try {
    const url = new URL(raw.trim(), base);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
    if (!isHostAllowed(url, supplier.allowedHosts)) return undefined;
    url.hash = '';
    return url.toString();
  } catch {
    return undefined;
  }
}

type SitemapReading = { ok: true; urls: string[]; sitemaps: string[] } | { ok: false; reason: ScrapeErrorReason; message: string };

/** A sitemap (urlset), a sitemap index, either gzipped, or a plain list of URLs. */
function readSitemap(bytes: Uint8Array, contentType: string, url: string): SitemapReading {
  let body = Buffer.from(bytes);
  if (body[0] === 0x1f && body[1] === 0x8b) {
    try {
      body = gunzipSync(body, { maxOutputLength: sitemapMaxBytes });
    } catch (error) {
      const tooLarge = error instanceof RangeError || (error as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE';
      return tooLarge
        ? { ok: false, reason: 'too-large', message: `${url}: the sitemap is larger than ${sitemapMaxBytes / 1024 / 1024} MiB once unzipped; it was skipped` }
        : { ok: false, reason: 'malformed', message: `${url}: the sitemap is not valid gzip; it was skipped` };
    }
  }
  const { text } = decodeText(body, contentType === 'text/plain' ? 'text/plain' : 'application/xml');
  if (!text.trimStart().startsWith('<')) {
    const urls = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => /^https?:\/\//i.test(l));
    return urls.length ? { ok: true, urls, sitemaps: [] } : { ok: false, reason: 'malformed', message: `${url}: not a sitemap (no <urlset>, <sitemapindex> or list of URLs); it was skipped` };
  }
  const $ = load(text, { xml: true });
  const locs = (selector: string) => $(selector).map((_, el) => $(el).text().trim()).get().filter(Boolean);
  const urls = locs('urlset > url > loc');
  const sitemaps = locs('sitemapindex > sitemap > loc');
  if (!urls.length && !sitemaps.length && !$('urlset, sitemapindex').length) {
    return { ok: false, reason: 'malformed', message: `${url}: not a sitemap (no <urlset> or <sitemapindex>); it was skipped` };
  }
  return { ok: true, urls, sitemaps };
}

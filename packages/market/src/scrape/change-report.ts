import { formatMoney, type Money } from '@rose/core';
import { productKey, type Availability, type ScrapedProduct } from './extract.ts';

/** A product as the last run left it (from the database). */
export interface KnownProduct {
  readonly url: string;
  readonly sku?: string | undefined;
  readonly name: string;
  readonly price?: Money | undefined;
  readonly availability: Availability;
  /** The page it was found on, when it differs from `url`: matched against `notModified`. */
  readonly pageUrl?: string | undefined;
}

export interface ProductRef {
  readonly url: string;
  readonly sku?: string;
  readonly name: string;
}

export interface PriceChange extends ProductRef {
  readonly from: Money | undefined;
  readonly to: Money | undefined;
}

export interface ChangeReport {
  /** Seen now, not known before. */
  readonly new: ScrapedProduct[];
  /** The price differs (or the page no longer shows one: `to` undefined). */
  readonly priceChanged: PriceChange[];
  /** Out of stock before, in stock now. */
  readonly backInStock: ProductRef[];
  /** Not out of stock before, out of stock now. */
  readonly outOfStock: ProductRef[];
  /** Known before, not seen, and its page was fetched fine or not found: it is no longer offered. */
  readonly gone: KnownProduct[];
  /** Known before but not checked this run (its page failed, robots.txt, maxPages): neither gone nor unchanged. */
  readonly unchecked: KnownProduct[];
  /** Known before and the same now (or its page was not modified). */
  readonly unchanged: number;
}

export interface ChangeReportOptions {
  /** Pages that gave nothing this run (errors, robots-blocked): their products are unchecked, not gone. */
  readonly failedPages?: Iterable<string>;
  /** The run did not reach every page (maxPages): nothing unseen counts as gone. */
  readonly incomplete?: boolean;
}

/**
 * What changed since the last run, product by product (matched by URL and SKU): new, price
 * changed, back in stock, out of stock, gone, and how many are unchanged. Products on pages
 * that answered 304 are unchanged; products on pages that failed are `unchecked`, never gone.
 *
 * @example
 * const report = changeReport(known, run.products, run.notModified, { failedPages: [...run.errors.map((e) => e.url), ...run.robotsBlocked], incomplete: run.maxPagesReached });
 */
export function changeReport(before: readonly KnownProduct[], after: readonly ScrapedProduct[], notModified: Iterable<string>, options: ChangeReportOptions = {}): ChangeReport {
  const now = new Map(after.map((p) => [productKey(p), p]));
  const unmodified = new Set(notModified);
  const failed = new Set(options.failedPages ?? []);
  const known = new Set<string>();
  const report = { new: [] as ScrapedProduct[], priceChanged: [] as PriceChange[], backInStock: [] as ProductRef[], outOfStock: [] as ProductRef[], gone: [] as KnownProduct[], unchecked: [] as KnownProduct[], unchanged: 0 };

  for (const old of before) {
    const key = productKey(old);
    known.add(key);
    const current = now.get(key);
    if (!current) {
      const page = old.pageUrl ?? old.url;
      if (unmodified.has(page)) report.unchanged++;
      else if (failed.has(page) || options.incomplete) report.unchecked.push(old);
      else report.gone.push(old);
      continue;
    }
    const ref = { url: current.url, ...(current.sku ? { sku: current.sku } : {}), name: current.name };
    let changed = false;
    if (!sameMoney(old.price, current.price)) {
      report.priceChanged.push({ ...ref, from: old.price, to: current.price });
      changed = true;
    }
    if (old.availability === 'out-of-stock' && current.availability === 'in-stock') {
      report.backInStock.push(ref);
      changed = true;
    } else if (old.availability !== 'out-of-stock' && current.availability === 'out-of-stock') {
      report.outOfStock.push(ref);
      changed = true;
    }
    if (!changed) report.unchanged++;
  }
  for (const [key, product] of now) if (!known.has(key)) report.new.push(product);
  return report;
}

function sameMoney(a: Money | undefined, b: Money | undefined): boolean {
  return a === b || (a !== undefined && b !== undefined && a.minor === b.minor && a.currency === b.currency);
}

/**
 * The report as lines for the CLI: a summary, then each change with the product's name and
 * address, money in its currency's style, then the pages that failed.
 */
export function formatChangeReport(report: ChangeReport, errors: readonly { url: string; message: string }[] = [], locale = 'en-GB'): string[] {
  const money = (m: Money | undefined) => (m ? formatMoney(m, locale) : 'no price');
  const lines: string[] = [];
  const counts = [
    `${report.new.length} new`,
    `${report.priceChanged.length} price ${report.priceChanged.length === 1 ? 'change' : 'changes'}`,
    `${report.backInStock.length} back in stock`,
    `${report.outOfStock.length} out of stock`,
    `${report.gone.length} gone`,
    `${report.unchanged} unchanged`,
  ];
  if (report.unchecked.length) counts.push(`${report.unchecked.length} not checked`);
  if (errors.length) counts.push(`${errors.length} ${errors.length === 1 ? 'page' : 'pages'} failed`);
  lines.push(counts.join(', '));
  const section = (title: string, items: string[]) => {
    if (!items.length) return;
    lines.push('', `${title}:`, ...items.map((i) => `  ${i}`));
  };
  section('New', report.new.map((p) => `${p.name}: ${money(p.price)}${p.priceFrom ? ' (from)' : ''} <${p.url}>`));
  section('Price changes', report.priceChanged.map((p) => `${p.name}: ${money(p.from)} → ${money(p.to)} <${p.url}>`));
  section('Back in stock', report.backInStock.map((p) => `${p.name} <${p.url}>`));
  section('Out of stock', report.outOfStock.map((p) => `${p.name} <${p.url}>`));
  section('Gone', report.gone.map((p) => `${p.name} <${p.url}>`));
  section('Not checked (their pages failed or were not reached)', report.unchecked.map((p) => `${p.name} <${p.url}>`));
  section('Failed pages', errors.map((e) => e.message));
  return lines;
}

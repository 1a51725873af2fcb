import type { Kysely, Transaction } from 'kysely';
import { RoseError } from '@rose/core';
import type { Database } from '@rose/db';
import { abortableSleep, createPageFetcher } from '@rose/http';
import { scrapeSupplier } from './scrape/crawl.ts';
import { createHostLimiter } from './scrape/host-limiter.ts';
import { createRobots } from './scrape/robots.ts';
import type { SupplierConfig } from './scrape/supplier-config.ts';
import { applyScrape, previousValidators, recordScrapeRun, ScrapeSetupError, type ImageFetch, type ScrapeReport } from './scrape.service.ts';

const imageTypes = ['image/jpeg', 'image/png', 'image/webp', 'image/gif', 'image/avif'];

export type SupplierRun = { supplier: string; ok: true; report: ScrapeReport; seconds: number } | { supplier: string; ok: false; error: string; hint?: string | undefined; seconds: number };

export interface ScrapeRunOptions {
  dryRun?: boolean;
  /** Lets fetches reach loopback and private addresses: for tests against 127.0.0.1 only. */
  allowPrivateAddresses?: boolean;
  /** Overrides every supplier's rate limit (0: off, for benchmarks). */
  rateLimitMs?: number;
  now?: () => Date;
  onProgress?: (supplier: string, done: number, total: number, url: string) => void;
  onSupplierStart?: (supplier: string) => void;
  /** Runs in the transaction that applies a supplier's changes (the app queues the rebuild). */
  afterChange?: (trx: Transaction<Database>, products: string[]) => Promise<void>;
  signal?: AbortSignal;
}

/**
 * Picks the suppliers asked for (all when none), refusing unknown names with the list of
 * known ones.
 */
export function selectSuppliers(all: readonly SupplierConfig[], requested: readonly string[]): SupplierConfig[] {
  const unknown = requested.filter((r) => !all.some((s) => s.slug === r));
  if (unknown.length) {
    throw new RoseError({
      code: 'bad-argument',
      title: 'Unknown supplier',
      message: `No supplier called ${unknown.map((u) => `"${u}"`).join(', ')} in content/market/suppliers.json.`,
      hint: all.length ? `Suppliers: ${all.map((s) => s.slug).join(', ')}.` : 'The file lists no suppliers yet.',
    });
  }
  return requested.length ? all.filter((s) => requested.includes(s.slug)) : [...all];
}

/**
 * Scrapes suppliers one after another and applies each to the market: politely (the engine's
 * robots.txt, rate limit and concurrency; images through the same rules), one transaction per
 * supplier, and a run record per supplier (not for dry runs) so staff see the last run. A
 * supplier that cannot be scraped at all is a failed run; the others still go ahead.
 *
 * @example
 * const runs = await runScrapes(db, selectSuppliers(await loadSuppliers(file), []), { dryRun: true });
 */
export async function runScrapes(db: Kysely<Database>, suppliers: readonly SupplierConfig[], opts: ScrapeRunOptions = {}): Promise<SupplierRun[]> {
  const now = opts.now ?? (() => new Date());
  const out: SupplierRun[] = [];
  for (const base of suppliers) {
    const supplier = opts.rateLimitMs === undefined ? base : { ...base, rateLimitMs: opts.rateLimitMs };
    const started = now();
    const t0 = performance.now();
    opts.onSupplierStart?.(supplier.slug);
    const fetcher = createPageFetcher({ allowPrivateAddresses: Boolean(opts.allowPrivateAddresses) });
    try {
      const crawl = await scrapeSupplier(supplier, {
        fetcher,
        previous: opts.dryRun ? new Map() : await previousValidators(db, supplier.slug),
        allowPrivateAddresses: Boolean(opts.allowPrivateAddresses),
        ...(opts.onProgress ? { onProgress: (done: number, total: number, url: string) => opts.onProgress!(supplier.slug, done, total, url) } : {}),
        ...(opts.signal ? { signal: opts.signal } : {}),
      });
      // Images under the same rules as pages: robots.txt, the host's rate limit, allowed hosts.
      const limiter = createHostLimiter({ rateLimitMs: supplier.rateLimitMs ?? 1000, perHostConcurrency: supplier.concurrency ?? 2 });
      const robots = createRobots({ fetcher, allowedHosts: supplier.allowedHosts, limiter });
      // The crawl's own limiter is gone with it: the first image waits one interval, so the
      // host never sees two requests closer than its limit.
      let waited = false;
      const fetchImage: ImageFetch = async (url) => {
        if (!waited) {
          waited = true;
          await abortableSleep(supplier.rateLimitMs ?? 1000);
        }
        let parsed: URL;
        try {
          parsed = new URL(url);
        } catch {
          return { ok: false, reason: 'not a URL' };
        }
        const verdict = await robots.check(parsed);
        if (!verdict.allowed) return { ok: false, reason: verdict.message };
        const result = await limiter.run(parsed.host, () => fetcher.fetchBytes({ url: parsed, accept: imageTypes, allowedHosts: supplier.allowedHosts, maxBytes: 10 * 1024 * 1024 }));
        return result.kind === 'ok' ? { ok: true, bytes: result.bytes } : { ok: false, reason: result.kind === 'refused' ? result.message : 'not modified' };
      };
      const report = await applyScrape(
        db,
        supplier,
        {
          products: crawl.products,
          notModified: crawl.notModified,
          errors: [...crawl.errors.map((e) => ({ url: e.url, reason: e.message })), ...crawl.robotsBlocked.map((url) => ({ url, reason: 'not fetched: robots.txt does not allow it, or could not be read' }))],
          pagesFetched: crawl.pagesFetched,
          validators: crawl.validators,
          maxPagesReached: crawl.maxPagesReached,
          failedPages: [...crawl.errors.map((e) => e.url), ...crawl.robotsBlocked],
        },
        { now: now(), dryRun: Boolean(opts.dryRun), fetchImage, ...(opts.afterChange ? { afterChange: opts.afterChange } : {}) },
      );
      if (!opts.dryRun) await recordScrapeRun(db, { supplier: supplier.slug, startedAt: started, finishedAt: now(), status: 'ok', pages: report.pages, report });
      out.push({ supplier: supplier.slug, ok: true, report, seconds: (performance.now() - t0) / 1000 });
    } catch (error) {
      if (opts.signal?.aborted) throw error;
      const message = error instanceof Error ? error.message : String(error);
      const hint = error instanceof ScrapeSetupError ? error.hint : error instanceof RoseError ? error.hint : undefined;
      if (!(error instanceof ScrapeSetupError) && !(error instanceof RoseError)) throw error;
      if (!opts.dryRun) await recordScrapeRun(db, { supplier: supplier.slug, startedAt: started, finishedAt: now(), status: 'failed', pages: 0, error: message });
      out.push({ supplier: supplier.slug, ok: false, error: message, hint, seconds: (performance.now() - t0) / 1000 });
    }
  }
  return out;
}

/** A run for people: what changed, what was skipped and why. */
export function describeRun(run: SupplierRun, money: (m: { minor: number; currency: string }) => string): string[] {
  if (!run.ok) return [`✖ ${run.supplier}: the run failed — ${run.error}`, ...(run.hint ? [`  → ${run.hint}`] : [])];
  const r = run.report;
  const lines = [
    `${run.supplier}: ${r.pages} page(s) fetched, ${r.notModified} unchanged since the last run (${run.seconds.toFixed(1)} s)`,
    `  ${r.new.length} new, ${r.priceChanged.length} price changed, ${r.backInStock.length} back in stock, ${r.outOfStock.length} out of stock, ${r.gone.length} gone (now unavailable), ${r.unchecked.length} not checked, ${r.unchanged} unchanged, ${r.errors.length} problem(s)`,
  ];
  for (const p of r.new.slice(0, 20)) lines.push(`  + ${p.name}${p.sku ? ` (${p.sku})` : ''} ${p.url}`);
  for (const p of r.priceChanged.slice(0, 20)) lines.push(`  ~ ${p.name}: ${money(p.from)} → ${money(p.to)} ${p.url}`);
  for (const p of r.backInStock.slice(0, 20)) lines.push(`  ↑ back in stock: ${p.name} ${p.url}`);
  for (const p of r.outOfStock.slice(0, 20)) lines.push(`  ↓ out of stock: ${p.name} ${p.url}`);
  for (const p of r.gone.slice(0, 20)) lines.push(`  - gone: ${p.name} ${p.url}`);
  for (const e of r.errors.slice(0, 30)) lines.push(`  ! ${e.url}: ${e.reason}`);
  const more = r.new.length + r.priceChanged.length + r.backInStock.length + r.outOfStock.length + r.gone.length + r.errors.length - (lines.length - 2);
  if (more > 0) lines.push(`  … and ${more} more (rose market scrape --status --json shows the whole report)`);
  return lines;
}

/** Every run's lines (`describeRun`), one run after another. */
export function describeRunLines(runs: readonly SupplierRun[], money: (m: { minor: number; currency: string }) => string): string[] {
  return runs.length ? runs.flatMap((r) => describeRun(r, money)) : ['No suppliers to scrape: content/market/suppliers.json lists none.'];
}

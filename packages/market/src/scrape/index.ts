// The supplier-scraping engine: a pure library (no database). `scrapeSupplier` crawls one
// supplier's site politely (robots.txt, Crawl-delay, per-host rate and concurrency, maxPages)
// through @rose/http's page fetcher, `extractProducts` reads schema.org data (JSON-LD, microdata,
// RDFa), OpenGraph or the supplier's selectors, `parsePrice` reads prices into minor units or says
// why not, and `changeReport` compares a run with what the database knew. Pages that fail are
// values in the result, never throws; only configuration that leaves nothing to fetch throws.
export {
  scrapeSupplier,
  ScrapeConfigError,
  type ScrapeOptions,
  type ScrapeResult,
  type ScrapePageError,
  type ScrapeErrorReason,
  type PageValidators,
} from './crawl.ts';
export { extractProducts, extractLinks, productKey, type ScrapedProduct, type Availability, type ProductSource, type PageLinks, type ExtractSupplier } from './extract.ts';
export { parsePrice, type ParsedPrice, type PriceProblem, type ParsePriceOptions } from './price.ts';
export { loadSuppliers, parseSuppliers, type SupplierConfig, type SupplierConfigInput, type SupplierSelectors } from './supplier-config.ts';
export {
  changeReport,
  formatChangeReport,
  type ChangeReport,
  type ChangeReportOptions,
  type KnownProduct,
  type PriceChange,
  type ProductRef,
} from './change-report.ts';
export { createRobots, type RobotsRules, type RobotsVerdict, type RobotsOptions } from './robots.ts';
export { createHostLimiter, type HostLimiter, type HostLimiterOptions } from './host-limiter.ts';

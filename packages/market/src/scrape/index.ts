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

import type { ColumnType, Generated } from 'kysely';
import type { CreatedAt, Timestamp, UpdatedAt } from './columns.ts';

/** Where a market row came from: `content/market/`, a staff member, or supplier scraping. */
export type MarketSource = 'content' | 'staff' | 'scrape';
export type StockMode = 'tracked' | 'on-demand';

export interface MarketCategoriesTable {
  id: Generated<string>;
  slug: string;
  name: string;
  description: string | null;
  position: ColumnType<number, number | undefined, number>;
  source: Exclude<MarketSource, 'scrape'>;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

export interface MarketProducersTable {
  id: Generated<string>;
  slug: string;
  name: string;
  story_html: ColumnType<string, string | undefined, string>;
  location: string | null;
  website: string | null;
  /** A media ref (`/market/images/higher-farm.jpg`). */
  image: string | null;
  contact_email: string | null;
  contact_phone: string | null;
  featured: ColumnType<boolean, boolean | undefined, boolean>;
  source: Exclude<MarketSource, 'scrape'>;
  archived_at: Timestamp | null;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

export interface MarketProductsTable {
  id: Generated<string>;
  slug: string;
  producer_id: string;
  category_id: string | null;
  name: string;
  description: ColumnType<string, string | undefined, string>;
  image: string | null;
  available: ColumnType<boolean, boolean | undefined, boolean>;
  source: MarketSource;
  supplier: string | null;
  supplier_url: string | null;
  archived_at: Timestamp | null;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

/** A way a product is sold (a 500 g bag, a 1 kg bag): its own SKU, price and stock. */
export interface MarketVariantsTable {
  id: Generated<string>;
  product_id: string;
  sku: string;
  /** A scraped variant's SKU as the supplier writes it ('' when the page gives none). */
  supplier_sku: ColumnType<string | null, string | null | undefined, string | null>;
  unit: string;
  size: string | null;
  /** Integer minor units of `currency` (pence for GBP). */
  price_minor: number;
  currency: string;
  stock_mode: StockMode;
  /** How many are left when `stock_mode` is 'tracked'; null when made to order. */
  stock_count: number | null;
  position: ColumnType<number, number | undefined, number>;
  archived_at: Timestamp | null;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

/** An order cycle (Open Food Network's word): when ordering opens and closes, and what is offered. */
export interface MarketCyclesTable {
  id: Generated<string>;
  slug: string;
  name: string;
  opens_at: Timestamp;
  closes_at: Timestamp;
  /** The IANA zone the cycle's times are shown in. */
  time_zone: string;
  note: ColumnType<string, string | undefined, string>;
  source: Exclude<MarketSource, 'scrape'>;
  archived_at: Timestamp | null;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

export interface MarketCycleProductsTable {
  cycle_id: string;
  product_id: string;
}

export interface MarketCycleProducersTable {
  cycle_id: string;
  producer_id: string;
}

export interface MarketAuditTable {
  id: Generated<string>;
  at: ColumnType<Date, Date | string | undefined, never>;
  /** `user:<id>` (staff pages), `cli:<os user>` (commands), `scrape:<supplier>`. */
  actor: string;
  action: string;
  entity: 'producer' | 'product' | 'variant' | 'cycle' | 'category';
  entity_slug: string;
  details: ColumnType<unknown, string | undefined, string>;
}

export type ScrapeRunStatus = 'running' | 'ok' | 'failed' | 'dry-run';

export interface MarketScrapeRunsTable {
  id: Generated<string>;
  supplier: string;
  started_at: Timestamp;
  finished_at: Timestamp | null;
  status: ScrapeRunStatus;
  pages: ColumnType<number, number | undefined, number>;
  report: ColumnType<unknown, string | undefined, string>;
  error: string | null;
}

export interface MarketScrapePagesTable {
  url: string;
  supplier: string;
  etag: string | null;
  last_modified: string | null;
  /** The canonical URL of the product found on the page. */
  product_url: ColumnType<string | null, string | null | undefined, string | null>;
  fetched_at: Timestamp;
}

/** The market's tables (`@rose/market`). */
export interface MarketTables {
  market_categories: MarketCategoriesTable;
  market_producers: MarketProducersTable;
  market_products: MarketProductsTable;
  market_variants: MarketVariantsTable;
  market_cycles: MarketCyclesTable;
  market_cycle_products: MarketCycleProductsTable;
  market_cycle_producers: MarketCycleProducersTable;
  market_audit: MarketAuditTable;
  market_scrape_runs: MarketScrapeRunsTable;
  market_scrape_pages: MarketScrapePagesTable;
}

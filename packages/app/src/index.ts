// What pages import (sites/): nothing here loads the services' module graph, which a render
// thread of a build never needs; `@rose/app/server` has what starts them (the CLI's).
export { getServices, provideServices } from './services-holder.ts';
export type { Services, CreateServicesOptions, FrontHandler } from './services.ts';
export { reportPageRendered } from './build-progress.ts';
export { getSiteData } from './site-data.ts';
export type { SsoState } from '@rose/oauth';
export { requestOrigin, siteOriginRedirect, sameHost, type OriginSettings } from '@rose/config';
export type { SessionUser, ValidSession } from '@rose/auth';
// What static pages render with: the blog's views and feeds, the media part's image type.
export { renderRss, renderAtom, renderJsonFeed, renderSitemap, blogSitemapEntries, buildSearchIndex, type BlogSnapshot, type PostView } from '@rose/blog';
export type { ResponsiveImage } from '@rose/media';
export {
  productJsonLd,
  buildMarketSearchIndex,
  marketSitemapEntries,
  renderMarketRss,
  marketPerPage,
  cycleState,
  type MarketSnapshot,
  type ProductView,
  type ProductCard,
  type ProducerView,
  type CategoryView,
  type CycleView,
  type LiveProduct,
  type Availability,
} from '@rose/market';
export { marketStockFragment } from './fragment-names.ts';
export { describeManageError, type ManageError } from '@rose/market';

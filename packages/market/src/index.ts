export { loadMarketContent, type MarketBundle } from './content-loader.ts';
export { seedMarket, prepareMarketImages, MarketSeedPruneNeededError, type MarketSeedSummary, type MarketSeedCounts } from './seed.service.ts';
export { loadMarketSnapshot, type MarketSnapshot, type ProductView, type ProductCard, type ProducerView, type CategoryView, type CycleView, type VariantView, type Availability } from './market.view.ts';
export { marketPageKeys, marketPerPage, cycleState } from './page-keys.ts';
export { productJsonLd, buildMarketSearchIndex, marketSitemapEntries, renderMarketRss } from './feed.view.ts';
export { readLiveProducts, currentCycle, type LiveProduct, type LiveVariant, type Ordering } from './stock.service.ts';
export { createMarketManager, describeManageError, type MarketManager, type ManageError, type MarketChange, type ProductRow, type ProducerRow, type CycleRow } from './manage.service.ts';

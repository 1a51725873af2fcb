// Names of cached server-island fragments, shared by the islands (pages) and what purges them.
// No imports: the pages' entry (`@rose/app`) loads this in every render thread.

/** The market's stock island (product pages and cards): purged whenever stock, prices or ordering change. */
export const marketStockFragment = 'market-stock';

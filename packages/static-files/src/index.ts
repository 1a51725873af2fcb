export { precompressTree, type PrecompressOptions, type PrecompressSummary } from './precompress.ts';
export { createStaticHandler, type StaticHandler, type StaticHandlerOptions } from './static-handler.ts';
export { prepareDynamicResponse, type DynamicResponseOptions } from './dynamic-response.ts';
export { patchStaticIndex, type StaticIndex } from './static-index.ts';

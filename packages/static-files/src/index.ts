export { precompressTree } from './precompress.ts';
export { createStaticHandler } from './static-handler.ts';
export { prepareDynamicResponse } from './dynamic-response.ts';
export { patchStaticIndex } from './static-index.ts';

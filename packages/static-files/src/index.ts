export { precompressTree, precompressNewFileSync } from './precompress.ts';
export { createStaticHandler } from './static-handler.ts';
export { prepareDynamicResponse } from './dynamic-response.ts';
export { patchStaticIndex, cacheControls } from './static-index.ts';
// The headers rose serve sends, for front proxies that must send the same (rose caddy config).
export { assetPolicy, baseSecurityHeaders, htmlPolicy } from './csp.ts';

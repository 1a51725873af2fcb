export { createSiteBuilder, sameIgnoringIslandIds, normalisePerRender, type SiteBuilder, type SiteBuildDeps, type BuildRequest, type BuildResult, type BuildProgress, type ReleasePatch, type RenderData } from './site-build.ts';
export { ownerOf, resolveParts, type StaticSource, type Snapshots } from './static-source.ts';
export { loadWarmRenderer, hasWarmRenderer, type WarmRenderer, type RenderedFile } from './warm-renderer.ts';
export { sourceHash } from './source-hash.ts';

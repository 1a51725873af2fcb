export { normalisePerRender } from './release-compose.ts';
export { createSiteBuilder, type SiteBuilder, type BuildProgress, type BuildResult, type ReleasePatch, type RenderData } from './site-build.ts';
export { type StaticSource, type Snapshots } from './static-source.ts';

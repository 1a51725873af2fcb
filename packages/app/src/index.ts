export { createServices, getServices, provideServices, type Services, type HealthReport, type CreateServicesOptions, type FrontHandler } from './services.ts';
export type { Logger } from './logger.ts';
export { setBuildProgressReporter, reportPageRendered, type BuildProgressReporter } from './build-progress.ts';
export { getSiteData, provideSiteData, type SiteData } from './site-data.ts';
export { createSiteBuild, readSnapshots, staticSources, type SiteBuildOutput } from './wire-site.ts';
export type { OutboxWorkerOptions } from './outbox-worker.ts';
export type { GhostServices } from './wire-ghost.ts';
export type { OAuthServices } from './wire-oauth.ts';
// Through startup.ts: astro-key.ts is imported only on demand (Vite warns when a module is both).
export { ensureAstroKey, staticPartNames } from './startup.ts';
export type { SsoState } from '@rose/oauth';
export { requestOrigin, siteOriginRedirect, sameHost, type OriginSettings } from '@rose/config';
export type { SessionUser, ValidSession } from '@rose/auth';
// What static pages render with: the blog's views and feeds, the media part's image type.
export { renderRss, renderAtom, renderJsonFeed, renderSitemap, blogSitemapEntries, buildSearchIndex, type BlogSnapshot, type PostView } from '@rose/blog';
export type { ResponsiveImage } from '@rose/media';

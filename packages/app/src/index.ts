export { createServices, getServices, provideServices, type Services, type HealthReport, type CreateServicesOptions } from './services.ts';
export { createFragments, type Fragments } from './fragments.ts';
export { createLogger, type Logger } from './logger.ts';
export { setBuildProgressReporter, reportPageRendered, type BuildProgressReporter } from './build-progress.ts';
export { getSiteData, provideSiteData, readSiteSnapshot, type SiteData } from './site-data.ts';
export { createBlogJobHandlers, enqueueBlogJob, mergeRebuilds, type BlogJob, type RebuildRequest } from './blog-jobs.ts';
export { ensureAstroKey } from './astro-key.ts';
export type { SsoState } from '@rose/oauth';

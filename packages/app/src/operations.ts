// What staff commands need beyond the site's services, kept out of `@rose/app`'s main entry:
// the site's pages import that one, and Astro bundles whatever it reaches.
export { openDeploy, deployBuild, type OpenedDeploy } from './wire-deploy.ts';
export { seedContentDir, type ContentSeedSummary } from './seed-content.ts';

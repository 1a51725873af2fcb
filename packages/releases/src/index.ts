export { createReleaseStore, type Release, type ReleaseManifest, type ReleaseStore, type StagedRelease } from './releases.ts';

export { createReleaseStore, linkReleaseFiles, overlayFiles, readReleaseFile, type DamagedRelease, type Release, type ReleaseManifest, type ReleaseStore, type StagedRelease } from './releases.ts';

export { createReleaseStore, readReleaseFile, type Release, type ReleaseStore } from './releases.ts';

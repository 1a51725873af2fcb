import { preparePgliteTemplate } from '@rose/testing';

/** Builds the migrated PGlite template once per run so each test file loads it quickly. */
export default async function setup(): Promise<void> {
  await preparePgliteTemplate();
}

export { createTestDatabase, createEmptyPostgresDatabase, dropDatabase, preparePgliteTemplate, databaseKinds, type DatabaseKind, type TestDatabase } from './test-database.ts';
export { runRose, startRose, freePort, roseEnv, type RunResult, type RunningRose } from './cli.ts';
export { repoRoot, migrationsDir, pgAdminUrl, testRedisUrl, makeProjectTempDir } from './paths.ts';
export { launchBrowser, chromiumPath } from './browser.ts';
export { startGhost, ensureGhostInstalled, ghostCacheDir, type GhostServer } from './ghost-server.ts';
export { startSmtpSink, type SmtpSink } from './smtp-sink.ts';
export { httpRequest, type RawResponse } from './http.ts';

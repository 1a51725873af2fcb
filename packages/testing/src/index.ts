export { createTestDatabase, createEmptyPostgresDatabase, dropDatabase, preparePgliteTemplate, databaseKinds, type TestDatabase } from './test-database.ts';
export { runRose, startRose, freePort, roseEnv, type RunResult, type RunningRose } from './cli.ts';
export { repoRoot, migrationsDir, testRedisUrl, makeProjectTempDir } from './paths.ts';
export { builtSiteUrl, copyBuiltSite } from './built-site.ts';
export { launchBrowser } from './browser.ts';
export { startGhost, type GhostServer } from './ghost-server.ts';
export { startSmtpSink, type SmtpSink } from './smtp-sink.ts';
export { httpRequest } from './http.ts';
export { startSshd, type Sshd } from './sshd.ts';

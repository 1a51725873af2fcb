export { openDatabase, openPglite, type DatabaseHandle } from './database.ts';
export type { EmbeddedStatus } from './pglite-shared.ts';
export { createMigrations, type Migrations, type MigrationStatus, type RollbackOptions, type RollbackResult } from './migrations.ts';
export { describeLosses, losesData, RollbackRefusedError, type DataLoss, type RollbackBackup, type RollbackPlan } from './rollback.ts';
export type * from './schema.ts';

export { openDatabase, openPglite, type DatabaseHandle } from './database.ts';
export { embeddedOwner } from './pglite-ownership.ts';
export { createMigrations, type Migrations, type MigratePlan } from './migrations.ts';
export { describeLosses, RollbackRefusedError, type DataLoss } from './rollback.ts';
export type { Database, ContentSource, Job, MediaSource, MediaVariant, MemberTier, PostVisibility, UserRole, MarketSource, MarketVariantsTable, StockMode, ScrapeRunStatus, DeployResult, DeployStepRecord, DeployTargetKind, ApActorsTable, ApObjectsTable, ApPostsTable, ApNotificationKind, ApTag, ApVisibility, BuildRequestState, BuildRequestsTable } from './schema.ts';
export {
  createBackup,
  defaultBackupDir,
  describeTargetState,
  isEmptyTarget,
  listBackups,
  pruneBackups,
  readBackup,
  restoreBackup,
  RestoreRefusedError,
  type BackupFile,
  type BackupFormat,
  type BackupManifest,
  type BackupResult,
  type RestoreOptions,
  type RestoreResult,
  type TargetState,
} from './backup.ts';

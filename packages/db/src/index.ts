export { openDatabase, openPglite, type DatabaseHandle } from './database.ts';
export { createMigrations, type Migrations } from './migrations.ts';
export { describeLosses, RollbackRefusedError } from './rollback.ts';
export type { Database, ContentSource, Job, MediaVariant, MemberTier, PostVisibility, UserRole } from './schema.ts';

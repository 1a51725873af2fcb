export { openDatabase, openPglite, type DatabaseHandle } from './database.ts';
export { createMigrations, type Migrations } from './migrations.ts';
export { describeLosses, RollbackRefusedError } from './rollback.ts';
export type { Database, ContentSource, Job, MediaSource, MediaVariant, MemberTier, PostVisibility, UserRole, MarketSource, MarketVariantsTable, StockMode, ScrapeRunStatus } from './schema.ts';

export { openDatabase, openPglite, type DatabaseHandle } from './database.ts';
export { createMigrations, type Migrations, type MigrationStatus } from './migrations.ts';
export type * from './schema.ts';

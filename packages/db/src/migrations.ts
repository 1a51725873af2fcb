import { promises as fs } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Kysely } from 'kysely';
import { Migrator, type Migration, type MigrationProvider, type MigrationResultSet } from 'kysely/migration';
import { RoseError, PendingMigrationsError } from '@rose/core';
import type { Database } from './schema.ts';

/** Loads `*.ts` migrations from a folder, ordered by their timestamped names. */
class FolderMigrationProvider implements MigrationProvider {
  readonly #folder: string;
  constructor(folder: string) {
    this.#folder = folder;
  }
  async getMigrations(): Promise<Record<string, Migration>> {
    const files = (await fs.readdir(this.#folder)).filter((f) => /^\d{14}_[a-z0-9_]+\.ts$/.test(f)).sort();
    const migrations: Record<string, Migration> = {};
    for (const file of files) {
      const mod = (await import(/* @vite-ignore */ pathToFileURL(path.join(this.#folder, file)).href)) as Partial<Migration>;
      if (typeof mod.up !== 'function') throw new Error(`Migration ${file} has no exported up() function`);
      migrations[file.replace(/\.ts$/, '')] = mod as Migration;
    }
    return migrations;
  }
}

export interface MigrationStatus {
  name: string;
  executedAt: Date | undefined;
}

export interface Migrations {
  /** Applies every pending migration, in one transaction per migration. */
  migrateToLatest(): Promise<string[]>;
  /** Reverts the most recent `steps` migrations. */
  rollback(steps?: number): Promise<string[]>;
  status(): Promise<MigrationStatus[]>;
  /** Throws PendingMigrationsError unless the schema is current. */
  assertCurrent(): Promise<void>;
}

export function createMigrations(db: Kysely<Database>, folder: string): Migrations {
  const migrator = new Migrator({ db, provider: new FolderMigrationProvider(folder) });
  return {
    async migrateToLatest() {
      return applied(await migrator.migrateToLatest(), 'migrate');
    },
    async rollback(steps = 1) {
      const names: string[] = [];
      for (let i = 0; i < steps; i++) {
        const done = applied(await migrator.migrateDown(), 'roll back');
        if (done.length === 0) break;
        names.push(...done);
      }
      return names;
    },
    async status() {
      const list = await migrator.getMigrations();
      return list.map((m) => ({ name: m.name, executedAt: m.executedAt }));
    },
    async assertCurrent() {
      const list = await migrator.getMigrations();
      const pending = list.filter((m) => !m.executedAt).map((m) => m.name);
      if (pending.length > 0) throw new PendingMigrationsError(pending);
    },
  };
}

function applied(result: MigrationResultSet, verb: string): string[] {
  const failed = result.results?.find((r) => r.status === 'Error');
  if (result.error || failed) {
    const cause = result.error as Error | undefined;
    throw new RoseError({
      code: 'migration-failed',
      title: 'Migration failed',
      message: `Could not ${verb} ${failed ? failed.migrationName : 'the database'}: ${cause?.message ?? 'unknown error'}. Nothing of that migration was applied.`,
      hint: 'Fix the cause above and run the command again.',
      cause,
    });
  }
  return (result.results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

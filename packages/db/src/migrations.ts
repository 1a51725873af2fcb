import { promises as fs } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { sql, type Kysely, type Transaction } from 'kysely';
import { Migrator, type Migration, type MigrationProvider, type MigrationResultSet } from 'kysely/migration';
import { RoseError, PendingMigrationsError, systemClock, type Clock } from '@rose/core';
import { countLoss, losesData, type DataLoss, lossesBetween, RollbackRefusedError, shapeOf, writeBackup, type RollbackBackup, type RollbackPlan } from './rollback.ts';
import type { Database } from './schema.ts';

/** Loads `*.ts` migrations from a folder, ordered by their timestamped names. */
class FolderMigrationProvider implements MigrationProvider {
  readonly #folder: string;
  constructor(folder: string) {
    this.#folder = folder;
  }
  async getMigrations(): Promise<Record<string, Migration>> {
    const migrations: Record<string, Migration> = {};
    for (const name of await migrationNames(this.#folder)) {
      const mod = (await import(/* @vite-ignore */ pathToFileURL(path.join(this.#folder, `${name}.ts`)).href)) as Partial<Migration>;
      if (typeof mod.up !== 'function') throw new Error(`Migration ${name}.ts has no exported up() function`);
      migrations[name] = mod as Migration;
    }
    return migrations;
  }
}

/** The migrations in a folder, by name (`20261129090000_initial`), oldest first. */
async function migrationNames(folder: string): Promise<string[]> {
  return (await fs.readdir(folder))
    .filter((f) => /^\d{14}_[a-z0-9_]+\.ts$/.test(f))
    .sort()
    .map((f) => f.replace(/\.ts$/, ''));
}

export interface MigrationStatus {
  name: string;
  executedAt: Date | undefined;
}

export interface RollbackOptions {
  /**
   * Asked with the plan when the rollback would delete data; resolve true to go ahead.
   * Without it, such a rollback is refused (RollbackRefusedError) and nothing changes.
   */
  approve?: (plan: RollbackPlan) => Promise<boolean>;
  /** Where the backup of the affected tables goes (a timestamped folder inside); needed when data is deleted. */
  backupDir?: string;
  clock?: Clock;
}

export interface RollbackResult {
  /** Reverted migrations, newest first. */
  reverted: string[];
  /** The backup written before anything was dropped; undefined when no data was lost. */
  backup: RollbackBackup | undefined;
  plan: RollbackPlan;
}

/** What `migrateToLatest()` would do, found by a dry run (see `planMigrate`). */
export interface MigratePlan {
  /** The pending migrations, oldest first. */
  migrations: string[];
  /** Every table and column they drop (renames included) and rows they delete, with row counts (possibly 0). */
  losses: DataLoss[];
}

export interface Migrations {
  /** Applies every pending migration, in one transaction per migration. */
  migrateToLatest(): Promise<string[]>;
  /**
   * What reverting the most recent `steps` migrations would drop: found by running their
   * `down` in a transaction that is then rolled back, comparing tables, columns and row
   * counts before and after. Changes nothing.
   */
  planRollback(steps?: number): Promise<RollbackPlan>;
  /**
   * What applying the pending migrations would drop, found the same way (run in a
   * transaction that is then rolled back). Servers still running the previous code use what
   * a migration drops or renames, so a deploy refuses such a migration unless told
   * otherwise (expand/contract). Changes nothing.
   */
  planMigrate(): Promise<MigratePlan>;
  /**
   * Reverts the most recent `steps` migrations in one transaction. When that deletes data,
   * `approve` must agree, and every row of the affected tables is written under
   * `backupDir` first (the tables locked meanwhile, so nothing slips past the backup).
   */
  rollback(steps?: number, opts?: RollbackOptions): Promise<RollbackResult>;
  status(): Promise<MigrationStatus[]>;
  /** Throws PendingMigrationsError unless the schema is current. */
  assertCurrent(): Promise<void>;
}

export function createMigrations(db: Kysely<Database>, folder: string): Migrations {
  const provider = new FolderMigrationProvider(folder);
  const migrator = new Migrator({ db, provider });
  /** Reverts up to `steps` migrations inside `trx` (kysely's migrator runs inside a given transaction). */
  const revert = async (trx: Transaction<Database>, steps: number) => {
    const inTrx = new Migrator({ db: trx, provider });
    const names: string[] = [];
    for (let i = 0; i < steps; i++) {
      const done = applied(await inTrx.migrateDown(), 'roll back');
      if (done.length === 0) break;
      names.push(...done);
    }
    return names;
  };
  /**
   * Runs `change` inside a transaction that is always rolled back, and reports the migrations
   * it ran and every table, column and row they drop (counted before the rollback).
   */
  const dryRun = async (change: (trx: Transaction<Database>) => Promise<string[]>, opts: { lockTimeout?: string } = {}) => {
    let plan: { migrations: string[]; losses: DataLoss[] } | undefined;
    await db
      .transaction()
      .execute(async (trx) => {
        if (opts.lockTimeout) await sql`select set_config('lock_timeout', ${opts.lockTimeout}, true)`.execute(trx);
        const before = await shapeOf(trx);
        await sql`savepoint rose_dry_run`.execute(trx);
        const migrations = await change(trx);
        const after = await shapeOf(trx);
        await sql`rollback to savepoint rose_dry_run`.execute(trx);
        plan = { migrations, losses: await lossesBetween(trx, before, after) };
        throw dryRunDone;
      })
      .catch((error: unknown) => {
        if (error !== dryRunDone) throw error;
      });
    return plan!;
  };
  const planRollback = (steps: number): Promise<RollbackPlan> => dryRun((trx) => revert(trx, steps));
  // A deploy's dry run must not stall the site: a table it cannot lock soon is reported, not waited for.
  const planMigrate = (): Promise<MigratePlan> => dryRun(async (trx) => applied(await new Migrator({ db: trx, provider }).migrateToLatest(), 'migrate'), { lockTimeout: '5s' });
  return {
    planMigrate,
    async migrateToLatest() {
      return applied(await migrator.migrateToLatest(), 'migrate');
    },
    planRollback: (steps = 1) => planRollback(steps),
    async rollback(steps = 1, opts = {}) {
      const plan = await planRollback(steps);
      if (plan.migrations.length === 0) return { reverted: [], backup: undefined, plan };
      const destructive = losesData(plan);
      if (destructive) {
        if (!opts.approve) throw new RollbackRefusedError(plan, 'no-approval');
        if (!opts.backupDir) throw new Error('rollback: a backupDir is needed when data would be deleted');
        if (!(await opts.approve(plan))) throw new RollbackRefusedError(plan, 'declined');
      }
      let backup: RollbackBackup | undefined;
      try {
        const reverted = await db.transaction().execute(async (trx) => {
          const touched = [...new Set(plan.losses.map((l) => l.table))];
          if (touched.length > 0) {
            // Nobody writes to what is about to go between the backup and the drop.
            await sql`lock table ${sql.join(touched.map((t) => sql.table(t)))} in access exclusive mode`.execute(trx);
            // Planned as dropping nothing, but data arrived since: that would need asking.
            for (const loss of plan.losses) {
              if (loss.rows === 0 && (await countLoss(trx, loss)) > 0) throw new RollbackRefusedError(plan, 'changed');
            }
          }
          if (destructive) {
            const tables = [...new Set(plan.losses.filter((l) => l.rows > 0).map((l) => l.table))];
            backup = await writeBackup(trx, { backupDir: opts.backupDir!, tables, plan, clock: opts.clock ?? systemClock });
          }
          const names = await revert(trx, steps);
          if (names.join() !== plan.migrations.join()) throw new RollbackRefusedError(plan, 'changed');
          return names;
        });
        return { reverted, backup, plan };
      } catch (error) {
        // Nothing was dropped: a backup of it would only mislead.
        if (backup) await fs.rm(backup.dir, { recursive: true, force: true });
        throw error;
      }
    },
    async status() {
      const list = await migrator.getMigrations();
      return list.map((m) => ({ name: m.name, executedAt: m.executedAt }));
    },
    async assertCurrent() {
      // Names from the folder and the migrations table, read only: Kysely's getMigrations
      // imports every migration and first runs its CREATE TABLE IF NOT EXISTS statements,
      // which on the embedded database cost a ~500 MiB burst a build paid before each read.
      const names = await migrationNames(folder);
      const table = await sql<{ exists: boolean }>`select to_regclass('kysely_migration') is not null as exists`.execute(db);
      const executed = table.rows[0]?.exists ? new Set((await sql<{ name: string }>`select name from kysely_migration`.execute(db)).rows.map((r) => r.name)) : new Set<string>();
      const pending = names.filter((n) => !executed.has(n));
      if (pending.length > 0) throw new PendingMigrationsError(pending);
    },
  };
}

const dryRunDone = new Error('dry run done');

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

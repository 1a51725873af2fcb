import path from 'node:path';
import type { SeedCounts } from '@rose/blog';
import { describeDatabase } from '@rose/config';
import { formatBytes, RoseError, systemClock } from '@rose/core';
import {
  createBackup,
  createMigrations,
  defaultBackupDir,
  describeLosses,
  describeTargetState,
  openDatabase,
  pruneBackups,
  restoreBackup,
  RollbackRefusedError,
  type DatabaseHandle,
  type TargetState,
  type Migrations,
} from '@rose/db';
import type { CommandContext } from '../context.ts';

/**
 * The database and its migrations, nothing else: the db commands need no cache, provider or
 * Astro, and start in a fraction of the time `ctx.openServices()` takes.
 */
async function openMigrations(ctx: CommandContext): Promise<{ database: DatabaseHandle; migrations: Migrations; close(): Promise<void> }> {
  const database = await openDatabase(ctx.config.database);
  return { database, migrations: createMigrations(database.db, path.join(ctx.config.root, 'migrations')), close: () => database.close() };
}

export async function dbMigrate(ctx: CommandContext): Promise<void> {
  const handle = await openMigrations(ctx);
  try {
    const applied = await handle.migrations.migrateToLatest();
    if (applied.length === 0) ctx.out.info(`Database is up to date (${describeDatabase(ctx.config)}).`);
    else {
      for (const name of applied) ctx.out.info(`  ✔ ${name}`);
      ctx.out.info(`Applied ${applied.length} migration(s) to ${describeDatabase(ctx.config)}.`);
    }
  } finally {
    await handle.close();
  }
}

/** The word a person types to confirm a rollback that deletes data. */
export const rollbackConfirmWord = 'rollback';

export async function dbRollback(ctx: CommandContext, opts: { steps: number; force?: boolean }): Promise<void> {
  const handle = await openMigrations(ctx);
  try {
    const { reverted, backup } = await handle.migrations.rollback(opts.steps, {
      backupDir: path.join(ctx.config.dataDir, 'backups'),
      clock: systemClock,
      approve: async (plan) => {
        // Not at a terminal and not forced: refused with the list in the error.
        if (!opts.force && !ctx.out.ask) return Promise.reject(new RollbackRefusedError(plan, 'no-approval'));
        ctx.out.info(`Reverting ${plan.migrations.join(', ')} in ${describeDatabase(ctx.config)} deletes:`);
        for (const line of describeLosses(plan)) ctx.out.info(line);
        ctx.out.info(`Every row of the tables above is saved under ${path.join(ctx.config.dataDir, 'backups')}/ first.`);
        if (opts.force) return true;
        const answer = await ctx.out.ask!(`Type "${rollbackConfirmWord}" to go ahead, anything else to stop: `);
        return answer.trim() === rollbackConfirmWord;
      },
    });
    if (reverted.length === 0) {
      ctx.out.info('Nothing to roll back: no migrations have been applied.');
      return;
    }
    if (backup) ctx.out.info(`Backed up ${backup.tables.map((t) => `${t.table} (${t.rows})`).join(', ')} to ${backup.dir}`);
    for (const name of reverted) ctx.out.info(`  ↩ ${name}`);
    ctx.out.info(`Rolled back ${reverted.length} migration(s).`);
  } finally {
    await handle.close();
  }
}

export async function dbStatus(ctx: CommandContext): Promise<void> {
  const handle = await openMigrations(ctx);
  try {
    const list = await handle.migrations.status();
    ctx.out.info(`Database: ${describeDatabase(ctx.config)}`);
    const embedded = handle.database.embedded;
    if (embedded?.role === 'client') ctx.out.info(`  open in \`${embedded.ownerCommand}\` (process ${embedded.ownerPid}); reached through its socket in ${embedded.socket}`);
    else if (embedded?.role === 'owner') ctx.out.info(`  no other process had it open: opened by this command`);
    for (const m of list) ctx.out.info(`  ${m.executedAt ? '✔' : '·'} ${m.name}${m.executedAt ? `  (applied ${m.executedAt.toISOString()})` : '  (pending)'}`);
    const pending = list.filter((m) => !m.executedAt).length;
    ctx.out.info(pending === 0 ? 'All migrations applied.' : `${pending} pending: run \`rose db migrate\`.`);
  } finally {
    await handle.close();
  }
}

export async function dbSeed(ctx: CommandContext, opts: { content?: string; prune?: boolean }): Promise<void> {
  if (opts.content !== undefined && opts.content.trim() === '') {
    throw new RoseError({ code: 'bad-argument', title: 'No content folder given', message: '--content needs a folder, but the value is empty.', hint: `Leave it out to use ROSE_CONTENT_DIR (${ctx.config.contentDir}).` });
  }
  const dir = opts.content ?? ctx.config.contentDir;
  const { seedContentDir } = await import('@rose/app/seed');
  const handle = await openMigrations(ctx);
  try {
    await handle.migrations.assertCurrent();
    // Every file (the blog's and the market's) is validated before anything is written.
    const seeded = await seedContentDir(handle.database.db, { dir, root: ctx.config.root, clock: systemClock, prune: Boolean(opts.prune) });
    const summary = seeded.blog!;
    const marketSummary = seeded.market;
    if (summary.unchanged && (marketSummary?.unchanged ?? true)) {
      ctx.out.info(`Nothing to do: the database already matches ${dir}.`);
      return;
    }
    const line = (name: string, c: SeedCounts) => `  ${name.padEnd(8)} +${c.added} added, ~${c.updated} updated, -${c.removed} removed, ${c.unchanged} unchanged`;
    ctx.out.info(`Seeded ${describeDatabase(ctx.config)} from ${dir}:`);
    ctx.out.info(line('posts', summary.posts));
    ctx.out.info(line('pages', summary.pages));
    ctx.out.info(line('tags', summary.tags));
    ctx.out.info(line('authors', summary.authors));
    ctx.out.info(line('images', summary.images));
    ctx.out.info(`  navigation ${summary.navigation.changed ? 'updated' : 'unchanged'} (${summary.navigation.items} items), site settings ${summary.site.changed ? 'updated' : 'unchanged'}`);
    if (marketSummary) {
      const archived = (name: string, c: SeedCounts) => `  ${name.padEnd(11)} +${c.added} added, ~${c.updated} updated, -${c.removed} archived, ${c.unchanged} unchanged`;
      ctx.out.info(`Market (${path.join(dir, 'market')}):`);
      ctx.out.info(archived('producers', marketSummary.producers));
      ctx.out.info(archived('products', marketSummary.products));
      ctx.out.info(archived('variants', marketSummary.variants));
      ctx.out.info(archived('cycles', marketSummary.cycles));
      ctx.out.info(line('categories', marketSummary.categories));
      ctx.out.info(line('images', marketSummary.images));
      if (marketSummary.keptStaffEdits > 0) ctx.out.info(`  ${marketSummary.keptStaffEdits} row(s) staff edited since were left as they are`);
    } else ctx.out.info(`No market/ folder in ${dir}: the market was left as it is.`);
  } finally {
    await handle.close();
  }
}

/** The word a person types to confirm a restore over a database that is not empty. */
export const restoreConfirmWord = 'restore';

export async function dbBackup(ctx: CommandContext, opts: { out?: string; prune?: boolean; keep?: number }): Promise<void> {
  if (opts.keep !== undefined && !opts.prune) {
    throw new RoseError({ code: 'bad-argument', title: '--keep without --prune', message: '--keep says how many backups --prune keeps; nothing is deleted without --prune.', hint: 'Add --prune, e.g. `rose db backup --prune --keep 7`.' });
  }
  const dir = opts.out ? path.resolve(opts.out) : defaultBackupDir(ctx.config.dataDir);
  const { path: file, manifest, bytes } = await createBackup(ctx.config.database, { dir, clock: systemClock, onProgress: (line) => ctx.out.info(line) });
  const tables = Object.keys(manifest.tables).length;
  const rows = Object.values(manifest.tables).reduce((a, b) => a + b, 0);
  const latest = manifest.migrations.at(-1);
  ctx.out.info(`Backed up ${describeDatabase(ctx.config)} to ${file}`);
  ctx.out.info(`  ${formatBytes(bytes)}, ${tables} tables, ${rows.toLocaleString('en')} rows, ${manifest.migrations.length} migrations${latest ? ` (latest ${latest})` : ''}; ${manifest.dumpedBy}`);
  if (!opts.prune) return;
  const { deleted, kept } = await pruneBackups(dir, opts.keep ?? 7);
  if (deleted.length === 0) ctx.out.info(`Pruned nothing: ${kept.length} backup(s) in ${dir}, keeping up to ${opts.keep ?? 7}.`);
  else {
    ctx.out.info(`Pruned ${deleted.length} older backup(s), kept the newest ${kept.length}:`);
    for (const f of deleted) ctx.out.info(`  deleted ${f.name} (${formatBytes(f.bytes)})`);
  }
}

export async function dbRestore(ctx: CommandContext, file: string, opts: { force?: boolean }): Promise<void> {
  const where = describeDatabase(ctx.config);
  const approve = async (target: TargetState): Promise<boolean> => {
    ctx.out.info(`Restoring ${file} replaces everything in ${where}:`);
    for (const line of describeTargetState(target)) ctx.out.info(line);
    if (opts.force) return true;
    const answer = await ctx.out.ask!(`Type "${restoreConfirmWord}" to go ahead, anything else to stop: `);
    return answer.trim() === restoreConfirmWord;
  };
  const result = await restoreBackup(ctx.config.database, {
    file: path.resolve(file),
    migrationsFolder: path.join(ctx.config.root, 'migrations'),
    onProgress: (line) => ctx.out.info(line),
    // Not at a terminal and not forced: nobody to ask, so a database with data is refused (the error lists it).
    ...(opts.force || ctx.out.ask ? { approve } : {}),
  });
  const { manifest } = result;
  const rows = Object.values(manifest.tables).reduce((a, b) => a + b, 0);
  ctx.out.info(`Restored ${where} from the backup of ${manifest.createdAt}: ${Object.keys(manifest.tables).length} tables, ${rows.toLocaleString('en')} rows, ${manifest.migrations.length} migrations.`);
  if (result.unknown.length > 0) ctx.out.info(`The backup has ${result.unknown.length} migration(s) this code does not have (${result.unknown.join(', ')}): it was made by newer code; restore it with that version.`);
  if (result.pending.length > 0) ctx.out.info(`${result.pending.length} migration(s) in migrations/ are newer than the backup: run \`rose db migrate\`.`);
  else if (result.unknown.length === 0) ctx.out.info('Migrations are current.');
}


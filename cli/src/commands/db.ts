import { loadContent, seedContent, type SeedCounts } from '@rose/blog';
import { describeDatabase } from '@rose/config';
import type { CommandContext } from '../context.ts';

export async function dbMigrate(ctx: CommandContext): Promise<void> {
  const services = await ctx.openServices();
  try {
    const applied = await services.migrations.migrateToLatest();
    if (applied.length === 0) ctx.out.info(`Database is up to date (${describeDatabase(ctx.config)}).`);
    else {
      for (const name of applied) ctx.out.info(`  ✔ ${name}`);
      ctx.out.info(`Applied ${applied.length} migration(s) to ${describeDatabase(ctx.config)}.`);
    }
  } finally {
    await services.close();
  }
}

export async function dbRollback(ctx: CommandContext, opts: { steps: number }): Promise<void> {
  const services = await ctx.openServices();
  try {
    const reverted = await services.migrations.rollback(opts.steps);
    if (reverted.length === 0) ctx.out.info('Nothing to roll back: no migrations have been applied.');
    else {
      for (const name of reverted) ctx.out.info(`  ↩ ${name}`);
      ctx.out.info(`Rolled back ${reverted.length} migration(s).`);
    }
  } finally {
    await services.close();
  }
}

export async function dbStatus(ctx: CommandContext): Promise<void> {
  const services = await ctx.openServices();
  try {
    const list = await services.migrations.status();
    ctx.out.info(`Database: ${describeDatabase(ctx.config)}`);
    for (const m of list) ctx.out.info(`  ${m.executedAt ? '✔' : '·'} ${m.name}${m.executedAt ? `  (applied ${m.executedAt.toISOString()})` : '  (pending)'}`);
    const pending = list.filter((m) => !m.executedAt).length;
    ctx.out.info(pending === 0 ? 'All migrations applied.' : `${pending} pending: run \`rose db migrate\`.`);
  } finally {
    await services.close();
  }
}

export async function dbSeed(ctx: CommandContext, opts: { content?: string }): Promise<void> {
  const dir = opts.content ?? ctx.config.contentDir;
  // Validate every file before touching the database.
  const bundle = await loadContent(dir);
  const services = await ctx.openServices();
  try {
    await services.migrations.assertCurrent();
    const summary = await seedContent(services.database.db, bundle, { clock: services.clock });
    if (summary.unchanged) {
      ctx.out.info(`Nothing to do: the database already matches ${dir}.`);
      return;
    }
    const line = (name: string, c: SeedCounts) => `  ${name.padEnd(8)} +${c.added} added, ~${c.updated} updated, -${c.removed} removed, ${c.unchanged} unchanged`;
    ctx.out.info(`Seeded ${describeDatabase(ctx.config)} from ${dir}:`);
    ctx.out.info(line('posts', summary.posts));
    ctx.out.info(line('pages', summary.pages));
    ctx.out.info(line('tags', summary.tags));
    ctx.out.info(line('authors', summary.authors));
    ctx.out.info(`  navigation ${summary.navigation.changed ? 'updated' : 'unchanged'} (${summary.navigation.items} items), site settings ${summary.site.changed ? 'updated' : 'unchanged'}`);
  } finally {
    await services.close();
  }
}

import path from 'node:path';
import { createReleaseStore } from '@rose/releases';
import type { CommandContext } from '../context.ts';

export async function releaseList(ctx: CommandContext): Promise<void> {
  const store = createReleaseStore({ distDir: ctx.config.distDir });
  const releases = await store.list();
  if (releases.length === 0) {
    ctx.out.info(`No releases in ${ctx.config.distDir} yet: run \`rose build\`.`);
    return;
  }
  ctx.out.info(`Releases in ${path.join(ctx.config.distDir, 'releases')} (newest first):`);
  for (const r of releases) {
    ctx.out.info(`  ${r.current ? '→' : ' '} ${r.id}  ${r.createdAt}  ${String(r.pages).padStart(6)} pages  ${r.seconds.toFixed(1).padStart(6)} s  ${r.parts.join(', ')}${r.current ? '  (live)' : ''}`);
  }
}

export async function releaseRollback(ctx: CommandContext, opts: { to?: string }): Promise<void> {
  const store = createReleaseStore({ distDir: ctx.config.distDir });
  const { from, to } = await store.rollback(opts.to);
  ctx.out.info(`Switched the live release from ${from ?? '(none)'} to ${to}. A running \`rose serve\` follows within a second.`);
}

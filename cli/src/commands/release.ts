import path from 'node:path';
import { createReleaseStore } from '@rose/releases';
import type { CommandContext } from '../context.ts';

export async function releaseList(ctx: CommandContext): Promise<void> {
  const store = createReleaseStore({ distDir: ctx.config.distDir });
  const [releases, damaged] = await Promise.all([store.list(), store.damaged()]);
  if (releases.length === 0 && damaged.length === 0) {
    ctx.out.info(`No releases in ${ctx.config.distDir} yet: run \`rose build\`.`);
    return;
  }
  ctx.out.info(`Releases in ${path.join(ctx.config.distDir, 'releases')} (newest first):`);
  const rows = [
    ...releases.map((r) => ({ id: r.id, current: r.current, text: `${r.createdAt}  ${String(r.pages).padStart(6)} pages  ${r.seconds.toFixed(1).padStart(6)} s  ${r.parts.join(', ')}` })),
    ...damaged.map((r) => ({ id: r.id, current: r.current, text: `DAMAGED: ${r.problem}` })),
  ].sort((a, b) => (a.id < b.id ? 1 : -1));
  for (const r of rows) ctx.out.info(`  ${r.current ? '→' : ' '} ${r.id}  ${r.text}${r.current ? '  (live)' : ''}`);
  if (damaged.length > 0) {
    ctx.out.info(`${damaged.length} damaged release(s) cannot be rolled back to; \`rose build\` makes a new one, and old ones are removed as new builds come.`);
  }
}

export async function releaseRollback(ctx: CommandContext, opts: { to?: string }): Promise<void> {
  const store = createReleaseStore({ distDir: ctx.config.distDir });
  const { from, to } = await store.rollback(opts.to);
  ctx.out.info(`Switched the live release from ${from ?? '(none)'} to ${to}. A running \`rose serve\` follows within a second.`);
}

import { createLinks } from '@rose/core';
import type { SyncResult } from '@rose/ghost';
import type { CommandContext } from '../context.ts';

/** `rose ghost sync`: used on its own and by `rose build --sync`. */
export async function ghostSync(ctx: CommandContext, opts: { full?: boolean }): Promise<SyncResult> {
  return ctx.withServices(async (services) => {
    const ghost = services.ghost;
    await services.migrations.assertCurrent();
    const started = performance.now();
    let lastLine = '';
    const result = await ghost.sync({
      ...(opts.full ? { full: true } : {}),
      onProgress: (p) => {
        const line = `  ${p.phase}: ${p.fetched}`;
        if (ctx.out.isTTY) process.stderr.write(`\r${line}\x1b[K`);
        else if (p.phase !== lastLine) ctx.out.error(line);
        lastLine = p.phase;
      },
    });
    if (ctx.out.isTTY) process.stderr.write('\r\x1b[K');
    const seconds = (performance.now() - started) / 1000;
    ctx.out.info(
      `${result.full ? 'Full' : 'Incremental'} sync from ${ghost.url} in ${seconds.toFixed(1)} s: fetched ${result.fetched.posts} posts, ${result.fetched.pages} pages; ` +
        `${result.added} added, ${result.updated} updated, ${result.removed} removed, ${result.unchanged} unchanged` +
        `${result.relinked ? `, ${result.relinked} relinked (tags or authors)` : ''}${result.sharedChanged ? '; tags/authors/navigation/settings changed' : ''}.`,
    );
    for (const s of result.skipped) ctx.out.error(`  skipped ${s.kind} "${s.slug}": ${s.reason}`);
    if (result.gatedWithoutBody.length > 0) {
      ctx.out.error(
        `  ${result.gatedWithoutBody.length} members-only post(s) have only their public teaser here (${result.gatedWithoutBody.slice(0, 3).join(', ')}${result.gatedWithoutBody.length > 3 ? ', …' : ''}): ` +
          (ghost.hasAdmin ? 'Ghost did not return their bodies; the next sync tries again.' : "Ghost's Content API withholds the rest. Set GHOST_ADMIN_KEY so sync can read it for signed-in members."),
      );
    }
    return result;
  });
}

/** `rose ghost webhooks install`: the blog's webhooks in Ghost, pointing at this site. */
export async function ghostWebhooksInstall(ctx: CommandContext, opts: { target?: string }): Promise<void> {
  await ctx.withServices(async (services) => {
    const target = opts.target ?? createLinks({ siteUrl: ctx.config.siteUrl }).api.url.ghostWebhook();
    const { events, created, existing } = await services.ghost.installWebhooks(target);
    ctx.out.info(`Webhooks for ${events} events point at ${target}: ${created} created, ${existing} already there.`);
  });
}

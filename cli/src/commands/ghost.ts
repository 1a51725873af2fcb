import { RoseError } from '@rose/core';
import { ghostWebhookEvents, syncFromGhost, type GhostWebhookEvent, type SyncResult } from '@rose/ghost';
import type { Services } from '@rose/app';
import type { CommandContext } from '../context.ts';

function requireGhost(services: Services): NonNullable<Services['ghost']> {
  if (!services.ghost) {
    throw new RoseError({
      code: 'ghost-not-configured',
      title: 'Ghost is not configured',
      message: 'GHOST_URL and GHOST_CONTENT_KEY are not set, so there is no Ghost to sync from.',
      hint: 'Create a custom integration in Ghost Admin (Settings → Integrations) and set GHOST_URL and GHOST_CONTENT_KEY.',
    });
  }
  return services.ghost;
}

/** `rose ghost sync`: used on its own and by `rose build --sync`. */
export async function ghostSync(ctx: CommandContext, opts: { full?: boolean }): Promise<SyncResult> {
  const services = await ctx.openServices();
  try {
    const ghost = requireGhost(services);
    await services.migrations.assertCurrent();
    const started = performance.now();
    let lastLine = '';
    const result = await syncFromGhost(
      { db: services.database.db, client: ghost.content, admin: ghost.admin, ghostUrl: ghost.url, clock: services.clock },
      {
        ...(opts.full ? { full: true } : {}),
        onProgress: (p) => {
          const line = `  ${p.phase}: ${p.fetched}`;
          if (ctx.out.isTTY) process.stderr.write(`\r${line}\x1b[K`);
          else if (p.phase !== lastLine) ctx.out.error(line);
          lastLine = p.phase;
        },
      },
    );
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
          (ghost.admin ? 'Ghost did not return their bodies; the next sync tries again.' : "Ghost's Content API withholds the rest. Set GHOST_ADMIN_KEY so sync can read it for signed-in members."),
      );
    }
    return result;
  } finally {
    await services.close();
  }
}

/** The events the blog listens to: content and site changes. */
export const blogWebhookEvents = ghostWebhookEvents.filter((e) => /^(post|page|tag)\.|^site\.changed$/.test(e)) as GhostWebhookEvent[];

export async function ghostWebhooksInstall(ctx: CommandContext, opts: { target?: string }): Promise<void> {
  const services = await ctx.openServices();
  try {
    const ghost = requireGhost(services);
    if (!ghost.admin) {
      throw new RoseError({
        code: 'ghost-admin-missing',
        title: 'No Ghost Admin API key',
        message: 'Registering webhooks needs the Admin API key of the integration.',
        hint: 'Set GHOST_ADMIN_KEY (the "Admin API key" shown next to the Content API key in Ghost).',
      });
    }
    if (!ghost.webhookSecret) {
      throw new RoseError({
        code: 'ghost-webhook-secret-missing',
        title: 'No webhook secret',
        message: 'Webhooks are signed with GHOST_WEBHOOK_SECRET, and it is not set; unsigned webhooks would be refused.',
        hint: 'Set GHOST_WEBHOOK_SECRET to a long random string (e.g. `openssl rand -hex 32`) here and in every server.',
      });
    }
    const target = opts.target ?? new URL('/api/ghost/webhook', ctx.config.siteUrl).toString();
    let created = 0;
    let existing = 0;
    for (const event of blogWebhookEvents) {
      try {
        await ghost.admin.createWebhook({ event, targetUrl: target, name: `Rose Ash: ${event}`, secret: ghost.webhookSecret });
        created++;
      } catch (error) {
        // Ghost refuses a second webhook for the same event and URL: it is already installed.
        if ((error as { kind?: string }).kind === 'rejected' && /already been used/i.test((error as Error).message)) existing++;
        else throw error;
      }
    }
    ctx.out.info(`Webhooks for ${blogWebhookEvents.length} events point at ${target}: ${created} created, ${existing} already there.`);
  } finally {
    await services.close();
  }
}

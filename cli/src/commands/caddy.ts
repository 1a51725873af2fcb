import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { RoseError } from '@rose/core';
import { createCaddyConfig } from '@rose/deploy';
import type { CommandContext } from '../context.ts';

export interface CaddyConfigOptions {
  /** Write the Caddyfile here instead of printing it. */
  out?: string;
  /** App servers, `host:port` each; default: where `rose serve` listens (HOST:PORT). */
  upstream?: string[];
  /** The releases folder on the machine Caddy runs on; default ROSE_DIST_DIR. */
  dist?: string;
}

/** `rose caddy config`: prints (or writes) the Caddyfile for this configuration. */
export async function caddyConfig(ctx: CommandContext, opts: CaddyConfigOptions): Promise<void> {
  const { config } = ctx;
  if (!config.siteUrlExplicit) {
    throw new RoseError({
      code: 'config-invalid',
      message: 'ROSE_SITE_URL is not set: Caddy needs the public origin it serves (and ROSE_PART_ORIGINS for parts on their own hosts).',
      hint: 'Set ROSE_SITE_URL=https://your.site (the same value the app servers get), then run this again.',
    });
  }
  const text = createCaddyConfig({
    siteUrl: config.siteUrl,
    partOrigins: config.partOrigins,
    partHosts: config.partHosts,
    upstreams: opts.upstream?.length ? opts.upstream : [listenAddress(config.server)],
    distDir: opts.dist === undefined ? config.distDir : path.resolve(opts.dist),
  });
  if (opts.out === undefined) {
    ctx.out.info(text.trimEnd());
    return;
  }
  const file = path.resolve(opts.out);
  // Through a temporary file and a rename: `caddy reload --watch` never reads half of it.
  const temporary = `${file}.tmp-${randomBytes(4).toString('hex')}`;
  try {
    await fs.writeFile(temporary, `${text.trimEnd()}\n`);
    await fs.rename(temporary, file);
  } catch (error) {
    await fs.rm(temporary, { force: true });
    throw new RoseError({ code: 'bad-argument', message: `Could not write ${file}: ${(error as Error).message}`, hint: 'Give --out a file in a folder you can write to.', cause: error });
  }
  ctx.out.info(`Wrote ${file}. Check it with \`caddy validate --adapter caddyfile --config ${file}\`; load it with \`caddy reload --adapter caddyfile --config ${file}\`.`);
}

/** Where `rose serve` listens, as Caddy reaches it on the same machine. */
function listenAddress(server: { host: string; port: number }): string {
  const host = server.host === '0.0.0.0' ? '127.0.0.1' : server.host === '::' ? '[::1]' : server.host.includes(':') && !server.host.startsWith('[') ? `[${server.host}]` : server.host;
  return `${host}:${server.port}`;
}

import path from 'node:path';
import { createSiteBuild, readSnapshots } from '@rose/app/build';
import type { CommandContext } from '../context.ts';
import { createProgress } from '../progress.ts';

export interface BuildOptions {
  parts: string[];
  /** Re-render only the pages whose data changed since the live release. */
  targeted?: boolean;
  /** Run a new Astro build even when the live release runs the same code. */
  fresh?: boolean;
  /** With a new Astro build, Astro renders the pages itself (to compare with the kept renderer). */
  astroRenders?: boolean;
}

/** `rose build [parts…] [--targeted] [--fresh]`: one call to the site's build pipeline. */
export async function build(ctx: CommandContext, opts: BuildOptions) {
  const builder = createSiteBuild(ctx.config, {
    info: (m) => ctx.out.info(m),
    progress: (title, total) => createProgress({ title, total, isTTY: ctx.out.isTTY }),
    verbose: ctx.out.verbose,
  });
  const started = performance.now();
  const snapshots = await readSnapshots(ctx.config);
  const readMs = Math.round(performance.now() - started);
  const result = await builder.build({ snapshots, parts: opts.parts, ...(opts.targeted ? { targeted: true } : {}), ...(opts.fresh ? { fresh: true } : {}), ...(opts.astroRenders ? { astroRenders: true } : {}) });
  const seconds = (performance.now() - started) / 1000;
  if (result.kind === 'unchanged') return result;
  if (ctx.out.verbose) {
    const usage = process.resourceUsage();
    const phases = Object.entries({ 'read the database': readMs, ...result.timings }).map(([k, v]) => `${k} ${(v / 1000).toFixed(2)} s`);
    ctx.out.info(`  ${phases.join(', ')}; peak RSS ${(usage.maxRSS / 1024).toFixed(0)} MiB, CPU ${((usage.userCPUTime + usage.systemCPUTime) / 1e6).toFixed(1)} s`);
  }
  const what =
    result.kind === 'astro'
      ? `Built ${result.rendered} files (${result.pages} pages) with Astro`
      : `Rendered ${result.rendered} files of ${result.parts.join(', ')} (${result.changed} changed, ${result.removed} removed; ${result.pages} pages in the release)`;
  ctx.out.info(`${what} in ${seconds.toFixed(1)} s → release ${result.release} is live (${path.relative(process.cwd(), path.join(ctx.config.distDir, 'current'))})`);
  return result;
}

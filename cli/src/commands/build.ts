import path from 'node:path';
import { handRebuildToServer } from '@rose/app/hand-over';
import { RoseError } from '@rose/core';
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
  /** Targeted: build here even when a running server could. */
  inProcess?: boolean;
  /** Targeted and handed to a server: wait for the complete release, not just the served pages. */
  wait?: boolean;
}

/** `rose build [parts…] [--targeted [--in-process] [--wait]] [--fresh]`: one call to the site's build pipeline, here or in a running server. */
export async function build(ctx: CommandContext, opts: BuildOptions) {
  if ((opts.inProcess || opts.wait) && !opts.targeted) {
    throw new RoseError({
      code: 'bad-argument',
      title: 'Option needs --targeted',
      message: `--${opts.inProcess ? 'in-process' : 'wait'} applies to a targeted rebuild only.`,
      hint: 'Add --targeted, or leave the option out: a full build always runs in this process.',
    });
  }
  const started = performance.now();
  if (opts.targeted && !opts.inProcess) {
    const handed = await handRebuildToServer(ctx.config, {
      parts: opts.parts,
      wait: opts.wait === true,
      onClaimed: (worker) => ctx.out.info(`Rebuilding in the running server (${worker}), which has the renderer and the data warm…`),
    });
    if (handed.outcome !== 'not-taken') {
      const seconds = ((performance.now() - started) / 1000).toFixed(2);
      const s = handed.request.summary;
      if (handed.outcome === 'live') {
        ctx.out.info(`Live in ${seconds} s: the server serves release ${handed.request.releaseId} (${s?.changed ?? 0} changed files, ${s?.removed ?? 0} removed); it completes the release on disk and makes it current in the background (--wait waits for that).`);
      } else if (s?.kind === 'unchanged') {
        ctx.out.info(`Nothing to rebuild: every page of release ${handed.request.releaseId} is up to date (checked by the running server in ${seconds} s).`);
      } else {
        ctx.out.info(`Rendered ${s?.rendered ?? 0} files of ${(s?.parts ?? []).join(', ') || 'shared pages'} in the running server (${s?.changed ?? 0} changed, ${s?.removed ?? 0} removed; ${s?.pages ?? 0} pages in the release) → release ${handed.request.releaseId} is live and current after ${seconds} s${s?.liveMs !== undefined ? ` (served after ${(s.liveMs / 1000).toFixed(2)} s)` : ''}`);
      }
      return handed;
    }
    if (handed.server) ctx.out.info(`${handed.server} did not take the rebuild (it runs no build worker, or is busy); building in this process.`);
  }
  // Loaded here: handing the rebuild over needs none of the build pipeline.
  const { createSiteBuild, readSnapshots } = await import('@rose/app/build');
  const builder = createSiteBuild(ctx.config, {
    info: (m) => ctx.out.info(m),
    progress: (title, total) => createProgress({ title, total, isTTY: ctx.out.isTTY }),
    verbose: ctx.out.verbose,
  });
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

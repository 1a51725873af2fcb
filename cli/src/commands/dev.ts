import path from 'node:path';
import { provideServices } from '@rose/app';
import { watchContent } from '../content-watch.ts';
import type { CommandContext } from '../context.ts';
import { settleListenAddress } from '../listen-address.ts';
import type { ServeOptions } from './serve.ts';

/** Astro's dev server over the same database and cache as `rose serve`. */
export async function devServer(given: CommandContext, requested: ServeOptions): Promise<{ url: string; stop(): Promise<void> }> {
  const { ctx, opts } = await settleListenAddress(given, requested);
  const services = await ctx.openServices();
  await services.migrations.assertCurrent().catch(async (error) => {
    await services.close();
    throw error;
  });
  provideServices(services);
  // Account mail goes through the outbox: send it from here too (rebuilds stay `rose build`'s).
  const mailWorker = services.jobs.startWorker();
  const mailWorkerDone = mailWorker.run();
  process.env.ASTRO_TELEMETRY_DISABLED = '1';
  const { dev } = await import('astro');
  const server = await dev({
    root: ctx.config.root,
    outDir: ctx.config.distDir,
    cacheDir: path.join(ctx.config.dataDir, 'astro-cache'),
    site: ctx.config.siteUrl,
    server: { port: opts.port, host: opts.host },
    logLevel: ctx.out.verbose ? 'debug' : 'info',
  });
  const port = server.address.port;
  // Without Ghost, content/ is the blog's source: edits are re-seeded and open pages reload
  // (the reload hook is set by the dev integration in astro.config.ts).
  const reload = () => (globalThis as Record<symbol, (() => void) | undefined>)[Symbol.for('rose.dev-reload')]?.();
  const contentWatch = ctx.config.ghost
    ? undefined
    : watchContent({ dir: ctx.config.contentDir, seed: (bundle) => services.blog.seed(bundle, { contentDir: ctx.config.contentDir }), seedMarket: (bundle) => services.market.seed(bundle), out: ctx.out, onReseeded: (r) => r.ok && !r.summary.unchanged && reload() });
  return {
    url: `http://${opts.host}:${port}/`,
    async stop() {
      await contentWatch?.stop();
      await server.stop();
      await mailWorker.stop();
      await mailWorkerDone;
      provideServices(undefined);
      await services.close();
    },
  };
}

import { createBlogJobHandlers, type RebuildRequest, type Services } from '@rose/app';
import { countJobs, createWorker, type Worker } from '@rose/jobs';
import type { CommandContext } from '../context.ts';
import { buildSite } from './build.ts';

/**
 * The outbox worker over open services. Rebuilds run in this process against the already
 * open database (the embedded one allows only one process).
 */
export function startOutboxWorker(ctx: CommandContext, services: Services, opts: { pollMs?: number } = {}): Worker {
  const rebuild = async (request: RebuildRequest) => {
    services.logger.info({ slugs: request.slugs.length, shared: request.shared }, 'rebuilding the blog');
    const result = await buildSite(ctx, { parts: [], db: services.database.db, targeted: true });
    services.logger.info({ release: result.release, kind: result.kind, rendered: result.rendered, pages: result.pages, seconds: result.seconds }, 'rebuild live');
  };
  const worker = createWorker({
    db: services.database.db,
    handlers: createBlogJobHandlers(services, rebuild),
    logger: services.logger,
    clock: services.clock,
    ...(opts.pollMs ? { pollMs: opts.pollMs } : {}),
  });
  services.jobs.setWaker(() => worker.poke());
  return worker;
}

export async function runWorker(ctx: CommandContext, opts: { once?: boolean }, untilSignal: (stop: () => Promise<void>) => Promise<void>): Promise<void> {
  const services = await ctx.openServices();
  try {
    await services.migrations.assertCurrent();
    const worker = startOutboxWorker(ctx, services);
    if (opts.once) {
      const handled = await worker.drain();
      const counts = await countJobs(services.database.db);
      ctx.out.info(`Handled ${handled} job(s); ${counts.pending} pending, ${counts.failed} failed in total.`);
      return;
    }
    ctx.out.info('Worker running: draining the outbox (Ctrl+C to stop).');
    const running = worker.run();
    await untilSignal(() => worker.stop());
    await running;
    ctx.out.info('Worker stopped.');
  } finally {
    await services.close();
  }
}

import { createSiteBuild } from '@rose/app/build';
import type { CommandContext } from '../context.ts';
import { createProgress } from '../progress.ts';

/** `rose worker [--once]`: drains the outbox in this process until stopped. */
export async function runWorker(ctx: CommandContext, opts: { once?: boolean }, untilSignal: (stop: () => Promise<void>) => Promise<void>): Promise<void> {
  const services = await ctx.openServices();
  try {
    await services.migrations.assertCurrent();
    const siteBuild = createSiteBuild(ctx.config, { info: (m) => services.logger.info(m), progress: (title, total) => createProgress({ title, total, isTTY: false, write: () => {} }), verbose: false });
    const worker = services.jobs.startWorker({ siteBuild, ...(opts.once ? {} : { warmUp: true }) });
    if (opts.once) {
      const handled = await worker.drain();
      const counts = await services.jobs.counts();
      ctx.out.info(`Handled ${handled} job(s); ${counts.pending} pending, ${counts.scheduled} scheduled for later, ${counts.failed} failed in total.`);
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

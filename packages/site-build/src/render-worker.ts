import { parentPort, workerData } from 'node:worker_threads';
import { writeRendered } from './release-compose.ts';
import { ownerOf } from './static-source.ts';
import { loadWarmRenderer } from './warm-renderer.ts';
import type { RenderInWorkers } from './render-threads.ts';

/**
 * One render thread of a build: loads the renderer a release keeps, hands the snapshots to
 * the pages through the site's own hook (`provide`), renders its share of the paths, writes
 * the files that changed (with their compressed variants) into the staged release and sends
 * back their names.
 */
const job = workerData as RenderInWorkers & { share: { index: number; of: number } };
const post = (msg: unknown) => parentPort!.postMessage(msg);
try {
  const hook = (await import(job.provide.module)) as Record<string, (context: unknown, data: unknown) => void>;
  const provide = hook[job.provide.exportName];
  if (typeof provide !== 'function') throw new Error(`${job.provide.module} has no export ${job.provide.exportName}`);
  provide(job.provide.context, { snapshots: job.snapshots, release: job.release });
  const renderer = await loadWarmRenderer(job.releaseDir);
  const owners = job.sources.map((s) => ({ part: s.part, prefixes: s.prefixes }));
  let ticks = 0;
  const changed: string[] = [];
  const madeDirs = new Set<string>();
  const rendered = await renderer.render({
    share: job.share,
    // Every share plans every path (the whole total) before it renders its own: whichever
    // thread reports first sets the progress total before any page is counted.
    onPlanned: (count: number) => post({ type: 'planned', count }),
    select: (p) => {
      const owner = ownerOf(owners as never, p);
      return owner === undefined || job.parts.includes(owner);
    },
    onRendered: (file) => {
      if (writeRendered(job.liveClient, job.stagedClient, file, madeDirs)) changed.push(file.file);
      if (++ticks % 50 === 0) post({ type: 'progress', rendered: 50 });
    },
  });
  post({ type: 'progress', rendered: ticks % 50 });
  post({ type: 'done', rendered, changed });
} catch (error) {
  post({ type: 'error', message: (error as Error).message, stack: (error as Error).stack });
}

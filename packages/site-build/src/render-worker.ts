import { parentPort, workerData } from 'node:worker_threads';
import { ownerOf } from './static-source.ts';
import { loadWarmRenderer } from './warm-renderer.ts';
import type { RenderInWorkers } from './render-threads.ts';

/**
 * One worker thread of a warm build: loads the release's renderer, hands the snapshots to
 * the pages through the site's own hook (`provide`), renders its share of the paths and
 * sends the files back (their bytes transferred, not copied).
 */
const job = workerData as RenderInWorkers & { share: { index: number; of: number } };
const post = (msg: unknown, transfer: ArrayBuffer[] = []) => parentPort!.postMessage(msg, transfer);
try {
  const hook = (await import(job.provide.module)) as Record<string, (context: unknown, data: unknown) => void>;
  const provide = hook[job.provide.exportName];
  if (typeof provide !== 'function') throw new Error(`${job.provide.module} has no export ${job.provide.exportName}`);
  provide(job.provide.context, { snapshots: job.snapshots, release: job.release });
  const renderer = await loadWarmRenderer(job.releaseDir);
  const owners = job.sources.map((s) => ({ part: s.part, prefixes: s.prefixes }));
  let ticks = 0;
  const files = await renderer.render({
    share: job.share,
    select: (p) => {
      const owner = ownerOf(owners as never, p);
      return owner === undefined || job.parts.includes(owner);
    },
    onRendered: () => {
      if (++ticks % 50 === 0) post({ type: 'progress', rendered: 50 });
    },
  });
  post({ type: 'progress', rendered: ticks % 50 });
  const buffers = files.map((f) => new Uint8Array(f.body.buffer, f.body.byteOffset, f.body.byteLength).slice().buffer);
  post({ type: 'done', files: files.map((f, i) => ({ pathname: f.pathname, file: f.file, body: buffers[i] })) }, buffers);
} catch (error) {
  post({ type: 'error', message: (error as Error).message, stack: (error as Error).stack });
}

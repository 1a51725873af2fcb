import { Worker } from 'node:worker_threads';
import type { Snapshots } from './static-source.ts';
import type { RenderedFile } from './warm-renderer.ts';

/** How a worker thread makes the snapshots visible to the pages: a module's export, called with `context`. */
export interface WorkerProvide {
  /** URL of the module (`new URL('./x.ts', import.meta.url).href`). */
  module: string;
  exportName: string;
  /** Structured-clonable settings the hook needs (the site's config). */
  context: unknown;
}

export interface RenderInWorkers {
  releaseDir: string;
  release: string;
  snapshots: Snapshots;
  parts: string[];
  sources: { part: string; prefixes: readonly string[] }[];
  provide: WorkerProvide;
}

/**
 * A whole-part warm render split across `threads` shares (Astro renders on one thread; a
 * full build of thousands of pages is CPU-bound): shares from `firstShare` on each get a
 * worker thread with a copy of the snapshots and its own renderer (the caller renders the
 * shares before it in-process); files come back in one list.
 */
export async function renderInWorkers(job: RenderInWorkers, threads: number, onRendered: (count: number) => void, opts: { firstShare?: number } = {}): Promise<RenderedFile[]> {
  const first = opts.firstShare ?? 0;
  const shares = Array.from({ length: threads - first }, (_, i) => i + first).map((index) =>
    new Promise<RenderedFile[]>((resolve, reject) => {
      const worker = new Worker(new URL('./render-worker.ts', import.meta.url), { workerData: { ...job, share: { index, of: threads } } });
      let settled = false;
      worker.on('message', (msg: { type: 'progress'; rendered: number } | { type: 'done'; files: { pathname: string; file: string; body: ArrayBuffer }[] } | { type: 'error'; message: string; stack?: string }) => {
        if (msg.type === 'progress') onRendered(msg.rendered);
        else if (msg.type === 'done') {
          settled = true;
          resolve(msg.files.map((f) => ({ pathname: f.pathname, file: f.file, body: Buffer.from(f.body) })));
          void worker.terminate();
        } else {
          settled = true;
          reject(Object.assign(new Error(msg.message), { stack: msg.stack }));
          void worker.terminate();
        }
      });
      worker.once('error', (error) => {
        settled = true;
        reject(error);
      });
      worker.once('exit', (code) => {
        if (!settled) reject(new Error(`A render thread exited with code ${code} before finishing`));
      });
    }),
  );
  return (await Promise.all(shares)).flat();
}

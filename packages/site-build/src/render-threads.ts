import { Worker } from 'node:worker_threads';
import type { Snapshots } from './static-source.ts';
import type { RenderedPath } from './warm-renderer.ts';

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
  /** The live release's `client/` folder (files compared against; none: write every file) and the staged one (files written to). */
  liveClient: string | undefined;
  stagedClient: string;
}

/** A render thread's young generation: small pages make short-lived garbage, collected cheaply in a small one. */
const youngGenerationMb = 24;

/** What the render threads of a build rendered, and which of those files they wrote (changed). */
export interface ThreadsRendered {
  rendered: RenderedPath[];
  changed: string[];
}

/**
 * A whole-part render split across `threads` worker threads (Astro renders on one thread; a
 * full build of thousands of pages is CPU-bound), each with a copy of the snapshots and its
 * own renderer. Each thread writes the files that changed into the staged release itself and
 * sends back only their names. The calling thread renders nothing meanwhile: a server keeps
 * answering, and the garbage of rendering stays in threads whose young generation is kept
 * small (V8 sizes the main thread's for throughput: +300 MiB at 10,000 pages).
 */
export async function renderInWorkers(job: RenderInWorkers, threads: number, progress: { planned(count: number): void; rendered(count: number): void }): Promise<ThreadsRendered> {
  const workers: Worker[] = [];
  const shares = Array.from({ length: threads }, (_, index) =>
    new Promise<ThreadsRendered>((resolve, reject) => {
      const worker = new Worker(new URL('./render-worker.ts', import.meta.url), {
        workerData: { ...job, share: { index, of: threads } },
        resourceLimits: { maxYoungGenerationSizeMb: youngGenerationMb },
      });
      workers.push(worker);
      let settled = false;
      type Message = { type: 'planned'; count: number } | { type: 'progress'; rendered: number } | ({ type: 'done' } & ThreadsRendered) | { type: 'error'; message: string; stack?: string };
      worker.on('message', (msg: Message) => {
        if (msg.type === 'planned') progress.planned(msg.count);
        else if (msg.type === 'progress') progress.rendered(msg.rendered);
        else if (msg.type === 'done') {
          settled = true;
          resolve({ rendered: msg.rendered, changed: msg.changed });
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
  try {
    const all = await Promise.all(shares);
    return { rendered: all.flatMap((s) => s.rendered), changed: all.flatMap((s) => s.changed) };
  } catch (error) {
    // One share failed: the others would go on writing into a release about to be discarded.
    await Promise.all(workers.map((w) => w.terminate()));
    throw error;
  }
}

import { linkSync, mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';

/** Files a release keeps beside `client/` and `server/` that a new release writes itself. */
export const ownManifests = new Set(['release.json', 'pages.json']);

/**
 * Fills `toDir` with hard links to the files of `fromDir`, except the `skip` ones (paths
 * relative to `fromDir`, `/`-separated). Folders are created only when a file goes in them,
 * so pages that were removed leave no empty folders behind. Unchanged files cost a link, not
 * a copy; replaced files must be written as new files (never through the link).
 *
 * Runs in a thread of its own with synchronous calls: tens of thousands of links queued on
 * libuv's pool (4 threads) made a server's reads of static files wait behind them for the
 * second or two the linking takes, just after a rebuild's pages went live.
 */
export function linkTree(fromDir: string, toDir: string, skip: ReadonlySet<string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./link-tree.worker.ts', import.meta.url), { workerData: { fromDir, toDir, skip: [...skip] } });
    let settled = false;
    worker.once('message', (msg: { count: number } | { error: string }) => {
      settled = true;
      if ('count' in msg) resolve(msg.count);
      else reject(new Error(msg.error));
    });
    worker.once('error', (error) => {
      settled = true;
      reject(error);
    });
    worker.once('exit', (code) => {
      if (!settled) reject(new Error(`The linking thread exited with code ${code} before answering`));
    });
  });
}

/** `linkTree`'s work, on the calling thread. */
export function linkTreeSync(fromDir: string, toDir: string, skip: ReadonlySet<string>): number {
  let count = 0;
  const walk = (rel: string): void => {
    let made = false;
    for (const e of readdirSync(path.join(fromDir, rel), { withFileTypes: true })) {
      const child = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(child);
      else if (e.isFile() && !skip.has(child) && !(rel === '' && ownManifests.has(e.name))) {
        if (!made) {
          mkdirSync(path.join(toDir, rel), { recursive: true });
          made = true;
        }
        linkSync(path.join(fromDir, child), path.join(toDir, child));
        count++;
      }
    }
  };
  walk('');
  return count;
}

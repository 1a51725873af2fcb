import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { linkTreeSync } from './link-tree.ts';

// One `linkTree` (see link-tree.ts): the links, synchronously, off the caller's thread and pool.
// Below the server's threads (on Linux a thread has its own nice value): serving, and the
// next edit's rebuild, come before completing this release on disk.
try {
  setPriority(10);
} catch {
  // not allowed here: link at the usual priority
}
const { fromDir, toDir, skip } = workerData as { fromDir: string; toDir: string; skip: string[] };
try {
  parentPort!.postMessage({ count: linkTreeSync(fromDir, toDir, new Set(skip)) });
} catch (error) {
  parentPort!.postMessage({ error: (error as Error).message });
}

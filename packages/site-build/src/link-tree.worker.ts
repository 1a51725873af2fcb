import { parentPort, workerData } from 'node:worker_threads';
import { linkTreeSync } from './link-tree.ts';

// One `linkTree` (see link-tree.ts): the links, synchronously, off the caller's thread and pool.
const { fromDir, toDir, skip } = workerData as { fromDir: string; toDir: string; skip: string[] };
try {
  parentPort!.postMessage({ count: linkTreeSync(fromDir, toDir, new Set(skip)) });
} catch (error) {
  parentPort!.postMessage({ error: (error as Error).message });
}

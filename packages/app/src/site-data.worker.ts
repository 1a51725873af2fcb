import { parentPort, workerData } from 'node:worker_threads';
import type { Config } from '@rose/config';
import { RoseError } from '@rose/core';
import { openDatabase } from '@rose/db';
import { readSnapshotsFrom, type WorkerMessage } from './wire-site.ts';

const { config } = workerData as { config: Config };
const post = (msg: WorkerMessage) => parentPort!.postMessage(msg);
try {
  const handle = await openDatabase(config.database);
  let snapshots;
  try {
    snapshots = await readSnapshotsFrom(handle.db, config);
  } finally {
    await handle.close();
  }
  // Closed first: the database's memory is not held while the snapshots are copied out.
  post({ type: 'snapshots', snapshots });
} catch (error) {
  const e = error as Error;
  post({
    type: 'error',
    error: { name: e.name, message: e.message, ...(error instanceof RoseError ? { title: error.title, hint: error.hint, code: error.code } : {}) },
  });
}

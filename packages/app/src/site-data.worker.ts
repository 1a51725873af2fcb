import path from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import { loadBlogSnapshot } from '@rose/blog';
import type { Config } from '@rose/config';
import { RoseError } from '@rose/core';
import { createMigrations, openDatabase } from '@rose/db';
import type { WorkerMessage } from './site-data.ts';

const { config } = workerData as { config: Config };
const post = (msg: WorkerMessage) => parentPort!.postMessage(msg);
try {
  const handle = await openDatabase(config.database);
  try {
    await createMigrations(handle.db, path.join(config.root, 'migrations')).assertCurrent();
    post({ type: 'checked' });
    post({ type: 'snapshot', snapshot: await loadBlogSnapshot(handle.db) });
  } finally {
    await handle.close();
  }
} catch (error) {
  const e = error as Error;
  post({
    type: 'error',
    error: { name: e.name, message: e.message, ...(error instanceof RoseError ? { title: error.title, hint: error.hint, code: error.code } : {}) },
  });
}

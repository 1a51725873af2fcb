import { parentPort, workerData } from 'node:worker_threads';
import type { Config } from '@rose/config';
import { RoseError } from '@rose/core';
import { readDirect } from './site-data.ts';

const { config } = workerData as { config: Config };
try {
  const snapshot = await readDirect(config);
  parentPort!.postMessage({ ok: true, snapshot });
} catch (error) {
  const e = error as Error;
  parentPort!.postMessage({
    ok: false,
    error: { name: e.name, message: e.message, ...(error instanceof RoseError ? { title: error.title, hint: error.hint, code: error.code } : {}) },
  });
}

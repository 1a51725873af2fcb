import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql, type Kysely, type KyselyPlugin } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPglite, type Database, type DatabaseHandle } from '@rose/db';
import { preparePgliteTemplate } from '@rose/testing';
import { enqueueJob } from './outbox.repository.ts';
import { listenForEmbeddedJobs } from './pglite-job-listener.ts';
import { createWorker } from './worker.ts';

// The embedded database shared over its socket: the owner runs the worker (as `rose serve`
// does), a client queues jobs (as a `rose` command does while it runs).
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rose-pglite-jobs-'));
const silent = { info: () => {}, warn: () => {}, error: () => {} };
let owner: DatabaseHandle;
let client: DatabaseHandle;

beforeAll(async () => {
  owner = await openPglite({ dir: path.join(tmp, 'pglite'), loadDataDir: new Blob([fs.readFileSync(await preparePgliteTemplate())]) });
  client = await openPglite({ dir: path.join(tmp, 'pglite') });
  expect([owner.embedded?.role, client.embedded?.role]).toEqual(['owner', 'client']);
});
afterAll(async () => {
  await client?.close();
  await owner?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

/**
 * The worker's database, and a promise for the moment it has asked when the next delayed job
 * is due (nextDueAt's one `at` column): it has drained, found nothing, and goes to sleep.
 */
function watchSleeps(db: Kysely<Database>): { db: Kysely<Database>; nextSleep(): Promise<void> } {
  let waiting: (() => void) | undefined;
  const plugin: KyselyPlugin = {
    transformQuery: (args) => args.node,
    transformResult: async (args) => {
      const [row, ...more] = args.result.rows;
      if (row && more.length === 0 && Object.keys(row).join() === 'at') {
        const wake = waiting;
        waiting = undefined;
        wake?.();
      }
      return args.result;
    },
  };
  return { db: db.withPlugin(plugin), nextSleep: () => new Promise<void>((resolve) => (waiting = resolve)) };
}

describe('outbox on the embedded database shared over its socket', () => {
  it("a job queued by a client wakes the owner's worker at once, though it polls every ten minutes", async () => {
    const done: number[] = [];
    let finished!: () => void;
    const jobDone = new Promise<void>((resolve) => (finished = resolve));
    const watched = watchSleeps(owner.db);
    const worker = createWorker({
      db: watched.db,
      logger: silent,
      pollMs: 600_000,
      handlers: {
        'test.wake': async (jobs) => {
          done.push(...jobs.map((job) => job.id));
          finished();
        },
      },
      wakeUps: (poke) => listenForEmbeddedJobs({ listen: owner.listen!, onJobs: poke }),
    });
    const asleep = watched.nextSleep();
    const running = worker.run();
    try {
      // The worker listens before it first drains, and has nothing to do: it goes to sleep.
      await asleep;
      expect((await sql<{ channel: string }>`select pg_listening_channels() as channel`.execute(owner.db)).rows).toEqual([{ channel: 'rose_jobs' }]);
      const id = await enqueueJob(client.db, { type: 'test.wake' });
      await jobDone;
      expect(done).toEqual([id]);
    } finally {
      await worker.stop();
      await running;
    }
    // stop() closed the listener: the owner's session LISTENs no more.
    expect((await sql`select pg_listening_channels()`.execute(owner.db)).rows).toEqual([]);
  });
});

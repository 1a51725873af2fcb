import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { runWithLogContext } from '@rose/observability/context';
import { createTestDatabase, databaseKinds, type TestDatabase } from '@rose/testing';
import { defineJob, enqueue } from './job-type.ts';
import { claimJobs, enqueueJob, oldestPendingJobAge } from './outbox.repository.ts';

const ping = defineJob('test.ping', z.object({ n: z.number() }));

describe.each(databaseKinds)('jobs and requests on %s', (kind) => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase(kind);
  });
  afterAll(() => t?.drop());

  it('a job queued while a request is handled carries its id; one queued outside carries none', async () => {
    const inside = await runWithLogContext({ reqId: 'req-123' }, () => t.db.transaction().execute((trx) => enqueue(trx, ping, { n: 1 })));
    const outside = await enqueue(t.db, ping, { n: 2 });
    const explicit = await runWithLogContext({ reqId: 'req-123' }, () => enqueueJob(t.db, { type: 'test.ping', payload: { n: 3 }, requestId: 'given-9' }));
    const jobs = await claimJobs(t.db, { workerId: 'w', now: new Date(Date.now() + 1000), limit: 10, types: ['test.ping'] });
    expect(jobs.map((j) => [j.id, j.request_id])).toEqual([
      [inside, 'req-123'],
      [outside, null],
      [explicit, 'given-9'],
    ]);
  });

  it('tells how long the longest-waiting ready job has been due (scheduled ones do not count)', async () => {
    const now = new Date('2026-12-01T10:00:00Z');
    expect(await oldestPendingJobAge(t.db, now)).toBe(0);
    await enqueueJob(t.db, { type: 'test.wait', runAt: new Date(now.getTime() - 90_000) });
    await enqueueJob(t.db, { type: 'test.wait', runAt: new Date(now.getTime() - 5_000) });
    await enqueueJob(t.db, { type: 'test.wait', runAt: new Date(now.getTime() + 3_600_000) });
    expect(await oldestPendingJobAge(t.db, now)).toBe(90);
    await claimJobs(t.db, { workerId: 'w', now, limit: 1, types: ['test.wait'] });
    expect(await oldestPendingJobAge(t.db, now)).toBe(5);
  });
});

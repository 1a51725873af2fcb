import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { RoseError } from '@rose/core';
import { createWorker, handle, listenForJobs, type Worker } from '@rose/jobs';
import { createTestDatabase, type TestDatabase } from '@rose/testing';
import { claimBuildRequests, handRebuildOver, markBuildRequests, readBuildRequest, siteRebuildJob, type BuildRequestSummary, type HandOverResult } from './build-requests.ts';

const silent = { info: () => {}, warn: () => {}, error: () => {} };

/** A promise and the function that resolves it. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((r) => (open = r));
  return { promise, open };
}

/** Fails with `what` instead of hanging the file when `promise` never settles. */
function within<T>(promise: Promise<T>, what: string, ms = 30_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const guard = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`still waiting after ${ms / 1000} s: ${what}`)), ms)));
  return Promise.race([promise, guard]).finally(() => clearTimeout(timer));
}

const summary = (extra: Partial<BuildRequestSummary> = {}): BuildRequestSummary => ({ kind: 'warm', parts: ['blog'], rendered: 3, changed: 2, removed: 0, pages: 40, ...extra });

// `rose build --targeted` handing its rebuild to a running server, against the real outbox
// worker on Postgres. The server side is the shape of outbox-worker.ts's siteRebuildHandlers
// (claim the requests, rebuild, mark them live, then done or failed) with the build itself
// replaced by what each test needs.
describe('handing a targeted rebuild to a running server (Postgres)', { timeout: 60_000 }, () => {
  let t: TestDatabase;
  const workers: { worker: Worker; running: Promise<void> }[] = [];
  // Gates a test left shut are opened before its worker is stopped (stop waits for the batch).
  const shut: (() => void)[] = [];

  beforeAll(async () => {
    t = await createTestDatabase('postgres');
  });
  afterEach(async () => {
    for (const open of shut.splice(0)) open();
    for (const { worker, running } of workers.splice(0)) {
      await worker.stop();
      await running;
    }
    await t.db.deleteFrom('jobs').execute();
    await t.db.deleteFrom('build_requests').execute();
  });
  afterAll(() => t?.drop());

  /**
   * A running server's worker: claims the requests of its site.rebuild jobs as `name`, then
   * runs `rebuild` for them (which marks them live/done itself); a rebuild that throws marks
   * them failed, as the real handler does. Records every request it took.
   */
  const startServer = (name: string, rebuild: (ids: number[]) => Promise<void>, opts: { pollMs?: number; listen?: boolean; run?: boolean } = {}) => {
    const took: number[] = [];
    const worker = createWorker({
      db: t.db,
      logger: silent,
      pollMs: opts.pollMs ?? 20,
      handlers: handle(siteRebuildJob, async (payloads) => {
        const requests = await claimBuildRequests(t.db, payloads.map((p) => p.request), name);
        if (requests.length === 0) return;
        const ids = requests.map((r) => r.id);
        took.push(...ids);
        try {
          await rebuild(ids);
        } catch (error) {
          await markBuildRequests(t.db, ids, { state: 'failed', error: (error as Error).message });
        }
      }),
      ...(opts.listen ? { wakeUps: (poke: () => void) => listenForJobs({ url: t.url!, onJobs: poke, logger: silent }) } : {}),
    });
    if (opts.run !== false) workers.push({ worker, running: worker.run() });
    return { worker, took };
  };

  /**
   * What every other worker does to the jobs of a worker that stopped renewing its lock
   * (@rose/jobs' recoverStaleJobs, here without waiting out the stale limit): out of attempts —
   * a hand-over is tried once — they are failed.
   */
  const takeBackAsStale = async () => {
    const taken = await t.db
      .updateTable('jobs')
      .set({ status: 'failed', last_error: 'the worker running it stopped before finishing it', finished_at: new Date(), locked_at: null, locked_by: null })
      .where('status', '=', 'running')
      .where('type', '=', siteRebuildJob.type)
      .whereRef('attempts', '>=', 'max_attempts')
      .executeTakeFirst();
    return Number(taken.numUpdatedRows);
  };

  const requests = () => t.db.selectFrom('build_requests').select(['id', 'state', 'worker']).orderBy('id').execute();
  const rebuildJobs = () => t.db.selectFrom('jobs').select(['id', 'status', 'payload']).where('type', '=', siteRebuildJob.type).execute();

  it('with no worker running, gives the request back after the claim wait: withdrawn, its job gone', async () => {
    const result = await within(handRebuildOver(t.db, { parts: ['blog'], by: 'test', wait: false, claimWaitMs: 200 }), 'the hand-over without a worker');
    expect(result).toEqual({ outcome: 'not-taken' });
    expect((await requests()).map((r) => r.state)).toEqual(['withdrawn']);
    // Withdrawn means it never runs later: a worker that starts now finds nothing to do.
    expect(await rebuildJobs()).toEqual([]);
    const late = startServer('late:1', async () => {}, { run: false });
    expect(await late.worker.drain()).toBe(0);
    expect(late.took).toEqual([]);
  });

  it('returns once the server serves the new pages, without waiting for the release to complete', async () => {
    const finish = gate();
    shut.push(finish.open);
    startServer('warm-host:101', async (ids) => {
      await markBuildRequests(t.db, ids, { state: 'live', releaseId: 'r-live', summary: summary({ liveMs: 40 }) });
      // The rest of the release is linked and `current` switched after the command returned.
      await finish.promise;
      await markBuildRequests(t.db, ids, { state: 'done', releaseId: 'r-live', summary: summary({ ms: 90, liveMs: 40 }) });
    });
    const claimedBy: string[] = [];
    const result = await within(
      handRebuildOver(t.db, { parts: ['blog'], by: 'test', wait: false, claimWaitMs: 30_000, onClaimed: (w) => claimedBy.push(w) }),
      'the hand-over to a worker that marks the request live',
    );
    expect(claimedBy).toEqual(['warm-host:101']);
    expect(result.outcome).toBe('live');
    if (result.outcome === 'not-taken') return;
    const { request } = result;
    expect(request).toMatchObject({ state: 'live', worker: 'warm-host:101', releaseId: 'r-live', parts: ['blog'], summary: summary({ liveMs: 40 }) });
    // It returned while the server was still finishing the release.
    expect((await readBuildRequest(t.db, request.id))?.state).toBe('live');
  });

  it('with wait, follows the request through live to done and returns the summary', async () => {
    const finish = gate();
    shut.push(finish.open);
    startServer('warm-host:102', async (ids) => {
      await markBuildRequests(t.db, ids, { state: 'live', releaseId: 'r-done', summary: summary({ liveMs: 40 }) });
      await finish.promise;
      await markBuildRequests(t.db, ids, { state: 'done', releaseId: 'r-done', summary: summary({ ms: 90, liveMs: 40 }) });
    });
    const claimedBy: string[] = [];
    const liveSeen: string[] = [];
    const result = await within(
      handRebuildOver(t.db, {
        parts: [],
        by: 'test',
        wait: true,
        claimWaitMs: 30_000,
        onClaimed: (w) => claimedBy.push(w),
        // The release completes only after the command saw it live: it must wait past live.
        onLive: (row) => {
          liveSeen.push(row.state);
          finish.open();
        },
      }),
      'the hand-over with wait',
    );
    expect(claimedBy).toEqual(['warm-host:102']);
    expect(liveSeen).toEqual(['live']);
    expect(result).toMatchObject({ outcome: 'done', request: { state: 'done', worker: 'warm-host:102', releaseId: 'r-done', parts: [], summary: summary({ ms: 90, liveMs: 40 }) } });
  });

  it("rejects with the server's reason when its build failed", async () => {
    startServer('warm-host:103', async () => {
      throw new Error('the renderer of release r-7 could not be loaded');
    });
    const handing = handRebuildOver(t.db, { parts: ['blog'], by: 'test', wait: false, claimWaitMs: 30_000 });
    const error = await within(
      handing.then(
        () => undefined,
        (e: unknown) => e,
      ),
      'the hand-over to a failing server',
    );
    expect(error).toBeInstanceOf(RoseError);
    expect((error as RoseError).code).toBe('build-failed');
    expect((error as RoseError).message).toBe('The running server could not rebuild the site: the renderer of release r-7 could not be loaded');
    expect((await requests()).map((r) => r.state)).toEqual(['failed']);
  });

  it('rejects saying the server stopped when it took the request and died (its job taken back as stale)', async () => {
    const hung = gate();
    shut.push(hung.open);
    const claimed = gate();
    // The process "dies" mid-build: nothing marks the request again.
    startServer('doomed-host:104', () => hung.promise);
    const handing = handRebuildOver(t.db, { parts: ['blog'], by: 'test', wait: false, claimWaitMs: 30_000, onClaimed: () => claimed.open() });
    const settled = handing.then(
      () => undefined,
      (e: unknown) => e,
    );
    await within(claimed.promise, 'the server claiming the request');
    expect(await takeBackAsStale()).toBe(1);
    const error = await within(settled, 'the hand-over to a server that died');
    expect(error).toBeInstanceOf(RoseError);
    expect((error as RoseError).code).toBe('build-failed');
    expect((error as RoseError).message).toBe('The server that took the rebuild (doomed-host:104) stopped before finishing it.');
  });

  it('rejects saying the server stopped when its lock went stale and no worker is left to take the job back', async () => {
    const hung = gate();
    shut.push(hung.open);
    const claimed = gate();
    startServer('lonely-host:106', () => hung.promise);
    const settled = handRebuildOver(t.db, { parts: ['blog'], by: 'test', wait: false, claimWaitMs: 30_000, onClaimed: () => claimed.open() }).then(
      () => undefined,
      (e: unknown) => e,
    );
    await within(claimed.promise, 'the server claiming the request');
    // The only worker stopped renewing its lock long ago (killed); the job itself still says running.
    await sql`update jobs set locked_at = now() - interval '1 hour' where type = ${siteRebuildJob.type}`.execute(t.db);
    const error = await within(settled, 'the hand-over to a server whose lock went stale');
    expect((error as RoseError).code).toBe('build-failed');
    expect((error as RoseError).message).toBe('The server that took the rebuild (lonely-host:106) stopped before finishing it.');
    expect((await rebuildJobs()).map((j) => j.status)).toEqual(['running']);
  });

  it('rejects saying the server stopped when its job ended without the request being reported', async () => {
    startServer('sloppy-host:105', async () => {});
    const error = await within(
      handRebuildOver(t.db, { parts: ['blog'], by: 'test', wait: false, claimWaitMs: 30_000 }).then(
        () => undefined,
        (e: unknown) => e,
      ),
      'the hand-over to a server whose handler returned without marking the request',
    );
    expect((error as RoseError).code).toBe('build-failed');
    expect((error as RoseError).message).toContain('(sloppy-host:105) stopped before finishing it');
    expect((await rebuildJobs()).map((j) => j.status)).toEqual(['done']);
  });

  it('rejects when the server took the job but died before claiming the request', async () => {
    // A worker whose handler never gets as far as claimBuildRequests (the process is killed
    // right after claiming the job): the request stays queued, its job is taken back as stale.
    const hung = gate();
    shut.push(hung.open);
    const tookJob = gate();
    const worker = createWorker({
      db: t.db,
      logger: silent,
      pollMs: 20,
      handlers: handle(siteRebuildJob, async () => {
        tookJob.open();
        await hung.promise;
      }),
    });
    workers.push({ worker, running: worker.run() });
    const settled = handRebuildOver(t.db, { parts: ['blog'], by: 'test', wait: false, claimWaitMs: 200 }).then(
      (r) => r,
      (e: unknown) => e,
    );
    await within(tookJob.promise, 'the worker taking the job');
    expect(await takeBackAsStale()).toBe(1);
    const error = await within(settled, 'the hand-over whose job failed before its request was claimed');
    expect(error).toBeInstanceOf(RoseError);
    expect((error as RoseError).code).toBe('build-failed');
    expect((error as RoseError).message).toContain('stopped before finishing it');
  });

  it('never both withdraws a request and runs it when a worker claims as the claim wait ends', async () => {
    // A server woken at once by each NOTIFY and polling every few ms, against a command that
    // tries to withdraw on its first look (claimWaitMs 0): either side may win each round.
    const server = startServer(
      'racing-host:106',
      async (ids) => {
        await markBuildRequests(t.db, ids, { state: 'live', releaseId: 'r-race', summary: summary({ liveMs: 1 }) });
        await markBuildRequests(t.db, ids, { state: 'done', releaseId: 'r-race', summary: summary({ ms: 2, liveMs: 1 }) });
      },
      { pollMs: 1, listen: true },
    );
    const outcomes: { outcome: HandOverResult['outcome']; id: number }[] = [];
    for (let round = 0; round < 30; round++) {
      const result = await within(handRebuildOver(t.db, { parts: ['blog'], by: `round ${round}`, wait: round % 2 === 1, claimWaitMs: 0, pollMs: 1 }), `round ${round}`);
      const row = await t.db.selectFrom('build_requests').select('id').where('requested_by', '=', `round ${round}`).executeTakeFirstOrThrow();
      outcomes.push({ outcome: result.outcome, id: Number(row.id) });
    }
    // Whatever was still running finishes before the rows are judged.
    for (const { worker, running } of workers.splice(0)) {
      await worker.stop();
      await running;
    }
    const rows = new Map((await requests()).map((r) => [Number(r.id), r.state]));
    const jobs = await rebuildJobs();
    const jobOf = (id: number) => jobs.filter((j) => (j.payload as { request: number }).request === id);
    for (const { outcome, id } of outcomes) {
      if (outcome === 'not-taken') {
        expect({ id, state: rows.get(id), jobs: jobOf(id).length, ran: server.took.includes(id) }).toEqual({ id, state: 'withdrawn', jobs: 0, ran: false });
      } else {
        expect({ id, state: rows.get(id), ran: server.took.filter((x) => x === id).length }).toEqual({ id, state: 'done', ran: 1 });
      }
    }
    // Nothing ran that was not handed over.
    const handed = new Set(outcomes.filter((o) => o.outcome !== 'not-taken').map((o) => o.id));
    expect(server.took.filter((id) => !handed.has(id))).toEqual([]);
  });
});

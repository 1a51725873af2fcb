import { hostname, userInfo } from 'node:os';
import path from 'node:path';
import { sql, type Kysely, type Selectable } from 'kysely';
import { z } from 'zod';
import type { Config } from '@rose/config';
import { RoseError, resolvePartNames } from '@rose/core';
import { createMigrations, embeddedOwner, openDatabase, type BuildRequestState, type BuildRequestsTable, type Database } from '@rose/db';
import { defineJob, enqueue, workerDefaults } from '@rose/jobs';
import { staticPartNames } from './startup.ts';

/**
 * `rose build --targeted` handed to a running server (`rose serve`, `rose worker`), which keeps
 * the live release's renderer and the data it was built from in memory: the command queues
 * this job and follows its `build_requests` row; the server finds what changed itself.
 */
export const siteRebuildJob = defineJob('site.rebuild', z.object({ request: z.number().int().positive() }));

/**
 * On Postgres, the `application_name` of the job listener of a worker with a build pipeline
 * (`rose serve`, `rose worker`): a command sees in `pg_stat_activity` whether one is running.
 */
export const buildWorkerName = 'rose-build-worker';

export interface BuildRequestRow {
  id: number;
  parts: string[];
  state: BuildRequestState;
  worker: string | null;
  releaseId: string | null;
  summary: BuildRequestSummary | null;
  error: string | null;
}

/** What the server reports of the rebuild (the fields of the build's result the command prints). */
export interface BuildRequestSummary {
  kind: 'warm' | 'astro' | 'unchanged';
  parts: string[];
  rendered: number;
  changed: number;
  removed: number;
  pages: number;
  /** From claim to the new pages being served by that server. */
  liveMs?: number;
  /** From claim to the release being complete and current. */
  ms?: number;
}

/** Records the request and queues its job, in one transaction. */
export async function requestRebuild(db: Kysely<Database>, request: { parts: readonly string[]; by: string }): Promise<{ id: number; job: number }> {
  return db.transaction().execute(async (trx) => {
    const row = await trx
      .insertInto('build_requests')
      .values({ parts: JSON.stringify(request.parts), requested_by: request.by })
      .returning('id')
      .executeTakeFirstOrThrow();
    const id = Number(row.id);
    const job = await enqueue(trx, siteRebuildJob, { request: id }, { maxAttempts: 1 });
    return { id, job };
  });
}

/**
 * Takes the request back if no worker has claimed its job yet (nobody with a build pipeline is
 * running, or all are busy): true when it was withdrawn, false when a worker has it.
 */
export async function withdrawRebuild(db: Kysely<Database>, request: { id: number; job: number }): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    const deleted = await trx.deleteFrom('jobs').where('id', '=', request.job).where('status', '=', 'pending').executeTakeFirst();
    if (Number(deleted.numDeletedRows) === 0) return false;
    await trx.updateTable('build_requests').set({ state: 'withdrawn', finished_at: new Date() }).where('id', '=', request.id).execute();
    return true;
  });
}

const requestColumns = ['id', 'parts', 'state', 'worker', 'release_id', 'summary', 'error'] as const;
type RequestRecord = Pick<Selectable<BuildRequestsTable>, (typeof requestColumns)[number]>;
const toRow = (r: RequestRecord): BuildRequestRow => ({ id: Number(r.id), parts: r.parts, state: r.state, worker: r.worker, releaseId: r.release_id, summary: r.summary as BuildRequestSummary | null, error: r.error });

export async function readBuildRequest(db: Kysely<Database>, id: number): Promise<BuildRequestRow | undefined> {
  const row = await db.selectFrom('build_requests').select(requestColumns).where('id', '=', id).executeTakeFirst();
  return row && toRow(row);
}

/** Requests of the claimed jobs that are still to do (a request withdrawn meanwhile is not). */
export async function claimBuildRequests(db: Kysely<Database>, ids: readonly number[], worker: string): Promise<BuildRequestRow[]> {
  if (ids.length === 0) return [];
  const rows = await db
    .updateTable('build_requests')
    .set({ state: 'running', worker })
    .where('id', 'in', ids)
    .where('state', '=', 'queued')
    .returning(requestColumns)
    .execute();
  return rows.map(toRow);
}

export async function markBuildRequests(
  db: Kysely<Database>,
  ids: readonly number[],
  update: { state: 'live' | 'done' | 'failed'; releaseId?: string; summary?: BuildRequestSummary; error?: string },
): Promise<void> {
  if (ids.length === 0) return;
  const now = new Date();
  await db
    .updateTable('build_requests')
    .set({
      state: update.state,
      ...(update.releaseId ? { release_id: update.releaseId } : {}),
      ...(update.summary ? { summary: JSON.stringify(update.summary) } : {}),
      ...(update.error !== undefined ? { error: update.error } : {}),
      ...(update.state === 'live' ? { live_at: now } : { finished_at: now }),
    })
    .where('id', 'in', ids)
    .execute();
}

export interface HandOverOptions {
  /** Parts to rebuild; empty for all. */
  parts: readonly string[];
  /** Who asks (`rose build --targeted`, user@host), for the row. */
  by: string;
  /** Wait for the release to be complete and current, not just served by that server. */
  wait: boolean;
  /** How long a running server has to take the request before this process builds itself. */
  claimWaitMs?: number;
  /** How often the row is read. */
  pollMs?: number;
  onClaimed?(worker: string): void;
  onLive?(request: BuildRequestRow): void;
}

/** How a handed-over rebuild ended: live (served, the release finishing in the background) or done. */
export type HandOverResult = { outcome: 'live' | 'done'; request: BuildRequestRow } | { outcome: 'not-taken' };

/**
 * Queues a targeted rebuild for a running server and follows it: `not-taken` when no worker
 * claimed it within `claimWaitMs` (it is withdrawn, so it never runs later); otherwise until the
 * server serves the new pages, or, with `wait`, until the release is complete and current.
 * Throws a RoseError when the server's build failed or the server stopped before finishing.
 */
export async function handRebuildOver(db: Kysely<Database>, opts: HandOverOptions): Promise<HandOverResult> {
  const claimWaitMs = opts.claimWaitMs ?? 3000;
  const pollMs = opts.pollMs ?? 25;
  const request = await requestRebuild(db, { parts: opts.parts, by: opts.by });
  const started = performance.now();
  let claimed = false;
  let live = false;
  // The job's own state only now and then: on the embedded database every query takes the one
  // session the server's rebuild reads through.
  const jobCheckMs = Math.max(pollMs, 500);
  let jobCheckedAt = Number.NEGATIVE_INFINITY;
  for (;;) {
    const row = await readBuildRequest(db, request.id);
    if (!row) throw new Error(`The build request ${request.id} disappeared`);
    const waited = row.state === 'queued' && performance.now() - started > claimWaitMs;
    if (waited && (await withdrawRebuild(db, request))) return { outcome: 'not-taken' };
    if (!claimed && row.state !== 'queued' && row.worker) {
      claimed = true;
      opts.onClaimed?.(row.worker);
    }
    if (row.state === 'failed') throw serverBuildFailed(row.error ?? 'no reason given');
    if (row.state === 'done') return { outcome: 'done', request: row };
    if (row.state === 'live' && !live) {
      live = true;
      opts.onLive?.(row);
      if (!opts.wait) return { outcome: 'live', request: row };
    }
    // A server that stopped (or was killed) mid-build leaves the row running — or queued, when
    // it died between taking the job and claiming the row (then the withdrawal above found the
    // job taken); its job, taken back as stale and out of attempts, says so, and so does a lock
    // nobody renewed for longer than a worker's stale limit (no other worker to take it back).
    if ((claimed || waited) && performance.now() - jobCheckedAt > jobCheckMs) {
      jobCheckedAt = performance.now();
      const job = await db
        .selectFrom('jobs')
        .select(['status', sql<boolean>`locked_at < now() - make_interval(secs => ${workerDefaults.staleAfterMs / 1000})`.as('stale')])
        .where('id', '=', request.job)
        .executeTakeFirst();
      if (!job || job.status === 'failed' || job.status === 'done' || (job.status === 'running' && job.stale)) {
        const again = await readBuildRequest(db, request.id);
        if (again?.state === 'done') return { outcome: 'done', request: again };
        if (again?.state === 'failed') throw serverBuildFailed(again.error ?? 'no reason given');
        throw new RoseError({
          code: 'build-failed',
          title: 'Build failed',
          message: `The server that took the rebuild${row.worker ? ` (${row.worker})` : ''} stopped before finishing it.`,
          hint: 'Run `rose build --targeted` again (`rose release list` shows what is live).',
        });
      }
    }
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}

function serverBuildFailed(reason: string): RoseError {
  return new RoseError({
    code: 'build-failed',
    title: 'Build failed',
    message: `The running server could not rebuild the site: ${reason}`,
    hint: 'Its log has the details. The live release was not touched. `rose build --targeted --in-process` builds in this process instead.',
  });
}

/**
 * `rose build --targeted` from a new process: a running `rose serve` or `rose worker` has the
 * live release's renderer loaded and the data it was built from in memory, so it rebuilds in
 * a fraction of the time this process would need (open the database, read every part, load
 * the renderer). Hands the rebuild over when such a server may be running; `not-taken` when
 * none took it (this process then builds itself). With the embedded database only its owner
 * can be that server, and `rose dev` has no build pipeline; with Postgres, any worker with a
 * build pipeline (seen by its listener's `application_name`) may take it.
 * Imports little: the command pays for the build pipeline only when it builds itself.
 */
export async function handRebuildToServer(config: Config, opts: Omit<HandOverOptions, 'by'>): Promise<HandOverResult & { server?: string }> {
  resolvePartNames(staticPartNames, opts.parts);
  let server: string | undefined;
  if (config.database.kind === 'pglite') {
    const owner = embeddedOwner(config.database.dir);
    if (!owner || /^rose dev\b/.test(owner.command)) return { outcome: 'not-taken' };
    server = `\`${owner.command}\` (process ${owner.pid})`;
  }
  const handle = await openDatabase(config.database);
  try {
    // On Postgres: only when a worker with a build pipeline is connected (else the command
    // would wait for nobody before building itself).
    if (handle.kind === 'postgres') {
      const { rows } = await sql<{ n: number }>`select count(*)::int as n from pg_stat_activity where application_name = ${buildWorkerName} and datname = current_database()`.execute(handle.db);
      if (!rows[0]?.n) return { outcome: 'not-taken' };
    }
    await createMigrations(handle.db, path.join(config.root, 'migrations')).assertCurrent();
    const by = `rose build --targeted (${userInfo().username}@${hostname()}, process ${process.pid})`;
    return { ...(await handRebuildOver(handle.db, { ...opts, by })), ...(server ? { server } : {}) };
  } finally {
    await handle.close();
  }
}

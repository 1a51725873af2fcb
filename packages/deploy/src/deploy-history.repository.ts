import { sql, type Kysely } from 'kysely';
import type { Database, DeployResult, DeployStepRecord, DeployTargetKind } from '@rose/db';

export interface DeployRecord {
  id: number;
  target: string;
  kind: DeployTargetKind;
  startedAt: Date;
  finishedAt: Date | undefined;
  deployedBy: string;
  commit: string;
  parts: string[];
  /** Narrowed with --parts: not a baseline for what changed. */
  partial: boolean;
  releaseId: string | undefined;
  previousReleaseId: string | undefined;
  result: DeployResult;
  message: string | undefined;
  steps: DeployStepRecord[];
}

type Row = Awaited<ReturnType<typeof selectDeploys>>[number];
const selectDeploys = (db: Kysely<Database>) => db.selectFrom('deploys').selectAll().execute();

const toRecord = (r: Row): DeployRecord => ({
  id: Number(r.id),
  target: r.target,
  kind: r.kind,
  startedAt: r.started_at,
  finishedAt: r.finished_at ?? undefined,
  deployedBy: r.deployed_by,
  commit: r.commit,
  parts: r.parts,
  partial: r.partial,
  releaseId: r.release_id ?? undefined,
  previousReleaseId: r.previous_release_id ?? undefined,
  result: r.result,
  message: r.message ?? undefined,
  steps: r.steps,
});

export async function startDeploy(
  db: Kysely<Database>,
  d: { target: string; kind: DeployTargetKind; deployedBy: string; commit: string; parts: string[]; partial: boolean; previousReleaseId: string | undefined; now: Date },
): Promise<number> {
  const row = await db
    .insertInto('deploys')
    .values({ target: d.target, kind: d.kind, deployed_by: d.deployedBy, commit: d.commit, parts: JSON.stringify(d.parts), partial: d.partial, previous_release_id: d.previousReleaseId ?? null, started_at: d.now })
    .returning('id')
    .executeTakeFirstOrThrow();
  return Number(row.id);
}

export async function finishDeploy(
  db: Kysely<Database>,
  id: number,
  d: { result: Exclude<DeployResult, 'running'>; releaseId: string | undefined; message: string | undefined; steps: DeployStepRecord[]; now: Date },
): Promise<void> {
  await db
    .updateTable('deploys')
    .set({ result: d.result, release_id: d.releaseId ?? null, message: d.message?.slice(0, 2000) ?? null, steps: JSON.stringify(d.steps), finished_at: d.now })
    .where('id', '=', String(id))
    .execute();
}

/** Deploys newest first, of one target or all; none before the migration that makes the table has run. */
export async function listDeploys(db: Kysely<Database>, opts: { target?: string; limit: number }): Promise<DeployRecord[]> {
  try {
    const rows = await db
      .selectFrom('deploys')
      .selectAll()
      .$if(Boolean(opts.target), (q) => q.where('target', '=', opts.target!))
      .orderBy('id', 'desc')
      .limit(opts.limit)
      .execute();
    return rows.map(toRecord);
  } catch (error) {
    if ((error as { code?: string }).code === '42P01') return [];
    throw error;
  }
}

/**
 * Deploys left `running` by a process that died (its lock is gone, so no deploy runs now):
 * marked failed so the history tells the truth.
 */
export async function closeAbandonedDeploys(db: Kysely<Database>, target: string, now: Date): Promise<number> {
  const r = await db
    .updateTable('deploys')
    .set({ result: 'failed', message: 'the deploying process stopped before it finished', finished_at: now })
    .where('target', '=', target)
    .where('result', '=', 'running')
    .executeTakeFirst();
  return Number(r.numUpdatedRows);
}

/** Per target and result: how many deploys, and the duration and end of the latest (for /api/metrics). */
export async function summariseDeploys(db: Kysely<Database>): Promise<{ target: string; result: DeployResult; count: number; lastDurationSeconds: number; lastFinishedAt: Date }[]> {
  const rows = await db
    .selectFrom('deploys as d')
    .where('d.finished_at', 'is not', null)
    .select((eb) => [
      'd.target',
      'd.result',
      eb.fn.countAll<string>().as('n'),
      eb.fn.max('d.finished_at').as('last'),
      sql<number>`(array_agg(extract(epoch from d.finished_at - d.started_at) order by d.finished_at desc))[1]`.as('seconds'),
    ])
    .groupBy(['d.target', 'd.result'])
    .execute();
  return rows.map((r) => ({ target: r.target, result: r.result, count: Number(r.n), lastDurationSeconds: Number(r.seconds), lastFinishedAt: new Date(r.last as unknown as string) }));
}

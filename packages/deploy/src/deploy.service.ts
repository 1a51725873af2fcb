import type { Kysely } from 'kysely';
import { RoseError, type Clock } from '@rose/core';
import type { Database, DeployStepRecord, Migrations, MigratePlan } from '@rose/db';
import { classifyChanges, needsDeploy, restrictToParts, type ChangePlan } from './change-plan.ts';
import { closeAbandonedDeploys, finishDeploy, listDeploys, startDeploy } from './deploy-history.repository.ts';
import { withDeployLock } from './deploy-lock.ts';
import type { GitRepo } from './git.ts';
import type { HealthExpectation, HealthResult } from './health-check.ts';
import type { TargetConfig } from './targets-config.ts';

/**
 * How a target ships and switches what it runs: a release folder (local, ssh) or an image
 * tag (swarm). `id` is what `/api/ready` reports once live, when the target can know it.
 */
export interface Shipper {
  describe(): string;
  /** What runs there now (a release id or an image tag), from the far side itself. */
  live(): Promise<string | undefined>;
  /**
   * Makes what `plan` needs (a build of its parts, an image) and sends it; returns its id.
   * `current` is what runs there now: builds reuse it where they can. `commit` is the one
   * deployed (`<sha>+dirty` with uncommitted changes).
   */
  prepare(plan: ChangePlan, current: string | undefined, step: StepRunner, commit: string): Promise<{ id: string; expectRelease: boolean }>;
  /** Makes `id` live. */
  activate(id: string, step: StepRunner): Promise<void>;
  /** After a successful deploy: old releases deleted. */
  cleanUp?(step: StepRunner): Promise<void>;
  /** Checks what can be checked before anything changes (a dry run too): throws a RoseError naming the problem. */
  preflight?(commit: string): Promise<void>;
}

export interface DeployDeps {
  target: TargetConfig;
  shipper: Shipper;
  /** The target's database (its migrations, seeds, the deploy history and lock). */
  db: Kysely<Database>;
  migrations: Migrations;
  git: GitRepo;
  /** Parts with static pages, in order. */
  parts: readonly string[];
  /** Re-seeds `parts` from the project's content folder; returns a one-line summary. */
  seed(parts: string[]): Promise<string>;
  health(origin: string, expect: HealthExpectation): Promise<HealthResult>;
  clock: Clock;
  /** Who deploys (recorded). */
  user: string;
  /** One line of progress for the person deploying. */
  log(line: string): void;
  signal?: AbortSignal;
}

export interface DeployOptions {
  /** Only these parts, re-seeded and rebuilt even if nothing of theirs changed; recorded as a partial deploy. */
  parts?: string[];
  dryRun?: boolean;
  /** Run migrations that drop tables or columns (they break servers still on the old code). */
  allowDestructive?: boolean;
  /** Deploy with uncommitted changes (recorded as `<commit>+dirty`; the next deploy ships everything). */
  allowDirty?: boolean;
  /** How long to wait for another deploy of this database to finish; 0 refuses at once. */
  waitMs?: number;
}

export type DeployOutcome =
  | { result: 'dry-run'; plan: ChangePlan; migrate: MigratePlan; live: string | undefined; commit: string }
  | { result: 'nothing'; plan: ChangePlan; live: string | undefined; commit: string }
  | { result: 'succeeded'; id: number; plan: ChangePlan; release: string; previous: string | undefined; steps: DeployStepRecord[]; commit: string }
  | { result: 'rolled-back'; id: number; plan: ChangePlan; release: string; previous: string; problem: string; steps: DeployStepRecord[]; commit: string };

export type StepRunner = <T>(name: string, body: () => Promise<T>, detail?: (value: T) => string | undefined) => Promise<T>;

/**
 * `rose deploy`: decide what changed since the target's last successful deploy, print the
 * plan, then (under the database's deploy lock) migrate, seed, build and ship, switch, check
 * health through the front door, and switch back if the check fails. Every deploy is
 * recorded in the target's database with its steps.
 */
export async function runDeploy(deps: DeployDeps, opts: DeployOptions = {}): Promise<DeployOutcome> {
  const { target, log } = deps;
  if (opts.parts) {
    const unknown = opts.parts.filter((p) => !deps.parts.includes(p));
    if (unknown.length > 0 || opts.parts.length === 0) {
      throw new RoseError({ code: 'bad-argument', title: 'Unknown part', message: `--parts ${opts.parts.join(',') || '(empty)'}: ${unknown.length ? `${unknown.join(', ')} ${unknown.length === 1 ? 'is' : 'are'} not a part with pages` : 'name at least one part'}.`, hint: `Parts: ${deps.parts.join(', ')}.` });
    }
  }
  let commit = await deps.git.head();
  // Uncommitted changes a deploy would not ship (docs, tests…) do not make the tree dirty.
  const dirty = (await deps.git.uncommitted()).filter((f) => needsDeploy(f, target.kind));
  if (dirty.length > 0) {
    if (!opts.allowDirty && !opts.dryRun) {
      throw new RoseError({
        code: 'deploy-dirty',
        title: 'Uncommitted changes',
        message: `${dirty.length} tracked file(s) differ from commit ${commit.slice(0, 12)} (${dirty.slice(0, 3).join(', ')}${dirty.length > 3 ? ', …' : ''}); a deploy records the commit it ships.`,
        hint: 'Commit (or stash) them first, or pass --allow-dirty to ship them anyway (the next deploy then ships everything).',
      });
    }
    commit = `${commit}+dirty`;
  }

  const planFor = async () => {
    const live = await deps.shipper.live();
    const history = await listDeploys(deps.db, { target: target.name, limit: 50 });
    // What changed since the last deploy that shipped every change of its commit (one narrowed
    // with --parts left the others' changes behind). Whatever runs there now — a rebuild by the
    // site's own worker, a rollback — is only about whether the build can reuse it.
    const baseline = history.find((d) => d.result === 'succeeded' && !d.partial);
    // A dirty deploy's commit is not what ran there: everything.
    const changed = baseline && !baseline.commit.endsWith('+dirty') ? await deps.git.changedSince(baseline.commit) : 'all';
    let plan = classifyChanges(changed, { parts: deps.parts, kind: target.kind });
    if (baseline) plan.reasons.unshift(`changes since deploy #${baseline.id} (${baseline.commit.slice(0, 12)}, ${baseline.startedAt.toISOString()})`);
    if (live && !history.some((d) => d.result === 'succeeded' && d.releaseId === live)) plan.reasons.push(`${live} runs there, which no deploy of this target shipped (a rebuild by its worker, or a rollback): every part is built again`);
    if (opts.parts) plan = restrictToParts(plan, opts.parts);
    return { plan, live };
  };

  const printPlan = (plan: ChangePlan, migrate: MigratePlan, live: string | undefined) => {
    log(`Deploy of ${commit.slice(0, 12)} to "${target.name}" (${deps.shipper.describe()}); live there now: ${live ?? 'nothing'}`);
    for (const r of plan.reasons) log(`  · ${r}`);
    log(`  migrations: ${migrate.migrations.length === 0 ? 'none pending' : migrate.migrations.join(', ')}`);
    for (const loss of migrate.losses) log(`  ! drops ${loss.kind === 'columns' ? `${loss.table}.${loss.columns.join(', ')}` : loss.kind === 'table' ? `table ${loss.table}` : `${loss.rows} row(s) of ${loss.table}`} (${loss.rows} row(s) with data)`);
    log(`  re-seed: ${plan.seed.length ? plan.seed.join(', ') : 'nothing'}; build: ${plan.parts.length ? plan.parts.join(', ') : 'nothing'}${plan.code ? ' (new code: a full build)' : ''}`);
  };

  const refuseDestructive = (migrate: MigratePlan) => {
    if (migrate.losses.length === 0 || opts.allowDestructive) return;
    const what = migrate.losses.map((l) => (l.kind === 'columns' ? `${l.table}.${l.columns.join(',')}` : l.kind === 'table' ? `table ${l.table}` : `rows of ${l.table}`));
    throw new RoseError({
      code: 'deploy-destructive',
      title: 'Destructive migration',
      message: `${migrate.migrations.join(', ')} drop${migrate.migrations.length === 1 ? 's' : ''} ${what.join('; ')}. Servers still running the previous release use ${what.length === 1 ? 'it' : 'them'} until they are switched, so this deploy would break them.`,
      hint: 'Ship it in two steps (expand/contract: stop using the column in one deploy, drop it in a later one), or pass --allow-destructive if nothing running uses it. Nothing was changed.',
    });
  };

  await deps.shipper.preflight?.(commit);

  if (opts.dryRun) {
    const { plan, live } = await planFor();
    const migrate = await deps.migrations.planMigrate();
    printPlan(plan, migrate, live);
    log('Dry run: nothing was changed.');
    return { result: 'dry-run', plan, migrate, live, commit };
  }

  return withDeployLock(deps.db, { waitMs: opts.waitMs ?? 0, onWait: (holder) => log(`Waiting: ${holder} is deploying…`), ...(deps.signal ? { signal: deps.signal } : {}) }, async () => {
    // Holding the lock, no other deploy runs: one left `running` died on the way.
    await closeAbandonedDeploys(deps.db, target.name, deps.clock.now()).catch(() => 0);
    const { plan, live } = await planFor();
    const migrate = await deps.migrations.planMigrate();
    printPlan(plan, migrate, live);
    refuseDestructive(migrate);
    if (plan.empty && migrate.migrations.length === 0) {
      log('Nothing to deploy.');
      return { result: 'nothing' as const, plan, live, commit };
    }
    const id = await startDeploy(deps.db, { target: target.name, kind: target.kind, deployedBy: deps.user, commit, parts: plan.parts, partial: Boolean(opts.parts), previousReleaseId: live, now: deps.clock.now() });
    const steps: DeployStepRecord[] = [];
    const step: StepRunner = async (name, body, detail) => {
      const started = performance.now();
      log(`→ ${name}…`);
      const value = await body();
      const ms = Math.round(performance.now() - started);
      const said = detail?.(value);
      steps.push({ step: name, ms, ...(said ? { detail: said } : {}) });
      log(`  ✔ ${name} (${(ms / 1000).toFixed(1)} s)${said ? `: ${said}` : ''}`);
      return value;
    };
    let shipped: string | undefined;
    try {
      await step('migrate', () => deps.migrations.migrateToLatest(), (names) => (names.length ? names.join(', ') : 'none pending'));
      if (plan.seed.length > 0) await step(`seed ${plan.seed.join(', ')}`, () => deps.seed(plan.seed), (s) => s);
      const made = await deps.shipper.prepare(plan, live, step, commit);
      shipped = made.id;
      if (made.id === live) {
        log(`${made.id} is already live there.`);
      } else {
        await deps.shipper.activate(made.id, step);
      }
      const health = await step(
        'health check',
        () => deps.health(target.url, { release: made.expectRelease ? made.id : undefined, timeoutMs: target.healthTimeoutSeconds * 1000, ...(deps.signal ? { signal: deps.signal } : {}) }),
        (h) => (h.ok ? `${target.url} serves ${made.id}` : h.problem),
      );
      if (!health.ok) {
        if (!live) throw new RoseError({ code: 'deploy-unhealthy', title: 'Deploy unhealthy', message: `${target.url} did not become ready with ${made.id}: ${health.problem}. There is no earlier release to go back to.`, hint: 'Check the servers’ logs; fix, then deploy again.' });
        log(`✘ ${health.problem}: switching back to ${live}`);
        await deps.shipper.activate(live, step);
        const again = await step('health check after rollback', () => deps.health(target.url, { release: made.expectRelease ? live : undefined, timeoutMs: target.healthTimeoutSeconds * 1000 }), (h) => (h.ok ? `${live} serves again` : h.problem));
        const message = `health check failed (${health.problem}); rolled back to ${live}${again.ok ? '' : ` — and the rollback is unhealthy too: ${again.problem}`}`;
        await finishDeploy(deps.db, id, { result: 'rolled-back', releaseId: made.id, message, steps, now: deps.clock.now() });
        return { result: 'rolled-back' as const, id, plan, release: made.id, previous: live, problem: health.problem, steps, commit };
      }
      if (deps.shipper.cleanUp) await deps.shipper.cleanUp(step).catch((error: unknown) => log(`  (could not delete old releases: ${(error as Error).message})`));
      await finishDeploy(deps.db, id, { result: 'succeeded', releaseId: made.id, message: undefined, steps, now: deps.clock.now() });
      return { result: 'succeeded' as const, id, plan, release: made.id, previous: live, steps, commit };
    } catch (error) {
      // Failed after the switch (a restart command, say): go back to what ran before.
      let state = '';
      if (shipped && live && shipped !== live) {
        const now = await deps.shipper.live().catch(() => undefined);
        if (now !== live) {
          try {
            await deps.shipper.activate(live, step);
            state = ` ${live} is live again.`;
          } catch (again) {
            state = ` ${now ?? shipped} may be live: switching back to ${live} failed too (${(again as Error).message}).`;
          }
        }
      }
      const message = `${(error as Error).message}${state}`;
      await finishDeploy(deps.db, id, { result: 'failed', releaseId: shipped, message, steps, now: deps.clock.now() }).catch(() => undefined);
      if (state && error instanceof RoseError) throw new RoseError({ code: error.code, title: error.title, message: `${error.message}${state}`, hint: error.hint, cause: error });
      throw error;
    }
  });
}

import { openDeploy } from '@rose/app/deploy';
import { RoseError } from '@rose/core';
import { listDeploys, runDeploy } from '@rose/deploy';
import type { CommandContext } from '../context.ts';
import { createProgress } from '../progress.ts';

export interface DeployCommandOptions {
  parts?: string[];
  dryRun?: boolean;
  allowDestructive?: boolean;
  allowDirty?: boolean;
  /** Seconds to wait for a running deploy; 0 refuses at once. */
  wait?: number;
  targets?: string;
}

const open = (ctx: CommandContext, env: Record<string, string | undefined>, target: string | undefined, targetsFile: string | undefined) =>
  openDeploy(ctx.config, env, {
    ...(target ? { target } : {}),
    ...(targetsFile ? { targetsFile } : {}),
    out: {
      log: (line) => ctx.out.info(line),
      info: (m) => ctx.out.info(`    ${m}`),
      progress: (title, total) => createProgress({ title, total, isTTY: ctx.out.isTTY }),
      verbose: ctx.out.verbose,
    },
  });

/** `rose deploy [target]`: see @rose/deploy's runDeploy. */
export async function deploy(ctx: CommandContext, env: Record<string, string | undefined>, name: string | undefined, opts: DeployCommandOptions): Promise<void> {
  const opened = await open(ctx, env, name, opts.targets);
  try {
    const started = performance.now();
    const outcome = await runDeploy(opened.deps, {
      ...(opts.parts ? { parts: opts.parts } : {}),
      dryRun: Boolean(opts.dryRun),
      allowDestructive: Boolean(opts.allowDestructive),
      allowDirty: Boolean(opts.allowDirty),
      waitMs: (opts.wait ?? 0) * 1000,
    });
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    if (outcome.result === 'succeeded') ctx.out.info(`Deployed ${outcome.commit.slice(0, 12)} to "${opened.target.name}" in ${seconds} s: ${outcome.release} is live at ${opened.target.url} (deploy #${outcome.id}).`);
    if (outcome.result === 'rolled-back') {
      throw new RoseError({
        code: 'deploy-rolled-back',
        title: 'Deploy rolled back',
        message: `${outcome.release} failed its health check (${outcome.problem}); ${outcome.previous} is live again on "${opened.target.name}" (deploy #${outcome.id}).`,
        hint: 'Look at the servers’ logs for why the new release was not ready, fix it, and deploy again. `rose deploy history` has the steps.',
      });
    }
  } finally {
    await opened.close();
  }
}

/** `rose deploy history [target]`: the target's deploys, newest first. */
export async function deployHistory(ctx: CommandContext, env: Record<string, string | undefined>, name: string | undefined, opts: { json?: boolean; limit: number; targets?: string }): Promise<void> {
  const opened = await open(ctx, env, name, opts.targets);
  try {
    const list = await listDeploys(opened.database.db, { target: opened.target.name, limit: opts.limit });
    if (opts.json) {
      ctx.out.info(JSON.stringify(list, null, 2));
      return;
    }
    if (list.length === 0) {
      ctx.out.info(`No deploys of "${opened.target.name}" yet.`);
      return;
    }
    for (const d of list) {
      const took = d.finishedAt ? ` in ${((d.finishedAt.getTime() - d.startedAt.getTime()) / 1000).toFixed(1)} s` : '';
      ctx.out.info(`#${d.id}  ${d.startedAt.toISOString()}  ${d.result.padEnd(11)} ${d.commit.slice(0, 12)}  ${d.releaseId ?? '-'}  ${d.parts.join(',') || '-'}  by ${d.deployedBy}${took}`);
      if (d.message) ctx.out.info(`      ${d.message}`);
    }
  } finally {
    await opened.close();
  }
}

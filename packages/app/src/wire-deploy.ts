import os from 'node:os';
import path from 'node:path';
import { loadConfig, type Config } from '@rose/config';
import { RoseError, systemClock } from '@rose/core';
import { createMigrations, openDatabase, type DatabaseHandle } from '@rose/db';
import {
  checkHealth,
  createGitRepo,
  createLocalTarget,
  createReleaseShipper,
  createSshTarget,
  createSwarmShipper,
  loadTargets,
  pickTarget,
  resolveTargetEnv,
  type DeployDeps,
  type Shipper,
  type TargetConfig,
} from '@rose/deploy';
import { createReleaseStore } from '@rose/releases';
import { seedContentDir } from './seed-content.ts';
import { staticPartNames } from './startup.ts';
import { createSiteBuild, readSnapshots, type SiteBuildOutput } from './wire-site.ts';

export interface OpenedDeploy {
  target: TargetConfig;
  /** The settings the target's build and migrations run with (its database, its site URL). */
  config: Config;
  database: DatabaseHandle;
  deps: DeployDeps;
  close(): Promise<void>;
}

// Its own entry (`@rose/app/deploy`), not the main one: the site's pages import that, and
// Astro bundles whatever it reaches.

/**
 * A deploy target from `deploy/targets.json`, opened: its settings (secrets from `env`), its
 * database, and everything `runDeploy` needs wired to this site — the build (here, against
 * the target's database, into `<data>/deploy/<target>/dist`, which keeps what was last
 * shipped so the next build re-renders only what changed), seeding from `content/`, the
 * shipper for its kind, git, health checks through its front door.
 */
export async function openDeploy(
  local: Config,
  env: Record<string, string | undefined>,
  opts: { target?: string; targetsFile?: string; out: SiteBuildOutput & { log(line: string): void } },
): Promise<OpenedDeploy> {
  const file = opts.targetsFile ? path.resolve(opts.targetsFile) : path.join(local.root, 'deploy', 'targets.json');
  const target = pickTarget(await loadTargets(file), opts.target);
  const settings = resolveTargetEnv(target, env);
  if (!settings.DATABASE_URL) {
    throw new RoseError({
      code: 'deploy-targets',
      title: 'Target without a database',
      message: `Target "${target.name}" has no DATABASE_URL in its "env": a deploy migrates, seeds and builds from the database its servers use.`,
      hint: 'Add "DATABASE_URL": "${NAME}" to the target in deploy/targets.json and export NAME.',
    });
  }
  const config = loadConfig(
    {
      ...settings,
      ROSE_SITE_URL: settings.ROSE_SITE_URL ?? target.url,
      ROSE_DATA_DIR: local.dataDir,
      ROSE_CONTENT_DIR: local.contentDir,
      ROSE_DIST_DIR: path.join(local.dataDir, 'deploy', target.name, 'dist'),
    },
    { root: local.root },
  );
  const database = await openDatabase(config.database);
  const deps: DeployDeps = {
    target,
    shipper: shipperFor(target, config, opts.out),
    db: database.db,
    migrations: createMigrations(database.db, path.join(config.root, 'migrations')),
    git: createGitRepo(config.root),
    parts: staticPartNames,
    seed: (parts) => seedParts(database, config, parts),
    health: checkHealth,
    clock: systemClock,
    user: deployUser(env),
    log: opts.out.log,
  };
  return { target, config, database, deps, close: () => database.close() };
}

async function seedParts(database: DatabaseHandle, config: Config, parts: string[]): Promise<string> {
  const s = await seedContentDir(database.db, { dir: config.contentDir, root: config.root, clock: systemClock, parts });
  const counts = [
    s.blog && `blog ${s.blog.unchanged ? 'unchanged' : `${s.blog.posts.added + s.blog.posts.updated} post(s) added or updated, ${s.blog.posts.removed} removed`}`,
    s.market && `market ${s.market.unchanged ? 'unchanged' : `${s.market.products.added + s.market.products.updated} product(s) added or updated, ${s.market.products.removed} archived`}`,
    s.noMarketFolder && 'no market/ folder',
  ].filter(Boolean);
  return counts.join('; ') || 'nothing to seed';
}

/** Builds a release of the parts a plan names, for a target whose live release is `live`. */
export function deployBuild(config: Config, out: SiteBuildOutput) {
  return async (plan: { parts: string[]; code: boolean }, live: string | undefined) => {
    const here = await createReleaseStore({ distDir: config.distDir }).current();
    // Only when this folder's live release is what runs there can the rest be kept: then just
    // the pages whose data changed are re-rendered (the post, its neighbours, lists, feeds).
    const same = here !== undefined && here.id === live;
    const request = same ? { parts: plan.parts, ...(plan.code ? {} : { targeted: true }) } : { parts: [] };
    const result = await createSiteBuild(config, out).build({ snapshots: await readSnapshots(config), ...request });
    const summary =
      result.kind === 'astro'
        ? `Astro build, ${result.pages} pages`
        : result.kind === 'unchanged'
          ? 'nothing changed since the last build'
          : `${result.rendered} files of ${result.parts.join(', ')} rendered (${result.changed} changed, ${result.removed} removed)`;
    return { id: result.release, dir: result.dir, summary };
  };
}

function shipperFor(target: TargetConfig, config: Config, out: SiteBuildOutput): Shipper {
  if (target.kind === 'swarm') {
    return createSwarmShipper({ target, root: config.root, stackFile: target.stackFile ?? path.join(config.dataDir, 'deploy', target.name, 'stack.yml'), siteUrl: config.siteUrl });
  }
  return createReleaseShipper({
    target: target.kind === 'local' ? createLocalTarget(target) : createSshTarget(target),
    keep: target.keep,
    hasRestart: Boolean(target.restart),
    build: deployBuild(config, out),
  });
}

function deployUser(env: Record<string, string | undefined>): string {
  let user = env.USER ?? 'unknown';
  try {
    user = os.userInfo().username;
  } catch {
    // no passwd entry (a container): the environment's word for it
  }
  return `${user}@${os.hostname()}`.slice(0, 200);
}

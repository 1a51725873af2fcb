import { promises as fs } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RoseError, systemClock } from '@rose/core';
import { createMigrations } from '@rose/db';
import { createTestDatabase, makeProjectTempDir, migrationsDir, type TestDatabase } from '@rose/testing';
import { listDeploys } from './deploy-history.repository.ts';
import { whenNoDeploy, withDeployLock } from './deploy-lock.ts';
import { runDeploy, type DeployDeps, type Shipper } from './deploy.service.ts';
import { checkHealth } from './health-check.ts';
import { createSwarmShipper } from './swarm-shipper.ts';
import { parseTargets, pickTarget, type SwarmTargetConfig } from './targets-config.ts';

/**
 * No Docker engine runs here, so `docker` is a stand-in script on PATH that records its
 * arguments and remembers the image `docker stack deploy` was given (as a Swarm manager
 * would answer `docker service inspect`). Everything else is the production code: the stack
 * file, the commands, the health check through a front door, the rollback, the history.
 */
describe('rose deploy to a Docker Swarm', () => {
  let tmp: string;
  let db: TestDatabase;
  let front: Server;
  let healthy = true;
  let target: SwarmTargetConfig;
  const savedPath = process.env.PATH;
  let commit = 'a'.repeat(40);

  const docker = async () => (await fs.readFile(path.join(tmp, 'docker.log'), 'utf8').catch(() => '')).trim().split('\n').filter(Boolean);

  beforeAll(async () => {
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'rose-swarm-'));
    await fs.mkdir(path.join(tmp, 'bin'));
    await fs.writeFile(
      path.join(tmp, 'bin', 'docker'),
      `#!/bin/sh
echo "$*" >> "${tmp}/docker.log"
case "$1 $2" in
  "service inspect") if [ -f "${tmp}/state" ]; then cat "${tmp}/state"; else echo "Error: no such service: $3" >&2; exit 1; fi ;;
  "stack deploy") grep -m1 'image:' "$4" | sed 's/.*image: *//' | tr -d "\\"'" > "${tmp}/state" ;;
esac
`,
      { mode: 0o755 },
    );
    process.env.PATH = `${path.join(tmp, 'bin')}:${savedPath}`;
    db = await createTestDatabase('postgres', { migrate: true });
    front = createServer((req, res) => {
      const ok = healthy || req.url !== '/api/ready';
      res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ status: ok ? 'ready' : 'not-ready' }));
    });
    await new Promise<void>((r) => front.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(front.address() as AddressInfo).port}`;
    target = pickTarget(
      parseTargets(JSON.stringify({ targets: { swarm: { kind: 'swarm', stack: 'rose', image: 'registry.coop.example/rose', replicas: 3, url, healthTimeoutSeconds: 2, secrets: ['database_url', 'redis_url', 'astro_key'] } } })),
      'swarm',
    ) as SwarmTargetConfig;
  });

  afterAll(async () => {
    process.env.PATH = savedPath;
    await new Promise((r) => front?.close(r));
    await db?.drop();
    await fs.rm(tmp, { recursive: true, force: true });
  });

  const deps = (): DeployDeps => ({
    target,
    shipper: createSwarmShipper({ target, root: tmp, stackFile: path.join(tmp, 'stack.yml'), siteUrl: 'https://coop.example' }),
    db: db.db,
    migrations: createMigrations(db.db, migrationsDir),
    git: { head: async () => commit, changedSince: async () => ['packages/core/src/money.ts'], uncommitted: async () => [] },
    parts: ['blog', 'market'],
    seed: async () => 'nothing to seed',
    health: (origin, expect) => checkHealth(origin, { ...expect, intervalMs: 20 }),
    clock: systemClock,
    user: 'test',
    log: () => {},
  });

  it('builds and pushes an image per commit, writes the stack file and rolls it out', async () => {
    const outcome = await runDeploy(deps());
    expect(outcome.result).toBe('succeeded');
    const tag = `registry.coop.example/rose:${commit.slice(0, 12)}`;
    expect(await docker()).toEqual([
      'service inspect rose_app --format {{.Spec.TaskTemplate.ContainerSpec.Image}}',
      `build --pull --tag ${tag} .`,
      `push ${tag}`,
      `stack deploy --compose-file ${path.join(tmp, 'stack.yml')} --with-registry-auth --prune --detach=false rose`,
    ]);
    const stack = parse(await fs.readFile(path.join(tmp, 'stack.yml'), 'utf8')) as { services: Record<string, { image: string; deploy?: { replicas?: number } }> };
    expect(stack.services.app).toMatchObject({ image: tag, deploy: { replicas: 3 } });
    expect(JSON.stringify(stack)).not.toMatch(/postgres:\/\//);
    expect((await listDeploys(db.db, { target: 'swarm', limit: 1 }))[0]).toMatchObject({ result: 'succeeded', releaseId: tag, kind: 'swarm' });
  });

  it('refuses a stack it cannot write before it migrates or builds anything', async () => {
    const before = (await listDeploys(db.db, { target: 'swarm', limit: 50 })).length;
    await fs.rm(path.join(tmp, 'docker.log'), { force: true });
    const bare = { ...target, secrets: [] } as SwarmTargetConfig;
    const run = runDeploy({ ...deps(), target: bare, shipper: createSwarmShipper({ target: bare, root: tmp, stackFile: path.join(tmp, 'stack.yml'), siteUrl: 'https://coop.example' }) });
    await expect(run).rejects.toMatchObject({ code: 'deploy-targets', message: expect.stringMatching(/DATABASE_URL/) });
    expect(await docker()).toEqual([]);
    expect((await listDeploys(db.db, { target: 'swarm', limit: 50 })).length).toBe(before);
  });

  it('deploys the previous image again when the new one is not healthy', async () => {
    const previous = `registry.coop.example/rose:${commit.slice(0, 12)}`;
    commit = 'b'.repeat(40);
    const tag = `registry.coop.example/rose:${commit.slice(0, 12)}`;
    await fs.rm(path.join(tmp, 'docker.log'), { force: true });
    healthy = false;
    const deploying = runDeploy(deps());
    // Healthy again once the previous image is back: Swarm's tasks from before.
    const watch = setInterval(async () => {
      if ((await docker()).filter((l) => l.startsWith('stack deploy')).length >= 2) healthy = true;
    }, 20);
    const outcome = await deploying.finally(() => clearInterval(watch));
    expect(outcome).toMatchObject({ result: 'rolled-back', release: tag, previous });
    expect((await fs.readFile(path.join(tmp, 'state'), 'utf8')).trim()).toBe(previous);
    expect((await listDeploys(db.db, { target: 'swarm', limit: 1 }))[0]).toMatchObject({ result: 'rolled-back', releaseId: tag, previousReleaseId: previous });
  });
});

describe('rose deploy to a database that has never been migrated', () => {
  it('plans everything, lists every migration as pending, and changes nothing on a dry run', async () => {
    const fresh = await createTestDatabase('postgres', { migrate: false });
    try {
      const target = pickTarget(parseTargets(JSON.stringify({ targets: { s: { kind: 'swarm', stack: 'rose', image: 'registry.coop.example/rose', url: 'http://127.0.0.1:9' } } })), 's') as SwarmTargetConfig;
      const lines: string[] = [];
      const outcome = await runDeploy(
        {
          target,
          shipper: { describe: () => 'nowhere', live: async () => 'registry.coop.example/rose:0123456789ab', prepare: async () => Promise.reject(new Error('not on a dry run')), activate: async () => undefined },
          db: fresh.db,
          migrations: createMigrations(fresh.db, migrationsDir),
          git: { head: async () => 'c'.repeat(40), changedSince: async () => [], uncommitted: async () => ['packages/core/src/money.ts'] },
          parts: ['blog', 'market'],
          seed: async () => '',
          health: checkHealth,
          clock: systemClock,
          user: 'test',
          log: (l) => lines.push(l),
        },
        { dryRun: true },
      );
      expect(outcome).toMatchObject({ result: 'dry-run', commit: `${'c'.repeat(40)}+dirty`, plan: { parts: ['blog', 'market'] } });
      if (outcome.result === 'dry-run') expect(outcome.migrate.migrations.length).toBeGreaterThan(10);
      expect(lines.join('\n')).toMatch(/runs there, which no deploy of this target shipped/);
      expect((await fresh.db.introspection.getTables()).length).toBe(0);
    } finally {
      await fresh.drop();
    }
  });
});

/**
 * A stand-in shipper (what runs there is one variable), so these are about what the deploy
 * does around it: switching back after a failure, refusing destructive migrations.
 */
describe('rose deploy around a stand-in shipper', () => {
  let db: TestDatabase;
  let tmp: string;

  beforeAll(async () => {
    db = await createTestDatabase('postgres', { migrate: true });
    // Inside the project: the copied migrations import kysely from its node_modules.
    tmp = await makeProjectTempDir('deploy-stub');
  });

  afterAll(async () => {
    await db?.drop();
    if (tmp) await fs.rm(tmp, { recursive: true, force: true });
  });

  /** Ships `next()` and records every switch; `restart` runs after each switch, as the release shipper's does. */
  const stubShipper = (far: { live: string | undefined; switches: string[] }, opts: { next: () => string; restart?: (id: string) => void }): Shipper => ({
    describe: () => 'a stand-in',
    live: async () => far.live,
    prepare: async (_plan, _live, step) => step('build', async () => ({ id: opts.next(), expectRelease: false })),
    async activate(id, step) {
      await step(`switch to ${id}`, async () => {
        far.live = id;
        far.switches.push(id);
      });
      await step('restart servers', async () => opts.restart?.(id));
    },
  });

  const stubDeps = (name: string, shipper: Shipper, over: Partial<DeployDeps> = {}): DeployDeps => ({
    target: pickTarget(parseTargets(JSON.stringify({ targets: { [name]: { kind: 'swarm', stack: 'rose', image: 'registry.coop.example/rose', url: 'http://127.0.0.1:9' } } })), name),
    shipper,
    db: db.db,
    migrations: createMigrations(db.db, migrationsDir),
    git: { head: async () => 'd'.repeat(40), changedSince: async () => 'all', uncommitted: async () => [] },
    parts: ['blog', 'market'],
    seed: async () => '',
    health: async () => ({ ok: true, checks: 1 }),
    clock: systemClock,
    user: 'test',
    log: () => {},
    ...over,
  });

  const restartFails = (bad: string) => (id: string) => {
    if (id === bad) throw new RoseError({ code: 'deploy-failed', title: 'Deploy step failed', message: 'The restart command (systemctl restart rose) failed: exit code 1', hint: 'Fix the restart command.' });
  };

  it('switches back when the switch went through but what follows it failed, and records the failure', async () => {
    const far = { live: 'A' as string | undefined, switches: [] as string[] };
    let checked = 0;
    const run = runDeploy(stubDeps('after-switch', stubShipper(far, { next: () => 'B', restart: restartFails('B') }), { health: async () => (checked++, { ok: true, checks: 1 }) }));
    await expect(run).rejects.toMatchObject({ code: 'deploy-failed', message: 'The restart command (systemctl restart rose) failed: exit code 1 A is live again.', hint: 'Fix the restart command.' });
    expect(far).toEqual({ live: 'A', switches: ['B', 'A'] });
    expect(checked).toBe(0);
    const [record] = await listDeploys(db.db, { target: 'after-switch', limit: 5 });
    expect(record).toMatchObject({ result: 'failed', releaseId: 'B', previousReleaseId: 'A', message: expect.stringMatching(/restart command .* failed.* A is live again\.$/) });
    expect(record!.finishedAt).toBeInstanceOf(Date);
    expect(record!.steps.map((s) => s.step)).toEqual(['migrate', 'seed blog, market', 'build', 'switch to B', 'switch to A', 'restart servers']);
  });

  it('says what may be live when switching back fails too', async () => {
    const far = { live: 'A' as string | undefined, switches: [] as string[] };
    const shipper = stubShipper(far, { next: () => 'B', restart: () => restartFails('B')('B') });
    await expect(runDeploy(stubDeps('back-fails', shipper))).rejects.toMatchObject({ code: 'deploy-failed', message: expect.stringMatching(/ B may be live: switching back to A failed too \(The restart command .* failed: exit code 1\)\.$/) });
    expect(far.switches).toEqual(['B', 'A']);
    expect((await listDeploys(db.db, { target: 'back-fails', limit: 1 }))[0]).toMatchObject({ result: 'failed', releaseId: 'B', message: expect.stringContaining('switching back to A failed too') });
  });

  it('leaves what runs alone when the failure came before the switch', async () => {
    const far = { live: 'A' as string | undefined, switches: [] as string[] };
    const shipper: Shipper = { ...stubShipper(far, { next: () => 'B' }), prepare: async () => Promise.reject(new RoseError({ code: 'deploy-failed', message: 'The build failed' })) };
    await expect(runDeploy(stubDeps('before-switch', shipper))).rejects.toMatchObject({ message: 'The build failed' });
    expect(far).toEqual({ live: 'A', switches: [] });
    expect((await listDeploys(db.db, { target: 'before-switch', limit: 1 }))[0]).toMatchObject({ result: 'failed', message: 'The build failed' });
  });

  it('refuses a migration that drops a table or a column, and runs it with allowDestructive', async () => {
    const folder = path.join(tmp, 'migrations');
    await fs.cp(migrationsDir, folder, { recursive: true });
    await fs.writeFile(
      path.join(folder, '20991231000000_widgets.ts'),
      `export async function up(db) {
  await db.schema.createTable('widgets').addColumn('id', 'integer', (c) => c.primaryKey()).addColumn('colour', 'text').execute();
  await db.schema.createTable('gadgets').addColumn('id', 'integer').execute();
}
export async function down() {}
`,
    );
    const far = { live: undefined as string | undefined, switches: [] as string[] };
    let n = 0;
    const deps = () => stubDeps('destructive', stubShipper(far, { next: () => `R${++n}` }), { migrations: createMigrations(db.db, folder) });
    // Adding tables drops nothing.
    expect(await runDeploy(deps())).toMatchObject({ result: 'succeeded', release: 'R1' });
    await sql`insert into widgets (id, colour) values (1, 'green')`.execute(db.db);
    await fs.writeFile(
      path.join(folder, '20991231000001_drop_colour.ts'),
      `export async function up(db) {
  await db.schema.alterTable('widgets').dropColumn('colour').execute();
  await db.schema.dropTable('gadgets').execute();
}
export async function down() {}
`,
    );
    const history = async () => (await listDeploys(db.db, { target: 'destructive', limit: 50 })).length;
    const before = await history();
    const lines: string[] = [];
    await expect(runDeploy({ ...deps(), log: (l) => lines.push(l) })).rejects.toMatchObject({
      code: 'deploy-destructive',
      message: expect.stringMatching(/^20991231000001_drop_colour drops (widgets\.colour; table gadgets|table gadgets; widgets\.colour)\. /),
    });
    expect(lines.join('\n')).toMatch(/! drops widgets\.colour \(1 row\(s\) with data\)/);
    // Nothing changed: not the schema, not what runs, not the history.
    const columns = async () => (await db.db.introspection.getTables()).find((t) => t.name === 'widgets')!.columns.map((c) => c.name);
    expect(await columns()).toContain('colour');
    expect(far).toEqual({ live: 'R1', switches: ['R1'] });
    expect(n).toBe(1);
    expect(await history()).toBe(before);

    const outcome = await runDeploy(deps(), { allowDestructive: true });
    expect(outcome).toMatchObject({ result: 'succeeded', release: 'R2', previous: 'R1' });
    if (outcome.result === 'succeeded') expect(outcome.steps.find((s) => s.step === 'migrate')?.detail).toBe('20991231000001_drop_colour');
    expect(await columns()).not.toContain('colour');
    expect((await db.db.introspection.getTables()).map((t) => t.name)).not.toContain('gadgets');
    expect(far.live).toBe('R2');
  });
});

describe('site rebuilds and deploys of one database', () => {
  it('a rebuild by the target’s worker waits for a running deploy; rebuilds do not wait for each other; a deploy refuses during a rebuild', async () => {
    const t = await createTestDatabase('postgres', { migrate: false });
    try {
      const order: string[] = [];
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      let entered!: () => void;
      const inDeploy = new Promise<void>((r) => (entered = r));
      const deploy = withDeployLock(t.db, { waitMs: 0 }, async () => {
        entered();
        await gate;
        order.push('deploy done');
      });
      await inDeploy;
      let rebuildStarted!: () => void;
      const started = new Promise<void>((r) => (rebuildStarted = r));
      const rebuild = whenNoDeploy(t.db, async () => {
        rebuildStarted();
        order.push('rebuild');
      });
      // The rebuild waits in Postgres for the deploy's lock (seen in pg_locks), not started.
      const waiting = async () => Number((await sql<{ n: string }>`select count(*) as n from pg_locks where locktype = 'advisory' and not granted and database = (select oid from pg_database where datname = current_database())`.execute(t.db)).rows[0]!.n);
      await expect.poll(waiting, { timeout: 30_000 }).toBe(1);
      expect(await Promise.race([started.then(() => 'started'), Promise.resolve('not started')])).toBe('not started');
      release();
      await Promise.all([deploy, rebuild]);
      expect(order).toEqual(['deploy done', 'rebuild']);
      // Two rebuilds at once: the first finishes only once the second has run inside it.
      let second!: () => void;
      const secondRan = new Promise<void>((r) => (second = r));
      await Promise.all([whenNoDeploy(t.db, () => secondRan), whenNoDeploy(t.db, async () => second())]);
      // A deploy refuses while a rebuild runs.
      await whenNoDeploy(t.db, () => expect(withDeployLock(t.db, { waitMs: 0 }, async () => undefined)).rejects.toMatchObject({ code: 'deploy-locked' }));
    } finally {
      await t.drop();
    }
  });
});

import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deployBuild, openDeploy, type OpenedDeploy } from '@rose/app/deploy';
import { loadConfig } from '@rose/config';
import { createMigrations } from '@rose/db';
import { createLocalTarget, createReleaseShipper, listDeploys, runDeploy, type DeployDeps, type GitRepo } from '@rose/deploy';
import { builtSiteUrl, copyBuiltSiteForDeploy, countLinkedFiles, createTestDatabase, freePort, makeProjectTempDir, migrationsDir, repoRoot, runRose, startRose, type RunningRose, type TestDatabase } from '@rose/testing';

/**
 * `rose deploy` to a folder on this machine that a real `rose serve` follows, on a real
 * Postgres: what changed decides what is built, unchanged files are hard-linked, a release
 * that does not come up is rolled back, two deploys never run at once, a destructive
 * migration is refused. Git is a stand-in here (the test decides what "changed"); the build,
 * seed, upload, switch and health check are the production code.
 */
describe('rose deploy to a local folder', () => {
  let tmp: string;
  let far: string;
  let db: TestDatabase;
  let server: RunningRose;
  let origin: string;
  let opened: OpenedDeploy;
  const log: string[] = [];
  const quiet = { info: (l: string) => log.push(l), progress: () => ({ tick() {}, setTotal() {}, done() {} }), verbose: false };
  let changes: string[] | 'all' = 'all';
  let commitNo = 0;
  const git: GitRepo = {
    head: async () => `${String(commitNo).padStart(2, '0')}${'c'.repeat(38)}`,
    changedSince: async () => changes,
    uncommitted: async () => [],
  };
  const deps = (over: Partial<DeployDeps> = {}): DeployDeps => ({ ...opened.deps, git, log: (l) => log.push(l), ...over });
  const readyRelease = async () => ((await (await fetch(`${origin}/api/ready`)).json()) as { release?: string }).release;
  const farCurrent = async () => path.basename(await fs.readlink(path.join(far, 'current')));

  beforeAll(async () => {
    tmp = await makeProjectTempDir('deploy');
    far = path.join(tmp, 'far');
    // What this machine last shipped: the built demo site (so the first deploy is a warm build),
    // and a copy of content/ this test edits, as staff would before deploying.
    const { settings, release: shipped } = await copyBuiltSiteForDeploy(tmp, 'staging');
    db = await createTestDatabase('postgres', { migrate: true });
    const port = await freePort();
    origin = `http://127.0.0.1:${port}`;
    const targets = path.join(tmp, 'targets.json');
    await fs.writeFile(
      targets,
      JSON.stringify({
        targets: {
          // The pages keep the built site's URL, so the warm renderer of the built site is reused.
          staging: { kind: 'local', path: far, url: origin, env: { DATABASE_URL: '${TEST_DATABASE_URL}', ROSE_SITE_URL: builtSiteUrl }, healthTimeoutSeconds: 8, keep: 3 },
        },
      }),
    );
    const local = loadConfig({ ...settings }, { root: repoRoot });
    opened = await openDeploy(local, { TEST_DATABASE_URL: db.url }, { targetsFile: targets, out: { ...quiet, log: (l) => log.push(l) } });
    // The far side before any deploy: the same release, put there by hand, and a server on it.
    const target = createLocalTarget({ ...opened.target, kind: 'local', path: far } as never);
    await target.upload(shipped, undefined);
    await target.activate(shipped.id);
    server = await startRose(['serve', '--port', String(port), '--host', '127.0.0.1', '--no-worker'], { DATABASE_URL: db.url, ROSE_DIST_DIR: far, ROSE_DATA_DIR: path.join(tmp, 'server-data'), ROSE_SITE_URL: origin }, { timeoutMs: 120_000 });
  }, 420_000);

  afterAll(async () => {
    await server?.stop();
    await opened?.close();
    await db?.drop();
    if (tmp) await fs.rm(tmp, { recursive: true, force: true });
  });

  it('ships everything the first time, hard-linking what did not change, and records it', async () => {
    const before = await farCurrent();
    commitNo = 1;
    const outcome = await runDeploy(deps());
    expect(outcome.result).toBe('succeeded');
    if (outcome.result !== 'succeeded') return;
    expect(outcome.plan.parts).toEqual(['blog', 'market']);
    expect(outcome.previous).toBe(before);
    expect(await farCurrent()).toBe(outcome.release);
    expect(await readyRelease()).toBe(outcome.release);
    const upload = outcome.steps.find((s) => s.step === 'upload');
    // Most files of the release are the same as the live one's: linked on the far side, not copied.
    const [, sent, total] = /(\d+) of (\d+) files sent/.exec(upload!.detail!)!.map(Number);
    expect(sent).toBeLessThan(total! / 2);
    // Every file not sent is a hard link to the same file of the previous release.
    expect(await countLinkedFiles(path.join(far, 'releases', outcome.release))).toBeGreaterThanOrEqual(total! - sent!);
    const [record] = await listDeploys(db.db, { target: 'staging', limit: 1 });
    expect(record).toMatchObject({ result: 'succeeded', releaseId: outcome.release, previousReleaseId: before, commit: expect.stringMatching(/^01c/), parts: ['blog', 'market'] });
    expect(record!.steps.map((s) => s.step)).toEqual(expect.arrayContaining(['migrate', 'seed blog, market', 'build blog, market', 'upload', `switch to ${outcome.release}`, 'health check']));
  }, 300_000);

  it('ships only the market when only its content changed, and the change is served', async () => {
    const file = path.join(tmp, 'content', 'market', 'products', 'beech-cross-creamery.json');
    await fs.writeFile(file, (await fs.readFile(file, 'utf8')).replace('"name": "Romansleigh Round"', '"name": "Romansleigh Round (deployed)"'));
    changes = ['content/market/products/beech-cross-creamery.json'];
    commitNo = 2;
    const dry = await runDeploy(deps(), { dryRun: true });
    expect(dry.result).toBe('dry-run');
    expect(dry.plan.parts).toEqual(['market']);
    expect((await listDeploys(db.db, { target: 'staging', limit: 10 })).length).toBe(1);
    const outcome = await runDeploy(deps());
    expect(outcome.result).toBe('succeeded');
    if (outcome.result !== 'succeeded') return;
    expect(outcome.plan).toMatchObject({ parts: ['market'], seed: ['market'] });
    expect(outcome.steps.map((s) => s.step)).toEqual(expect.arrayContaining(['seed market', 'build market']));
    const page = await fetch(`${origin}/market/products/beech-cross-romansleigh-round/`);
    expect(await page.text()).toContain('Romansleigh Round (deployed)');
  }, 300_000);

  it('says there is nothing to deploy when only docs and tests changed', async () => {
    changes = ['docs/adr/0013-deploys.md', 'test/deploy.e2e.test.ts'];
    commitNo = 3;
    const outcome = await runDeploy(deps());
    expect(outcome.result).toBe('nothing');
  });

  it('refuses a second deploy while one runs, and queues one that may wait', async () => {
    changes = ['content/posts/hello.md'];
    commitNo = 4;
    let entered!: () => void;
    const inSeed = new Promise<void>((r) => (entered = r));
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const first = runDeploy(deps({ seed: async (parts) => (entered(), await gate, opened.deps.seed(parts)) }));
    await inSeed;
    await expect(runDeploy(deps())).rejects.toMatchObject({ code: 'deploy-locked', message: expect.stringMatching(/Deploy #\d+ of "staging" by .+ holds the deploy lock/) });
    // One that may wait: it plans once it holds the lock, after the first was recorded (its
    // stand-in git then says nothing changed since).
    const waitLog: string[] = [];
    const waiting = runDeploy(deps({ git: { ...git, changedSince: async () => [] }, log: (l) => waitLog.push(l) }), { waitMs: 120_000 });
    await expect.poll(() => waitLog.some((l) => /^Waiting: Deploy #\d+ of "staging" by .+ is deploying/.test(l)), { timeout: 60_000 }).toBe(true);
    release();
    expect((await first).result).toBe('succeeded');
    expect((await waiting).result).toBe('nothing');
  }, 300_000);

  it('refuses a migration that drops a column, changing nothing', async () => {
    const folder = path.join(tmp, 'migrations');
    await fs.cp(migrationsDir, folder, { recursive: true });
    await fs.writeFile(
      path.join(folder, '20991231000000_drop_display_name.ts'),
      `export async function up(db) { await db.schema.alterTable('users').dropColumn('display_name').execute(); }\nexport async function down() {}\n`,
    );
    changes = ['migrations/20991231000000_drop_display_name.ts'];
    commitNo = 5;
    const count = (await listDeploys(db.db, { target: 'staging', limit: 50 })).length;
    await expect(runDeploy(deps({ migrations: createMigrations(db.db, folder) }))).rejects.toMatchObject({ code: 'deploy-destructive', message: expect.stringContaining('users.display_name') });
    const columns = await db.db.introspection.getTables();
    expect(columns.find((t) => t.name === 'users')!.columns.map((c) => c.name)).toContain('display_name');
    expect((await listDeploys(db.db, { target: 'staging', limit: 50 })).length).toBe(count);
    await expect(createMigrations(db.db, migrationsDir).assertCurrent()).resolves.toBeUndefined();
  });

  it('rolls back automatically when the new release does not come up, and the previous one serves', async () => {
    const live = await farCurrent();
    const file = path.join(tmp, 'content', 'posts', 'agm-2025-report.md');
    await fs.writeFile(file, (await fs.readFile(file, 'utf8')).replace(/^title: "(.*)"$/m, 'title: "$1 (broken deploy)"'));
    changes = ['content/posts/agm-2025-report.md'];
    commitNo = 6;
    // A release whose server bundle cannot load (as a bad build would be): the servers keep
    // the previous one, so /api/ready never reports the new release.
    const base = createLocalTarget({ ...opened.target, kind: 'local', path: far } as never);
    const breaking = {
      ...base,
      async upload(release: { id: string; dir: string }, linkTo: string | undefined) {
        const stats = await base.upload(release, linkTo);
        const entry = path.join(far, 'releases', release.id, 'server', 'entry.mjs');
        await fs.rm(entry); // a new file, not a write through the hard link to the live release
        await fs.writeFile(entry, 'throw new Error("this release is broken");\n');
        return stats;
      },
    };
    const shipper = createReleaseShipper({ target: breaking, keep: 3, hasRestart: false, build: deployBuild(opened.config, quiet) });
    const outcome = await runDeploy(deps({ shipper }));
    expect(outcome.result).toBe('rolled-back');
    if (outcome.result !== 'rolled-back') return;
    expect(outcome.previous).toBe(live);
    expect(outcome.problem).toMatch(/reports release .* not /);
    expect(await farCurrent()).toBe(live);
    expect(await readyRelease()).toBe(live);
    expect((await fetch(`${origin}/blog/`)).status).toBe(200);
    const [record] = await listDeploys(db.db, { target: 'staging', limit: 1 });
    expect(record).toMatchObject({ result: 'rolled-back', releaseId: outcome.release, previousReleaseId: live });
    expect(record!.message).toMatch(/health check failed/);
  }, 300_000);

  it('ships again after a rollback, and keeps only the newest releases there', async () => {
    // The post the rolled-back deploy changed, now in a release that comes up.
    changes = ['content/posts/agm-2025-report.md'];
    commitNo = 7;
    const outcome = await runDeploy(deps());
    expect(outcome.result).toBe('succeeded');
    if (outcome.result !== 'succeeded') return;
    expect(await readyRelease()).toBe(outcome.release);
    // More releases have been there (the one put there by hand, those deploys shipped, the one
    // rolled back) than the target keeps.
    const records = await listDeploys(db.db, { target: 'staging', limit: 50 });
    const seen = new Set(records.flatMap((d) => [d.releaseId, d.previousReleaseId]).filter(Boolean));
    expect(seen.size).toBeGreaterThan(opened.target.keep);
    expect(outcome.steps.find((s) => s.step === 'delete old releases')?.detail).not.toBe('none');
    // Pruned releases are renamed to `.pruned-…` at once and deleted in the background, so
    // those may still be there; they are not releases.
    const releases = (await fs.readdir(path.join(far, 'releases'))).filter((n) => /^\d{8}T\d{9}Z-[0-9a-f]{4}$/.test(n));
    expect(releases.length).toBeLessThanOrEqual(opened.target.keep);
    expect(releases).toContain(outcome.release);
  }, 300_000);

  it('rose deploy history lists them; rose deploy names a bad target file plainly', async () => {
    const env = { TEST_DATABASE_URL: db.url, ROSE_DATA_DIR: path.join(tmp, 'cli-data') };
    const history = await runRose(['deploy', 'history', '--targets', path.join(tmp, 'targets.json')], env);
    expect(history.code, history.stderr).toBe(0);
    expect(history.stdout).toMatch(/rolled-back/);
    expect(history.stdout).toMatch(/succeeded/);
    const json = await runRose(['deploy', 'history', 'staging', '--json', '--targets', path.join(tmp, 'targets.json')], env);
    expect((JSON.parse(json.stdout) as unknown[]).length).toBeGreaterThanOrEqual(4);
    // The servers report them at /api/metrics (loopback: no token needed).
    const metrics = await (await fetch(`${origin}/api/metrics`)).text();
    expect(metrics).toMatch(/^rose_deploys\{target="staging",result="succeeded"\} [1-9]/m);
    expect(metrics).toMatch(/^rose_deploys\{target="staging",result="rolled-back"\} 1$/m);
    expect(metrics).toMatch(/^rose_deploy_last_duration_seconds\{target="staging",result="succeeded"\} \d/m);
    // The real command, on this checkout's git: the plan, and nothing changed.
    const dry = await runRose(['deploy', 'staging', '--dry-run', '--targets', path.join(tmp, 'targets.json')], env);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(/Deploy of [0-9a-f]{12}.* to "staging" \(the folder .*\); live there now: \d{8}T/);
    expect(dry.stdout).toContain('Dry run: nothing was changed.');
    const unknownPart = await runRose(['deploy', '--dry-run', '--parts', 'blog,shop', '--targets', path.join(tmp, 'targets.json')], env);
    expect(unknownPart.code).not.toBe(0);
    expect(unknownPart.stderr).toMatch(/shop is not a part with pages/);
    await fs.writeFile(path.join(tmp, 'bad.json'), JSON.stringify({ targets: { x: { kind: 'ssh', host: 'root@host; rm -rf /', path: '/srv', url: 'http://x' } } }));
    const bad = await runRose(['deploy', '--targets', path.join(tmp, 'bad.json'), '--dry-run'], env);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/targets\.x\.host/);
    const missing = await runRose(['deploy', 'staging', '--dry-run', '--targets', path.join(tmp, 'targets.json')], { ROSE_DATA_DIR: env.ROSE_DATA_DIR });
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/reads TEST_DATABASE_URL from the environment/);
  }, 120_000);
});

import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deployBuild, openDeploy, type OpenedDeploy } from '@rose/app/deploy';
import { loadConfig } from '@rose/config';
import { createReleaseShipper, createSshTarget, listDeploys, runDeploy, type GitRepo } from '@rose/deploy';
import { builtSiteUrl, copyBuiltSiteForDeploy, countLinkedFiles, createTestDatabase, freePort, makeProjectTempDir, repoRoot, startRose, startSshd, type RunningRose, type Sshd, type TestDatabase } from '@rose/testing';

/**
 * `rose deploy` over ssh to a real OpenSSH server on loopback (a throwaway key, the host key
 * pinned): the first upload sends the release, a one-post change sends a handful of files and
 * hard-links the rest to the live release on the far side, and the `rose serve` following that
 * folder serves the new page.
 */
describe('rose deploy over ssh', () => {
  let tmp: string;
  let far: string;
  let sshd: Sshd;
  let db: TestDatabase;
  let server: RunningRose;
  let origin: string;
  let opened: OpenedDeploy;
  let changes: string[] | 'all' = 'all';
  let commitNo = 0;
  const git: GitRepo = { head: async () => `${String(commitNo).padStart(2, '0')}${'d'.repeat(38)}`, changedSince: async () => changes, uncommitted: async () => [] };
  const quiet = { log: () => {}, info: () => {}, progress: () => ({ tick() {}, setTotal() {}, done() {} }), verbose: false };
  const farCurrent = async () => path.basename(await fs.readlink(path.join(far, 'current')));

  beforeAll(async () => {
    tmp = await makeProjectTempDir('deploy-ssh');
    far = path.join(tmp, 'far');
    await fs.mkdir(far);
    const { settings, release: shipped } = await copyBuiltSiteForDeploy(tmp, 'remote');
    sshd = await startSshd({ root: far });
    db = await createTestDatabase('postgres', { migrate: true });
    const port = await freePort();
    origin = `http://127.0.0.1:${port}`;
    const targets = path.join(tmp, 'targets.json');
    await fs.writeFile(
      targets,
      JSON.stringify({
        targets: {
          remote: {
            kind: 'ssh',
            host: sshd.destination,
            port: sshd.port,
            path: far,
            identityFile: sshd.identityFile,
            knownHostsFile: sshd.knownHostsFile,
            url: origin,
            env: { DATABASE_URL: '${TEST_DATABASE_URL}', ROSE_SITE_URL: builtSiteUrl },
            healthTimeoutSeconds: 15,
          },
        },
      }),
    );
    opened = await openDeploy(loadConfig({ ...settings }, { root: repoRoot }), { TEST_DATABASE_URL: db.url }, { targetsFile: targets, out: quiet });
    // Before any deploy: the built release, uploaded over ssh by the target itself, and a server on it.
    const target = createSshTarget(opened.target as Parameters<typeof createSshTarget>[0]);
    const stats = await target.upload(shipped, undefined);
    expect(stats.sent).toBe(stats.files);
    await target.activate(shipped.id);
    expect(await target.inspect()).toEqual({ current: shipped.id, releases: [shipped.id] });
    server = await startRose(['serve', '--port', String(port), '--host', '127.0.0.1', '--no-worker'], { DATABASE_URL: db.url, ROSE_DIST_DIR: far, ROSE_DATA_DIR: path.join(tmp, 'server-data'), ROSE_SITE_URL: origin }, { timeoutMs: 120_000 });
  }, 420_000);

  afterAll(async () => {
    await server?.stop();
    await opened?.close();
    await sshd?.stop();
    await db?.drop();
    if (tmp) await fs.rm(tmp, { recursive: true, force: true });
  });

  it('ships a one-post change as a handful of files, the rest hard-linked on the far side', async () => {
    // The first deploy records what runs there (everything: no earlier deploy is known).
    commitNo = 1;
    const first = await runDeploy({ ...opened.deps, git, log: () => {} });
    expect(first.result).toBe('succeeded');

    const file = path.join(tmp, 'content', 'posts', 'agm-2025-report.md');
    await fs.writeFile(file, (await fs.readFile(file, 'utf8')).replace(/^title: "(.*)"$/m, 'title: "$1 (shipped over ssh)"'));
    changes = ['content/posts/agm-2025-report.md'];
    commitNo = 2;
    const live = await farCurrent();
    const outcome = await runDeploy({ ...opened.deps, git, log: () => {} });
    expect(outcome.result).toBe('succeeded');
    if (outcome.result !== 'succeeded') return;
    expect(outcome.plan).toMatchObject({ parts: ['blog'], seed: ['blog'], code: false });
    expect(outcome.previous).toBe(live);
    expect(await farCurrent()).toBe(outcome.release);
    const upload = outcome.steps.find((s) => s.step === 'upload')!;
    const [, sent, total] = /(\d+) of (\d+) files sent/.exec(upload.detail!)!.map(Number);
    // The post, its neighbours, the lists and feeds it is on (and their .br/.gz): a small share.
    expect(sent).toBeGreaterThan(0);
    expect(sent).toBeLessThan(total! / 4);
    // Every file not sent is a hard link to the same file of the previous release.
    expect(await countLinkedFiles(path.join(far, 'releases', outcome.release))).toBeGreaterThanOrEqual(total! - sent!);
    const page = await fetch(`${origin}/blog/agm-2025-report/`);
    expect(await page.text()).toContain('(shipped over ssh)');
    expect((await listDeploys(db.db, { target: 'remote', limit: 5 })).map((d) => d.result)).toEqual(['succeeded', 'succeeded']);
  }, 300_000);

  it('switches back over ssh when the new release does not come up', async () => {
    const live = await farCurrent();
    const file = path.join(tmp, 'content', 'posts', 'agm-2024-report.md');
    await fs.writeFile(file, (await fs.readFile(file, 'utf8')).replace(/^title: "(.*)"$/m, 'title: "$1 (never served)"'));
    changes = ['content/posts/agm-2024-report.md'];
    commitNo = 3;
    // A release whose server bundle cannot load: the server keeps the previous one.
    const base = createSshTarget(opened.target as Parameters<typeof createSshTarget>[0]);
    const breaking = {
      ...base,
      async upload(release: { id: string; dir: string }, linkTo: string | undefined) {
        const stats = await base.upload(release, linkTo);
        const entry = path.join(far, 'releases', release.id, 'server', 'entry.mjs');
        await fs.rm(entry); // not through the hard link shared with the live release
        await fs.writeFile(entry, 'throw new Error("this release is broken");\n');
        return stats;
      },
    };
    const shipper = createReleaseShipper({ target: breaking, keep: 5, hasRestart: false, build: deployBuild(opened.config, quiet) });
    const outcome = await runDeploy({ ...opened.deps, git, shipper, log: () => {} });
    expect(outcome).toMatchObject({ result: 'rolled-back', previous: live });
    expect(await farCurrent()).toBe(live);
    expect(await (await fetch(`${origin}/blog/agm-2024-report/`)).text()).not.toContain('(never served)');
    expect((await listDeploys(db.db, { target: 'remote', limit: 1 }))[0]).toMatchObject({ result: 'rolled-back', previousReleaseId: live });
  }, 300_000);
});

import { spawn, type ChildProcess } from 'node:child_process';
import { promises as fs, existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPglite, type DatabaseHandle } from '@rose/db';
import { makeProjectTempDir, preparePgliteTemplate, repoRoot, roseEnv, runRose } from '@rose/testing';

// Staff commands while another process holds the embedded database: they reach it through
// the owner's socket instead of being refused.
// Each step starts `rose` processes; on a busy 2-core machine one can take half a minute.
describe('rose commands on the embedded database while another process has it open', { timeout: 180_000 }, () => {
  let tmp: string;
  let env: Record<string, string>;
  let dataDir: string;
  const password = 'correct horse battery staple 42';

  beforeAll(async () => {
    tmp = await makeProjectTempDir('shared-db');
    await fs.cp(path.join(repoRoot, 'content'), path.join(tmp, 'content'), { recursive: true });
    env = {
      ROSE_DATA_DIR: path.join(tmp, '.rose'),
      ROSE_DIST_DIR: path.join(tmp, 'dist'),
      ROSE_CONTENT_DIR: path.join(tmp, 'content'),
      ROSE_SITE_URL: 'https://coop.example.org',
    };
    dataDir = path.join(tmp, '.rose', 'pglite');
  });
  afterAll(async () => {
    await fs.rm(tmp, { recursive: true, force: true });
  });

  describe('the owner is this test process', () => {
    let owner: DatabaseHandle;
    beforeAll(async () => {
      // Starts from the migrated template (a fresh PGlite plus migrations takes many seconds).
      owner = await openPglite({ dir: dataDir, loadDataDir: new Blob([await fs.readFile(await preparePgliteTemplate())]) });
    });
    afterAll(async () => {
      await owner?.close();
    });

    it('rose db status says whose database it reached', async () => {
      expect(owner.embedded?.role).toBe('owner');
      const status = await runRose(['db', 'status'], env);
      expect(status.code, status.stderr).toBe(0);
      expect(status.stdout).toContain(`(process ${process.pid}); reached through its socket in ${path.join(tmp, '.rose', 'pglite-socket')}`);
      expect(status.stdout).toContain('All migrations applied.');
    });

    it('rose db seed and rose users create, at the same time, both land; the owner sees them at once', async () => {
      const [seed, create] = await Promise.all([
        runRose(['db', 'seed'], env),
        runRose(['users', 'create', '--email', 'ann@example.org', '--name', 'Ann', '--role', 'admin', '--password-stdin'], env, { stdin: `${password}\n` }),
      ]);
      expect(seed.code, seed.stderr).toBe(0);
      expect(seed.stdout).toMatch(/posts\s+\+\d+ added/);
      expect(create.code, create.stderr).toBe(0);
      const posts = await owner.db.selectFrom('blog_posts').select('slug').execute();
      expect(posts.length).toBeGreaterThanOrEqual(30);
      expect(await owner.db.selectFrom('users').select(['email', 'role']).execute()).toEqual([{ email: 'ann@example.org', role: 'admin' }]);
    });

    it('a content edit seeded from another process is what the owner reads next', async () => {
      const file = path.join(tmp, 'content', 'posts', (await fs.readdir(path.join(tmp, 'content', 'posts'))).sort()[0]!);
      await fs.writeFile(file, (await fs.readFile(file, 'utf8')).replace(/^title: .*$/m, 'title: "Seeded while the site runs"'));
      const seed = await runRose(['db', 'seed'], env);
      expect(seed.code, seed.stderr).toBe(0);
      expect(seed.stdout).toMatch(/posts\s+\+0 added, ~1 updated/);
      const row = await owner.db.selectFrom('blog_posts').select('title').where('slug', '=', path.basename(file, '.md')).executeTakeFirstOrThrow();
      expect(row.title).toBe('Seeded while the site runs');
    });
  });

  describe('the owner is `rose worker`', () => {
    let worker: { child: ChildProcess; exited: Promise<number | null>; output: () => string };

    beforeAll(async () => {
      worker = await startWorker(env);
    });
    afterAll(async () => {
      if (worker && worker.child.exitCode === null) worker.child.kill('SIGKILL');
    });

    it('other commands reach it, and it leaves nothing behind when it stops', async () => {
      const status = await runRose(['db', 'status'], env);
      expect(status.code, status.stderr).toBe(0);
      expect(status.stdout).toContain(`open in \`rose worker\` (process ${worker.child.pid})`);
      const list = await runRose(['users', 'list'], env);
      expect(list.code, list.stderr).toBe(0);
      expect(list.stdout).toContain('ann@example.org');

      worker.child.kill('SIGTERM');
      expect(await worker.exited).toBe(0);
      expect(worker.output()).toContain('Worker stopped.');
      expect(existsSync(`${dataDir}.lock`)).toBe(false);
      expect(existsSync(`${dataDir}.socket.json`)).toBe(false);
      expect(existsSync(path.join(`${dataDir}-socket`, '.s.PGSQL.5432'))).toBe(false);
    });

    it('after it is killed, the next command opens the database itself', async () => {
      worker = await startWorker(env);
      worker.child.kill('SIGKILL');
      await worker.exited;
      expect(existsSync(`${dataDir}.lock`)).toBe(true); // left behind by the killed owner
      const status = await runRose(['db', 'status'], env);
      expect(status.code, status.stderr).toBe(0);
      expect(status.stdout).toContain('no other process had it open: opened by this command');
      expect(existsSync(`${dataDir}.lock`)).toBe(false);
    });
  });
});

/** Starts `rose worker` and resolves once it holds the database and runs. */
function startWorker(env: Record<string, string>): Promise<{ child: ChildProcess; exited: Promise<number | null>; output: () => string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(repoRoot, 'cli', 'bin', 'rose.js'), 'worker'], { cwd: repoRoot, env: roseEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const exited = new Promise<number | null>((r) => child.on('close', r));
    const onData = (d: Buffer) => {
      out += d.toString();
      if (out.includes('Worker running')) resolve({ child, exited, output: () => out });
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    void exited.then((code) => reject(new Error(`rose worker exited with ${code} before running:\n${out}`)));
  });
}

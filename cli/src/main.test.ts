import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, makeProjectTempDir, repoRoot, roseEnv } from '@rose/testing';
import { createMemoryOutput } from './memory-output.ts';
import { runProgram, versionText } from './main.ts';

/** Runs `rose <args>` in this process, with the given settings only; captures everything it writes. */
async function rose(args: string[], env: Record<string, string> = {}) {
  let stdout = '';
  let stderr = '';
  const out = createMemoryOutput();
  const code = await runProgram(args, {
    env: { ROSE_LOG_LEVEL: 'silent', ...env },
    output: () => out,
    writeOut: (text) => void (stdout += text),
    writeErr: (text) => void (stderr += text),
  });
  return { code, stdout, stderr, printed: out.text() };
}

describe('rose: help, version and argument errors (in-process)', () => {
  it('explains itself with --help, listing the commands and every setting', async () => {
    const help = await rose(['--help']);
    expect(help.code).toBe(0);
    for (const word of ['db', 'users', 'oauth', 'ghost', 'build', 'release', 'worker', 'serve', 'dev', '--version', 'DATABASE_URL', 'REDIS_URL', 'ASTRO_KEY']) expect(help.stdout).toContain(word);
    expect(help.stderr).toBe('');
    const db = await rose(['db', '--help']);
    expect(db.code).toBe(0);
    for (const word of ['migrate', 'rollback', 'status', 'seed']) expect(db.stdout).toContain(word);
    const build = await rose(['build', '--help']);
    expect(build.stdout).toContain('parts to build (blog, market)');
    expect((await rose(['help', 'serve'])).stdout).toContain('--no-worker');
  });

  it('prints its version and the Node version with --version and -V', async () => {
    const pkg = JSON.parse(await fs.readFile(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string };
    const long = await rose(['--version']);
    expect(long).toMatchObject({ code: 0, stdout: `rose ${pkg.version} (Node.js ${process.versions.node})\n`, stderr: '' });
    expect((await rose(['-V'])).stdout).toBe(`${versionText()}\n`);
  });

  it('names an unknown command and suggests the closest one', async () => {
    const r = await rose(['biuld']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("unknown command 'biuld'");
    expect(r.stderr).toContain('Did you mean build?');
    expect(r.stdout).toBe('');
  });

  it('rejects bad option values before running anything', async () => {
    const port = await rose(['serve', '--port', 'eighty']);
    expect(port.code).toBe(1);
    expect(port.stderr).toContain("option '-p, --port <n>' argument 'eighty' is invalid. expected a whole number from 0 to 65535");
    expect((await rose(['dev', '--port', '70000'])).stderr).toContain('expected a whole number from 0 to 65535');
    expect((await rose(['serve', '--host', 'a b'])).stderr).toContain('expected a host name or IP address');
    expect((await rose(['db', 'rollback', '--steps', '0'])).stderr).toContain('expected a whole number of at least 1');
    const role = await rose(['users', 'set-role', '--email', 'a@example.org', '--role', 'owner']);
    expect(role.code).toBe(1);
    expect(role.stderr).toContain('Allowed choices are member, staff, admin');
    const missing = await rose(['users', 'create', '--name', 'Ann']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("required option '--email <email>' not specified");
    expect(missing.printed).toBe('');
  });
});

describe('rose: failures before any work is done (in-process)', () => {
  let tmp: string;
  const astroKey = process.env.ASTRO_KEY;
  beforeAll(async () => {
    tmp = await makeProjectTempDir('main-cli');
  });
  afterAll(async () => {
    // ensureAstroKey keeps the key it made in process.env, where the app reads it.
    if (astroKey === undefined) delete process.env.ASTRO_KEY;
    else process.env.ASTRO_KEY = astroKey;
    await fs.rm(tmp, { recursive: true, force: true });
  });

  it('names a bad setting and the fix, without a stack trace', async () => {
    const r = await rose(['db', 'status'], { ROSE_DATA_DIR: path.join(tmp, 'data'), ROSE_POSTS_PER_PAGE: '0' });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('ROSE_POSTS_PER_PAGE: expected a whole number from 1 to 100 (got "0")');
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('never takes a password from the command line', async () => {
    const r = await rose(['users', 'create', '--email', 'dan@example.org', '--name', 'Dan'], { ROSE_DATA_DIR: path.join(tmp, 'data') });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('never taken as a command-line argument');
    expect(r.stderr).toContain('--password-stdin');
  });

  it('says which database it could not reach, with the password masked', async () => {
    const port = await freePort();
    const r = await rose(['db', 'status'], { ROSE_DATA_DIR: path.join(tmp, 'data'), DATABASE_URL: `postgres://rose:hunter2@127.0.0.1:${port}/rose` });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`Could not connect to the database at postgres://rose:****@127.0.0.1:${port}/rose: connection refused`);
    expect(r.stderr).not.toContain('hunter2');
    expect(r.stderr).not.toMatch(/\n\s+at /);
    const verbose = await rose(['--verbose', 'db', 'status'], { ROSE_DATA_DIR: path.join(tmp, 'data'), DATABASE_URL: `postgres://rose:hunter2@127.0.0.1:${port}/rose` });
    expect(verbose.stderr).toMatch(/\n\s+at /);
  });
});

/**
 * Runs the real `rose` in a child process with a module hook that records every module it
 * resolves (ESM and CommonJS), and returns their paths relative to the repository.
 */
async function modulesLoadedBy(args: string[], env: Record<string, string>): Promise<{ code: number | null; stderr: string; modules: string[] }> {
  const hook = `
    import { registerHooks } from 'node:module';
    import { writeFileSync } from 'node:fs';
    const seen = new Set();
    registerHooks({ resolve(specifier, context, next) { const r = next(specifier, context); seen.add(r.url); return r; } });
    process.on('exit', () => writeFileSync(process.env.ROSE_TEST_MODULE_LIST, [...seen].join('\\n')));
  `;
  const list = path.join(await makeProjectTempDir('module-list'), 'modules.txt');
  const child = spawn(process.execPath, ['--import', `data:text/javascript,${encodeURIComponent(hook)}`, path.join(repoRoot, 'cli', 'bin', 'rose.js'), ...args], {
    cwd: repoRoot,
    env: roseEnv({ ...env, ROSE_TEST_MODULE_LIST: list }),
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  const urls = (await fs.readFile(list, 'utf8')).split('\n');
  await fs.rm(path.dirname(list), { recursive: true, force: true });
  const modules = urls.filter((u) => u.startsWith('file:')).map((u) => path.relative(repoRoot, new URL(u).pathname));
  return { code, stderr, modules };
}

/** Packages in node_modules and workspace packages a module list includes. */
function packagesIn(modules: string[]): Set<string> {
  const names = new Set<string>();
  for (const m of modules) {
    const dep = /(?:^|\/)node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(m);
    if (dep) names.add(dep[1]!);
    const workspace = /^packages\/([^/]+)\//.exec(m);
    if (workspace) names.add(`@rose/${workspace[1]}`);
  }
  return names;
}

// What a command loads decides how fast it starts (rose --help took 1.9 s when every command
// module was imported up front). Checked by what is loaded, not by timing.
describe('rose start-up loads only what the command uses', () => {
  const heavy = ['astro', 'vite', 'oidc-provider', 'openid-client', '@electric-sql/pglite', 'pg', 'kysely', 'ioredis', 'marked', 'sanitize-html', 'pino', 'nodemailer', 'zod'];
  const domain = ['@rose/auth', '@rose/blog', '@rose/cache', '@rose/db', '@rose/ghost', '@rose/jobs', '@rose/oauth', '@rose/releases', '@rose/site-build', '@rose/static-files'];

  it('--help loads commander and the table of settings, none of zod, the database, Astro, the provider or a domain package', async () => {
    const r = await modulesLoadedBy(['--help'], {});
    expect(r.code, r.stderr).toBe(0);
    const loaded = packagesIn(r.modules);
    expect(loaded).toContain('commander');
    expect([...loaded].filter((p) => heavy.includes(p) || domain.includes(p))).toEqual([]);
    expect(r.modules.filter((m) => m.startsWith('packages/app/')), 'only @rose/app/startup').toEqual(['packages/app/src/startup.ts']);
    expect(r.modules.filter((m) => m.startsWith('packages/config/')), 'only @rose/config/settings').toEqual(['packages/config/src/settings.ts']);
    expect(r.modules.filter((m) => m.startsWith('cli/src/commands/')), 'no command module but users.ts (roles)').toEqual(['cli/src/commands/users.ts']);
  });

  it('db status opens the database and reads the migrations, without the services, Astro or the provider', async () => {
    const tmp = await makeProjectTempDir('db-status-modules');
    try {
      const r = await modulesLoadedBy(['db', 'status'], { ROSE_DATA_DIR: path.join(tmp, 'data'), DATABASE_URL: `postgres://rose@127.0.0.1:${await freePort()}/rose` });
      expect(r.stderr).toContain('Could not connect to the database');
      const loaded = packagesIn(r.modules);
      expect(loaded).toContain('@rose/db');
      expect(loaded).toContain('pg');
      const unwanted = ['astro', 'vite', 'oidc-provider', 'openid-client', 'ioredis', 'pino', 'nodemailer', 'marked', 'sanitize-html', ...domain.filter((p) => p !== '@rose/db')];
      expect([...loaded].filter((p) => unwanted.includes(p))).toEqual([]);
      expect(r.modules.filter((m) => m.startsWith('packages/app/')).sort()).toEqual(['packages/app/src/astro-key.ts', 'packages/app/src/startup.ts']);
    } finally {
      await fs.rm(tmp, { recursive: true, force: true });
    }
  });
});

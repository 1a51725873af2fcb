import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '@rose/testing';

// No Docker engine runs here: the compose file, the Dockerfile and .dockerignore are checked
// by reading them, and the compose file by Compose's own validator when one is installed.
interface Service {
  image?: string;
  build?: unknown;
  command?: string[];
  restart?: string;
  environment?: Record<string, string>;
  ports?: string[];
  expose?: string[];
  volumes?: string[];
  depends_on?: Record<string, { condition: string }>;
  deploy?: { replicas?: number | string };
  healthcheck?: { test?: string[]; disable?: boolean };
}
interface Compose {
  services: Record<string, Service>;
  volumes: Record<string, unknown>;
  networks?: { default?: { ipam?: { config?: { subnet?: string }[] } } };
}

const run = promisify(execFile);
const composeFile = path.join(repoRoot, 'docker-compose.yml');

/** Compose's validator: the v2 plugin, or Debian's docker-compose 1.29 (`apt-get install docker-compose`). */
async function findComposeValidator(): Promise<{ command: string; args: string[]; v1: boolean } | undefined> {
  for (const candidate of [{ command: 'docker', args: ['compose'], v1: false }, { command: 'docker-compose', args: [], v1: true }]) {
    const ok = await run(candidate.command, [...candidate.args, 'version'], { timeout: 30_000 }).then(
      () => true,
      () => false,
    );
    if (ok) return candidate;
  }
  return undefined;
}

describe('docker-compose.yml', async () => {
  const text = await fs.readFile(composeFile, 'utf8');
  // Merge keys (`<<: *rose`) share the app image's settings between its services.
  const compose = parse(text, { merge: true }) as Compose;
  const { postgres, redis, migrate, app, worker, caddy } = compose.services;
  const siteBuild = compose.services['site-build'];
  const command = (s: Service | undefined) => (s?.command ?? []).join(' ');

  it('runs Postgres 16 and Redis 7 with health checks and volumes', () => {
    expect(postgres?.image).toMatch(/^postgres:16(\.|$|-)/);
    expect(redis?.image).toMatch(/^redis:7(\.|$|-)/);
    expect(postgres?.healthcheck?.test?.join(' ')).toContain('pg_isready');
    expect(redis?.healthcheck?.test?.join(' ')).toContain('ping');
    expect(Object.keys(compose.volumes)).toEqual(expect.arrayContaining(['postgres-data', 'redis-data', 'releases', 'caddy-data']));
  });

  it('migrates once and builds once, in one-shot services the app and worker wait for', () => {
    const migrating = Object.entries(compose.services).filter(([, s]) => command(s).includes('db migrate'));
    expect(migrating.map(([name]) => name)).toEqual(['migrate']);
    expect(command(migrate)).toBe('node cli/bin/rose.js db migrate');
    expect(migrate?.restart).toBe('no');
    expect(migrate?.depends_on).toEqual({ postgres: { condition: 'service_healthy' } });

    const building = Object.entries(compose.services).filter(([, s]) => / build\b/.test(command(s)));
    expect(building.map(([name]) => name)).toEqual(['site-build']);
    expect(siteBuild?.restart).toBe('no');
    expect(siteBuild?.depends_on?.migrate).toEqual({ condition: 'service_completed_successfully' });
    expect(siteBuild?.volumes).toEqual(['releases:/app/dist']);

    for (const s of [app, worker]) {
      expect(s?.depends_on).toEqual({
        postgres: { condition: 'service_healthy' },
        redis: { condition: 'service_healthy' },
        'site-build': { condition: 'service_completed_successfully' },
      });
    }
  });

  it('runs N app servers behind Caddy (no host port) and one worker, all from one image', () => {
    expect(command(app)).toBe('node cli/bin/rose.js serve --no-worker');
    expect(app?.deploy?.replicas).toBe('${ROSE_APP_REPLICAS:-2}');
    expect(app?.ports).toBeUndefined();
    expect(app?.expose).toEqual(['4321']);
    expect(command(worker)).toBe('node cli/bin/rose.js worker');
    expect(worker?.deploy?.replicas).toBe(1);
    const appImage = [migrate, siteBuild, app, worker].map((s) => ({ build: s?.build, image: s?.image }));
    expect(new Set(appImage.map((i) => JSON.stringify(i))).size).toBe(1);
    expect(appImage[0]).toEqual({ build: '.', image: '${ROSE_IMAGE:-rose-ash:local}' });
    // Every writer and reader of releases sees the same volume at the same path.
    expect(worker?.volumes).toEqual(app?.volumes);
    expect(app?.volumes).toEqual(['releases:/app/dist']);
  });

  it('gives every long-running service a health check; the app is checked on /api/health', () => {
    const longRunning = Object.entries(compose.services).filter(([, s]) => s.restart !== 'no');
    expect(longRunning.map(([name]) => name).sort()).toEqual(['app', 'caddy', 'postgres', 'redis', 'worker']);
    for (const [name, s] of longRunning) {
      expect(s.healthcheck?.disable, name).not.toBe(true);
      expect(s.healthcheck?.test?.length, `${name} has a health check`).toBeGreaterThan(1);
    }
    expect(app?.healthcheck?.test?.join(' ')).toContain('http://127.0.0.1:4321/api/health');
    expect(command({ command: worker?.healthcheck?.test ?? [] })).toBe('CMD node cli/bin/rose.js db status');
  });

  it('puts Caddy in front with the generated Caddyfile and the releases read-only', () => {
    expect(caddy?.image).toBe('caddy:2');
    expect(caddy?.volumes).toEqual(expect.arrayContaining(['./deploy/Caddyfile:/etc/caddy/Caddyfile:ro', 'releases:/app/dist:ro', 'caddy-data:/data']));
    expect(caddy?.ports).toEqual(expect.arrayContaining(['${ROSE_HTTP_PORT:-80}:80', '${ROSE_HTTPS_PORT:-443}:443']));
    expect(caddy?.depends_on).toEqual({ app: { condition: 'service_healthy' } });
    // The app believes X-Forwarded-* and X-Request-Id from the stack's own network only: Caddy's.
    const subnet = compose.networks?.default?.ipam?.config?.[0]?.subnet;
    expect(subnet).toMatch(/^\$\{ROSE_NETWORK_SUBNET:-\d+\.\d+\.\d+\.\d+\/\d+\}$/);
    for (const s of [app, worker]) expect(s?.environment?.ROSE_TRUSTED_PROXIES).toBe(subnet);
  });

  it('points the app at the compose services and keeps secrets out of the file', () => {
    const env = app?.environment ?? {};
    expect(env.DATABASE_URL).toMatch(/^postgres:\/\/rose:\$\{POSTGRES_PASSWORD:\?[^}]*\}@postgres:5432\/rose$/);
    expect(env.REDIS_URL).toBe('redis://redis:6379/0');
    expect(env.ASTRO_KEY).toMatch(/^\$\{ASTRO_KEY:\?/);
    expect(postgres?.environment?.POSTGRES_PASSWORD).toMatch(/^\$\{POSTGRES_PASSWORD:\?/);
    // A secret is either required from the environment (`${X:?…}`) or empty unless given (`${X:-}`).
    const secretName = /PASSWORD|SECRET|TOKEN|KEY$|^SMTP_URL$/;
    for (const [name, s] of Object.entries(compose.services)) {
      for (const [key, value] of Object.entries(s.environment ?? {})) {
        if (secretName.test(key)) expect(value, `${name}.environment.${key}`).toMatch(new RegExp(`^\\$\\{${key}:(\\?[^}]*|-)\\}$`));
      }
    }
  });

  it('is valid for Compose itself', async (ctx) => {
    const validator = await findComposeValidator();
    if (!validator) {
      ctx.skip(true, 'neither `docker compose` (v2 plugin) nor `docker-compose` is installed (apt-get install docker-compose)');
      return;
    }
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'rose-compose-'));
    try {
      let file = composeFile;
      if (validator.v1) {
        // Compose 1.29 predates the top-level `name`; everything else is checked against its schema.
        expect(text).toMatch(/^name: rose-ash\n/m);
        file = path.join(dir, 'docker-compose.yml');
        await fs.writeFile(file, text.replace(/^name: rose-ash\n/m, ''));
      }
      const args = [...validator.args, '--project-directory', repoRoot, '-f', file, 'config'];
      const env = { PATH: process.env.PATH ?? '', HOME: dir, POSTGRES_PASSWORD: 'not-a-real-password', ASTRO_KEY: 'not-a-real-key' };
      const { stdout } = await run(validator.command, args, { env, timeout: 60_000 });
      const resolved = parse(stdout) as Compose;
      expect(resolved.services.app?.deploy?.replicas).toBe(2);
      expect(resolved.services.worker?.environment?.DATABASE_URL).toBe('postgres://rose:not-a-real-password@postgres:5432/rose');
      // Without the password, Compose refuses to start anything.
      const missing = await run(validator.command, args, { env: { ...env, POSTGRES_PASSWORD: '' }, timeout: 60_000 }).then(
        () => '',
        (error: { stderr?: string }) => error.stderr ?? 'failed',
      );
      expect(missing).toContain('set POSTGRES_PASSWORD');
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  }, 120_000);
});

describe('Dockerfile', async () => {
  // The instructions, without comments (which may well mention `npx` or `npm ci`).
  const dockerfile = (await fs.readFile(path.join(repoRoot, 'Dockerfile'), 'utf8'))
    .split('\n')
    .filter((l) => !l.trimStart().startsWith('#'))
    .join('\n');
  const stages = dockerfile.split('\n').filter((l) => l.startsWith('FROM '));
  const runtime = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));

  it('installs production dependencies in one stage and runs from another on Node 24', () => {
    expect(stages).toEqual(['FROM node:24-bookworm-slim AS deps', 'FROM node:24-bookworm-slim AS runtime']);
    expect(dockerfile).toMatch(/^RUN npm install --omit=dev /m);
    expect(dockerfile).not.toMatch(/--include=dev|npm (install|ci)(?![^\n]*--omit=dev)/);
    // The runtime stage installs nothing: it takes the deps stage's node_modules.
    expect(runtime).not.toMatch(/npm (install|ci)/);
    expect(runtime).toContain('COPY --from=deps /app/node_modules ./node_modules');
  });

  it('copies every workspace manifest the app runs, and not the test helpers', async () => {
    for (const pkg of await fs.readdir(path.join(repoRoot, 'packages'))) {
      const line = `COPY packages/${pkg}/package.json packages/${pkg}/`;
      if (pkg === 'testing') expect(dockerfile, 'packages/testing is for tests only').not.toContain(line);
      else expect(dockerfile, `Dockerfile must COPY packages/${pkg}/package.json`).toContain(line);
    }
  });

  it('runs as a numeric non-root user, checks /api/health, and starts rose without npx', () => {
    const user = /^USER (\d+):(\d+)$/m.exec(runtime);
    expect(user, 'USER uid:gid (numeric)').not.toBeNull();
    expect(Number(user![1])).toBeGreaterThan(0);
    expect(Number(user![2])).toBeGreaterThan(0);
    expect(runtime).toMatch(/^HEALTHCHECK .*\\\n\s+CMD \[.*\/api\/health/m);
    expect(runtime).toContain('CMD ["node", "cli/bin/rose.js", "serve"]');
    expect(dockerfile).not.toContain('npx');
  });

  it('keeps .git, installed modules, releases, local state, tests and secrets out of the build context', async () => {
    const ignored = (await fs.readFile(path.join(repoRoot, '.dockerignore'), 'utf8')).split('\n').map((l) => l.trim());
    for (const pattern of ['.git', 'node_modules', '**/node_modules', 'dist', '.rose', '**/.env', '**/.env.*', '**/*.pem', '**/*.key', 'deploy', 'test', '**/*.test.ts', 'packages/testing', 'coverage']) {
      expect(ignored, `.dockerignore lists ${pattern}`).toContain(pattern);
    }
    // Nothing the image runs is ignored.
    for (const needed of ['cli', 'packages', 'sites', 'migrations', 'content', 'astro.config.ts', 'package.json', 'package-lock.json', 'tsconfig.json']) {
      expect(ignored, `.dockerignore must not list ${needed}`).not.toContain(needed);
    }
  });
});

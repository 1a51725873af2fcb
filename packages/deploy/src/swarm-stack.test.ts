import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { RoseError } from '@rose/core';
import { renderSwarmStack, swarmDeployCommand, type SwarmStackOptions } from './swarm-stack.ts';

interface StackService {
  image?: string;
  command?: string[];
  environment?: Record<string, string>;
  secrets?: { source: string; target: string }[];
  volumes?: string[];
  configs?: { source: string; target: string }[];
  ports?: { target: number; published: number; protocol: string; mode: string }[];
  healthcheck?: { test: string[] };
  deploy?: {
    mode?: string;
    replicas?: number;
    placement?: unknown;
    update_config?: Record<string, unknown>;
    rollback_config?: Record<string, unknown>;
    restart_policy?: Record<string, unknown>;
  };
}
interface Stack {
  version: string;
  services: Record<string, StackService>;
  networks: Record<string, { driver: string; ipam: { config: { subnet: string }[] } }>;
  volumes: Record<string, Record<string, unknown>>;
  secrets?: Record<string, { external: boolean }>;
  configs?: Record<string, { file: string }>;
}

const base: SwarmStackOptions = {
  stackName: 'rose',
  image: 'registry.coop.example:5000/coop/rose:3f2a9c1d0b7e',
  replicas: 3,
  siteUrl: 'https://coop.example/',
  env: { ROSE_LOG_LEVEL: 'warn', GHOST_URL: 'https://ghost.coop.example' },
  secrets: ['database_url', 'redis_url', 'astro_key', 'ghost_content_key'],
};
const caddyfile = { path: './Caddyfile', text: 'coop.example {\n\treverse_proxy app:4321\n}\n' };

function render(options: Partial<SwarmStackOptions> = {}): Stack {
  return parse(renderSwarmStack({ ...base, ...options })) as Stack;
}

function problemsOf(options: Partial<SwarmStackOptions>): string {
  try {
    renderSwarmStack({ ...base, ...options } as SwarmStackOptions);
  } catch (error) {
    expect(error).toBeInstanceOf(RoseError);
    expect((error as RoseError).code).toBe('deploy-targets');
    return (error as Error).message;
  }
  throw new Error('expected renderSwarmStack to refuse');
}

const run = promisify(execFile);
const dockerClient = await run('docker', ['--version'], { timeout: 30_000 }).then(
  () => true,
  () => false,
);

describe('renderSwarmStack', () => {
  it('runs N app servers from the tagged image, rolled out start-first with automatic rollback', () => {
    const { app } = render().services;
    expect(app?.image).toBe(base.image);
    expect(app?.deploy?.mode).toBe('replicated');
    expect(app?.deploy?.replicas).toBe(3);
    expect(app?.deploy?.update_config).toMatchObject({ parallelism: 1, order: 'start-first', failure_action: 'rollback' });
    expect(app?.deploy?.rollback_config).toMatchObject({ order: 'start-first' });
    expect(app?.deploy?.restart_policy).toMatchObject({ condition: 'any' });
    expect(app?.deploy?.placement).toBeUndefined();
    expect(app?.command?.slice(0, 2)).toEqual(['sh', '-c']);
    expect(app?.command?.[2]).toMatch(/; exec node cli\/bin\/rose\.js serve --no-worker$/);
    expect(app?.healthcheck?.test.join(' ')).toContain('http://127.0.0.1:4321/api/health');
    expect(app?.volumes).toEqual(['releases:/app/dist']);
  });

  it('runs one worker that builds with the new code first, never two at once', () => {
    const { worker } = render().services;
    expect(worker?.image).toBe(base.image);
    expect(worker?.deploy?.replicas).toBe(1);
    expect(worker?.deploy?.update_config).toMatchObject({ order: 'stop-first', failure_action: 'rollback' });
    expect(worker?.command?.[2]).toMatch(/; node cli\/bin\/rose\.js build && exec node cli\/bin\/rose\.js worker$/);
    // A health check is a new process: it reads the secrets itself.
    expect(worker?.healthcheck?.test.slice(0, 3)).toEqual(['CMD', 'sh', '-c']);
    expect(worker?.healthcheck?.test[3]).toMatch(/^for f in \/run\/secrets\/\*; .*; exec node cli\/bin\/rose\.js db status$/);
    expect(worker?.volumes).toEqual(['releases:/app/dist']);
  });

  it('names Docker secrets only, mounted as the settings of their names', () => {
    const text = renderSwarmStack(base);
    const stack = parse(text) as Stack;
    expect(stack.secrets).toEqual({ database_url: { external: true }, redis_url: { external: true }, astro_key: { external: true }, ghost_content_key: { external: true } });
    for (const s of [stack.services.app, stack.services.worker]) {
      expect(s?.secrets).toEqual([
        { source: 'database_url', target: 'DATABASE_URL' },
        { source: 'redis_url', target: 'REDIS_URL' },
        { source: 'astro_key', target: 'ASTRO_KEY' },
        { source: 'ghost_content_key', target: 'GHOST_CONTENT_KEY' },
      ]);
      expect(s?.environment).toEqual({ ROSE_SITE_URL: 'https://coop.example', ROSE_TRUSTED_PROXIES: '10.214.0.0/24', ROSE_LOG_LEVEL: 'warn', GHOST_URL: 'https://ghost.coop.example' });
    }
    // The shell reads the secret files into the environment; `$` is written `$$` for the stack's interpolation.
    expect(stack.services.app?.command?.[2]).toContain('for f in /run/secrets/*; do [ -f "$$f" ] && export "$${f##*/}=$$(cat "$$f")"; done;');
    expect(stack.networks.rose).toEqual({ driver: 'overlay', ipam: { config: [{ subnet: '10.214.0.0/24' }] } });
  });

  it('adds Caddy in front when given a Caddyfile, as a config named after its content', () => {
    const stack = render({ caddyfile });
    const { caddy } = stack.services;
    expect(caddy?.image).toBe('caddy:2');
    expect(caddy?.volumes).toEqual(['releases:/app/dist:ro', 'caddy-data:/data', 'caddy-config:/config']);
    expect(caddy?.ports?.map((p) => `${p.published}/${p.protocol}/${p.mode}`)).toEqual(['80/tcp/host', '443/tcp/host', '443/udp/host']);
    expect(caddy?.healthcheck?.test.length).toBeGreaterThan(1);
    const key = caddy?.configs?.[0]?.source ?? '';
    expect(caddy?.configs).toEqual([{ source: key, target: '/etc/caddy/Caddyfile' }]);
    expect(stack.configs).toEqual({ [key]: { file: './Caddyfile' } });
    const changed = render({ caddyfile: { ...caddyfile, text: `${caddyfile.text}# edited\n` } });
    expect(changed.services.caddy?.configs?.[0]?.source).not.toBe(key);
    expect(render().services.caddy).toBeUndefined();
  });

  it('takes the subnet and a shared volume driver for tasks on several nodes', () => {
    const stack = render({ subnet: '10.50.0.0/24', releasesVolume: { driver: 'local', driverOpts: { type: 'nfs', o: 'addr=10.0.0.9,rw', device: ':/srv/releases' } } });
    expect(stack.services.app?.environment?.ROSE_TRUSTED_PROXIES).toBe('10.50.0.0/24');
    expect(stack.volumes.releases).toEqual({ driver: 'local', driver_opts: { type: 'nfs', o: 'addr=10.0.0.9,rw', device: ':/srv/releases' } });
  });

  it('refuses an image without a plain tag: nothing can be smuggled into the stack or the command', () => {
    for (const image of [
      'registry.coop.example/rose',
      'registry.coop.example/rose:latest',
      'rose:3f2a9c1d0b7e --privileged',
      'rose:3f2a9c1d0b7e\n    privileged: true',
      '-rose:1',
      'rose:1;rm -rf /',
      'rose:$(id)',
      'Rose:1',
    ]) {
      expect(problemsOf({ image }), image).toMatch(/^The swarm target cannot be turned into a stack file:\n {2}image: /);
    }
    expect(render({ image: 'rose:v1.2.3_rc-1' }).services.app?.image).toBe('rose:v1.2.3_rc-1');
  });

  it('refuses credentials in env, and a stack missing the shared settings', () => {
    expect(problemsOf({ env: { ASTRO_KEY: 'x'.repeat(44) }, secrets: ['database_url', 'redis_url'] })).toMatchInlineSnapshot(`
      "The swarm target cannot be turned into a stack file:
        env.ASTRO_KEY: holds a credential: make it a Docker secret named astro_key and list it in secrets"
    `);
    expect(problemsOf({ env: { DATABASE_URL: 'postgres://rose:hunter2@db:5432/rose' }, secrets: ['redis_url', 'astro_key'] })).toContain('env.DATABASE_URL: holds a credential');
    expect(problemsOf({ env: {}, secrets: ['astro_key'] })).toContain('DATABASE_URL is needed by every task');
    expect(problemsOf({ env: { ROSE_SITE_URL: 'https://elsewhere.example' } })).toContain('env.ROSE_SITE_URL: ROSE_SITE_URL is set by the stack itself');
    expect(problemsOf({ secrets: [...(base.secrets ?? []), 'database.url'] })).toContain('another secret already sets DATABASE_URL');
    expect(problemsOf({ stackName: 'Rose Stack' })).toContain('stackName: a stack name');
    expect(problemsOf({ replicas: 0 })).toContain('replicas:');
    expect(problemsOf({ subnet: '10.0.0.0/33' })).toContain('subnet:');
    // Without credentials, a URL may be a plain setting.
    expect(render({ env: { REDIS_URL: 'redis://redis.internal:6379/0' }, secrets: ['database_url', 'astro_key'] }).services.app?.environment?.REDIS_URL).toBe('redis://redis.internal:6379/0');
  });

  it('is a stack file the Docker CLI accepts (docker stack config, offline)', async (ctx) => {
    if (!dockerClient) {
      ctx.skip(true, 'the docker client is not installed');
      return;
    }
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'rose-swarm-'));
    try {
      await fs.writeFile(path.join(dir, 'Caddyfile'), caddyfile.text);
      const file = path.join(dir, 'stack.yml');
      await fs.writeFile(file, renderSwarmStack({ ...base, env: { ...base.env, MAIL_FROM: 'Rose $HOME <no-reply@coop.example>' }, caddyfile }));
      const { stdout } = await run('docker', ['stack', 'config', '--compose-file', file], { timeout: 60_000, env: { PATH: process.env.PATH ?? '', HOME: dir } });
      const resolved = parse(stdout) as Stack;
      expect(resolved.services.app?.deploy?.update_config).toMatchObject({ order: 'start-first', failure_action: 'rollback' });
      // After the CLI's interpolation, the shell gets its own `$` and a value keeps its literal one.
      expect(resolved.services.app?.command?.[2]).toContain('export "${f##*/}=$(cat "$f")"');
      expect(resolved.services.app?.environment?.MAIL_FROM).toBe('Rose $HOME <no-reply@coop.example>');
      expect(Object.values(resolved.configs ?? {})[0]?.file).toBe(path.join(dir, 'Caddyfile'));
      // And it rejects what the schema does not know, so the check above can fail.
      await fs.writeFile(file, `${renderSwarmStack(base)}x-ok: 1\nbogus: 1\n`);
      await expect(run('docker', ['stack', 'config', '--compose-file', file], { timeout: 60_000 })).rejects.toMatchObject({ stderr: expect.stringContaining('bogus') });
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  }, 120_000);
});

describe('swarmDeployCommand', () => {
  it('deploys the written file with registry auth, pruning, waiting for convergence', () => {
    expect(swarmDeployCommand({ stackFile: '/srv/rose/.rose/deploy/live/stack.yml', stackName: 'rose' })).toEqual({
      command: 'docker',
      args: ['stack', 'deploy', '--compose-file', '/srv/rose/.rose/deploy/live/stack.yml', '--with-registry-auth', '--prune', '--detach=false', 'rose'],
    });
  });

  it('refuses a file or stack name that would read as an option', () => {
    expect(() => swarmDeployCommand({ stackFile: '-', stackName: 'rose' })).toThrow(/stackFile: a file path, not starting with "-"/);
    expect(() => swarmDeployCommand({ stackFile: 'stack.yml', stackName: '--prune' })).toThrow(/stackName: a stack name/);
  });
});

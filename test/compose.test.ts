import { promises as fs } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '@rose/testing';

// No Docker engine runs here, so the compose file is checked by reading it.
interface Service {
  image?: string;
  build?: unknown;
  command?: string[] | string;
  environment?: Record<string, string>;
  ports?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
}

describe('docker-compose.yml', async () => {
  const text = await fs.readFile(path.join(repoRoot, 'docker-compose.yml'), 'utf8');
  const compose = parse(text) as { services: Record<string, Service>; volumes: Record<string, unknown> };
  const { postgres, redis, app } = compose.services;

  it('runs Postgres 16 and Redis 7 with health checks and volumes', () => {
    expect(postgres?.image).toMatch(/^postgres:16(\.|$|-)/);
    expect(redis?.image).toMatch(/^redis:7(\.|$|-)/);
    expect(postgres?.healthcheck?.test.join(' ')).toContain('pg_isready');
    expect(redis?.healthcheck?.test.join(' ')).toContain('ping');
    expect(Object.keys(compose.volumes)).toEqual(expect.arrayContaining(['postgres-data', 'redis-data']));
  });

  it('builds the app and runs `rose serve` on port 4321 once Postgres and Redis are healthy', () => {
    expect(app?.build).toBe('.');
    const command = Array.isArray(app?.command) ? app.command.join(' ') : String(app?.command);
    expect(command).toContain('rose db migrate');
    expect(command).toContain('rose serve --host 0.0.0.0 --port 4321');
    const worker = compose.services.worker;
    expect(worker?.command).toEqual(['npx', 'rose', 'worker']);
    expect(worker?.environment?.DATABASE_URL).toBe(app?.environment?.DATABASE_URL);
    expect((worker as { volumes?: string[] }).volumes).toEqual((app as { volumes?: string[] }).volumes);
    expect(app?.ports).toContain('4321:4321');
    expect(app?.depends_on).toEqual({ postgres: { condition: 'service_healthy' }, redis: { condition: 'service_healthy' } });
    expect(app?.healthcheck?.test.join(' ')).toContain('/api/health');
  });

  it('points the app at the compose services and keeps secrets out of the file', () => {
    const env = app?.environment ?? {};
    expect(env.DATABASE_URL).toMatch(/^postgres:\/\/rose:\$\{POSTGRES_PASSWORD:\?[^}]*\}@postgres:5432\/rose$/);
    expect(env.REDIS_URL).toBe('redis://redis:6379/0');
    expect(env.HOST).toBe('0.0.0.0');
    expect(env.ASTRO_KEY).toMatch(/^\$\{ASTRO_KEY:\?/);
    expect(postgres?.environment?.POSTGRES_PASSWORD).toMatch(/^\$\{POSTGRES_PASSWORD:\?/);
  });

  it('has a Dockerfile on Node 24 that installs every workspace manifest', async () => {
    const dockerfile = await fs.readFile(path.join(repoRoot, 'Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/^FROM node:24[-.\w]*$/m);
    for (const pkg of await fs.readdir(path.join(repoRoot, 'packages'))) {
      expect(dockerfile, `Dockerfile must COPY packages/${pkg}/package.json`).toContain(`COPY packages/${pkg}/package.json packages/${pkg}/`);
    }
  });
});

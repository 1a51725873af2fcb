import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.ts';

const root = '/srv/rose';

describe('loadConfig', () => {
  it('defaults to the embedded database and memory cache under .rose/', () => {
    const config = loadConfig({}, { root });
    expect(config.database).toEqual({ kind: 'pglite', dir: path.join(root, '.rose', 'pglite') });
    expect(config.cache).toEqual({ kind: 'memory' });
    expect(config.server).toEqual({ host: 'localhost', port: 4321 });
    expect(config.distDir).toBe(path.join(root, 'dist'));
    expect(config.siteUrl).toBe('http://localhost:4321');
  });

  it('uses real servers when DATABASE_URL and REDIS_URL are set', () => {
    const config = loadConfig({ DATABASE_URL: 'postgres://u:p@db:5432/rose', REDIS_URL: 'redis://cache:6379/0' }, { root });
    expect(config.database).toEqual({ kind: 'postgres', url: 'postgres://u:p@db:5432/rose' });
    expect(config.cache).toEqual({ kind: 'redis', url: 'redis://cache:6379/0', namespace: 'rose:' });
  });

  it('treats empty values as unset', () => {
    expect(loadConfig({ DATABASE_URL: '', PORT: ' ' }, { root }).database.kind).toBe('pglite');
  });

  it('is frozen', () => {
    const config = loadConfig({}, { root });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.server)).toBe(true);
  });

  it('names every bad variable, what it expects, and masks secrets', () => {
    expect(() =>
      loadConfig({ PORT: 'eighty', DATABASE_URL: 'mysql://admin:hunter2@db/rose', ROSE_LOG_LEVEL: 'loud', ROSE_SITE_URL: 'https://x.org/blog' }, { root }),
    ).toThrowErrorMatchingInlineSnapshot(`
      [ConfigError: Some settings are invalid:
        DATABASE_URL: expected a URL like postgres://user:password@127.0.0.1:5432/rose (got "mysql://admin:****@db/rose")
        ROSE_SITE_URL: expected an origin like https://coop.example.org (http or https, no path) (got "https://x.org/blog")
        PORT: expected a whole number from 1 to 65535 (got "eighty")
        ROSE_LOG_LEVEL: Invalid option: expected one of "fatal"|"error"|"warn"|"info"|"debug"|"trace"|"silent" (got "loud")]
    `);
  });

  it('keeps the build output inside the project', () => {
    expect(() => loadConfig({ ROSE_DIST_DIR: '/tmp/elsewhere' }, { root })).toThrow(/ROSE_DIST_DIR must be a folder inside the project/);
    expect(() => loadConfig({ ROSE_DIST_DIR: '.' }, { root })).toThrow(/ROSE_DIST_DIR/);
    expect(loadConfig({ ROSE_DIST_DIR: '.rose/releases/1' }, { root }).distDir).toBe(path.join(root, '.rose/releases/1'));
  });

  it('reads Ghost settings as a pair and never echoes the keys', () => {
    const contentKey = 'a'.repeat(26);
    const config = loadConfig({ GHOST_URL: 'https://ghost.example.org/', GHOST_CONTENT_KEY: contentKey }, { root });
    expect(config.ghost).toEqual({ url: 'https://ghost.example.org', contentKey, adminKey: undefined, webhookSecret: undefined });
    expect(() => loadConfig({ GHOST_URL: 'https://ghost.example.org' }, { root })).toThrow(/GHOST_URL is set but GHOST_CONTENT_KEY is not/);
    try {
      loadConfig({ GHOST_URL: 'https://g.example', GHOST_CONTENT_KEY: 'secret-but-wrong', GHOST_ADMIN_KEY: 'nope:nope' }, { root });
      expect.unreachable();
    } catch (error) {
      const message = (error as Error).message;
      expect(message).toContain('GHOST_CONTENT_KEY: expected the 26 hex characters');
      expect(message).toContain('GHOST_ADMIN_KEY: expected a Ghost Admin API key');
      expect(message).not.toContain('secret-but-wrong');
      expect(message).not.toContain('nope:nope');
    }
  });

  it('never echoes a password', () => {
    try {
      loadConfig({ REDIS_URL: 'http://:s3cret@cache' }, { root });
      expect.unreachable();
    } catch (error) {
      expect(String((error as Error).message)).not.toContain('s3cret');
    }
  });
});

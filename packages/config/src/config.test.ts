import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { isAstroKey, loadConfig } from './config.ts';

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

  // A build bakes the origin into pages; the server re-renders through that build only when
  // its own origin is the same, so without ROSE_SITE_URL both follow HOST and PORT.
  it('without ROSE_SITE_URL, takes the site origin from where `rose serve` listens by default', () => {
    expect(loadConfig({ PORT: '4399' }, { root }).siteUrl).toBe('http://localhost:4399');
    expect(loadConfig({ HOST: '0.0.0.0', PORT: '8080' }, { root }).siteUrl).toBe('http://localhost:8080');
    expect(loadConfig({ HOST: '127.0.0.1' }, { root }).siteUrl).toBe('http://127.0.0.1:4321');
    expect(loadConfig({ PORT: '4399', ROSE_SITE_URL: 'https://coop.example' }, { root }).siteUrl).toBe('https://coop.example');
  });

  it('uses real servers when DATABASE_URL and REDIS_URL are set', () => {
    const config = loadConfig({ DATABASE_URL: 'postgres://u:p@db:5432/rose', REDIS_URL: 'redis://cache:6379/0' }, { root });
    expect(config.database).toEqual({ kind: 'postgres', url: 'postgres://u:p@db:5432/rose' });
    expect(config.cache).toEqual({ kind: 'redis', url: 'redis://cache:6379/0', namespace: 'rose:' });
  });

  it('treats empty values as unset', () => {
    expect(loadConfig({ DATABASE_URL: '', PORT: ' ' }, { root }).database.kind).toBe('pglite');
  });

  it('reads which part lives on which host from ROSE_PART_ORIGINS, and refuses sign-in elsewhere', () => {
    const config = loadConfig({ ROSE_PART_ORIGINS: 'https://shop.coop.example, market=https://market.coop.example/' }, { root });
    expect(config.partOrigins).toEqual(['https://shop.coop.example', 'https://market.coop.example']);
    expect(config.partHosts).toEqual({ market: 'https://market.coop.example' });
    expect(() => loadConfig({ ROSE_PART_ORIGINS: 'auth=https://auth.coop.example' }, { root })).toThrow(/site's origin/);
    expect(() => loadConfig({ ROSE_PART_ORIGINS: 'shop=https://shop.coop.example' }, { root })).toThrow(/not a part/);
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

  it('checks ASTRO_KEY is what Astro can import, without echoing it', () => {
    const good = randomBytes(32).toString('base64');
    expect(() => loadConfig({ ASTRO_KEY: good }, { root })).not.toThrow();
    expect(() => loadConfig({ ASTRO_KEY: 'hunter2-not-a-key' }, { root })).toThrowErrorMatchingInlineSnapshot(`
      [ConfigError: A setting is invalid:
        ASTRO_KEY: expected the base64 of a 32-byte key (44 characters ending in "="), as \`npx astro create-key\` prints it]
    `);
    // Right alphabet, wrong size; hex instead of base64; a pasted newline.
    for (const bad of [randomBytes(16).toString('base64'), randomBytes(32).toString('hex'), `${good}\n`, good.slice(0, -2) + '==']) {
      expect(isAstroKey(bad), bad).toBe(false);
      expect(() => loadConfig({ ASTRO_KEY: bad }, { root }), bad).toThrow(/ASTRO_KEY: expected the base64 of a 32-byte key/);
    }
  });

  it('refuses a ROSE_DATA_DIR that is a file, under a file, or in /proc, /sys or /dev', async () => {
    const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'rose-config-'));
    try {
      const file = path.join(tmp, 'a-file');
      await fs.writeFile(file, 'x');
      await fs.symlink('/proc/self', path.join(tmp, 'link-to-proc'));
      const problem = (dir: string) => {
        try {
          loadConfig({ ROSE_DATA_DIR: dir }, { root: tmp });
          return undefined;
        } catch (error) {
          expect((error as Error).name).toBe('ConfigError');
          return (error as Error).message;
        }
      };
      expect(problem(file)).toBe(`A setting is invalid:\n  ROSE_DATA_DIR: expected a folder, but this is a file (got ${JSON.stringify(file)})`);
      expect(problem('a-file/state')).toBe(`A setting is invalid:\n  ROSE_DATA_DIR: expected a folder that can be created, but ${file} is a file (got "a-file/state")`);
      for (const dir of ['/proc', '/proc/rose', '/sys/kernel/rose', '/dev/shm/rose', 'link-to-proc/rose']) {
        expect(problem(dir), dir).toMatch(/^A setting is invalid:\n {2}ROSE_DATA_DIR: expected a folder for Rose Ash's files, not one under \/(proc|sys|dev) \(a kernel or device file system\)/);
      }
      // An existing folder, or one that can be made, is fine.
      expect(problem(tmp)).toBeUndefined();
      expect(problem('not/yet/made')).toBeUndefined();
      expect(loadConfig({ ROSE_DATA_DIR: 'not/yet/made' }, { root: tmp }).dataDir).toBe(path.join(tmp, 'not/yet/made'));
    } finally {
      await fs.rm(tmp, { recursive: true, force: true });
    }
  });
});

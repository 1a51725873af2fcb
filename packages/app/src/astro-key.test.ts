import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAstroKey } from '@rose/config';
import { ensureAstroKey } from './astro-key.ts';

describe('ensureAstroKey', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'rose-astro-key-'));
  });
  afterAll(() => fs.rm(dir, { recursive: true, force: true }));

  it('makes a key Astro can import once, keeps it private, and reuses it', async () => {
    const dataDir = path.join(dir, 'fresh');
    const env: NodeJS.ProcessEnv = {};
    await ensureAstroKey(dataDir, env);
    expect(isAstroKey(env.ASTRO_KEY!)).toBe(true);
    expect((await fs.stat(path.join(dataDir, 'astro-key'))).mode & 0o777).toBe(0o600);
    const again: NodeJS.ProcessEnv = {};
    await ensureAstroKey(dataDir, again);
    expect(again.ASTRO_KEY).toBe(env.ASTRO_KEY);
  });

  it('names a kept key file that is damaged instead of letting the build crash on it', async () => {
    const dataDir = path.join(dir, 'damaged');
    await fs.mkdir(dataDir);
    await fs.writeFile(path.join(dataDir, 'astro-key'), 'not a key\n');
    const env: NodeJS.ProcessEnv = {};
    const error = await ensureAstroKey(dataDir, env).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'ConfigError', title: 'Invalid configuration' });
    expect((error as Error).message).toBe(`${path.join(dataDir, 'astro-key')} does not hold an Astro key (the base64 of a 32-byte key, as \`npx astro create-key\` prints it).`);
    expect(env.ASTRO_KEY).toBeUndefined();
  });
});

import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { isAstroKey } from '@rose/config';
import { ConfigError } from '@rose/core';

/**
 * Server-island URLs are encrypted with ASTRO_KEY. Without one, Astro makes a new key per
 * build, so pages of one build cannot call islands of another — which breaks targeted
 * rebuilds (new pages, old server) and rollbacks. When the environment sets no key, one is
 * made once and kept in `<dataDir>/astro-key` (mode 600); production sets ASTRO_KEY itself.
 */
export async function ensureAstroKey(dataDir: string, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  if (env.ASTRO_KEY) return;
  const file = path.join(dataDir, 'astro-key');
  const useKept = (kept: string) => {
    // Astro would fail deep inside the build with a stack trace; name the file instead.
    if (!isAstroKey(kept)) {
      throw new ConfigError(
        `${file} does not hold an Astro key (the base64 of a 32-byte key, as \`npx astro create-key\` prints it).`,
        `Delete the file to have a new key made (pages of older releases then lose their server islands until rebuilt), or set ASTRO_KEY.`,
      );
    }
    env.ASTRO_KEY = kept;
  };
  let kept: string | undefined;
  try {
    kept = (await fs.readFile(file, 'utf8')).trim();
  } catch {
    // first run: create it below
  }
  if (kept) return useKept(kept);
  await fs.mkdir(dataDir, { recursive: true });
  const key = randomBytes(32).toString('base64');
  try {
    await fs.writeFile(file, `${key}\n`, { mode: 0o600, flag: 'wx' });
    env.ASTRO_KEY = key;
  } catch {
    useKept((await fs.readFile(file, 'utf8')).trim()); // another process made it first
  }
}

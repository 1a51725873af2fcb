import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';

/**
 * Server-island URLs are encrypted with ASTRO_KEY. Without one, Astro makes a new key per
 * build, so pages of one build cannot call islands of another — which breaks targeted
 * rebuilds (new pages, old server) and rollbacks. When the environment sets no key, one is
 * made once and kept in `<dataDir>/astro-key` (mode 600); production sets ASTRO_KEY itself.
 */
export async function ensureAstroKey(dataDir: string, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  if (env.ASTRO_KEY) return;
  const file = path.join(dataDir, 'astro-key');
  try {
    env.ASTRO_KEY = (await fs.readFile(file, 'utf8')).trim();
    if (env.ASTRO_KEY) return;
  } catch {
    // first run: create it below
  }
  await fs.mkdir(dataDir, { recursive: true });
  const key = randomBytes(32).toString('base64');
  try {
    await fs.writeFile(file, `${key}\n`, { mode: 0o600, flag: 'wx' });
    env.ASTRO_KEY = key;
  } catch {
    env.ASTRO_KEY = (await fs.readFile(file, 'utf8')).trim(); // another process made it first
  }
}

import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const migrationsDir = path.join(repoRoot, 'migrations');
export const pgAdminUrl = process.env.ROSE_TEST_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const testRedisUrl = process.env.ROSE_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/15';

/**
 * Scratch folders for tests live inside the project (under .rose/, git-ignored): a built
 * server resolves its dependencies from the project's node_modules.
 */
export async function makeProjectTempDir(prefix: string): Promise<string> {
  const { mkdir, mkdtemp } = await import('node:fs/promises');
  const { join } = await import('node:path');
  const base = join(repoRoot, '.rose', 'test-tmp');
  await mkdir(base, { recursive: true });
  return mkdtemp(join(base, `${prefix}-`));
}

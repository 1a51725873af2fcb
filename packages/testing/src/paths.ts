import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const migrationsDir = path.join(repoRoot, 'migrations');
export const pgAdminUrl = process.env.ROSE_TEST_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const testRedisUrl = process.env.ROSE_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/15';

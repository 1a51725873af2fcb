import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Kysely, PGliteDialect } from 'kysely';
import pg from 'pg';
import { createMigrations, openDatabase, openPglite, type Database, type DatabaseHandle } from '@rose/db';
import { migrationsDir, pgAdminUrl } from './paths.ts';

export type DatabaseKind = 'postgres' | 'pglite';
export const databaseKinds: DatabaseKind[] = ['postgres', 'pglite'];

export interface TestDatabase extends DatabaseHandle {
  /** postgres: the URL of the fresh database (for child processes). */
  readonly url: string | undefined;
  /** Closes the connection and, for Postgres, drops the database. */
  drop(): Promise<void>;
}

/** Path of the migrated PGlite template for the current migrations (content-hashed). */
async function templatePath(): Promise<string> {
  const files = (await fs.readdir(migrationsDir)).filter((f) => f.endsWith('.ts')).sort();
  const hash = createHash('sha256');
  for (const f of files) hash.update(f).update(await fs.readFile(path.join(migrationsDir, f)));
  return path.join(os.tmpdir(), `rose-pglite-template-${hash.digest('hex').slice(0, 16)}.tar`);
}

/** Builds the migrated PGlite template once; later test files load it in about a second. */
export async function preparePgliteTemplate(): Promise<string> {
  const file = await templatePath();
  try {
    await fs.access(file);
    return file;
  } catch {
    // build it below
  }
  const { PGlite } = await import('@electric-sql/pglite');
  const raw = new PGlite();
  await raw.waitReady;
  const db = new Kysely<Database>({ dialect: new PGliteDialect({ pglite: raw }) });
  await createMigrations(db, migrationsDir).migrateToLatest();
  const blob = await raw.dumpDataDir('none');
  await raw.close();
  const tmp = `${file}.${process.pid}.tmp`;
  await fs.writeFile(tmp, Buffer.from(await blob.arrayBuffer()));
  await fs.rename(tmp, file);
  return file;
}

/**
 * A fresh, fully migrated database of the given kind, isolated from every other test.
 *
 * @example
 * const t = await createTestDatabase('postgres');
 * afterAll(() => t.drop());
 */
export async function createTestDatabase(kind: DatabaseKind, opts: { migrate?: boolean } = {}): Promise<TestDatabase> {
  const migrate = opts.migrate ?? true;
  if (kind === 'pglite') {
    const handle = migrate
      ? await openPglite({ loadDataDir: new Blob([await fs.readFile(await preparePgliteTemplate())]) })
      : await openPglite({});
    return { ...handle, url: undefined, drop: () => handle.close() };
  }
  const fresh = await createEmptyPostgresDatabase();
  const handle = await openDatabase({ kind: 'postgres', url: fresh.url });
  if (migrate) await createMigrations(handle.db, migrationsDir).migrateToLatest();
  return {
    ...handle,
    url: fresh.url,
    drop: async () => {
      await handle.close();
      await fresh.drop();
    },
  };
}

export async function dropDatabase(name: string): Promise<void> {
  const admin = new pg.Client({ connectionString: pgAdminUrl });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  } finally {
    await admin.end();
  }
}

/** A new empty Postgres database (not migrated) and its URL, for CLI tests. */
export async function createEmptyPostgresDatabase(): Promise<{ url: string; name: string; drop(): Promise<void> }> {
  const name = `rose_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: pgAdminUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(pgAdminUrl);
  url.pathname = `/${name}`;
  return { url: url.toString(), name, drop: () => dropDatabase(name) };
}

import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql, type Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '@rose/config';
import { createFixedClock, RoseError } from '@rose/core';
import { createEmptyPostgresDatabase, createTestDatabase, databaseKinds, migrationsDir, preparePgliteTemplate, type TestDatabase } from '@rose/testing';
import { createBackup, defaultBackupDir, listBackups, pruneBackups, readBackup, restoreBackup, RestoreRefusedError, type BackupResult, type TargetState } from './backup.ts';
import { openDatabase, openPglite, type DatabaseHandle } from './database.ts';
import type { Database } from './schema.ts';

type DatabaseConfig = Config['database'];

/** Every table's row count and an md5 over its rows (as text, sorted), computed by the database. */
async function fingerprint(db: Kysely<Database>): Promise<Record<string, { rows: number; md5: string }>> {
  const tables = await sql<{ name: string }>`
    select c.relname as name from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = 'public' and c.relkind = 'r' order by 1`.execute(db);
  const out: Record<string, { rows: number; md5: string }> = {};
  for (const { name } of tables.rows) {
    const [row] = (
      await sql<{ rows: number | string; md5: string }>`
        select count(*) as rows, md5(coalesce(string_agg(t::text, E'\\n' order by t::text), '')) as md5 from ${sql.table(name)} t`.execute(db)
    ).rows;
    out[name] = { rows: Number(row!.rows), md5: row!.md5 };
  }
  return out;
}

/** Rows in several tables, with unicode, NULLs, jsonb, timestamps, bytea and awkward text. */
async function seed(db: Kysely<Database>): Promise<void> {
  const [zoe] = await db
    .insertInto('users')
    .values([
      { email: 'zoe@example.org', display_name: 'Zoë 🌹 Ørsted — “quotes” \'single\'', role: 'admin', password_hash: 'scrypt$abc', email_verified_at: new Date('2026-11-01T10:00:00.123456Z') },
      { email: 'nil@example.org', display_name: 'No Password\tTab\\Backslash', password_hash: null },
    ])
    .returning('id')
    .execute();
  await db.insertInto('sessions').values({ id: 'sess-1', user_id: zoe!.id, expires_at: new Date('2027-01-01T00:00:00Z'), user_agent: null, ip: '::1' }).execute();
  await db
    .insertInto('site_settings')
    .values({ key: 'backup-test', value: JSON.stringify({ title: 'Rosé Ash 🌹', nested: { list: [1, 2.5, null, 'x'], empty: {} }, newline: 'a\nb' }) })
    .execute();
  await db
    .insertInto('jobs')
    .values([
      { type: 'email.send', payload: JSON.stringify({ to: 'zoe@example.org' }), run_at: '2026-11-29T12:00:00Z' },
      { type: 'site.rebuild', payload: JSON.stringify({ parts: ['blog'] }), status: 'failed', last_error: "line 1\nline 2 with 'quotes' and ;", attempts: 3 },
      { type: 'site.rebuild', payload: JSON.stringify({}), status: 'done' },
    ])
    .execute();
  // A gap in the sequence: the next id must still follow the highest one ever given.
  await db.deleteFrom('jobs').where('status', '=', 'done').execute();
  await db
    .insertInto('media_files')
    .values({ name: 'all-bytes.bin', content_type: 'application/octet-stream', bytes: Uint8Array.from({ length: 256 }, (_, i) => i) })
    .execute();
  await db.insertInto('oauth_clients').values({ client_id: 'app-1', metadata: JSON.stringify({ client_name: "Ann's app", redirect_uris: ['https://a.example/cb'] }), first_party: false }).execute();
}

interface Fixture {
  kind: 'postgres' | 'pglite';
  source: DatabaseConfig;
  /** Open on the source (for PGlite: this process owns it, so backups go through its socket as a client would). */
  sourceDb: Kysely<Database>;
  /** A new database with nothing in it. */
  freshTarget(): Promise<DatabaseConfig>;
  close(): Promise<void>;
}

async function withDatabase<T>(database: DatabaseConfig, body: (handle: DatabaseHandle) => Promise<T>): Promise<T> {
  const handle = await openDatabase(database);
  try {
    return await body(handle);
  } finally {
    await handle.close();
  }
}

let emptyPglite: Blob | undefined;
/** An initialised but empty PGlite data dir (initdb once per file, then copied). */
async function emptyPgliteDir(base: string): Promise<string> {
  if (!emptyPglite) {
    const { PGlite } = await import('@electric-sql/pglite');
    const raw = new PGlite();
    await raw.waitReady;
    emptyPglite = await raw.dumpDataDir('none');
    await raw.close();
  }
  const dir = await fs.mkdtemp(path.join(base, 'target-'));
  const handle = await openPglite({ dir: path.join(dir, 'pglite'), loadDataDir: emptyPglite });
  await handle.close();
  return path.join(dir, 'pglite');
}

async function createFixture(kind: 'postgres' | 'pglite', work: string): Promise<Fixture> {
  if (kind === 'postgres') {
    const t: TestDatabase = await createTestDatabase('postgres');
    const targets: { drop(): Promise<void> }[] = [];
    return {
      kind,
      source: { kind: 'postgres', url: t.url! },
      sourceDb: t.db,
      async freshTarget() {
        const fresh = await createEmptyPostgresDatabase();
        targets.push(fresh);
        return { kind: 'postgres', url: fresh.url };
      },
      async close() {
        await t.drop();
        for (const target of targets) await target.drop();
      },
    };
  }
  const dir = path.join(work, 'source', 'pglite');
  await fs.mkdir(path.dirname(dir), { recursive: true });
  const handle = await openPglite({ dir, loadDataDir: new Blob([await fs.readFile(await preparePgliteTemplate())]) });
  return {
    kind,
    source: { kind: 'pglite', dir },
    sourceDb: handle.db,
    freshTarget: async () => ({ kind: 'pglite', dir: await emptyPgliteDir(work) }),
    close: () => handle.close(),
  };
}

describe.each(databaseKinds)('backup and restore, on %s', (kind) => {
  let work: string;
  let fixture: Fixture;
  let backup: BackupResult;
  let original: Awaited<ReturnType<typeof fingerprint>>;
  const clock = createFixedClock(new Date('2026-11-29T21:15:00.456Z'));

  beforeAll(async () => {
    work = await fs.mkdtemp(path.join(os.tmpdir(), `rose-backup-${kind}-`));
    fixture = await createFixture(kind, work);
    await seed(fixture.sourceDb);
    original = await fingerprint(fixture.sourceDb);
    backup = await createBackup(fixture.source, { dir: defaultBackupDir(work), clock });
  });
  afterAll(async () => {
    await fixture?.close();
    await fs.rm(work, { recursive: true, force: true });
  });

  it('writes one complete file named by the time and the format, with a manifest of what it holds', async () => {
    const ext = kind === 'postgres' ? 'pgdump' : 'sql';
    expect(path.basename(backup.path)).toBe(`rose-20261129T211500Z.${ext}`);
    expect(path.dirname(backup.path)).toBe(path.join(work, 'backups', 'database'));
    // Only the finished file: no temporary left beside it.
    expect(await fs.readdir(path.dirname(backup.path))).toEqual([path.basename(backup.path)]);
    expect((await fs.stat(backup.path)).mode & 0o777).toBe(0o600);
    const manifest = await readBackup(backup.path);
    expect(manifest).toEqual(backup.manifest);
    expect(manifest).toMatchObject({ format: ext, database: kind, createdAt: '2026-11-29T21:15:00.456Z', schemas: ['public'] });
    expect(manifest.migrations).toEqual((await fs.readdir(migrationsDir)).filter((f) => f.endsWith('.ts')).map((f) => f.replace(/\.ts$/, '')).sort());
    for (const [table, { rows }] of Object.entries(original)) expect(manifest.tables[`public.${table}`], table).toBe(rows);
    expect(manifest.tables['public.jobs']).toBe(2);
    expect(manifest.dumpedBy).toMatch(kind === 'postgres' ? /^pg_dump \d+/ : /^pg_dump \d+\.\d+ \(PGlite\)$/);
    // A second backup in the same second gets its own name.
    const again = await createBackup(fixture.source, { dir: path.join(work, 'again'), clock });
    const third = await createBackup(fixture.source, { dir: path.join(work, 'again'), clock });
    expect(path.basename(third.path)).toBe(`rose-20261129T211500Z-2.${ext}`);
    expect(again.manifest.tables).toEqual(backup.manifest.tables);
    // pg_dump's custom format records when it was made (to the second), so only the plain SQL
    // dump of PGlite is the same byte for byte.
    if (kind === 'pglite') expect(again.manifest.sha256).toBe(backup.manifest.sha256);
  });

  it('restores into a fresh database: the same rows in every table, and sequences carry on', async () => {
    const target = await fixture.freshTarget();
    const result = await restoreBackup(target, { file: backup.path, migrationsFolder: migrationsDir });
    expect(result.replaced).toEqual({ tablesWithRows: {}, migrations: 0 });
    expect(result.pending).toEqual([]);
    expect(result.unknown).toEqual([]);
    await withDatabase(target, async ({ db }) => {
      expect(await fingerprint(db)).toEqual(original);
      const before = await db.selectFrom('jobs').select((eb) => eb.fn.max('id').as('max')).executeTakeFirstOrThrow();
      const { id } = await db.insertInto('jobs').values({ type: 'after.restore', payload: '{}' }).returning('id').executeTakeFirstOrThrow();
      // Three were inserted before the backup (one deleted): the sequence was at 3.
      expect(Number(id)).toBeGreaterThan(3);
      expect(Number(id)).toBeGreaterThan(Number(before.max));
      const bytes = await db.selectFrom('media_files').select('bytes').where('name', '=', 'all-bytes.bin').executeTakeFirstOrThrow();
      expect([...bytes.bytes]).toEqual(Array.from({ length: 256 }, (_, i) => i));
      const zoe = await db.selectFrom('users').selectAll().where('email', '=', 'zoe@example.org').executeTakeFirstOrThrow();
      expect(zoe.display_name).toBe('Zoë 🌹 Ørsted — “quotes” \'single\'');
      expect(new Date(zoe.email_verified_at!).toISOString()).toBe('2026-11-01T10:00:00.123Z');
      // The last-admin trigger came back with the schema.
      await expect(db.updateTable('users').set({ role: 'member' }).where('email', '=', 'zoe@example.org').execute()).rejects.toThrow(/last admin/);
    });
  });

  it('refuses to restore over a database that is not empty unless approved: refused or declined changes nothing, approved replaces it', async () => {
    const target = await fixture.freshTarget();
    await restoreBackup(target, { file: backup.path, migrationsFolder: migrationsDir });
    await withDatabase(target, async ({ db }) => {
      await db.insertInto('site_settings').values({ key: 'added-after', value: '"x"' }).execute();
    });
    const changed = await withDatabase(target, ({ db }) => fingerprint(db));

    const refused = await restoreBackup(target, { file: backup.path, migrationsFolder: migrationsDir }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(RestoreRefusedError);
    expect((refused as RoseError).code).toBe('restore-refused');
    expect((refused as RoseError).message).toMatch(/is not empty:\n(.|\n)*public\.site_settings +2 rows(.|\n)*\d+ applied migration\(s\)\nA restore replaces all of it\.$/);
    expect((refused as RoseError).hint).toBe('Nothing was changed. Run it at a terminal to confirm, or pass --force (back it up first with `rose db backup`).');
    expect(await withDatabase(target, ({ db }) => fingerprint(db))).toEqual(changed);

    let asked: TargetState | undefined;
    const declined = await restoreBackup(target, { file: backup.path, migrationsFolder: migrationsDir, approve: async (t) => ((asked = t), false) }).catch((e: unknown) => e);
    expect((declined as RoseError).title).toBe('Restore cancelled');
    expect(asked?.tablesWithRows['public.site_settings']).toBe(2);
    expect(await withDatabase(target, ({ db }) => fingerprint(db))).toEqual(changed);

    const replaced = await restoreBackup(target, { file: backup.path, migrationsFolder: migrationsDir, approve: async () => true });
    expect(replaced.replaced.tablesWithRows['public.site_settings']).toBe(2);
    expect(await withDatabase(target, ({ db }) => fingerprint(db))).toEqual(original);
  });

  it('refuses a cut-short, altered or garbage file, or a backup of the other kind of database, and changes nothing', async () => {
    const target = await fixture.freshTarget();
    const bytes = await fs.readFile(backup.path);
    const files = {
      truncated: bytes.subarray(0, Math.floor(bytes.length / 2)),
      'trailer cut': bytes.subarray(0, bytes.length - 10),
      altered: Buffer.from(bytes).fill(0x20, 100, 101),
      garbage: Buffer.from('this is not a backup\n'.repeat(50)),
      empty: Buffer.alloc(0),
    };
    const before = await withDatabase(target, ({ db }) => fingerprint(db));
    for (const [name, content] of Object.entries(files)) {
      const file = path.join(work, `bad-${name.replace(' ', '-')}`);
      await fs.writeFile(file, content);
      const error = await restoreBackup(target, { file, migrationsFolder: migrationsDir, approve: async () => true }).catch((e: unknown) => e);
      expect((error as RoseError).code, name).toBe('backup-invalid');
      expect((error as RoseError).message, name).toContain(file);
    }
    const missing = await restoreBackup(target, { file: path.join(work, 'nope.sql'), migrationsFolder: migrationsDir }).catch((e: unknown) => e);
    expect((missing as RoseError).message).toMatch(/nope\.sql: no such file\.$/);
    // The manifest says which kind of database it came from.
    const other: DatabaseConfig = kind === 'postgres' ? { kind: 'pglite', dir: path.join(work, 'never-created') } : { kind: 'postgres', url: 'postgres://postgres@127.0.0.1:5432/never_created' };
    const wrongKind = await restoreBackup(other, { file: backup.path, migrationsFolder: migrationsDir }).catch((e: unknown) => e);
    expect((wrongKind as RoseError).code).toBe('backup-invalid');
    expect((wrongKind as RoseError).message).toMatch(/Restoring one kind into the other is not supported\.$/);
    await expect(fs.access(path.join(work, 'never-created'))).rejects.toThrow();
    expect(await withDatabase(target, ({ db }) => fingerprint(db))).toEqual(before);
    expect(before).toEqual({});
  });
});

describe('backup of the embedded database while another process has it open', () => {
  let work: string;
  let fixture: Fixture;

  beforeAll(async () => {
    work = await fs.mkdtemp(path.join(os.tmpdir(), 'rose-backup-shared-'));
    fixture = await createFixture('pglite', work);
    await seed(fixture.sourceDb);
  });
  afterAll(async () => {
    await fixture?.close();
    await fs.rm(work, { recursive: true, force: true });
  });

  it('goes through its socket and leaves its session as it was; the same dump as by the owner itself', async () => {
    const session = async () =>
      (
        await sql<Record<string, string>>`
          select current_setting('search_path') as search_path, current_setting('DateStyle') as date_style,
                 current_setting('extra_float_digits') as extra_float_digits, current_setting('statement_timeout') as statement_timeout,
                 current_setting('row_security') as row_security, current_setting('transaction_read_only') as read_only,
                 (select count(*) from pg_prepared_statements)::text as prepared`.execute(fixture.sourceDb)
      ).rows[0];
    const sessionBefore = await session();
    // This process owns the database (as `rose serve` would): the backup is a client of it.
    const owned = await createBackup(fixture.source, { dir: path.join(work, 'b') });
    // pg_dump sets search_path to '' (and more), prepares statements and opens a read-only
    // transaction on the one session every process shares: all undone.
    expect(await session()).toEqual(sessionBefore);
    expect(sessionBefore).toMatchObject({ prepared: '0', read_only: 'off' });
    await fixture.sourceDb.insertInto('site_settings').values({ key: 'after-backup', value: '1' }).execute();
    await fixture.sourceDb.deleteFrom('site_settings').where('key', '=', 'after-backup').execute();
    expect(await fixture.sourceDb.selectFrom('users').select('email').orderBy('email').execute()).toHaveLength(2);

    // Restoring while it is held is refused, naming the holder; nothing changes.
    const before = await fingerprint(fixture.sourceDb);
    const refused = await restoreBackup(fixture.source, { file: owned.path, migrationsFolder: migrationsDir, approve: async () => true }).catch((e: unknown) => e);
    expect((refused as RoseError).code).toBe('restore-refused');
    expect((refused as RoseError).message).toMatch(new RegExp(`is open in \`.+\` \\(process ${process.pid}\\)`));
    expect((refused as RoseError).hint).toMatch(/^Stop `.+` \(process \d+\) and every other rose command using the database, then run `rose db restore` again\.$/);
    expect(await fingerprint(fixture.sourceDb)).toEqual(before);

    await fixture.close();
    // Nobody has it open now: the backup opens it itself, and dumps the same.
    const alone = await createBackup(fixture.source, { dir: path.join(work, 'c') });
    const strip = (text: string) => text.replace(/\n-- rose-backup .*\n$/, '');
    expect(strip(await fs.readFile(alone.path, 'utf8'))).toBe(strip(await fs.readFile(owned.path, 'utf8')));
    expect(alone.manifest.tables).toEqual(owned.manifest.tables);
    const reopened = await openPglite({ dir: (fixture.source as { dir: string }).dir });
    fixture = { ...fixture, sourceDb: reopened.db, close: () => reopened.close() };
  });
});

describe('pruning backups', () => {
  let work: string;
  let backup: BackupResult;

  beforeAll(async () => {
    work = await fs.mkdtemp(path.join(os.tmpdir(), 'rose-backup-prune-'));
    const t = await createTestDatabase('postgres');
    try {
      backup = await createBackup({ kind: 'postgres', url: t.url! }, { dir: path.join(work, 'made') });
    } finally {
      await t.drop();
    }
  });
  afterAll(() => fs.rm(work, { recursive: true, force: true }));

  it('keeps the newest N of the backups it made and touches nothing else', async () => {
    const dir = path.join(work, 'backups', 'database');
    await fs.mkdir(dir, { recursive: true });
    const names = ['rose-20261101T000000Z.pgdump', 'rose-20261102T000000Z.sql', 'rose-20261103T000000Z.pgdump', 'rose-20261103T000000Z-2.pgdump', 'rose-20261104T000000Z.pgdump'];
    for (const name of names) await fs.copyFile(backup.path, path.join(dir, name));
    // Not ours: a file named like a backup without the manifest, other files, and rollback's table saves one folder up.
    await fs.writeFile(path.join(dir, 'rose-20200101T000000Z.pgdump'), 'made by hand');
    await fs.writeFile(path.join(dir, 'notes.txt'), 'keep me');
    await fs.mkdir(path.join(work, 'backups', '2026-11-01T00-00-00-000Z'));

    expect((await listBackups(dir)).map((f) => f.name)).toEqual(['rose-20200101T000000Z.pgdump', ...names]);
    const { deleted, kept } = await pruneBackups(dir, 2);
    expect(deleted.map((f) => f.name)).toEqual(names.slice(0, 3));
    expect(kept.map((f) => f.name)).toEqual(names.slice(3));
    expect((await fs.readdir(dir)).sort()).toEqual(['notes.txt', 'rose-20200101T000000Z.pgdump', ...names.slice(3)].sort());
    expect(await fs.readdir(path.join(work, 'backups'))).toContain('2026-11-01T00-00-00-000Z');
    expect((await pruneBackups(dir, 2)).deleted).toEqual([]);
    await expect(pruneBackups(dir, 0)).rejects.toThrow(/at least 1/);
  });
});

describe('Postgres client tools that cannot do the job', () => {
  let work: string;
  let t: TestDatabase;
  const path0 = process.env.PATH;

  beforeAll(async () => {
    work = await fs.mkdtemp(path.join(os.tmpdir(), 'rose-backup-tools-'));
    t = await createTestDatabase('postgres');
  });
  afterAll(async () => {
    process.env.PATH = path0;
    await t?.drop();
    await fs.rm(work, { recursive: true, force: true });
  });

  it('refuses with pg_dump older than the server, or none, and leaves no file', async () => {
    const bin = path.join(work, 'bin');
    await fs.mkdir(bin);
    await fs.writeFile(path.join(bin, 'pg_dump'), '#!/bin/sh\necho "pg_dump (PostgreSQL) 9.6.24"\n', { mode: 0o755 });
    const dir = path.join(work, 'out');
    process.env.PATH = `${bin}:${path0}`;
    const old = await createBackup({ kind: 'postgres', url: t.url! }, { dir }).catch((e: unknown) => e);
    expect(old).toMatchObject({ code: 'backup-failed', title: 'pg_dump is older than the server' });
    expect((old as RoseError).message).toMatch(/^The database server runs PostgreSQL (\d+), but pg_dump here is version 9\.6 \(9\): pg_dump refuses to dump a newer server\.$/);
    expect((old as RoseError).hint).toMatch(/^Install the PostgreSQL \d+ client tools/);

    process.env.PATH = bin.replace(/bin$/, 'empty');
    const none = await createBackup({ kind: 'postgres', url: t.url! }, { dir }).catch((e: unknown) => e);
    expect(none).toMatchObject({ code: 'backup-failed', title: 'pg_dump not found' });
    process.env.PATH = path0;
    expect(await fs.readdir(dir)).toEqual([]);
  });
});

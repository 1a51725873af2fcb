import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFixedClock } from '@rose/core';
import { createTestDatabase, databaseKinds, migrationsDir, type TestDatabase } from '@rose/testing';
import { createMigrations, type Migrations } from './migrations.ts';
import { describeLosses, RollbackRefusedError, type RollbackPlan } from './rollback.ts';

const openIdMigration = '20261124100000_openid_provider';

// `rose db rollback` then `migrate` used to wipe every OAuth client and signing key, and
// `--steps 99` every account, without a word. A rollback that deletes data now needs
// approval and writes a backup first.
describe.each(databaseKinds)('rollback that deletes data, on %s', (kind) => {
  let t: TestDatabase;
  let migrations: Migrations;
  let backupDir: string;
  let stepsToOpenId: number;
  const clock = createFixedClock(new Date('2026-11-29T12:00:00Z'));

  const tables = async () =>
    (await sql<{ table_name: string }>`select table_name from information_schema.tables where table_schema = current_schema() order by 1`.execute(t.db)).rows.map((r) => r.table_name);
  const clients = () => t.db.selectFrom('oauth_clients').selectAll().orderBy('client_id').execute();
  const keys = () => t.db.selectFrom('oidc_keys').selectAll().orderBy('kid').execute();
  const backups = async () => fs.readdir(backupDir).catch(() => [] as string[]);

  beforeAll(async () => {
    t = await createTestDatabase(kind);
    migrations = createMigrations(t.db, migrationsDir);
    backupDir = await fs.mkdtemp(path.join(os.tmpdir(), `rose-backups-${kind}-`));
    const applied = (await migrations.status()).map((m) => m.name);
    stepsToOpenId = applied.length - applied.indexOf(openIdMigration);
    await t.db
      .insertInto('oauth_clients')
      .values([
        { client_id: 'app-1', metadata: JSON.stringify({ client_name: "Ann's app", redirect_uris: ['https://a.example/cb'] }), first_party: false },
        { client_id: 'app-2', metadata: JSON.stringify({ client_name: 'Second', redirect_uris: ['https://b.example/cb'] }), first_party: true },
      ])
      .execute();
    await t.db.insertInto('oidc_keys').values({ kid: 'k1', private_jwk: JSON.stringify({ kty: 'EC', crv: 'P-256', d: 'secret' }) }).execute();
    await t.db.insertInto('users').values({ email: 'ann@example.org', display_name: 'Ann', password_hash: 'scrypt$abc' }).execute();
  });
  afterAll(async () => {
    await t?.drop();
    await fs.rm(backupDir, { recursive: true, force: true });
  });

  it('plans by a dry run: the tables and columns that go, with their rows, and changes nothing', async () => {
    const before = await tables();
    const plan = await migrations.planRollback(stepsToOpenId);
    expect(plan.migrations.at(-1)).toBe(openIdMigration);
    expect(plan.losses).toEqual(
      expect.arrayContaining([
        { table: 'oauth_clients', kind: 'table', columns: [], rows: 2 },
        { table: 'oidc_keys', kind: 'table', columns: [], rows: 1 },
        { table: 'oidc_payloads', kind: 'table', columns: [], rows: 0 },
      ]),
    );
    expect(describeLosses(plan)).toEqual(expect.arrayContaining([expect.stringMatching(/^ {2}table {3}oauth_clients +2 rows$/)]));
    expect(await tables()).toEqual(before);
    expect((await migrations.status()).every((m) => m.executedAt)).toBe(true);

    // All the way down: every account goes, and the columns added to users later are counted too.
    const all = await migrations.planRollback(99);
    expect(all.losses).toEqual(expect.arrayContaining([{ table: 'users', kind: 'table', columns: [], rows: 1 }]));
    const accounts = (await migrations.planRollback(stepsToOpenId + 2)).losses.find((l) => l.table === 'users');
    expect(accounts).toEqual({ table: 'users', kind: 'columns', columns: ['password_hash', 'email_verified_at'], rows: 1 });
  });

  it('refuses without approval, and when approval is declined, changing nothing', async () => {
    const before = { tables: await tables(), clients: await clients() };
    const refused = await migrations.rollback(99, { backupDir }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(RollbackRefusedError);
    expect((refused as Error).message).toMatch(/ deletes:\n/);
    expect((refused as Error).message).toMatch(/^ {2}table {3}users +1 row$/m);
    expect((refused as Error).message).toMatch(/^ {2}table {3}oauth_clients +2 rows$/m);

    let seen: RollbackPlan | undefined;
    const declined = await migrations
      .rollback(stepsToOpenId, {
        backupDir,
        approve: async (plan) => {
          seen = plan;
          return false;
        },
      })
      .catch((e: unknown) => e);
    expect(declined).toMatchObject({ title: 'Rollback cancelled' });
    expect(seen!.migrations.at(-1)).toBe(openIdMigration);
    expect({ tables: await tables(), clients: await clients() }).toEqual(before);
    expect(await backups()).toEqual([]);
  });

  it('refuses when data arrives in a table planned as empty between the plan and the drop', async () => {
    const before = { tables: await tables(), clients: await clients() };
    const raced = await migrations
      .rollback(stepsToOpenId, {
        backupDir,
        approve: async () => {
          await t.db.insertInto('oidc_payloads').values({ model: 'Session', id: 's1', payload: JSON.stringify({}) }).execute();
          return true;
        },
      })
      .catch((e: unknown) => e);
    expect(raced).toMatchObject({ title: 'Database changed during the rollback' });
    expect({ tables: await tables(), clients: await clients() }).toEqual(before);
    expect(await backups()).toEqual([]);
    await t.db.deleteFrom('oidc_payloads').execute();
  });

  it('with approval, backs the tables up first; the backup loads back after migrating again', async () => {
    const originalClients = await clients();
    const originalKeys = await keys();
    const result = await migrations.rollback(stepsToOpenId, { backupDir, clock, approve: async () => true });
    expect(result.reverted.at(-1)).toBe(openIdMigration);
    expect(await tables()).not.toContain('oauth_clients');

    expect(result.backup!.dir).toBe(path.join(backupDir, '2026-11-29T12-00-00-000Z'));
    expect((await fs.stat(result.backup!.dir)).mode & 0o777).toBe(0o700);
    expect(result.backup!.tables).toEqual(
      expect.arrayContaining([
        { table: 'oauth_clients', rows: 2, file: path.join(result.backup!.dir, 'oauth_clients.json') },
        { table: 'oidc_keys', rows: 1, file: path.join(result.backup!.dir, 'oidc_keys.json') },
      ]),
    );
    expect((await fs.stat(path.join(result.backup!.dir, 'oidc_keys.json'))).mode & 0o777).toBe(0o600);
    const manifest = JSON.parse(await fs.readFile(path.join(result.backup!.dir, 'manifest.json'), 'utf8')) as { reason: string; losses: unknown[] };
    expect(manifest.reason).toContain(openIdMigration);

    // The documented way back: migrate, then json_populate_recordset each file.
    await migrations.migrateToLatest();
    for (const table of ['oauth_clients', 'oidc_keys'] as const) {
      const json = await fs.readFile(path.join(result.backup!.dir, `${table}.json`), 'utf8');
      await sql`insert into ${sql.table(table)} select * from json_populate_recordset(null::${sql.table(table)}, ${json}::json)`.execute(t.db);
    }
    expect(await clients()).toEqual(originalClients);
    expect(await keys()).toEqual(originalKeys);
  });
});

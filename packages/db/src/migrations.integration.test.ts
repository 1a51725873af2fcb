import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, databaseKinds, migrationsDir, type TestDatabase } from '@rose/testing';
import { createMigrations } from './migrations.ts';

describe.each(databaseKinds)('migrations on %s', (kind) => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase(kind, { migrate: false });
  });
  afterAll(() => t?.drop());

  const tables = async () =>
    (
      await sql<{ table_name: string }>`select table_name from information_schema.tables where table_schema = 'public' and table_name not like 'kysely_%' order by 1`.execute(t.db)
    ).rows.map((r) => r.table_name);

  it('applies every migration, reports status, and rolls all the way back', async () => {
    const migrations = createMigrations(t.db, migrationsDir);
    await expect(migrations.assertCurrent()).rejects.toThrow(/The database is missing \d+ migration\(s\)/);
    const applied = await migrations.migrateToLatest();
    expect(applied.length).toBeGreaterThan(0);
    expect(await tables()).toEqual(
      expect.arrayContaining(['users', 'blog_posts', 'blog_tags', 'blog_authors', 'blog_post_tags', 'blog_post_authors', 'blog_navigation', 'site_settings', 'jobs', 'inbound_deliveries', 'sessions', 'email_tokens', 'oidc_payloads', 'oidc_keys', 'oauth_clients']),
    );
    await expect(migrations.assertCurrent()).resolves.toBeUndefined();
    expect((await migrations.status()).every((m) => m.executedAt instanceof Date)).toBe(true);
    expect(await migrations.migrateToLatest()).toEqual([]);

    // An empty database loses no data: no approval or backup needed.
    const { reverted, backup } = await migrations.rollback(applied.length);
    expect(reverted).toEqual([...applied].reverse());
    expect(backup).toBeUndefined();
    expect(await tables()).toEqual([]);
    expect((await migrations.rollback()).reverted).toEqual([]);
    // ...and forward again: down migrations leave nothing behind that blocks a re-run.
    expect(await migrations.migrateToLatest()).toEqual(applied);
  });

  it('enforces the schema: unique slugs, case-insensitive unique emails, valid roles', async () => {
    await t.db.insertInto('users').values({ email: 'Ada@Example.org', display_name: 'Ada' }).execute();
    await expect(t.db.insertInto('users').values({ email: 'ada@example.org', display_name: 'Ada 2' }).execute()).rejects.toThrow(/users_email_lower_key|duplicate/);
    await expect(t.db.insertInto('users').values({ email: 'b@example.org', display_name: 'B', role: 'king' as never }).execute()).rejects.toThrow(/check/i);
    const post = { type: 'post' as const, slug: 'same', title: 'T', html: '', status: 'published' as const, source: 'content' as const };
    await t.db.insertInto('blog_posts').values(post).execute();
    await expect(t.db.insertInto('blog_posts').values({ ...post, type: 'page' }).execute()).rejects.toThrow(/duplicate|unique/i);
  });
});

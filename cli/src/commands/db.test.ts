import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMigrations } from '@rose/db';
import { createTestDatabase, makeProjectTempDir, migrationsDir, repoRoot, type TestDatabase } from '@rose/testing';
import { createContext } from '../context.ts';
import { createMemoryOutput } from '../memory-output.ts';
import { dbRollback, dbSeed } from './db.ts';

// The staff commands that can destroy data, run in-process against a fresh Postgres database.
describe('rose db (in-process, Postgres)', () => {
  let t: TestDatabase;
  let tmp: string;
  let content: string;
  const context = (answers?: string[]) => {
    const out = createMemoryOutput(answers ? { answers } : {});
    return { out, ctx: createContext(out, { DATABASE_URL: t.url, ROSE_DATA_DIR: path.join(tmp, 'data'), ROSE_CONTENT_DIR: content, ROSE_LOG_LEVEL: 'silent' }) };
  };
  const postSlugs = async () => (await t.db.selectFrom('blog_posts').select('slug').where('type', '=', 'post').orderBy('slug').execute()).map((p) => p.slug);
  const clientIds = async () => (await t.db.selectFrom('oauth_clients').select('client_id').execute()).map((c) => c.client_id);
  const backups = () => fs.readdir(path.join(tmp, 'data', 'backups')).catch(() => [] as string[]);

  beforeAll(async () => {
    t = await createTestDatabase('postgres');
    tmp = await makeProjectTempDir('db-cli');
    content = path.join(tmp, 'content');
    await fs.cp(path.join(repoRoot, 'content'), content, { recursive: true });
    await dbSeed(context().ctx, {});
  });
  afterAll(async () => {
    await t?.drop();
    await fs.rm(tmp, { recursive: true, force: true });
  });

  describe('seed', () => {
    it('refuses a folder without posts/ (it used to delete every post with exit 0)', async () => {
      const before = await postSlugs();
      const noPosts = path.join(tmp, 'no-posts');
      await fs.cp(content, noPosts, { recursive: true });
      await fs.rm(path.join(noPosts, 'posts'), { recursive: true });
      await expect(dbSeed(context().ctx, { content: noPosts })).rejects.toMatchObject({ name: 'ContentError', message: expect.stringContaining('posts/: folder is missing') });
      await expect(dbSeed(context().ctx, { content: path.join(tmp, 'nowhere') })).rejects.toMatchObject({ message: expect.stringContaining('the content folder does not exist') });
      await expect(dbSeed(context().ctx, { content: tmp })).rejects.toMatchObject({ message: expect.stringContaining('this is not a content folder') });
      await expect(dbSeed(context().ctx, { content: '' })).rejects.toMatchObject({ title: 'No content folder given' });
      expect(await postSlugs()).toEqual(before);
      expect(before.length).toBeGreaterThan(10);
    });

    it('removes more than 3 items only with --prune, listing them otherwise', async () => {
      const before = await postSlugs();
      const fewer = path.join(tmp, 'fewer');
      await fs.cp(content, fewer, { recursive: true });
      const gone = before.slice(0, 5);
      for (const slug of gone) await fs.rm(path.join(fewer, 'posts', `${slug}.md`));

      const refused = await dbSeed(context().ctx, { content: fewer }).catch((e: unknown) => e);
      expect(refused).toMatchObject({ title: 'Seeding would remove content', hint: expect.stringContaining('--prune') });
      expect((refused as Error).message).toContain(`posts (5): ${gone.join(', ')}`);
      expect(await postSlugs()).toEqual(before);

      const { ctx, out } = context();
      await dbSeed(ctx, { content: fewer, prune: true });
      expect(out.text()).toMatch(/posts +\+0 added, ~0 updated, -5 removed/);
      expect(await postSlugs()).toEqual(before.slice(5));
      await dbSeed(context().ctx, { prune: true });
    });
  });

  describe('rollback', () => {
    // The OpenID migration and everything after it: dropping it wipes OAuth clients and keys.
    let steps: number;
    beforeAll(async () => {
      const names = (await createMigrations(t.db, migrationsDir).status()).map((m) => m.name);
      steps = names.length - names.indexOf('20261124100000_openid_provider');
      await t.db.insertInto('oauth_clients').values({ client_id: 'app-1', metadata: JSON.stringify({ client_name: 'App' }), first_party: false }).execute();
    });

    it('not at a terminal and without --force: refuses, listing what would go, and changes nothing', async () => {
      const { ctx, out } = context();
      const error = await dbRollback(ctx, { steps }).catch((e: unknown) => e);
      expect(error).toMatchObject({ title: 'Rollback would delete data', hint: expect.stringContaining('--force') });
      expect((error as Error).message).toMatch(/^ {2}table {3}oauth_clients +1 row$/m);
      expect(out.lines).toEqual([]);
      expect(await clientIds()).toEqual(['app-1']);
      expect(await backups()).toEqual([]);
    });

    it('at a terminal: shows what goes and stops unless the word is typed', async () => {
      const { ctx, out } = context(['y']);
      await expect(dbRollback(ctx, { steps })).rejects.toMatchObject({ title: 'Rollback cancelled' });
      expect(out.questions).toEqual(['Type "rollback" to go ahead, anything else to stop: ']);
      expect(out.text()).toMatch(/deletes:\n(.*\n)*  table   oauth_clients +1 row\n/);
      expect(await clientIds()).toEqual(['app-1']);
      expect(await backups()).toEqual([]);
    });

    it('at a terminal, confirmed: backs up first, prints where, then rolls back', async () => {
      const { ctx, out } = context(['rollback']);
      await dbRollback(ctx, { steps });
      const [backup] = await backups();
      expect(backup).toBeDefined();
      const dir = path.join(tmp, 'data', 'backups', backup!);
      expect(out.text()).toMatch(/^Backed up .*oauth_clients \(1\).* to /m);
      expect(out.text()).toContain(` to ${dir}\n`);
      expect(out.lines.at(-1)).toBe(`Rolled back ${steps} migration(s).`);
      expect(JSON.parse(await fs.readFile(path.join(dir, 'oauth_clients.json'), 'utf8'))).toEqual([expect.objectContaining({ client_id: 'app-1' })]);
      await expect(t.db.selectFrom('oauth_clients').selectAll().execute()).rejects.toThrow(/oauth_clients/);
    });

    it('--force skips the question (for scripts) but still backs up', async () => {
      const migrate = createContext(createMemoryOutput(), { DATABASE_URL: t.url, ROSE_DATA_DIR: path.join(tmp, 'data') });
      const services = await migrate.openServices();
      await services.migrations.migrateToLatest();
      await services.close();
      await t.db.insertInto('oauth_clients').values({ client_id: 'app-2', metadata: JSON.stringify({ client_name: 'App 2' }), first_party: false }).execute();
      const { ctx, out } = context();
      await dbRollback(ctx, { steps, force: true });
      expect(out.questions).toEqual([]);
      expect(out.text()).toMatch(/^Backed up .*oauth_clients \(1\)/m);
      expect(await backups()).toHaveLength(2);
    });
  });
});

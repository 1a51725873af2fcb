import { promises as fs } from 'node:fs';
import path from 'node:path';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '@rose/db';
import { normalisePerRender } from '@rose/site-build';
import { createEmptyPostgresDatabase, makeProjectTempDir, repoRoot, runRose } from '@rose/testing';

// The build pipeline end to end: a targeted rebuild by the live release's kept renderer
// writes exactly what a new Astro build writes for the same data (but per-render ids), and
// leaves no trace of removed pages.
describe('rose build: warm renderer and targeted rebuilds', () => {
  let tmp: string;
  let env: Record<string, string>;
  let db: Kysely<Database>;
  let drop: () => Promise<void>;

  const rose = async (...args: string[]) => {
    const r = await runRose(args, env, { timeoutMs: 300_000 });
    if (r.code !== 0) throw new Error(`rose ${args.join(' ')} failed (${r.code}):\n${r.stdout}\n${r.stderr}`);
    return r;
  };
  const live = async () => fs.realpath(path.join(tmp, 'dist', 'current'));
  const files = async (dir: string) =>
    (await fs.readdir(dir, { recursive: true, withFileTypes: true }))
      .filter((e) => e.isFile())
      .map((e) => path.relative(dir, path.join(e.parentPath, e.name)))
      .sort();

  beforeAll(async () => {
    tmp = await makeProjectTempDir('site-build');
    const database = await createEmptyPostgresDatabase();
    drop = database.drop;
    env = {
      DATABASE_URL: database.url,
      ROSE_DATA_DIR: path.join(tmp, '.rose'),
      ROSE_DIST_DIR: path.join(tmp, 'dist'),
      ROSE_CONTENT_DIR: path.join(repoRoot, 'content'),
    };
    db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: database.url, max: 2 }) }) });
    await rose('db', 'migrate');
    await rose('db', 'seed');
    const first = await rose('build');
    expect(first.stdout).toContain('with Astro');
  });

  afterAll(async () => {
    await db?.destroy();
    await drop?.();
    await fs.rm(tmp, { recursive: true, force: true });
  });

  it('re-renders only what an edit touches, and the result equals Astro rendering every page', async () => {
    const before = await live();
    const post = await db.selectFrom('blog_posts').select(['id', 'slug']).where('type', '=', 'post').where('status', '=', 'published').orderBy('published_at', 'desc').offset(3).limit(1).executeTakeFirstOrThrow();
    await db.updateTable('blog_posts').set({ title: 'An edited title for the warm renderer', updated_at: new Date() }).where('id', '=', post.id).execute();

    const targeted = await rose('build', '--targeted');
    expect(targeted.stdout).toMatch(/Re-rendering blog: \d+ page\(s\) changed, 0 removed/);
    expect(targeted.stdout).not.toContain('with Astro');
    const warmDir = await live();
    expect(warmDir).not.toBe(before);
    const page = await fs.readFile(path.join(warmDir, 'client', 'blog', post.slug, 'index.html'), 'utf8');
    expect(page).toContain('An edited title for the warm renderer');
    // Unchanged pages are the live release's files, linked, not copies.
    const aboutBefore = await fs.stat(path.join(before, 'client', '404.html'));
    const aboutAfter = await fs.stat(path.join(warmDir, 'client', '404.html'));
    expect(aboutAfter.ino).toBe(aboutBefore.ino);

    // The reference: Astro rendering every page itself (not the bundle it keeps).
    const fresh = await rose('build', '--fresh', '--astro-render');
    expect(fresh.stdout).toContain('with Astro');
    const freshDir = await live();
    const warmFiles = (await files(path.join(warmDir, 'client'))).filter((f) => !/\.(br|gz)$/.test(f));
    const freshFiles = (await files(path.join(freshDir, 'client'))).filter((f) => !/\.(br|gz)$/.test(f));
    expect(warmFiles).toEqual(freshFiles);
    const differing: string[] = [];
    for (const f of freshFiles.filter((f) => /\.(html|xml|json|txt)$/.test(f))) {
      const [a, b] = await Promise.all([fs.readFile(path.join(warmDir, 'client', f), 'utf8'), fs.readFile(path.join(freshDir, 'client', f), 'utf8')]);
      if (normalisePerRender(a) !== normalisePerRender(b)) differing.push(f);
    }
    expect(differing).toEqual([]);
  });

  it('removes an unpublished post and leaves no empty folder', async () => {
    const post = await db.selectFrom('blog_posts').select(['id', 'slug']).where('type', '=', 'post').where('status', '=', 'published').orderBy('published_at').limit(1).executeTakeFirstOrThrow();
    await db.updateTable('blog_posts').set({ status: 'draft', updated_at: new Date() }).where('id', '=', post.id).execute();
    const r = await rose('build', '--targeted');
    expect(r.stdout).toMatch(/changed, [1-9]\d* removed/);
    const dir = await live();
    await expect(fs.access(path.join(dir, 'client', 'blog', post.slug))).rejects.toThrow();
    const empty: string[] = [];
    for (const e of await fs.readdir(path.join(dir, 'client'), { recursive: true, withFileTypes: true })) {
      if (e.isDirectory() && (await fs.readdir(path.join(e.parentPath, e.name))).length === 0) empty.push(path.join(e.parentPath, e.name));
    }
    expect(empty).toEqual([]);
  });

  it('builds one part by name and refuses an unknown one', async () => {
    const r = await rose('build', 'blog');
    expect(r.stdout).toMatch(/Rendered \d+ files of blog/);
    const bad = await runRose(['build', 'bakery'], env);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('No static part called "bakery"');
    expect(bad.stderr).toContain('Parts with static pages: blog');
  });
});

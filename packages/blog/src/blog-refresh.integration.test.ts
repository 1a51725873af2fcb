import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, repoRoot, type TestDatabase } from '@rose/testing';
import { loadBlogSnapshot, refreshBlogSnapshot, type BlogSnapshot } from './blog.view.ts';
import { loadContent } from './content-loader.ts';
import { blogPageKeys } from './page-keys.ts';
import { seedContent } from './seed.service.ts';

// A webhook-driven rebuild reads only the changed posts on top of the live snapshot; the
// result must be exactly what a full read gives, or targeted pages would differ from a build.
describe('refreshBlogSnapshot', () => {
  let t: TestDatabase;
  let base: BlogSnapshot;
  beforeAll(async () => {
    t = await createTestDatabase('postgres');
    await seedContent(t.db, await loadContent(path.join(repoRoot, 'content')));
    base = await loadBlogSnapshot(t.db);
  });
  afterAll(() => t?.drop());

  const slugs = (n: number) => base.posts.slice(n, n + 1).map((p) => p.slug);

  it('equals a full read after an edit, a move in time, an unpublish and a new post', async () => {
    const [edited] = slugs(2);
    const [moved] = slugs(5);
    const [unpublished] = slugs(8);
    await t.db.updateTable('blog_posts').set({ title: 'Edited for the refresh test', updated_at: new Date() }).where('slug', '=', edited!).execute();
    await t.db.updateTable('blog_posts').set({ published_at: new Date('2030-01-01T00:00:00Z'), updated_at: new Date() }).where('slug', '=', moved!).execute();
    await t.db.updateTable('blog_posts').set({ status: 'draft', updated_at: new Date() }).where('slug', '=', unpublished!).execute();
    const template = await t.db.selectFrom('blog_posts').selectAll().where('slug', '=', edited!).executeTakeFirstOrThrow();
    const { id: _id, ...rest } = template;
    await t.db.insertInto('blog_posts').values({ ...rest, id: crypto.randomUUID(), slug: 'a-brand-new-post', title: 'Brand new', ghost_id: null, published_at: new Date('2024-05-05T10:00:00Z') } as never).execute();

    const refreshed = await refreshBlogSnapshot(t.db, base, [edited!, moved!, unpublished!, 'a-brand-new-post']);
    const full = await loadBlogSnapshot(t.db);
    expect(refreshed).toEqual(full);
    expect(blogPageKeys(refreshed, 10)).toEqual(blogPageKeys(full, 10));
    // Posts nobody touched keep their view objects (and so their cached keys).
    const untouched = base.posts.find((p) => ![edited, moved, unpublished].includes(p.slug) && refreshed.posts.some((r) => r === p));
    expect(untouched).toBeDefined();
  });

  it('returns the same snapshot when nothing changed', async () => {
    expect(await refreshBlogSnapshot(t.db, base, [])).toBe(base);
  });
});

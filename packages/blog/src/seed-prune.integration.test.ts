import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, databaseKinds, type TestDatabase } from '@rose/testing';
import { writeContentFixture, post } from './content.fixture.ts';
import { loadContent } from './content-loader.ts';
import { seedContent, SeedPruneNeededError } from './seed.service.ts';

// `rose db seed` from the wrong or a half-copied folder must not empty the blog.
describe.each(databaseKinds)('seeding that would remove content, on %s', (kind) => {
  let t: TestDatabase;
  let dir: string;
  beforeAll(async () => {
    t = await createTestDatabase(kind);
    dir = await writeContentFixture({
      'posts/third-post.md': post({ title: 'Third', date: '2025-05-01T10:00:00Z', authors: ['ann'] }, 'Three.'),
      'posts/fourth-post.md': post({ title: 'Fourth', date: '2025-06-01T10:00:00Z', authors: ['ann'] }, 'Four.'),
    });
    await seedContent(t.db, await loadContent(dir));
  });
  afterAll(() => t?.drop());

  const rows = async () => ({
    posts: await t.db.selectFrom('blog_posts').select(['slug', 'title']).orderBy('slug').execute(),
    tags: await t.db.selectFrom('blog_tags').select('slug').orderBy('slug').execute(),
    authors: await t.db.selectFrom('blog_authors').select('slug').orderBy('slug').execute(),
    site: await t.db.selectFrom('site_settings').selectAll().execute(),
  });

  it('removes up to 3 items without asking', async () => {
    await fs.rm(path.join(dir, 'posts', 'fourth-post.md'));
    const summary = await seedContent(t.db, await loadContent(dir));
    expect(summary.posts.removed).toBe(1);
  });

  it('refuses to remove more than 3 without prune, lists them, and changes nothing', async () => {
    const before = await rows();
    for (const f of ['first-post', 'second-post', 'third-post', 'a-draft']) await fs.rm(path.join(dir, 'posts', `${f}.md`));
    await fs.writeFile(path.join(dir, 'site.json'), JSON.stringify({ title: 'Changed', description: 'Changed too.' }));
    await fs.writeFile(path.join(dir, 'tags.json'), JSON.stringify([{ slug: 'news', name: 'News' }]));
    const bundle = await loadContent(dir);

    const error = await seedContent(t.db, bundle).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SeedPruneNeededError);
    expect((error as SeedPruneNeededError).message).toMatchInlineSnapshot(`
      "The content folder no longer has 5 items the database has from it; seeding would remove them:
        posts (4): a-draft, first-post, second-post, third-post
        tags (1): recipes"
    `);
    expect((error as SeedPruneNeededError).hint).toBe('Nothing was changed. Check that the folder is the right one; to remove more than 3 items, run again with --prune.');
    expect(await rows()).toEqual(before);

    const summary = await seedContent(t.db, bundle, { prune: true });
    expect(summary.posts.removed).toBe(4);
    expect(summary.tags.removed).toBe(1);
    expect((await rows()).posts.map((p) => p.slug)).toEqual(['about', 'members-only']);
  });
});

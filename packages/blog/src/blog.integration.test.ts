import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFixedClock } from '@rose/core';
import { createTestDatabase, databaseKinds, type TestDatabase } from '@rose/testing';
import { loadBlogSnapshot } from './blog.view.ts';
import { writeContentFixture, post } from './content.fixture.ts';
import { loadContent } from './content-loader.ts';
import { seedContent } from './seed.service.ts';

describe.each(databaseKinds)('blog seed and snapshot on %s', (kind) => {
  let t: TestDatabase;
  let dir: string;
  const clock = createFixedClock(new Date('2026-06-01T12:00:00Z'));
  beforeAll(async () => {
    t = await createTestDatabase(kind);
    dir = await writeContentFixture();
  });
  afterAll(() => t?.drop());

  const dump = async () => ({
    posts: await t.db.selectFrom('blog_posts').selectAll().orderBy('slug').execute(),
    tags: await t.db.selectFrom('blog_post_tags').selectAll().orderBy('post_id').orderBy('tag_id').execute(),
    nav: await t.db.selectFrom('blog_navigation').selectAll().orderBy('menu').orderBy('position').execute(),
  });

  it('seeds everything, then a second run changes nothing', async () => {
    const first = await seedContent(t.db, await loadContent(dir), { clock });
    expect(first.posts).toEqual({ added: 4, updated: 0, unchanged: 0, removed: 0 });
    expect(first.pages).toEqual({ added: 1, updated: 0, unchanged: 0, removed: 0 });
    expect(first.unchanged).toBe(false);
    const before = await dump();

    clock.advance(60_000);
    const second = await seedContent(t.db, await loadContent(dir), { clock });
    expect(second.unchanged).toBe(true);
    expect(second.posts).toEqual({ added: 0, updated: 0, unchanged: 4, removed: 0 });
    expect(await dump()).toEqual(before);
  });

  it('builds a snapshot: published only, newest first, gated bodies withheld, prev/next links', async () => {
    const s = await loadBlogSnapshot(t.db);
    expect(s.site.title).toBe('Test Co-op');
    expect(s.posts.map((p) => p.slug)).toEqual(['members-only', 'second-post', 'first-post']);
    expect(s.pages.map((p) => p.slug)).toEqual(['about']);
    const gated = s.posts[0]!;
    // Only the teaser before the members-only marker; the rest stays in the database.
    expect(gated.html).toBe('<p>PUBLIC TEASER for everyone.</p>\n');
    expect(gated.excerpt).toBe('A teaser.');
    expect(JSON.stringify(s)).not.toContain('SECRET BODY');
    const stored = await t.db.selectFrom('blog_posts').select(['html', 'members_html']).where('slug', '=', 'members-only').executeTakeFirstOrThrow();
    expect(stored.members_html).toBe('<p>SECRET BODY</p>\n');
    expect(stored.html).not.toContain('SECRET');
    const second = s.posts[1]!;
    expect(second.authors.map((a) => a.url)).toEqual(['/blog/author/bob/', '/blog/author/ann/']);
    expect(second.tags.map((tg) => tg.slug)).toEqual(['recipes', 'news']);
    expect(second.next).toEqual({ title: 'Members only', url: '/blog/members-only/' });
    expect(second.previous).toEqual({ title: 'First post', url: '/blog/first-post/' });
    expect(s.postsByTag.get('news')!.map((p) => p.slug)).toEqual(['members-only', 'second-post', 'first-post']);
    expect(s.tags.map((tg) => [tg.slug, tg.postCount])).toEqual([
      ['news', 3],
      ['recipes', 1],
    ]);
    expect(s.navigation.primary).toEqual([{ label: 'Home', url: '/blog/' }]);
  });

  it('applies edits and removals, and leaves untouched rows alone', async () => {
    const untouchedBefore = await t.db.selectFrom('blog_posts').selectAll().where('slug', '=', 'first-post').executeTakeFirstOrThrow();
    await fs.writeFile(path.join(dir, 'posts/second-post.md'), post({ title: 'Second post, revised', date: '2025-02-01T10:00:00Z', tags: ['news'], authors: ['bob'] }, 'New body.'));
    await fs.rm(path.join(dir, 'posts/a-draft.md'));
    clock.advance(60_000);
    const summary = await seedContent(t.db, await loadContent(dir), { clock });
    expect(summary.posts).toEqual({ added: 0, updated: 1, unchanged: 2, removed: 1 });
    const revised = await t.db.selectFrom('blog_posts').selectAll().where('slug', '=', 'second-post').executeTakeFirstOrThrow();
    expect(revised.title).toBe('Second post, revised');
    expect(revised.updated_at.toISOString()).toBe(clock.now().toISOString());
    const s = await loadBlogSnapshot(t.db);
    expect(s.posts.find((p) => p.slug === 'second-post')!.tags.map((tg) => tg.slug)).toEqual(['news']);
    expect(await t.db.selectFrom('blog_posts').selectAll().where('slug', '=', 'first-post').executeTakeFirstOrThrow()).toEqual(untouchedBefore);
  });

  it('is all or nothing: a failure part-way leaves the database as it was', async () => {
    const before = await dump();
    const bundle = await loadContent(dir);
    // A post referring to a tag that is not in the bundle fails after earlier writes.
    bundle.posts.push({ ...bundle.posts[0]!, slug: 'broken', tags: ['ghost-tag'], file: 'posts/broken.md' });
    bundle.site = { ...bundle.site, title: 'Changed title' };
    await expect(seedContent(t.db, bundle, { clock })).rejects.toThrow();
    expect(await dump()).toEqual(before);
    const site = await t.db.selectFrom('site_settings').select('value').where('key', '=', 'site').executeTakeFirstOrThrow();
    expect((site.value as { title: string }).title).toBe('Test Co-op');
  });
});

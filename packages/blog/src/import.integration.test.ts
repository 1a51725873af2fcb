import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, databaseKinds, type TestDatabase } from '@rose/testing';
import { loadBlogSnapshot } from './blog.view.ts';
import { writeContentFixture } from './content.fixture.ts';
import { loadContent } from './content-loader.ts';
import { applyImport, readSetting, type ImportedPost } from './import.service.ts';
import { seedContent } from './seed.service.ts';

const post = (n: number, over: Partial<ImportedPost> = {}): ImportedPost => ({
  sourceId: `g${n}`,
  sourceUuid: `uuid-${n}`,
  type: 'post',
  slug: `ghost-post-${n}`,
  title: `Ghost post ${n}`,
  html: `<p>Body ${n}</p><script>alert(1)</script>`,
  excerpt: `Excerpt ${n}`,
  featureImage: null,
  featureImageAlt: null,
  featured: false,
  visibility: 'public',
  publishedAt: new Date(Date.UTC(2026, 0, n)),
  createdAt: new Date(Date.UTC(2026, 0, n)),
  updatedAt: new Date(Date.UTC(2026, 0, n, 12)),
  tagSourceIds: ['t1'],
  authorSourceIds: ['a1'],
  ref: null,
  ...over,
});

describe.each(databaseKinds)('importing from Ghost on %s', (kind) => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase(kind);
    await seedContent(t.db, await loadContent(await writeContentFixture()));
  });
  afterAll(() => t?.drop());

  const base = {
    authors: [{ sourceId: 'a1', slug: 'ghost-author', name: 'Ghost Author', bio: null, profileImage: null, website: null, location: null }],
    tags: [{ sourceId: 't1', slug: 'ghost-tag', name: 'Ghost tag', description: null, visibility: 'public' as const }],
  };

  it('adds posts with tags and authors, sanitised, and reports what changed', async () => {
    const summary = await applyImport(t.db, { ...base, upsertPosts: [post(1), post(2)], settings: { 'ghost.sync': { mark: '2026-01-02T12:00:00.000Z' } } });
    expect(summary).toMatchObject({ added: 2, updated: 0, removed: 0, sharedChanged: true });
    expect(summary.changedSlugs.sort()).toEqual(['ghost-post-1', 'ghost-post-2']);
    const s = await loadBlogSnapshot(t.db);
    const p1 = s.posts.find((p) => p.slug === 'ghost-post-1')!;
    expect(p1.html).toBe('<p>Body 1</p>');
    expect(p1.tags.map((x) => x.slug)).toEqual(['ghost-tag']);
    expect(p1.authors.map((x) => x.slug)).toEqual(['ghost-author']);
    expect(await readSetting(t.db, 'ghost.sync')).toEqual({ mark: '2026-01-02T12:00:00.000Z' });
  });

  it('skips posts whose updated_at did not move, updates those that did', async () => {
    const summary = await applyImport(t.db, { ...base, upsertPosts: [post(1), post(2, { title: 'Edited', updatedAt: new Date(Date.UTC(2026, 1, 1)) })] });
    expect(summary).toMatchObject({ added: 0, updated: 1, unchanged: 1, sharedChanged: false, changedSlugs: ['ghost-post-2'] });
  });

  it('takes over a slug first loaded from content/', async () => {
    const summary = await applyImport(t.db, { upsertPosts: [post(3, { slug: 'first-post', title: 'From Ghost now' })] });
    expect(summary.updated).toBe(1);
    const row = await t.db.selectFrom('blog_posts').selectAll().where('slug', '=', 'first-post').executeTakeFirstOrThrow();
    expect(row).toMatchObject({ source: 'ghost', ghost_id: 'g3', title: 'From Ghost now' });
  });

  it('removes posts deleted in Ghost (reconcile and single removal) but never content/ posts', async () => {
    const reconcile = await applyImport(t.db, { keepOnly: { posts: new Set(['g1', 'g3']), pages: new Set() } });
    expect(reconcile).toMatchObject({ removed: 1, changedSlugs: ['ghost-post-2'] });
    const single = await applyImport(t.db, { removeSourceIds: ['g1'] });
    expect(single.removed).toBe(1);
    const slugs = (await t.db.selectFrom('blog_posts').select('slug').execute()).map((r) => r.slug).sort();
    expect(slugs).toEqual(['a-draft', 'about', 'first-post', 'members-only', 'second-post']);
  });

  it('is one transaction: a failing batch changes nothing', async () => {
    const before = await t.db.selectFrom('blog_posts').selectAll().orderBy('slug').execute();
    await expect(
      applyImport(t.db, { upsertPosts: [post(4), post(5, { slug: 'ghost-post-4', sourceId: 'g5', type: 'bogus' as never })] }),
    ).rejects.toThrow();
    expect(await t.db.selectFrom('blog_posts').selectAll().orderBy('slug').execute()).toEqual(before);
  });
});

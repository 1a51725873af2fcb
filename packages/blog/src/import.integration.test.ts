import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, databaseKinds, type TestDatabase } from '@rose/testing';
import { loadBlogSnapshot } from './blog.view.ts';
import { writeContentFixture } from './content.fixture.ts';
import { loadContent } from './content-loader.ts';
import { applyImport, listGatedWithoutBody, readSetting, type ImportedPost } from './import.service.ts';
import { seedContent } from './seed.service.ts';

const post = (n: number, over: Partial<ImportedPost> = {}): ImportedPost => ({
  sourceId: `g${n}`,
  sourceUuid: `uuid-${n}`,
  type: 'post',
  slug: `ghost-post-${n}`,
  title: `Ghost post ${n}`,
  html: `<p>Body ${n}</p><script>alert(1)</script>`,
  membersHtml: null,
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

describe.each(databaseKinds)('one import rule for sync and webhooks on %s', (kind) => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase(kind);
  });
  afterAll(() => t?.drop());

  const author = (sourceId: string, slug: string) => ({ sourceId, slug, name: slug.toUpperCase(), bio: null, profileImage: null, website: null, location: null });
  const tag = (sourceId: string, slug: string) => ({ sourceId, slug, name: slug.toUpperCase(), description: null, visibility: 'public' as const });
  const linksOf = async (slug: string) => {
    const s = await loadBlogSnapshot(t.db);
    const p = [...s.posts, ...s.pages].find((x) => x.slug === slug)!;
    return { tags: p.tags.map((x) => x.slug), authors: p.authors.map((x) => x.slug) };
  };

  it('a tag and an author deleted in Ghost and re-created with the same slug keep their posts (sync and relations-only)', async () => {
    await applyImport(t.db, { tags: [tag('t1', 'market')], authors: [author('a1', 'jo')], upsertPosts: [post(1, { tagSourceIds: ['t1'], authorSourceIds: ['a1'] }), post(2, { tagSourceIds: ['t1'], authorSourceIds: ['a1'] })] });
    expect(await linksOf('ghost-post-1')).toEqual({ tags: ['market'], authors: ['jo'] });

    // Full sync after the re-creation: post 1 is fetched again, post 2 only through its relations.
    const summary = await applyImport(t.db, {
      tags: [tag('t1-new', 'market')],
      authors: [author('a1-new', 'jo')],
      upsertPosts: [post(1, { tagSourceIds: ['t1-new'], authorSourceIds: ['a1-new'], updatedAt: new Date(Date.UTC(2026, 5, 1)) })],
      relations: new Map([['g2', { tagSourceIds: ['t1-new'], authorSourceIds: ['a1-new'] }]]),
    });
    expect(summary.skipped).toEqual([]);
    expect(await linksOf('ghost-post-1')).toEqual({ tags: ['market'], authors: ['jo'] });
    expect(await linksOf('ghost-post-2')).toEqual({ tags: ['market'], authors: ['jo'] });
    expect((await t.db.selectFrom('blog_tags').select('ghost_id').where('slug', '=', 'market').executeTakeFirstOrThrow()).ghost_id).toBe('t1-new');
    expect((await t.db.selectFrom('blog_authors').select('ghost_id').where('slug', '=', 'jo').executeTakeFirstOrThrow()).ghost_id).toBe('a1-new');

    // The next run finds nothing to do.
    const again = await applyImport(t.db, {
      tags: [tag('t1-new', 'market')],
      authors: [author('a1-new', 'jo')],
      relations: new Map([
        ['g1', { tagSourceIds: ['t1-new'], authorSourceIds: ['a1-new'] }],
        ['g2', { tagSourceIds: ['t1-new'], authorSourceIds: ['a1-new'] }],
      ]),
    });
    expect(again).toMatchObject({ relinked: 0, removed: 0, sharedChanged: false, changedSlugs: [] });
  });

  it('two tags may swap slugs in one sync, and a tag gone from Ghost is removed', async () => {
    await applyImport(t.db, { tags: [tag('t1-new', 'market'), tag('t2', 'fair'), tag('t3', 'old')], authors: [author('a1-new', 'jo')] });
    const summary = await applyImport(t.db, { tags: [tag('t1-new', 'fair'), tag('t2', 'market')], authors: [author('a1-new', 'jo')] });
    expect(summary.sharedChanged).toBe(true);
    const rows = await t.db.selectFrom('blog_tags').select(['slug', 'ghost_id']).orderBy('slug').execute();
    expect(rows).toEqual([
      { slug: 'fair', ghost_id: 't1-new' },
      { slug: 'market', ghost_id: 't2' },
    ]);
  });

  it("relinks posts whose tags or authors changed without moving updated_at", async () => {
    await applyImport(t.db, { tags: [tag('t1-new', 'fair'), tag('t2', 'market')], authors: [author('a1-new', 'jo'), author('a2', 'sam')] });
    const summary = await applyImport(t.db, { relations: new Map([['g2', { tagSourceIds: ['t2', 't1-new'], authorSourceIds: ['a2'] }]]) });
    expect(summary).toMatchObject({ relinked: 1, updated: 0, changedSlugs: ['ghost-post-2'] });
    expect(await linksOf('ghost-post-2')).toEqual({ tags: ['market', 'fair'], authors: ['sam'] });
  });

  it('skips slugs the blog cannot serve, and removes a post renamed to one', async () => {
    const summary = await applyImport(t.db, {
      upsertPosts: [post(7, { slug: 'search' }), post(8, { slug: 'Not_A_Slug' }), post(1, { slug: 'tag', updatedAt: new Date(Date.UTC(2026, 6, 1)) })],
      mergeTags: [tag('t9', 'Bad Tag')],
    });
    expect(summary.skipped).toEqual([
      { kind: 'tag', slug: 'Bad Tag', reason: 'not a plain lowercase slug' },
      { kind: 'post', slug: 'search', reason: "reserved for the blog's own pages" },
      { kind: 'post', slug: 'Not_A_Slug', reason: 'not a plain lowercase slug' },
      { kind: 'post', slug: 'tag', reason: "reserved for the blog's own pages" },
    ]);
    expect(summary).toMatchObject({ added: 0, removed: 1, changedSlugs: ['ghost-post-1'] });
    const slugs = (await t.db.selectFrom('blog_posts').select('slug').execute()).map((r) => r.slug);
    expect(slugs).toEqual(['ghost-post-2']);
  });

  it('keeps a gated post\'s members-only part apart from what pages show, gated blocks resolved for its readers', async () => {
    const full =
      '<p>Teaser.</p><!--members-only--><p>MEMBERS PART.</p>' +
      '<!--kg-gated-block:begin nonMember:false memberSegment:"status:-free"--><p>PAID ONLY.</p><!--kg-gated-block:end-->' +
      '<!--kg-gated-block:begin nonMember:false memberSegment:"status:free,status:-free"--><p>ALL MEMBERS.</p><!--kg-gated-block:end-->';
    const summary = await applyImport(t.db, {
      upsertPosts: [
        post(10, { visibility: 'members', html: '<p>Teaser.</p>', membersHtml: full }),
        post(11, { visibility: 'paid', html: '<p>Teaser.</p>', membersHtml: full }),
        post(12, { visibility: 'members', html: '' }),
      ],
    });
    expect(summary.gatedWithoutBody).toEqual(['ghost-post-12']);
    const rows = await t.db.selectFrom('blog_posts').select(['slug', 'html', 'members_html']).where('slug', 'in', ['ghost-post-10', 'ghost-post-11', 'ghost-post-12']).orderBy('slug').execute();
    expect(rows).toEqual([
      { slug: 'ghost-post-10', html: '<p>Teaser.</p>', members_html: '<p>MEMBERS PART.</p><p>ALL MEMBERS.</p>' },
      { slug: 'ghost-post-11', html: '<p>Teaser.</p>', members_html: '<p>MEMBERS PART.</p><p>PAID ONLY.</p><p>ALL MEMBERS.</p>' },
      { slug: 'ghost-post-12', html: '', members_html: null },
    ]);
    const snapshot = JSON.stringify(await loadBlogSnapshot(t.db));
    expect(snapshot).not.toContain('MEMBERS PART');
    expect(snapshot).not.toContain('PAID ONLY');
    expect(await listGatedWithoutBody(t.db)).toEqual({ posts: ['g12'], pages: [] });

    // The body arriving later (GHOST_ADMIN_KEY set since) is stored though updated_at did not move.
    const later = await applyImport(t.db, { upsertPosts: [post(12, { visibility: 'members', html: '', membersHtml: '<p>NOW HERE.</p>' })] });
    expect(later.updated).toBe(1);
    expect(await listGatedWithoutBody(t.db)).toEqual({ posts: [], pages: [] });
  });
});

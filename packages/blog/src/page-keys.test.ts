import { describe, expect, it } from 'vitest';
import type { BlogSnapshot, PostView } from './blog.view.ts';
import { blogPageKeys, diffPageKeys } from './page-keys.ts';

const post = (i: number, over: Partial<PostView> = {}): PostView => ({
  type: 'post',
  slug: `p${i}`,
  title: `Post ${i}`,
  url: `/blog/p${i}/`,
  excerpt: 'x',
  featureImage: null,
  featureImageAlt: null,
  featureImageSet: null,
  featured: false,
  visibility: 'public',
  publishedAt: new Date(Date.UTC(2026, 0, 30 - i)),
  updatedAt: new Date(Date.UTC(2026, 0, 30 - i)),
  readingMinutes: 1,
  tags: i % 2 ? [{ slug: 'odd', name: 'Odd', url: '/blog/tag/odd/' }] : [],
  authors: [{ slug: 'ann', name: 'Ann', url: '/blog/author/ann/' }],
  html: `<p>${i}</p>`,
  previous: null,
  next: null,
  ...over,
});

function snapshot(posts: PostView[], title = 'Co-op'): BlogSnapshot {
  return {
    site: { title, description: 'd', locale: 'en-GB', timezone: 'UTC' },
    navigation: { primary: [], secondary: [] },
    posts,
    pages: [],
    tags: [{ slug: 'odd', name: 'Odd', url: '/blog/tag/odd/', description: null, postCount: posts.filter((p) => p.tags.length).length }],
    authors: [{ slug: 'ann', name: 'Ann', url: '/blog/author/ann/', bio: null, website: null, location: null, profileImage: null, postCount: posts.length }],
    postsByTag: new Map([['odd', posts.filter((p) => p.tags.length)]]),
    postsByAuthor: new Map([['ann', posts]]),
    lastModified: new Date(0),
    images: [],
    mediaFiles: [],
  };
}

describe('blog page keys', () => {
  const posts = Array.from({ length: 25 }, (_, i) => post(i));
  const before = blogPageKeys(snapshot(posts), 10);

  it('an edited body changes only that post page', () => {
    const edited = posts.map((p, i) => (i === 15 ? { ...p, html: '<p>new</p>' } : p));
    expect(diffPageKeys(before, blogPageKeys(snapshot(edited), 10))).toEqual({ render: ['/blog/p15/'], remove: [] });
  });

  it('an edited title also changes the list, tag and author pages it appears on', () => {
    const edited = posts.map((p, i) => (i === 15 ? { ...p, title: 'Renamed' } : p));
    const { render } = diffPageKeys(before, blogPageKeys(snapshot(edited), 10));
    expect(render.sort()).toEqual(['/blog/author/ann/page/2/', '/blog/p15/', '/blog/page/2/', '/blog/tag/odd/']);
  });

  it('a removed post is removed and the pages after it shift', () => {
    const { render, remove } = diffPageKeys(before, blogPageKeys(snapshot(posts.filter((_, i) => i !== 24)), 10));
    expect(remove).toEqual(['/blog/p24/']);
    expect(render).toContain('/blog/page/3/');
  });

  it('a site setting change re-renders everything', () => {
    const after = blogPageKeys(snapshot(posts, 'Renamed co-op'), 10);
    expect(diffPageKeys(before, after).render.length).toBe(after.size);
  });
});

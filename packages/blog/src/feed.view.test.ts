import { describe, expect, it } from 'vitest';
import type { BlogSnapshot, PostView } from './blog.view.ts';
import { blogSitemapEntries, renderSitemap } from './feed.view.ts';

const day = (n: number) => new Date(Date.UTC(2026, 0, n));
const view = (i: number, over: Partial<PostView> = {}): PostView => ({
  type: 'post',
  slug: `p${i}`,
  title: `Post ${i}`,
  url: `/blog/p${i}/`,
  excerpt: '',
  featureImage: null,
  featureImageAlt: null,
  featureImageSet: null,
  featured: false,
  visibility: 'public',
  publishedAt: day(30 - i),
  updatedAt: day(30 - i),
  readingMinutes: 1,
  tags: i === 3 ? [{ slug: 'news', name: 'News', url: '/blog/tag/news/' }] : [],
  authors: [{ slug: 'ann', name: 'Ann', url: '/blog/author/ann/' }],
  html: '',
  previous: null,
  next: null,
  ...over,
});

describe('blogSitemapEntries', () => {
  // Newest first; post 4 (older) was edited after everything else.
  const posts = [view(1), view(2), view(3), view(4, { updatedAt: day(31) }), view(5)];
  const page = view(9, { type: 'page', slug: 'about', url: '/blog/about/', authors: [{ slug: 'bob', name: 'Bob', url: '/blog/author/bob/' }], updatedAt: day(2) });
  const snapshot: BlogSnapshot = {
    site: { title: 'Co-op', description: 'd', locale: 'en-GB', timezone: 'UTC' },
    navigation: { primary: [], secondary: [] },
    posts,
    pages: [page],
    tags: [{ slug: 'news', name: 'News', url: '/blog/tag/news/', description: null, postCount: 1 }],
    authors: [
      { slug: 'ann', name: 'Ann', url: '/blog/author/ann/', bio: null, website: null, location: null, profileImage: null, postCount: 5 },
      { slug: 'bob', name: 'Bob', url: '/blog/author/bob/', bio: null, website: null, location: null, profileImage: null, postCount: 0 },
    ],
    postsByTag: new Map([['news', [posts[2]!]]]),
    postsByAuthor: new Map([['ann', posts]]),
    lastModified: day(31),
    images: [],
    mediaFiles: [],
  };

  it('gives every entry a lastmod: its own change, or for a list the newest change on it or before it', () => {
    const entries = new Map(blogSitemapEntries(snapshot, 2).map((e) => [e.path, e.lastModified?.toISOString()]));
    expect(Object.fromEntries(entries)).toEqual({
      '/blog/': day(29).toISOString(),
      '/blog/page/2/': day(31).toISOString(),
      '/blog/page/3/': day(31).toISOString(),
      '/blog/search/': day(31).toISOString(),
      '/blog/p1/': day(29).toISOString(),
      '/blog/p2/': day(28).toISOString(),
      '/blog/p3/': day(27).toISOString(),
      '/blog/p4/': day(31).toISOString(),
      '/blog/p5/': day(25).toISOString(),
      '/blog/about/': day(2).toISOString(),
      '/blog/tag/news/': day(27).toISOString(),
      '/blog/author/ann/': day(29).toISOString(),
      '/blog/author/ann/page/2/': day(31).toISOString(),
      '/blog/author/ann/page/3/': day(31).toISOString(),
      // An author of pages only: no posts to date the list by.
      '/blog/author/bob/': day(31).toISOString(),
    });
  });

  it('writes a <lastmod> in every <url>', () => {
    const xml = renderSitemap(blogSitemapEntries(snapshot, 2), 'https://coop.example');
    const urls = xml.match(/<url>.*<\/url>/g)!;
    expect(urls).toHaveLength(15);
    for (const u of urls) expect(u).toMatch(/<lastmod>\d{4}-\d\d-\d\dT[\d:.]+Z<\/lastmod>/);
  });
});

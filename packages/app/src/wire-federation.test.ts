import { describe, expect, it } from 'vitest';
import { createLinks } from '@rose/core';
import { desiredBlogObjects, desiredMarketObjects } from './wire-federation.ts';

const links = createLinks({ siteUrl: 'https://coop.example', partHosts: {} });

describe('what the part actors publish', () => {
  it('a blog post is an Article with hashtags from its tags and an absolute feature image', () => {
    const [article] = desiredBlogObjects([{ id: 'p1', slug: 'cider', title: 'Cider day', html: '<p>Pressing</p>', featureImage: '/blog/images/press.jpg', publishedAt: new Date('2026-11-01T00:00:00Z'), tags: [{ slug: 'apple-news', name: 'Apple news!' }, { slug: 'x', name: '—' }] }], links);
    expect(article).toEqual({
      source: 'blog:p1',
      type: 'Article',
      name: 'Cider day',
      summary: null,
      contentHtml: '<p>Pressing</p>',
      url: 'https://coop.example/blog/cider/',
      tags: [{ type: 'Hashtag', name: '#Applenews', href: 'https://coop.example/blog/tag/apple-news/' }],
      extra: { image: 'https://coop.example/blog/images/press.jpg' },
      publishedAt: new Date('2026-11-01T00:00:00Z'),
    });
  });

  it('a product is a Note with its name escaped, a cycle an Event from opening to closing', () => {
    const objects = desiredMarketObjects(
      {
        products: [{ id: 'x1', slug: 'eggs', name: 'Eggs <b>', description: 'Fresh & free', createdAt: new Date('2026-11-01T00:00:00Z'), producer: { slug: 'hill', name: 'Hill Farm' } }],
        cycles: [{ id: 'c1', slug: 'dec', name: 'December', opensAt: new Date('2026-12-01T09:00:00Z'), closesAt: new Date('2026-12-05T17:00:00Z'), note: '', createdAt: new Date('2026-11-01T00:00:00Z') }],
      },
      links,
    );
    expect(objects[0]).toMatchObject({ source: 'market:product:x1', type: 'Note', url: 'https://coop.example/market/products/eggs/' });
    expect(objects[0]!.contentHtml).toContain('Eggs &lt;b&gt;');
    expect(objects[0]!.contentHtml).toContain('Fresh &amp; free');
    expect(objects[1]).toMatchObject({ source: 'market:cycle:c1', type: 'Event', name: 'December', extra: { startTime: '2026-12-01T09:00:00.000Z', endTime: '2026-12-05T17:00:00.000Z' } });
  });
});

import type { ContentBundle } from '@rose/blog';

const words = 'market orchard bread cheese apples volunteers members co-op stall harvest soup seeds compost bees honey cider kitchen garden share vote'.split(' ');

/** Deterministic post body of about 520 words: three paragraphs, a heading and a list. */
export function generatedBody(i: number): string {
  const para = (n: number) => Array.from({ length: 160 }, (_, k) => words[(i * 7 + n * 13 + k * 3) % words.length]).join(' ');
  return `<p>${para(1)}.</p><h2>Section ${i}</h2><p>${para(2)}.</p><ul><li>${para(3).slice(0, 60)}</li><li>${para(4).slice(0, 60)}</li></ul><p>${para(5)}.</p>`;
}

/**
 * The same N posts for every benchmark (and for Hugo): 12 tags, 8 authors, one post an hour
 * from 2020-01-01, two tags and one author each.
 */
export function generatedBundle(n: number): ContentBundle {
  const tags = Array.from({ length: 12 }, (_, i) => ({ slug: `tag-${i}`, name: `Tag ${i}`, description: null }));
  const authors = Array.from({ length: 8 }, (_, i) => ({ slug: `author-${i}`, name: `Author ${i}`, bio: null, website: null, location: null, profileImage: null }));
  const start = Date.UTC(2020, 0, 1);
  return {
    site: { title: 'Bench Co-op', description: 'Benchmark site', locale: 'en-GB', timezone: 'UTC' },
    authors,
    tags,
    navigation: { primary: [{ label: 'Home', url: '/blog/' }], secondary: [] },
    posts: Array.from({ length: n }, (_, i) => ({
      type: 'post' as const,
      slug: `post-${i}`,
      title: `Post number ${i}`,
      html: generatedBody(i),
      membersHtml: null,
      excerpt: `Excerpt of post ${i}.`,
      featureImage: null,
      featureImageAlt: null,
      status: 'published' as const,
      visibility: 'public' as const,
      featured: false,
      publishedAt: new Date(start + i * 3_600_000),
      updatedAt: null,
      tags: [`tag-${i % 12}`, `tag-${(i * 5 + 1) % 12}`].filter((t, k, a) => a.indexOf(t) === k),
      authors: [`author-${i % 8}`],
      file: `bench/post-${i}.md`,
    })),
  };
}

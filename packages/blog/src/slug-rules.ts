/**
 * Which slugs the blog can serve. One rule for every way content arrives (content/, Ghost
 * sync, Ghost webhooks), so an item is never accepted on one path and refused on another.
 */

/** Lowercase letters, digits and single hyphens: what every blog URL segment looks like. */
export const slugPattern = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;

/** Slugs of posts and pages that would collide with the blog's own routes (`/blog/<slug>/`). */
export const reservedSlugs: ReadonlySet<string> = new Set(['tag', 'author', 'page', 'rss.xml', 'atom.xml', 'feed', 'search', 'sitemap.xml', 'index']);

/**
 * Why `slug` cannot be served, or undefined when it can. Posts and pages share `/blog/<slug>/`
 * with the blog's own routes; tags and authors live under `/blog/tag/` and `/blog/author/`.
 *
 * @example
 * slugProblem('search', 'post'); // "reserved for the blog's own pages"
 */
export function slugProblem(slug: string, kind: 'post' | 'tag' | 'author'): string | undefined {
  if (!slugPattern.test(slug)) return 'not a plain lowercase slug';
  if (kind === 'post' && reservedSlugs.has(slug)) return "reserved for the blog's own pages";
  return undefined;
}

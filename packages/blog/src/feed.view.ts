import { absoluteUrl, blogLinks, escapeXml } from '@rose/core';
import type { BlogSnapshot, PostView } from './blog.view.ts';

/** Feed items carry the full body of public posts; of members-only ones the excerpt and public teaser. */
function itemContent(post: PostView): string {
  if (post.visibility === 'public') return post.html;
  return `${post.excerpt ? `<p>${escapeXml(post.excerpt)}</p>` : ''}${post.html}<p>The rest of this post is for members.</p>`;
}

export function renderRss(snapshot: BlogSnapshot, siteUrl: string, limit = 20): string {
  const home = absoluteUrl(siteUrl, blogLinks.home());
  const self = absoluteUrl(siteUrl, blogLinks.rss());
  const items = snapshot.posts.slice(0, limit).map((p) => {
    const url = absoluteUrl(siteUrl, p.url);
    return [
      '    <item>',
      `      <title>${escapeXml(p.title)}</title>`,
      `      <link>${escapeXml(url)}</link>`,
      `      <guid isPermaLink="true">${escapeXml(url)}</guid>`,
      `      <pubDate>${p.publishedAt.toUTCString()}</pubDate>`,
      ...p.authors.map((a) => `      <dc:creator>${escapeXml(a.name)}</dc:creator>`),
      ...p.tags.map((t) => `      <category>${escapeXml(t.name)}</category>`),
      `      <description>${escapeXml(p.excerpt)}</description>`,
      `      <content:encoded>${escapeXml(itemContent(p))}</content:encoded>`,
      '    </item>',
    ].join('\n');
  });
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom" xmlns:content="http://purl.org/rss/1.0/modules/content/" xmlns:dc="http://purl.org/dc/elements/1.1/">',
    '  <channel>',
    `    <title>${escapeXml(snapshot.site.title)}</title>`,
    `    <link>${escapeXml(home)}</link>`,
    `    <description>${escapeXml(snapshot.site.description)}</description>`,
    `    <language>${escapeXml(snapshot.site.locale)}</language>`,
    `    <lastBuildDate>${snapshot.lastModified.toUTCString()}</lastBuildDate>`,
    `    <atom:link href="${escapeXml(self)}" rel="self" type="application/rss+xml"/>`,
    ...items,
    '  </channel>',
    '</rss>',
    '',
  ].join('\n');
}

export function renderAtom(snapshot: BlogSnapshot, siteUrl: string, limit = 20): string {
  const home = absoluteUrl(siteUrl, blogLinks.home());
  const self = absoluteUrl(siteUrl, blogLinks.atom());
  const entries = snapshot.posts.slice(0, limit).map((p) => {
    const url = absoluteUrl(siteUrl, p.url);
    return [
      '  <entry>',
      `    <title>${escapeXml(p.title)}</title>`,
      `    <link rel="alternate" type="text/html" href="${escapeXml(url)}"/>`,
      `    <id>${escapeXml(url)}</id>`,
      `    <published>${p.publishedAt.toISOString()}</published>`,
      `    <updated>${p.updatedAt.toISOString()}</updated>`,
      ...p.authors.map((a) => `    <author><name>${escapeXml(a.name)}</name><uri>${escapeXml(absoluteUrl(siteUrl, a.url))}</uri></author>`),
      ...p.tags.map((t) => `    <category term="${escapeXml(t.slug)}" label="${escapeXml(t.name)}"/>`),
      `    <summary>${escapeXml(p.excerpt)}</summary>`,
      `    <content type="html">${escapeXml(itemContent(p))}</content>`,
      '  </entry>',
    ].join('\n');
  });
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="${escapeXml(snapshot.site.locale)}">`,
    `  <title>${escapeXml(snapshot.site.title)}</title>`,
    `  <subtitle>${escapeXml(snapshot.site.description)}</subtitle>`,
    `  <link rel="alternate" type="text/html" href="${escapeXml(home)}"/>`,
    `  <link rel="self" type="application/atom+xml" href="${escapeXml(self)}"/>`,
    `  <id>${escapeXml(home)}</id>`,
    `  <updated>${snapshot.lastModified.toISOString()}</updated>`,
    ...entries,
    '</feed>',
    '',
  ].join('\n');
}

/** JSON Feed 1.1 (https://www.jsonfeed.org/version/1.1/). */
export function renderJsonFeed(snapshot: BlogSnapshot, siteUrl: string, limit = 20): string {
  const feed = {
    version: 'https://jsonfeed.org/version/1.1',
    title: snapshot.site.title,
    description: snapshot.site.description,
    home_page_url: absoluteUrl(siteUrl, blogLinks.home()),
    feed_url: absoluteUrl(siteUrl, blogLinks.jsonFeed()),
    language: snapshot.site.locale,
    items: snapshot.posts.slice(0, limit).map((p) => ({
      id: absoluteUrl(siteUrl, p.url),
      url: absoluteUrl(siteUrl, p.url),
      title: p.title,
      content_html: itemContent(p),
      summary: p.excerpt,
      ...(p.featureImage ? { image: absoluteUrl(siteUrl, p.featureImage) } : {}),
      date_published: p.publishedAt.toISOString(),
      date_modified: p.updatedAt.toISOString(),
      authors: p.authors.map((a) => ({ name: a.name, url: absoluteUrl(siteUrl, a.url) })),
      tags: p.tags.map((t) => t.name),
    })),
  };
  return `${JSON.stringify(feed, null, 2)}\n`;
}

export interface SearchEntry {
  /** title */
  t: string;
  /** url */
  u: string;
  /** excerpt, at most 160 characters */
  e: string;
  /** tag names */
  g: string[];
  /** published date, YYYY-MM-DD */
  d: string;
}

/** The client-side search index: short keys, trimmed excerpts, public posts and pages only. */
export function buildSearchIndex(snapshot: BlogSnapshot): SearchEntry[] {
  return [...snapshot.posts, ...snapshot.pages].map((p) => ({
    t: p.title,
    u: p.url,
    e: p.excerpt.length > 160 ? `${p.excerpt.slice(0, 157).trimEnd()}…` : p.excerpt,
    g: p.tags.map((t) => t.name),
    d: p.publishedAt.toISOString().slice(0, 10),
  }));
}

export interface SitemapEntry {
  path: string;
  lastModified?: Date;
}

export function renderSitemap(entries: SitemapEntry[], siteUrl: string): string {
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">',
    ...entries.map(
      (e) =>
        `  <url><loc>${escapeXml(absoluteUrl(siteUrl, e.path))}</loc>${e.lastModified ? `<lastmod>${e.lastModified.toISOString()}</lastmod>` : ''}</url>`,
    ),
    '</urlset>',
    '',
  ].join('\n');
}

/**
 * Every blog URL a sitemap should list (posts, pages, list pages, tag and author pages), each
 * with when it last changed: a post's own update; for a list page, the newest change among the
 * posts on it or before it (a post published on page 1 moves every later page's posts).
 */
export function blogSitemapEntries(snapshot: BlogSnapshot, perPage: number): SitemapEntry[] {
  const pagesOf = (count: number) => Math.max(1, Math.ceil(count / perPage));
  const lists = (path: (n: number) => string, posts: readonly PostView[]) => {
    let newest: Date | undefined;
    for (let n = 1; n <= pagesOf(posts.length); n++) {
      for (const p of posts.slice((n - 1) * perPage, n * perPage)) if (!newest || p.updatedAt > newest) newest = p.updatedAt;
      // A list without posts (an author of pages only) changes with the site.
      entries.push({ path: path(n), lastModified: newest ?? snapshot.lastModified });
    }
  };
  const entries: SitemapEntry[] = [];
  lists(blogLinks.listPage, snapshot.posts);
  entries.push({ path: blogLinks.search(), lastModified: snapshot.lastModified });
  for (const p of [...snapshot.posts, ...snapshot.pages]) entries.push({ path: p.url, lastModified: p.updatedAt });
  for (const t of snapshot.tags) lists((n) => blogLinks.tag(t.slug, n), snapshot.postsByTag.get(t.slug) ?? []);
  for (const a of snapshot.authors) lists((n) => blogLinks.author(a.slug, n), snapshot.postsByAuthor.get(a.slug) ?? []);
  return entries;
}

import type { Kysely } from 'kysely';
import { blogLinks } from '@rose/core';
import type { Database } from '@rose/db';
import { htmlToText, readingMinutes } from './markdown.ts';
import type { SiteSettings } from './content-loader.ts';

export interface TagRef {
  slug: string;
  name: string;
  url: string;
}
export interface AuthorRef {
  slug: string;
  name: string;
  url: string;
}
export interface PostCard {
  type: 'post' | 'page';
  slug: string;
  title: string;
  url: string;
  excerpt: string;
  featureImage: string | null;
  featureImageAlt: string | null;
  featured: boolean;
  visibility: 'public' | 'members' | 'paid' | 'tiers';
  publishedAt: Date;
  updatedAt: Date;
  readingMinutes: number;
  tags: TagRef[];
  authors: AuthorRef[];
}
export interface PostView extends PostCard {
  /** The body, or null when the post is for members only: static pages never carry it. */
  html: string | null;
  previous: { title: string; url: string } | null;
  next: { title: string; url: string } | null;
}
export interface TagView extends TagRef {
  description: string | null;
  postCount: number;
}
export interface AuthorView extends AuthorRef {
  bio: string | null;
  website: string | null;
  location: string | null;
  profileImage: string | null;
  postCount: number;
}
export interface BlogSnapshot {
  site: SiteSettings;
  navigation: { primary: { label: string; url: string }[]; secondary: { label: string; url: string }[] };
  /** Published posts, newest first. */
  posts: PostView[];
  pages: PostView[];
  /** Public tags with at least one published post, by name. */
  tags: TagView[];
  /** Authors with at least one published post or page, by name. */
  authors: AuthorView[];
  postsByTag: ReadonlyMap<string, PostView[]>;
  postsByAuthor: ReadonlyMap<string, PostView[]>;
  /** Newest change among everything listed, for feeds and sitemaps. */
  lastModified: Date;
}

const defaultSite: SiteSettings = { title: 'Rose Ash', description: 'A co-operative', locale: 'en-GB', timezone: 'UTC' };

/**
 * Everything the static blog shows, read in a handful of queries (no N+1 at any size).
 * Only published posts and pages; members-only bodies are left out.
 */
export async function loadBlogSnapshot(db: Kysely<Database>): Promise<BlogSnapshot> {
  // One query at a time: on the embedded database, concurrent queries made PGlite's WASM
  // heap spike by ~500 MiB (measured at 3,000 posts); sequential costs nothing noticeable.
  const siteRow = await db.selectFrom('site_settings').select('value').where('key', '=', 'site').executeTakeFirst();
  const navRows = await db.selectFrom('blog_navigation').select(['menu', 'label', 'url']).orderBy('menu').orderBy('position').execute();
  const rows = await db
    .selectFrom('blog_posts')
    .select(['id', 'type', 'slug', 'title', 'html', 'excerpt', 'feature_image', 'feature_image_alt', 'featured', 'visibility', 'published_at', 'updated_at'])
    .where('status', '=', 'published')
    .where('published_at', 'is not', null)
    .orderBy('published_at', 'desc')
    .orderBy('slug')
    .execute();
  const tagRows = await db.selectFrom('blog_tags').select(['id', 'slug', 'name', 'description']).where('visibility', '=', 'public').execute();
  const authorRows = await db.selectFrom('blog_authors').select(['id', 'slug', 'name', 'bio', 'website', 'location', 'profile_image']).execute();
  const postTags = await db.selectFrom('blog_post_tags').select(['post_id', 'tag_id']).orderBy('post_id').orderBy('sort_order').execute();
  const postAuthors = await db.selectFrom('blog_post_authors').select(['post_id', 'author_id']).orderBy('post_id').orderBy('sort_order').execute();

  const tagsById = new Map(tagRows.map((t) => [t.id, t]));
  const authorsById = new Map(authorRows.map((a) => [a.id, a]));
  const tagIdsByPost = group(postTags, (r) => r.post_id, (r) => r.tag_id);
  const authorIdsByPost = group(postAuthors, (r) => r.post_id, (r) => r.author_id);

  const posts: PostView[] = [];
  const pages: PostView[] = [];
  let lastModified = new Date(0);
  for (const row of rows) {
    const gated = row.visibility !== 'public';
    const tags = (tagIdsByPost.get(row.id) ?? []).flatMap((id) => {
      const t = tagsById.get(id);
      return t ? [{ slug: t.slug, name: t.name, url: blogLinks.tag(t.slug) }] : [];
    });
    const authors = (authorIdsByPost.get(row.id) ?? []).flatMap((id) => {
      const a = authorsById.get(id);
      return a ? [{ slug: a.slug, name: a.name, url: blogLinks.author(a.slug) }] : [];
    });
    const view: PostView = {
      type: row.type,
      slug: row.slug,
      title: row.title,
      url: blogLinks.post(row.slug),
      excerpt: row.excerpt ?? (gated ? '' : summarise(row.html)),
      featureImage: row.feature_image,
      featureImageAlt: row.feature_image_alt,
      featured: row.featured,
      visibility: row.visibility,
      publishedAt: row.published_at!,
      updatedAt: row.updated_at,
      readingMinutes: readingMinutes(row.html),
      tags,
      authors,
      html: gated ? null : row.html,
      previous: null,
      next: null,
    };
    if (row.updated_at > lastModified) lastModified = row.updated_at;
    (row.type === 'post' ? posts : pages).push(view);
  }
  // posts are newest first: "next" is the newer one, "previous" the older one.
  for (let i = 0; i < posts.length; i++) {
    const newer = posts[i - 1];
    const older = posts[i + 1];
    posts[i]!.next = newer ? { title: newer.title, url: newer.url } : null;
    posts[i]!.previous = older ? { title: older.title, url: older.url } : null;
  }

  const postsByTag = new Map<string, PostView[]>();
  const postsByAuthor = new Map<string, PostView[]>();
  for (const p of posts) {
    for (const t of p.tags) push(postsByTag, t.slug, p);
    for (const a of p.authors) push(postsByAuthor, a.slug, p);
  }
  const pageAuthors = new Set(pages.flatMap((p) => p.authors.map((a) => a.slug)));

  const tags: TagView[] = tagRows
    .filter((t) => postsByTag.has(t.slug))
    .map((t) => ({ slug: t.slug, name: t.name, url: blogLinks.tag(t.slug), description: t.description, postCount: postsByTag.get(t.slug)!.length }))
    .sort((a, b) => a.name.localeCompare(b.name));
  const authors: AuthorView[] = authorRows
    .filter((a) => postsByAuthor.has(a.slug) || pageAuthors.has(a.slug))
    .map((a) => ({
      slug: a.slug,
      name: a.name,
      url: blogLinks.author(a.slug),
      bio: a.bio,
      website: a.website,
      location: a.location,
      profileImage: a.profile_image,
      postCount: postsByAuthor.get(a.slug)?.length ?? 0,
    }))
    .sort((a, b) => a.name.localeCompare(b.name));

  const site = { ...defaultSite, ...((siteRow?.value as Partial<SiteSettings> | undefined) ?? {}) };
  return {
    site,
    navigation: {
      primary: navRows.filter((n) => n.menu === 'primary').map(({ label, url }) => ({ label, url })),
      secondary: navRows.filter((n) => n.menu === 'secondary').map(({ label, url }) => ({ label, url })),
    },
    posts,
    pages,
    tags,
    authors,
    postsByTag,
    postsByAuthor,
    lastModified,
  };
}

function summarise(html: string, max = 200): string {
  const textContent = htmlToText(html);
  if (textContent.length <= max) return textContent;
  const cut = textContent.slice(0, max);
  return `${cut.slice(0, Math.max(cut.lastIndexOf(' '), max - 20)).trimEnd()}…`;
}

function group<R, K, V>(rows: R[], key: (r: R) => K, value: (r: R) => V): Map<K, V[]> {
  const map = new Map<K, V[]>();
  for (const r of rows) {
    const k = key(r);
    const list = map.get(k);
    if (list) list.push(value(r));
    else map.set(k, [value(r)]);
  }
  return map;
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V) {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

/** Site settings and navigation (two small queries), for pages rendered on demand. */
export async function loadSiteChrome(db: Kysely<Database>): Promise<Pick<BlogSnapshot, 'site' | 'navigation'>> {
  const siteRow = await db.selectFrom('site_settings').select('value').where('key', '=', 'site').executeTakeFirst();
  const navRows = await db.selectFrom('blog_navigation').select(['menu', 'label', 'url']).orderBy('menu').orderBy('position').execute();
  return {
    site: { ...defaultSite, ...((siteRow?.value as Partial<SiteSettings> | undefined) ?? {}) },
    navigation: {
      primary: navRows.filter((n) => n.menu === 'primary').map(({ label, url }) => ({ label, url })),
      secondary: navRows.filter((n) => n.menu === 'secondary').map(({ label, url }) => ({ label, url })),
    },
  };
}

import { createHash } from 'node:crypto';
import { blogLinks } from '@rose/core';
import type { BlogSnapshot, PostView } from './blog.view.ts';

/**
 * A fingerprint of the data behind every blog page with a dynamic path: if the key of a
 * path is unchanged, re-rendering it would produce the same HTML (for the same code).
 * Site settings and navigation are part of every key, so a change to them changes all.
 */
const postKeyCache = new WeakMap<PostView, { shared: string; key: string }>();
const cardCache = new WeakMap<PostView, string>();

export function blogPageKeys(snapshot: BlogSnapshot, perPage: number): Map<string, string> {
  const shared = hash(JSON.stringify([snapshot.site, snapshot.navigation]));
  // Post keys hash the body separately: no 10k large JSON strings at once. Views are
  // immutable, so a view kept from the previous snapshot keeps its key.
  const postKey = (p: PostView) => {
    const cached = postKeyCache.get(p);
    if (cached?.shared === shared) return cached.key;
    const { html, ...rest } = p;
    const key = createHash('sha1')
      .update(shared)
      .update(JSON.stringify([rest, p.publishedAt.getTime(), p.updatedAt.getTime()]))
      .update(html)
      .digest('base64url');
    postKeyCache.set(p, { shared, key });
    return key;
  };
  const keys = new Map<string, string>();
  // What a list shows of a post, as text, cached per view like the post keys.
  const card = (p: PostView) => {
    let text = cardCache.get(p);
    if (text === undefined) {
      text = JSON.stringify([p.slug, p.title, p.excerpt, p.publishedAt.getTime(), p.readingMinutes, p.visibility, p.featured, p.authors.map((a) => a.slug + a.name), p.featureImage, p.featureImageAlt]);
      cardCache.set(p, text);
    }
    return text;
  };
  const list = (path: (n: number) => string, posts: PostView[], extra: unknown) => {
    const pages = Math.max(1, Math.ceil(posts.length / perPage));
    const head = JSON.stringify([shared, extra, pages]);
    for (let n = 1; n <= pages; n++) {
      const h = createHash('sha1').update(head).update(String(n));
      for (let i = (n - 1) * perPage; i < Math.min(n * perPage, posts.length); i++) h.update('\u0001').update(card(posts[i]!));
      keys.set(path(n), h.digest('base64url'));
    }
  };
  // Image files are named by their content: the name is the key.
  for (const f of snapshot.mediaFiles) keys.set(f.url, f.name);
  for (const p of snapshot.posts) keys.set(p.url, postKey(p));
  for (const p of snapshot.pages) keys.set(p.url, postKey(p));
  list(blogLinks.listPage, snapshot.posts, 'index');
  // A redirect to the list's first page (rendered again with everything else when settings change).
  keys.set(blogLinks.listPageOne(), `${shared}:redirect`);
  for (const t of snapshot.tags) list((n) => blogLinks.tag(t.slug, n), snapshot.postsByTag.get(t.slug) ?? [], [t.name, t.description, t.postCount]);
  for (const a of snapshot.authors) list((n) => blogLinks.author(a.slug, n), snapshot.postsByAuthor.get(a.slug) ?? [], [a.name, a.bio, a.website, a.location, a.profileImage, a.postCount]);
  return keys;
}

function hash(text: string): string {
  return createHash('sha1').update(text).digest('base64url');
}

/** Which paths to render and which to delete, going from `before` to `after`. */
export function diffPageKeys(before: ReadonlyMap<string, string>, after: ReadonlyMap<string, string>): { render: string[]; remove: string[] } {
  const render: string[] = [];
  for (const [path, key] of after) if (before.get(path) !== key) render.push(path);
  const remove = [...before.keys()].filter((path) => !after.has(path));
  return { render, remove };
}

import type { Kysely, Transaction } from 'kysely';
import { applyImport, listGatedWithoutBody, readSetting, type ImportBatch, type ImportedAuthor, type ImportedPost, type ImportedTag, type ImportSummary } from '@rose/blog';
import { blogLinks, systemClock, type Clock } from '@rose/core';
import type { Database } from '@rose/db';
import type { GhostAdminClient } from './ghost-admin.client.ts';
import type { GhostContentClient } from './ghost-content.client.ts';
import type { GhostAuthor, GhostItemStamp, GhostNavigationItem, GhostPost, GhostSettings, GhostTag } from './ghost.types.ts';

/** What the last sync saw: the newest `updated_at` (Ghost's clock, not ours). */
export interface SyncMark {
  mark: string;
  syncedAt: string;
  /**
   * Ids of the items updated in the mark's second. Ghost filters to the second, so `>=` sees
   * them again next time; they are known already and left out unless they changed.
   */
  idsAtMark?: string[];
}
export const syncMarkKey = 'ghost.sync';

export interface SyncProgress {
  phase: 'settings' | 'tags' | 'authors' | 'posts' | 'pages' | 'ids' | 'apply';
  fetched: number;
}

export interface SyncResult extends ImportSummary {
  full: boolean;
  fetched: { posts: number; pages: number };
  mark: string | undefined;
}

/**
 * Brings the blog tables in line with Ghost. The first run (or `full`) fetches everything;
 * later runs fetch only posts and pages updated at or after the last mark (second
 * precision, so the boundary second is fetched again and de-duplicated), refresh tags and
 * authors fully, and read the id, tags and authors of every published item, so posts deleted
 * or unpublished in Ghost disappear and links changed without moving `updated_at` are
 * relinked. With the Admin API client, gated posts' members-only parts are read too.
 * Everything is fetched first and applied in one transaction: an interrupted sync leaves
 * the previous state intact. What the blog can and cannot import is decided by its one
 * import rule (`applyImport`), for sync and webhooks alike.
 *
 * @example
 * const result = await syncFromGhost({ db, client, admin, ghostUrl: config.ghost.url });
 */
export async function syncFromGhost(
  deps: {
    db: Kysely<Database>;
    client: GhostContentClient;
    /** Reads gated posts' members-only parts; required so no caller forgets it (undefined: only teasers). */
    admin: GhostAdminClient | undefined;
    ghostUrl: string;
    clock?: Clock;
  },
  opts: {
    full?: boolean;
    onProgress?: (p: SyncProgress) => void;
    /** Runs inside the sync's transaction, after the changes (e.g. to enqueue a rebuild). */
    inTransaction?: (trx: Transaction<Database>, summary: ImportSummary) => Promise<void>;
  } = {},
): Promise<SyncResult> {
  const clock = deps.clock ?? systemClock;
  const progress = opts.onProgress ?? (() => {});
  const previous = await readSetting<SyncMark>(deps.db, syncMarkKey);
  const full = Boolean(opts.full) || !previous;
  const updatedSince = full ? undefined : new Date(previous!.mark);

  progress({ phase: 'settings', fetched: 0 });
  const settings = await deps.client.settings();
  const tags = await deps.client.tags();
  progress({ phase: 'tags', fetched: tags.length });
  const authors = await deps.client.authors();
  progress({ phase: 'authors', fetched: authors.length });

  const seenAtMark = new Set(full ? [] : (previous?.idsAtMark ?? []));
  const markTime = updatedSince?.getTime();
  const isKnown = (item: GhostPost) => markTime !== undefined && item.updated_at.getTime() === markTime && seenAtMark.has(item.id);
  const allPosts = await collect(deps.client.posts(updatedSince ? { updatedSince } : {}), (n) => progress({ phase: 'posts', fetched: n }));
  const allPages = await collect(deps.client.pages(updatedSince ? { updatedSince } : {}), (n) => progress({ phase: 'pages', fetched: n }));
  const posts = allPosts.filter((p) => !isKnown(p));
  const pages = allPages.filter((p) => !isKnown(p));
  const [postStamps, pageStamps] = await Promise.all([deps.client.postIds(), deps.client.pageIds()]);
  progress({ phase: 'ids', fetched: postStamps.length + pageStamps.length });

  if (deps.admin) {
    // Gated items stored without their members-only part (GHOST_ADMIN_KEY was set since, or
    // the database was migrated): read them again, whether or not they changed.
    const missing = await listGatedWithoutBody(deps.db);
    const again = (ids: string[], stamps: GhostItemStamp[], fetched: GhostPost[]) => {
      const published = new Set(stamps.map((s) => s.id));
      const have = new Set(fetched.map((p) => p.id));
      return ids.filter((id) => published.has(id) && !have.has(id));
    };
    posts.push(...(await deps.client.postsByIds(again(missing.posts, postStamps, posts))));
    pages.push(...(await deps.client.pagesByIds(again(missing.pages, pageStamps, pages))));
  }
  const upsertPosts = [...(await toImportedPosts(posts, 'post', deps)), ...(await toImportedPosts(pages, 'page', deps))];

  // Tags and authors referenced by any published item count too: Ghost's own lists leave
  // out tags without published posts, and internal (#) tags.
  const tagMap = new Map(tags.map((t) => [t.id, t]));
  const authorMap = new Map(authors.map((a) => [a.id, a]));
  for (const p of [...posts, ...pages, ...postStamps, ...pageStamps]) {
    for (const t of p.tags) if (!tagMap.has(t.id)) tagMap.set(t.id, t);
    for (const a of p.authors) if (!authorMap.has(a.id)) authorMap.set(a.id, a);
  }

  const everything = [...allPosts, ...allPages];
  const newest = everything.reduce<Date | undefined>((max, p) => (!max || p.updated_at > max ? p.updated_at : max), undefined);
  const mark = newest ? newest.toISOString() : previous?.mark;
  const idsAtMark = newest ? everything.filter((p) => p.updated_at.getTime() === newest.getTime()).map((p) => p.id) : (previous?.idsAtMark ?? []);
  const batch: ImportBatch = {
    tags: [...tagMap.values()].map(toImportedTag),
    authors: [...authorMap.values()].map(toImportedAuthor),
    upsertPosts,
    relations: new Map([...postStamps, ...pageStamps].map((s) => [s.id, { tagSourceIds: s.tags.map((t) => t.id), authorSourceIds: s.authors.map((a) => a.id) }])),
    keepOnly: { posts: new Set(postStamps.map((p) => p.id)), pages: new Set(pageStamps.map((p) => p.id)) },
    site: toSiteSettings(settings),
    navigation: {
      primary: settings.navigation.map((n) => toNavItem(n, deps.ghostUrl)),
      secondary: settings.secondary_navigation.map((n) => toNavItem(n, deps.ghostUrl)),
    },
    ...(mark ? { settings: { [syncMarkKey]: { mark, syncedAt: clock.now().toISOString(), idsAtMark } satisfies SyncMark } } : {}),
  };
  progress({ phase: 'apply', fetched: upsertPosts.length });
  const summary = await deps.db.transaction().execute(async (trx) => {
    const applied = await applyImport(trx, batch, { clock });
    await opts.inTransaction?.(trx, applied);
    return applied;
  });
  return { ...summary, full, fetched: { posts: posts.length, pages: pages.length }, mark };
}

/**
 * Ghost posts or pages as the blog imports them. Gated ones get their whole body from the
 * Admin API when a client is given (the Content API withholds the members-only part);
 * otherwise only the teaser the Content API shows. Used by sync and webhooks alike.
 */
export async function toImportedPosts(items: GhostPost[], type: 'post' | 'page', deps: { admin: GhostAdminClient | undefined; ghostUrl: string }): Promise<ImportedPost[]> {
  const gated = items.filter((p) => p.visibility !== 'public').map((p) => p.id);
  const bodies = new Map<string, string>();
  if (deps.admin && gated.length > 0) {
    for (const b of await deps.admin.bodiesByIds(type === 'post' ? 'posts' : 'pages', gated)) {
      // A body that changed state since the Content API answered is left for the next sync.
      if (b.status === 'published') bodies.set(b.id, b.html ?? '');
    }
  }
  return items.map((p) => toImportedPost(p, type, deps.ghostUrl, bodies.get(p.id) ?? null));
}

export const toImportedTag = (t: GhostTag): ImportedTag => ({ sourceId: t.id, slug: t.slug, name: t.name, description: t.description, visibility: t.visibility });
export const toImportedAuthor = (a: GhostAuthor): ImportedAuthor => ({
  sourceId: a.id,
  slug: a.slug,
  name: a.name,
  bio: a.bio,
  profileImage: a.profile_image,
  website: a.website,
  location: a.location,
});

async function collect<T extends { id: string }>(batches: AsyncIterable<T[]>, onCount: (n: number) => void): Promise<T[]> {
  const byId = new Map<string, T>();
  for await (const batch of batches) {
    for (const item of batch) byId.set(item.id, item); // pages can overlap while Ghost changes
    onCount(byId.size);
  }
  return [...byId.values()];
}

function toImportedPost(p: GhostPost, type: 'post' | 'page', ghostUrl: string, membersHtml: string | null): ImportedPost {
  return {
    sourceId: p.id,
    sourceUuid: p.uuid,
    type,
    slug: p.slug,
    title: p.title,
    html: rewriteGhostLinks(p.html ?? '', ghostUrl),
    membersHtml: p.visibility === 'public' || membersHtml === null ? null : rewriteGhostLinks(membersHtml, ghostUrl),
    excerpt: p.custom_excerpt ?? (p.visibility === 'public' ? (p.excerpt ?? null) : null),
    featureImage: p.feature_image,
    featureImageAlt: p.feature_image_alt,
    featured: p.featured,
    visibility: p.visibility,
    publishedAt: p.published_at,
    createdAt: p.created_at,
    updatedAt: p.updated_at,
    tagSourceIds: p.tags.map((t) => t.id),
    authorSourceIds: p.authors.map((a) => a.id),
    ref: p.url ?? null,
  };
}

function toSiteSettings(s: GhostSettings) {
  return { title: s.title, description: s.description ?? '', locale: s.lang || 'en', timezone: s.timezone, ...(s.icon ? { icon: s.icon } : {}) };
}

/** Ghost's links point at Ghost's own URLs; the site serves the blog under /blog/. */
export function toSitePath(url: string, ghostUrl: string): string {
  const base = new URL(ghostUrl.endsWith('/') ? ghostUrl : `${ghostUrl}/`);
  let target: URL;
  try {
    target = new URL(url, base);
  } catch {
    return url;
  }
  if (target.origin !== base.origin || !target.pathname.startsWith(base.pathname)) return url;
  const rest = target.pathname.slice(base.pathname.length);
  if (rest.startsWith('content/') || rest.startsWith('ghost/')) return url; // images and Ghost admin stay on Ghost
  return `${blogLinks.home()}${rest}${target.search}${target.hash}`;
}

function toNavItem(n: GhostNavigationItem, ghostUrl: string) {
  return { label: n.label, url: toSitePath(n.url, ghostUrl) };
}

/** Links inside post bodies to other Ghost posts become links on this site. */
function rewriteGhostLinks(html: string, ghostUrl: string): string {
  const origin = new URL(ghostUrl).origin;
  return html.replace(/href="([^"]+)"/g, (whole, href: string) => (href.startsWith(origin) ? `href="${toSitePath(href, ghostUrl)}"` : whole));
}

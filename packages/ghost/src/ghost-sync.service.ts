import type { Kysely, Transaction } from 'kysely';
import { applyImport, readSetting, reservedSlugs, type ImportBatch, type ImportedPost, type ImportSummary } from '@rose/blog';
import { blogLinks, systemClock, type Clock } from '@rose/core';
import type { Database } from '@rose/db';
import type { GhostContentClient } from './ghost-content.client.ts';
import type { GhostNavigationItem, GhostPost, GhostSettings } from './ghost.types.ts';

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
  /** Items left out, with the reason (a slug our routes cannot serve). */
  skipped: { slug: string; reason: string }[];
  mark: string | undefined;
}

const slugPattern = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;

/**
 * Brings the blog tables in line with Ghost. The first run (or `full`) fetches everything;
 * later runs fetch only posts and pages updated at or after the last mark (second
 * precision, so the boundary second is fetched again and de-duplicated), refresh tags and
 * authors fully, and reconcile ids so posts deleted or unpublished in Ghost disappear.
 * Everything is fetched first and applied in one transaction: an interrupted sync leaves
 * the previous state intact.
 *
 * @example
 * const result = await syncFromGhost({ db, client, ghostUrl: config.ghost.url });
 */
export async function syncFromGhost(
  deps: { db: Kysely<Database>; client: GhostContentClient; ghostUrl: string; clock?: Clock },
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
  const [postIds, pageIds] = await Promise.all([deps.client.postIds(), deps.client.pageIds()]);
  progress({ phase: 'ids', fetched: postIds.length + pageIds.length });

  const skipped: SyncResult['skipped'] = [];
  const upsertPosts: ImportedPost[] = [];
  for (const [list, type] of [
    [posts, 'post'],
    [pages, 'page'],
  ] as const) {
    for (const p of list) {
      const reason = !slugPattern.test(p.slug) ? 'not a plain lowercase slug' : reservedSlugs.has(p.slug) ? "reserved for the blog's own pages" : undefined;
      if (reason) {
        skipped.push({ slug: p.slug, reason });
        continue;
      }
      upsertPosts.push(toImportedPost(p, type, deps.ghostUrl));
    }
  }
  // Tags and authors referenced by the fetched posts count too (Ghost's own lists leave
  // out tags without published posts).
  const tagMap = new Map(tags.map((t) => [t.id, t]));
  const authorMap = new Map(authors.map((a) => [a.id, a]));
  for (const p of [...posts, ...pages]) {
    for (const t of p.tags) if (!tagMap.has(t.id)) tagMap.set(t.id, t);
    for (const a of p.authors) if (!authorMap.has(a.id)) authorMap.set(a.id, a);
  }

  const everything = [...allPosts, ...allPages];
  const newest = everything.reduce<Date | undefined>((max, p) => (!max || p.updated_at > max ? p.updated_at : max), undefined);
  const mark = newest ? newest.toISOString() : previous?.mark;
  const idsAtMark = newest ? everything.filter((p) => p.updated_at.getTime() === newest.getTime()).map((p) => p.id) : (previous?.idsAtMark ?? []);
  const batch: ImportBatch = {
    tags: [...tagMap.values()]
      .filter((t) => slugPattern.test(t.slug))
      .map((t) => ({ sourceId: t.id, slug: t.slug, name: t.name, description: t.description, visibility: t.visibility })),
    authors: [...authorMap.values()]
      .filter((a) => slugPattern.test(a.slug))
      .map((a) => ({ sourceId: a.id, slug: a.slug, name: a.name, bio: a.bio, profileImage: a.profile_image, website: a.website, location: a.location })),
    upsertPosts,
    keepOnly: { posts: new Set(postIds.map((p) => p.id)), pages: new Set(pageIds.map((p) => p.id)) },
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
  return { ...summary, full, fetched: { posts: posts.length, pages: pages.length }, skipped, mark };
}

async function collect<T extends { id: string }>(batches: AsyncIterable<T[]>, onCount: (n: number) => void): Promise<T[]> {
  const byId = new Map<string, T>();
  for await (const batch of batches) {
    for (const item of batch) byId.set(item.id, item); // pages can overlap while Ghost changes
    onCount(byId.size);
  }
  return [...byId.values()];
}

export function toImportedPost(p: GhostPost, type: 'post' | 'page', ghostUrl: string): ImportedPost {
  return {
    sourceId: p.id,
    sourceUuid: p.uuid,
    type,
    slug: p.slug,
    title: p.title,
    html: rewriteGhostLinks(p.html ?? '', ghostUrl),
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
  return { title: s.title, description: s.description ?? '', locale: s.lang || 'en', timezone: s.timezone };
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

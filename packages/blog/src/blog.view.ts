import { sql, type Kysely } from 'kysely';
import { blogLinks } from '@rose/core';
import type { Database } from '@rose/db';
import { loadImages, publishedFiles, responsiveImage, type PublishedFile, type ResponsiveImage, type StoredImage } from '@rose/media';
import { loadSiteChrome, type Navigation, type SiteSettings } from '@rose/site-chrome';
import { isContentImageRef } from './content-images.ts';
import { countWords, htmlToText } from '@rose/rich-text';

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
  /** URL of the feature image: for an image the site publishes, its widest fallback file. */
  featureImage: string | null;
  featureImageAlt: string | null;
  /** The feature image's variants when the site publishes it (content images), for `<picture>`. */
  featureImageSet: ResponsiveImage | null;
  featured: boolean;
  visibility: 'public' | 'members' | 'paid' | 'tiers';
  publishedAt: Date;
  updatedAt: Date;
  readingMinutes: number;
  tags: TagRef[];
  authors: AuthorRef[];
}
export interface PostView extends PostCard {
  /**
   * What anyone may read: the whole body of a public post; for a gated post (visibility not
   * `public`) only its public teaser, '' when it has none. Members-only parts are never here:
   * they are read on demand (`readMembersContent`).
   */
  html: string;
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
  navigation: Navigation;
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
  /** Images published posts and pages use, by ref (ADR 0010). */
  images: StoredImage[];
  /** Their files, published under `/blog/images/`. */
  mediaFiles: PublishedFile[];
  /** The rows it was read from, to find what changed since (`blogChangesSince`). */
  versions?: BlogVersions;
}

/**
 * What the rows a snapshot was read from looked like: each post's row version (its `xmin`
 * and those of its tag and author links: any write makes new ones, whoever wrote) and one
 * fingerprint of the content of the tables every page shows. Read before the data, so a change made while
 * the snapshot is read shows as a change next time rather than being missed.
 */
export interface BlogVersions {
  /** Every post and page row (drafts too) by id: its slug and version. */
  posts: Map<string, { slug: string; version: string }>;
  /** Site settings, navigation, tags, authors and images, as one fingerprint. */
  shared: string;
}

/** What changed since a snapshot was read: the slugs to refresh, or something every page shows. */
export interface BlogChanges {
  slugs: string[];
  /** Settings, navigation, tags, authors or images changed (or the snapshot has no versions): read it all again. */
  shared: boolean;
  /** The versions compared, for `refreshBlogSnapshot` (read before the rows it reads). */
  versions?: BlogVersions;
}


/**
 * Everything the static blog shows, read in a handful of queries (no N+1 at any size).
 * Only published posts and pages; members-only parts are left out (gated posts carry their
 * public teaser only).
 */
export async function loadBlogSnapshot(db: Kysely<Database>): Promise<BlogSnapshot> {
  // One query at a time: on the embedded database, concurrent queries made PGlite's WASM
  // heap spike by ~500 MiB (measured at 3,000 posts); sequential costs nothing noticeable.
  const versions = await readBlogVersions(db);
  const chrome = await loadSiteChrome(db);
  const rows = await selectAllPostRows(db);
  const { tagRows, authorRows } = await loadTagsAndAuthors(db);
  const postTags = await db.selectFrom('blog_post_tags').select(['post_id', 'tag_id']).orderBy('post_id').orderBy('sort_order').execute();
  const postAuthors = await db.selectFrom('blog_post_authors').select(['post_id', 'author_id']).orderBy('post_id').orderBy('sort_order').execute();
  const images = await loadPublishedImages(db);
  const toView = viewMaker(tagRows, authorRows, group(postTags, (r) => r.post_id, (r) => r.tag_id), group(postAuthors, (r) => r.post_id, (r) => r.author_id), images);
  return { ...assembleSnapshot(chrome, rows.map(toView).sort(newestFirst), tagRows, authorRows, images), versions };
}

/**
 * The posts and pages whose rows changed since `previous` was read (edited, added,
 * unpublished, deleted or renamed: old and new slug), found by comparing row versions — two
 * small queries at any size, whatever wrote the change (a webhook, `rose` commands, SQL).
 *
 * @example
 * const changes = await blogChangesSince(db, live);
 * const next = changes.shared ? await loadBlogSnapshot(db) : await refreshBlogSnapshot(db, live, changes.slugs);
 */
export async function blogChangesSince(db: Kysely<Database>, previous: BlogSnapshot): Promise<BlogChanges> {
  if (!previous.versions) return { slugs: [], shared: true };
  const now = await readBlogVersions(db);
  if (now.shared !== previous.versions.shared) return { slugs: [], shared: true, versions: now };
  const slugs = new Set<string>();
  for (const [id, row] of now.posts) {
    const before = previous.versions.posts.get(id);
    if (before?.version === row.version) continue;
    slugs.add(row.slug);
    if (before) slugs.add(before.slug);
  }
  for (const [id, row] of previous.versions.posts) if (!now.posts.has(id)) slugs.add(row.slug);
  return { slugs: [...slugs].sort(), shared: false, versions: now };
}

function mergeVersions(previous: BlogVersions, now: BlogVersions, reread: ReadonlySet<string>): BlogVersions {
  const posts = new Map<string, { slug: string; version: string }>();
  for (const [id, row] of now.posts) {
    const kept = reread.has(row.slug) ? row : previous.posts.get(id);
    if (kept) posts.set(id, kept);
  }
  // A row deleted since, whose post this refresh did not drop, must still show as gone.
  for (const [id, row] of previous.posts) if (!now.posts.has(id) && !reread.has(row.slug)) posts.set(id, row);
  return { posts, shared: previous.shared };
}

async function readBlogVersions(db: Kysely<Database>): Promise<BlogVersions> {
  // xmin is the transaction that wrote a row version: an update or a re-insert changes it.
  const rows = await sql<{ id: string; slug: string; version: string }>`
    select p.id, p.slug, p.xmin::text || ':' || coalesce(t.v, '') || ':' || coalesce(a.v, '') as version
    from blog_posts p
    left join (select post_id, string_agg(xmin::text, ',' order by xmin::text) as v from blog_post_tags group by post_id) t on t.post_id = p.id
    left join (select post_id, string_agg(xmin::text, ',' order by xmin::text) as v from blog_post_authors group by post_id) a on a.post_id = p.id`.execute(db);
  // The shared tables by content, the columns pages show: a Ghost sync re-writes a post's
  // authors and tags with every delivery (and its sync mark, another site_settings row), and
  // an unchanged row must not count as a change (every webhook's rebuild read everything again).
  const shared = await sql<{ fingerprint: string }>`
    select md5(concat_ws('|',
      (select string_agg(row(key, value)::text, ',' order by key) from site_settings where key = 'site'),
      (select string_agg(row(menu, position, label, url)::text, ',' order by menu, position, label) from blog_navigation),
      (select string_agg(row(id, slug, name, description, visibility)::text, ',' order by id) from blog_tags),
      (select string_agg(row(id, slug, name, bio, website, location, profile_image)::text, ',' order by id) from blog_authors),
      (select string_agg(row(ref, source, source_hash, width, height, variants)::text, ',' order by ref) from media_images)
    )) as fingerprint`.execute(db);
  return { posts: new Map(rows.rows.map((r) => [r.id, { slug: r.slug, version: r.version }])), shared: shared.rows[0]!.fingerprint };
}

/**
 * The snapshot after some posts changed: re-reads only the rows of `changedSlugs` (added,
 * edited, unpublished or deleted) and reuses every other post's view from `previous`, so a
 * one-post edit costs a few small queries at any size. Valid only when nothing else changed
 * since `previous` was read; site settings, navigation, tags and authors are read afresh
 * (they are small), and a change to tags or authors themselves needs `loadBlogSnapshot`.
 * `versionsNow`: the versions `blogChangesSince` read just before (saves reading them again).
 */
export async function refreshBlogSnapshot(db: Kysely<Database>, previous: BlogSnapshot, changedSlugs: readonly string[], versionsNow?: BlogVersions): Promise<BlogSnapshot> {
  if (changedSlugs.length === 0) return previous;
  // Versions as of before this read, for the next `blogChangesSince`: the re-read rows' new
  // ones, every other post's and the shared tables' as they were (this refresh may not be
  // all that changed; what it did not read must still show as changed next time). A
  // snapshot without versions (made by hand) stays without.
  const versions = previous.versions ? mergeVersions(previous.versions, versionsNow ?? (await readBlogVersions(db)), new Set(changedSlugs)) : undefined;
  // Kept views carry their images: when one of those changed, read everything again.
  const images = await loadPublishedImages(db);
  if (keptImagesChanged(previous, images, changedSlugs)) return loadBlogSnapshot(db);
  const changed = new Set(changedSlugs);
  const chrome = await loadSiteChrome(db);
  const rows = await selectPostRows(db).where('slug', 'in', [...changed]).execute();
  const { tagRows, authorRows } = await loadTagsAndAuthors(db);
  const ids = rows.map((r) => r.id);
  const postTags = ids.length ? await db.selectFrom('blog_post_tags').select(['post_id', 'tag_id']).where('post_id', 'in', ids).orderBy('post_id').orderBy('sort_order').execute() : [];
  const postAuthors = ids.length ? await db.selectFrom('blog_post_authors').select(['post_id', 'author_id']).where('post_id', 'in', ids).orderBy('post_id').orderBy('sort_order').execute() : [];
  const toView = viewMaker(tagRows, authorRows, group(postTags, (r) => r.post_id, (r) => r.tag_id), group(postAuthors, (r) => r.post_id, (r) => r.author_id), images);
  const kept = [...previous.posts, ...previous.pages].filter((v) => !changed.has(v.slug));
  const views = [...kept, ...rows.map(toView)].sort(newestFirst);
  return { ...assembleSnapshot(chrome, views, tagRows, authorRows, images), ...(versions ? { versions } : {}) };
}

/** Images of content/images/ that published posts and pages refer to. */
async function loadPublishedImages(db: Kysely<Database>): Promise<StoredImage[]> {
  const refs = await db
    .selectFrom('blog_posts')
    .select('feature_image')
    .distinct()
    .where('status', '=', 'published')
    .where('published_at', 'is not', null)
    .where('feature_image', 'like', '/images/%')
    .execute();
  return loadImages(db, refs.flatMap((r) => (r.feature_image && isContentImageRef(r.feature_image) ? [r.feature_image] : [])));
}

function selectPostRows(db: Kysely<Database>) {
  return (
    db
      .selectFrom('blog_posts')
      .select(['id', 'type', 'slug', 'title', 'html', 'excerpt', 'feature_image', 'feature_image_alt', 'featured', 'visibility', 'published_at', 'updated_at'])
      // Reading time counts the members-only part too; its text never leaves the database here.
      .select(sql<number>`(select count(*) from regexp_matches(coalesce(regexp_replace(members_html, '<[^>]*>', ' ', 'g'), ''), '\S+', 'g'))::int`.as('members_words'))
      .where('status', '=', 'published')
      .where('published_at', 'is not', null)
      .orderBy('published_at', 'desc')
      .orderBy('slug')
  );
}
type PostRow = Awaited<ReturnType<ReturnType<typeof selectPostRows>['execute']>>[number];

/**
 * Every published post's row, a thousand at a time (by id; the caller sorts): the embedded
 * database holds a whole result in its WASM heap, which never shrinks, so one query for
 * 10,000 posts' HTML grew the process by ~400 MiB for the rest of its life.
 */
async function selectAllPostRows(db: Kysely<Database>): Promise<PostRow[]> {
  const chunk = 1000;
  const rows: PostRow[] = [];
  for (let last: string | undefined; ; ) {
    let query = selectPostRows(db).clearOrderBy().orderBy('id').limit(chunk);
    if (last !== undefined) query = query.where('id', '>', last);
    const batch = await query.execute();
    rows.push(...batch);
    if (batch.length < chunk) return rows;
    last = batch.at(-1)!.id;
  }
}

async function loadTagsAndAuthors(db: Kysely<Database>) {
  const tagRows = await db.selectFrom('blog_tags').select(['id', 'slug', 'name', 'description']).where('visibility', '=', 'public').execute();
  const authorRows = await db.selectFrom('blog_authors').select(['id', 'slug', 'name', 'bio', 'website', 'location', 'profile_image']).execute();
  return { tagRows, authorRows };
}
type TagRow = Awaited<ReturnType<typeof loadTagsAndAuthors>>['tagRows'][number];
type AuthorRow = Awaited<ReturnType<typeof loadTagsAndAuthors>>['authorRows'][number];

/** Same order as the posts query: newest first, then by slug. */
function newestFirst(a: PostView, b: PostView): number {
  return b.publishedAt.getTime() - a.publishedAt.getTime() || (a.slug < b.slug ? -1 : a.slug > b.slug ? 1 : 0);
}

/**
 * Whether a post or page `refresh` keeps shows an image that changed since `previous`: one
 * whose bytes changed or that is gone, or a reference that now names a stored image.
 */
function keptImagesChanged(previous: BlogSnapshot, images: readonly StoredImage[], changedSlugs: readonly string[]): boolean {
  const current = new Map(images.map((i) => [i.ref, i.sourceHash]));
  const changed = new Set(changedSlugs);
  const kept = [...previous.posts, ...previous.pages].filter((v) => !changed.has(v.slug) && v.featureImage);
  const stale = new Set(previous.images.filter((i) => current.get(i.ref) !== i.sourceHash).map((i) => responsiveImage(i, blogLinks.image).src));
  return kept.some((v) => stale.has(v.featureImage!) || (!v.featureImageSet && current.has(v.featureImage!)));
}

function viewMaker(tagRows: TagRow[], authorRows: AuthorRow[], tagIdsByPost: Map<string, string[]>, authorIdsByPost: Map<string, string[]>, images: readonly StoredImage[]) {
  const tagsById = new Map(tagRows.map((t) => [t.id, t]));
  const authorsById = new Map(authorRows.map((a) => [a.id, a]));
  const imageSets = new Map(images.map((i) => [i.ref, responsiveImage(i, blogLinks.image)]));
  return (row: PostRow): PostView => {
    const tags = (tagIdsByPost.get(row.id) ?? []).flatMap((id) => {
      const t = tagsById.get(id);
      return t ? [{ slug: t.slug, name: t.name, url: blogLinks.tag(t.slug) }] : [];
    });
    const authors = (authorIdsByPost.get(row.id) ?? []).flatMap((id) => {
      const a = authorsById.get(id);
      return a ? [{ slug: a.slug, name: a.name, url: blogLinks.author(a.slug) }] : [];
    });
    const imageSet = row.feature_image ? (imageSets.get(row.feature_image) ?? null) : null;
    return {
      type: row.type,
      slug: row.slug,
      title: row.title,
      url: blogLinks.post(row.slug),
      excerpt: row.excerpt ?? summarise(row.html),
      featureImage: imageSet ? imageSet.src : row.feature_image,
      featureImageAlt: row.feature_image_alt,
      featureImageSet: imageSet,
      featured: row.featured,
      visibility: row.visibility,
      publishedAt: row.published_at!,
      updatedAt: row.updated_at,
      readingMinutes: Math.max(1, Math.round((countWords(row.html) + row.members_words) / 265)),
      tags,
      authors,
      html: row.html,
      previous: null,
      next: null,
    };
  };
}

/**
 * Lists, neighbours and counts from the post views (newest first). A view whose neighbours
 * are unchanged is kept as the same object, so keys cached per view stay valid.
 */
function assembleSnapshot(chrome: Pick<BlogSnapshot, 'site' | 'navigation'>, views: PostView[], tagRows: TagRow[], authorRows: AuthorRow[], images: StoredImage[]): BlogSnapshot {
  const posts: PostView[] = [];
  const pages: PostView[] = [];
  let lastModified = new Date(0);
  for (const v of views) {
    if (v.updatedAt > lastModified) lastModified = v.updatedAt;
    (v.type === 'post' ? posts : pages).push(v);
  }
  // posts are newest first: "next" is the newer one, "previous" the older one.
  for (let i = 0; i < posts.length; i++) {
    const newer = posts[i - 1];
    const older = posts[i + 1];
    const next = newer ? { title: newer.title, url: newer.url } : null;
    const previous = older ? { title: older.title, url: older.url } : null;
    const p = posts[i]!;
    if (!sameLink(p.next, next) || !sameLink(p.previous, previous)) posts[i] = { ...p, next, previous };
  }
  for (let i = 0; i < pages.length; i++) if (pages[i]!.next || pages[i]!.previous) pages[i] = { ...pages[i]!, next: null, previous: null };

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

  const mediaFiles = images.flatMap((i) => publishedFiles(i, blogLinks.image));
  return { ...chrome, posts, pages, tags, authors, postsByTag, postsByAuthor, lastModified, images, mediaFiles };
}

function sameLink(a: { title: string; url: string } | null, b: { title: string; url: string } | null): boolean {
  return a === b || (a !== null && b !== null && a.title === b.title && a.url === b.url);
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

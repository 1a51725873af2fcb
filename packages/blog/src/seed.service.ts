import type { Kysely, Transaction } from 'kysely';
import { ContentError, RoseError, systemClock, type Clock } from '@rose/core';
import type { Database } from '@rose/db';
import { insertRelations, loadRelations, replaceNavigation, sameFields, sameList, upsertSetting } from './blog.repository.ts';
import type { ContentBundle, ContentPost } from './content-loader.ts';
import { replaceImages, type ImageInput } from '@rose/media';

export interface SeedCounts {
  added: number;
  updated: number;
  unchanged: number;
  removed: number;
}
export interface SeedSummary {
  authors: SeedCounts;
  tags: SeedCounts;
  posts: SeedCounts;
  pages: SeedCounts;
  navigation: { changed: boolean; items: number };
  site: { changed: boolean };
  /** Images of content/images/ that posts refer to (when the seed was given them). */
  images: SeedCounts;
  /** True when the database already matched the content. */
  unchanged: boolean;
}

const counts = (): SeedCounts => ({ added: 0, updated: 0, unchanged: 0, removed: 0 });
const CHUNK = 500;

/** More removals than this in one seed need `prune: true` (`rose db seed --prune`). */
export const seedPruneLimit = 3;

/** What a seed would remove: content-sourced rows whose slugs the bundle no longer has. */
export interface SeedRemovals {
  posts: string[];
  pages: string[];
  tags: string[];
  authors: string[];
}

/** Thrown (and the transaction rolled back) when a seed would remove too much unasked. */
export class SeedPruneNeededError extends RoseError {
  readonly removals: SeedRemovals;
  constructor(removals: SeedRemovals) {
    const total = removals.posts.length + removals.pages.length + removals.tags.length + removals.authors.length;
    const shown = (slugs: string[]) => (slugs.length > 10 ? `${slugs.slice(0, 10).join(', ')} and ${slugs.length - 10} more` : slugs.join(', '));
    const lines = (['posts', 'pages', 'tags', 'authors'] as const)
      .filter((kind) => removals[kind].length > 0)
      .map((kind) => `  ${kind} (${removals[kind].length}): ${shown(removals[kind])}`);
    super({
      code: 'seed-needs-prune',
      title: 'Seeding would remove content',
      message: `The content folder no longer has ${total} items the database has from it; seeding would remove them:\n${lines.join('\n')}`,
      hint: `Nothing was changed. Check that the folder is the right one; to remove more than ${seedPruneLimit} items, run again with --prune.`,
    });
    this.name = 'SeedPruneNeededError';
    this.removals = removals;
  }
}

async function plannedRemovals(trx: Transaction<Database>, bundle: ContentBundle): Promise<SeedRemovals> {
  const keep = (kind: 'post' | 'page') => new Set(bundle.posts.filter((p) => p.type === kind).map((p) => p.slug));
  const posts = await trx.selectFrom('blog_posts').select(['slug', 'type']).where('source', '=', 'content').orderBy('slug').execute();
  const tags = await trx.selectFrom('blog_tags').select('slug').where('source', '=', 'content').orderBy('slug').execute();
  const authors = await trx.selectFrom('blog_authors').select('slug').where('source', '=', 'content').orderBy('slug').execute();
  const keptPosts = keep('post');
  const keptPages = keep('page');
  // A slug that moves between posts/ and pages/ is updated, not removed.
  const kept = new Set([...keptPosts, ...keptPages]);
  const tagSlugs = new Set(bundle.tags.map((t) => t.slug));
  const authorSlugs = new Set(bundle.authors.map((a) => a.slug));
  return {
    posts: posts.filter((p) => p.type === 'post' && !kept.has(p.slug)).map((p) => p.slug),
    pages: posts.filter((p) => p.type === 'page' && !kept.has(p.slug)).map((p) => p.slug),
    tags: tags.filter((t) => !tagSlugs.has(t.slug)).map((t) => t.slug),
    authors: authors.filter((a) => !authorSlugs.has(a.slug)).map((a) => a.slug),
  };
}

/**
 * Makes the database match a content bundle: inserts what is new, updates what changed,
 * removes content-sourced rows no longer in the bundle, and leaves rows synced from Ghost
 * alone. One transaction: on any error nothing changes. Idempotent: a second run with the
 * same bundle writes nothing and reports `unchanged: true`. Removing more than
 * `seedPruneLimit` rows needs `prune: true`; otherwise SeedPruneNeededError lists them.
 *
 * @example
 * const summary = await seedContent(db, await loadContent('content'));
 */
export async function seedContent(db: Kysely<Database>, bundle: ContentBundle, deps: { clock?: Clock; prune?: boolean; images?: readonly ImageInput[] } = {}): Promise<SeedSummary> {
  const clock = deps.clock ?? systemClock;
  return db.transaction().execute(async (trx) => {
    const summary: SeedSummary = {
      authors: counts(),
      tags: counts(),
      posts: counts(),
      pages: counts(),
      navigation: { changed: false, items: 0 },
      site: { changed: false },
      images: counts(),
      unchanged: true,
    };
    const now = clock.now();
    const removals = await plannedRemovals(trx, bundle);
    const removing = removals.posts.length + removals.pages.length + removals.tags.length + removals.authors.length;
    if (removing > seedPruneLimit && !deps.prune) throw new SeedPruneNeededError(removals);

    summary.site.changed = await upsertSetting(trx, 'site', bundle.site, now);
    // Images first: the posts that refer to them are stored with them, in this transaction.
    if (deps.images) summary.images = await replaceImages(trx, 'content', deps.images, now);
    const authorIds = await seedAuthors(trx, bundle, summary.authors, now);
    const tagIds = await seedTags(trx, bundle, summary.tags, now);
    await seedPosts(trx, bundle, summary, authorIds, tagIds, now);
    summary.navigation = { changed: await replaceNavigation(trx, bundle.navigation), items: bundle.navigation.primary.length + bundle.navigation.secondary.length };

    const c = [summary.authors, summary.tags, summary.posts, summary.pages, summary.images];
    summary.unchanged = !summary.site.changed && !summary.navigation.changed && c.every((x) => x.added + x.updated + x.removed === 0);
    return summary;
  });
}

async function seedAuthors(trx: Transaction<Database>, bundle: ContentBundle, c: SeedCounts, now: Date): Promise<Map<string, string>> {
  return seedNamedRows(trx, 'blog_authors', 'authors.json', 'author', bundle.authors.map((a) => ({
    slug: a.slug,
    fields: { name: a.name, bio: a.bio, website: a.website, location: a.location, profile_image: a.profileImage },
  })), c, now);
}

async function seedTags(trx: Transaction<Database>, bundle: ContentBundle, c: SeedCounts, now: Date): Promise<Map<string, string>> {
  return seedNamedRows(trx, 'blog_tags', 'tags.json', 'tag', bundle.tags.map((t) => ({ slug: t.slug, fields: { name: t.name, description: t.description } })), c, now);
}

/**
 * Authors and tags are seeded the same way: insert new slugs, update changed fields,
 * remove content-sourced rows no longer listed, and refuse to touch rows synced from Ghost.
 * Returns the id of every listed slug.
 */
async function seedNamedRows(
  trx: Transaction<Database>,
  table: 'blog_authors' | 'blog_tags',
  file: string,
  noun: string,
  items: { slug: string; fields: Record<string, string | null> }[],
  c: SeedCounts,
  now: Date,
): Promise<Map<string, string>> {
  // The two tables share the columns used here; kysely cannot express that generically.
  const t = trx as unknown as Transaction<Pick<Database, 'blog_tags'>>;
  const name = table as 'blog_tags';
  const existing = (await t.selectFrom(name).selectAll().execute()) as unknown as ({ id: string; slug: string; source: string } & Record<string, unknown>)[];
  const bySlug = new Map(existing.map((r) => [r.slug, r]));
  const ids = new Map<string, string>();
  for (const item of items) {
    const current = bySlug.get(item.slug);
    if (!current) {
      const inserted = await t
        .insertInto(name)
        .values({ slug: item.slug, ...(item.fields as { name: string }), source: 'content', created_at: now, updated_at: now })
        .returning('id')
        .executeTakeFirstOrThrow();
      ids.set(item.slug, inserted.id);
      c.added++;
      continue;
    }
    if (current.source !== 'content') throw new ContentError(file, `${noun} "${item.slug}" already exists from Ghost; content/ cannot change it`);
    ids.set(item.slug, current.id);
    if (sameFields(current, item.fields)) c.unchanged++;
    else {
      await t.updateTable(name).set({ ...(item.fields as { name: string }), updated_at: now }).where('id', '=', current.id).execute();
      c.updated++;
    }
  }
  const wanted = new Set(items.map((i) => i.slug));
  const gone = existing.filter((r) => r.source === 'content' && !wanted.has(r.slug)).map((r) => r.id);
  if (gone.length > 0) {
    await t.deleteFrom(name).where('id', 'in', gone).execute();
    c.removed += gone.length;
  }
  return ids;
}

async function seedPosts(
  trx: Transaction<Database>,
  bundle: ContentBundle,
  summary: SeedSummary,
  authorIds: Map<string, string>,
  tagIds: Map<string, string>,
  now: Date,
): Promise<void> {
  const existing = await trx
    .selectFrom('blog_posts')
    .select(['id', 'slug', 'type', 'title', 'html', 'members_html', 'excerpt', 'feature_image', 'feature_image_alt', 'status', 'visibility', 'featured', 'published_at', 'updated_at', 'source', 'source_ref'])
    .execute();
  const bySlug = new Map(existing.map((p) => [p.slug, p]));
  const relations = await loadRelations(trx);

  const fresh: ContentPost[] = [];
  for (const p of bundle.posts) {
    const c = p.type === 'post' ? summary.posts : summary.pages;
    const current = bySlug.get(p.slug);
    if (!current) {
      fresh.push(p);
      c.added++;
      continue;
    }
    if (current.source !== 'content') throw new ContentError(p.file, `slug "${p.slug}" already belongs to a post synced from Ghost`);
    const publishedAt = p.publishedAt ?? current.published_at ?? (p.status === 'published' ? now : null);
    const row = {
      type: p.type,
      title: p.title,
      html: p.html,
      members_html: p.membersHtml,
      excerpt: p.excerpt,
      feature_image: p.featureImage,
      feature_image_alt: p.featureImageAlt,
      status: p.status,
      visibility: p.visibility,
      featured: p.featured,
      published_at: publishedAt,
      source_ref: p.file,
    };
    const rel = relations.get(current.id) ?? { tags: [], authors: [] };
    const wantTags = p.tags.map((s) => tagIds.get(s)!);
    const wantAuthors = p.authors.map((s) => authorIds.get(s)!);
    const sameRel = sameList(rel.tags, wantTags) && sameList(rel.authors, wantAuthors);
    const explicitUpdated = p.updatedAt && current.updated_at.getTime() !== p.updatedAt.getTime();
    if (sameFields(current, row) && sameRel && !explicitUpdated) {
      c.unchanged++;
      continue;
    }
    await trx
      .updateTable('blog_posts')
      .set({ ...row, updated_at: p.updatedAt ?? now })
      .where('id', '=', current.id)
      .execute();
    if (!sameRel) {
      await trx.deleteFrom('blog_post_tags').where('post_id', '=', current.id).execute();
      await trx.deleteFrom('blog_post_authors').where('post_id', '=', current.id).execute();
      await insertRelations(trx, [{ id: current.id, tags: wantTags, authors: wantAuthors }]);
    }
    c.updated++;
  }

  for (let i = 0; i < fresh.length; i += CHUNK) {
    const chunk = fresh.slice(i, i + CHUNK);
    const inserted = await trx
      .insertInto('blog_posts')
      .values(
        chunk.map((p) => {
          const publishedAt = p.publishedAt ?? (p.status === 'published' ? now : null);
          return {
            type: p.type,
            slug: p.slug,
            title: p.title,
            html: p.html,
            members_html: p.membersHtml,
            excerpt: p.excerpt,
            feature_image: p.featureImage,
            feature_image_alt: p.featureImageAlt,
            status: p.status,
            visibility: p.visibility,
            featured: p.featured,
            published_at: publishedAt,
            created_at: publishedAt ?? now,
            updated_at: p.updatedAt ?? publishedAt ?? now,
            source: 'content' as const,
            source_ref: p.file,
          };
        }),
      )
      .returning(['id', 'slug'])
      .execute();
    const idBySlug = new Map(inserted.map((r) => [r.slug, r.id]));
    await insertRelations(
      trx,
      chunk.map((p) => ({ id: idBySlug.get(p.slug)!, tags: p.tags.map((s) => tagIds.get(s)!), authors: p.authors.map((s) => authorIds.get(s)!) })),
    );
  }

  const wanted = new Set(bundle.posts.map((p) => p.slug));
  const gone = existing.filter((p) => p.source === 'content' && !wanted.has(p.slug));
  if (gone.length > 0) {
    await trx.deleteFrom('blog_posts').where('id', 'in', gone.map((p) => p.id)).execute();
    for (const p of gone) (p.type === 'post' ? summary.posts : summary.pages).removed++;
  }
}

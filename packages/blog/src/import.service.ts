import type { Kysely, Transaction } from 'kysely';
import { systemClock, type Clock } from '@rose/core';
import type { Database, PostVisibility } from '@rose/db';
import type { SiteSettings } from './content-loader.ts';
import { replaceNavigation, sameFields, sameList, upsertSetting } from './blog.repository.ts';
import { sanitizePostHtml } from './markdown.ts';

/** An author as an external source (Ghost) describes it; `sourceId` is the source's id. */
export interface ImportedAuthor {
  sourceId: string;
  slug: string;
  name: string;
  bio: string | null;
  profileImage: string | null;
  website: string | null;
  location: string | null;
}
export interface ImportedTag {
  sourceId: string;
  slug: string;
  name: string;
  description: string | null;
  visibility: 'public' | 'internal';
}
export interface ImportedPost {
  sourceId: string;
  sourceUuid: string | null;
  type: 'post' | 'page';
  slug: string;
  title: string;
  /** Raw HTML from the source; sanitised here before it is stored. */
  html: string;
  excerpt: string | null;
  featureImage: string | null;
  featureImageAlt: string | null;
  featured: boolean;
  visibility: PostVisibility;
  publishedAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
  /** Source ids, in order (the first tag is the primary tag). */
  tagSourceIds: string[];
  authorSourceIds: string[];
  /** Where it came from, for messages (e.g. the post's URL in Ghost). */
  ref: string | null;
}

export interface ImportBatch {
  /** When given, replaces all Ghost-sourced authors (Ghost has no updated_at for them). */
  authors?: ImportedAuthor[];
  tags?: ImportedTag[];
  /** Adds or updates these without removing others (a single post arriving by webhook). */
  mergeAuthors?: ImportedAuthor[];
  mergeTags?: ImportedTag[];
  upsertPosts?: ImportedPost[];
  /** Ghost-sourced posts/pages whose source id is not in this set are removed (reconcile). */
  keepOnly?: { posts: ReadonlySet<string>; pages: ReadonlySet<string> };
  /** Individual removals (a webhook saying a post was deleted or unpublished). */
  removeSourceIds?: string[];
  site?: SiteSettings;
  navigation?: { primary: { label: string; url: string }[]; secondary: { label: string; url: string }[] };
  /** Extra site_settings rows written in the same transaction (e.g. the sync mark). */
  settings?: Record<string, unknown>;
}

export interface ImportSummary {
  added: number;
  updated: number;
  unchanged: number;
  removed: number;
  /** Slugs whose pages must be rebuilt (added, changed or removed posts/pages). */
  changedSlugs: string[];
  /** Tags, authors, navigation or site settings changed: every page may show them. */
  sharedChanged: boolean;
}

/**
 * Applies a batch from an external source (Ghost) to the blog tables in one transaction.
 * A Ghost row may take over a slug first loaded from `content/`. HTML is sanitised.
 * Pass an open transaction to make it part of a larger unit of work (the outbox job).
 */
export async function applyImport(db: Kysely<Database> | Transaction<Database>, batch: ImportBatch, deps: { clock?: Clock } = {}): Promise<ImportSummary> {
  const run = (trx: Transaction<Database>) => applyInTransaction(trx, batch, deps.clock ?? systemClock);
  return db.isTransaction ? run(db as Transaction<Database>) : db.transaction().execute(run);
}

async function applyInTransaction(trx: Transaction<Database>, batch: ImportBatch, clock: Clock): Promise<ImportSummary> {
  const now = clock.now();
  const summary: ImportSummary = { added: 0, updated: 0, unchanged: 0, removed: 0, changedSlugs: [], sharedChanged: false };

  const authors = batch.authors ?? batch.mergeAuthors;
  const tags = batch.tags ?? batch.mergeTags;
  if (authors) summary.sharedChanged = (await upsertGhostRows(trx, 'blog_authors', authors.map(authorRow), now, Boolean(batch.authors))) || summary.sharedChanged;
  if (tags) summary.sharedChanged = (await upsertGhostRows(trx, 'blog_tags', tags.map(tagRow), now, Boolean(batch.tags))) || summary.sharedChanged;

  const authorIds = new Map((await trx.selectFrom('blog_authors').select(['id', 'ghost_id']).where('ghost_id', 'is not', null).execute()).map((a) => [a.ghost_id!, a.id]));
  const tagIds = new Map((await trx.selectFrom('blog_tags').select(['id', 'ghost_id']).where('ghost_id', 'is not', null).execute()).map((t) => [t.ghost_id!, t.id]));

  for (const p of batch.upsertPosts ?? []) {
    const row = {
      type: p.type,
      slug: p.slug,
      title: p.title,
      html: sanitizePostHtml(p.html),
      excerpt: p.excerpt,
      feature_image: p.featureImage,
      feature_image_alt: p.featureImageAlt,
      status: 'published' as const,
      visibility: p.visibility,
      featured: p.featured,
      published_at: p.publishedAt,
      created_at: p.createdAt,
      updated_at: p.updatedAt,
      source: 'ghost' as const,
      source_ref: p.ref,
      ghost_id: p.sourceId,
      ghost_uuid: p.sourceUuid,
    };
    const wantTags = p.tagSourceIds.flatMap((id) => (tagIds.has(id) ? [tagIds.get(id)!] : []));
    const wantAuthors = p.authorSourceIds.flatMap((id) => (authorIds.has(id) ? [authorIds.get(id)!] : []));
    const existing =
      (await trx.selectFrom('blog_posts').select(['id', 'slug', 'updated_at', 'title', 'html', 'visibility']).where('ghost_id', '=', p.sourceId).executeTakeFirst()) ??
      (await trx.selectFrom('blog_posts').select(['id', 'slug', 'updated_at', 'title', 'html', 'visibility']).where('slug', '=', p.slug).executeTakeFirst());
    let postId: string;
    if (!existing) {
      postId = (await trx.insertInto('blog_posts').values(row).returning('id').executeTakeFirstOrThrow()).id;
      summary.added++;
      summary.changedSlugs.push(p.slug);
    } else {
      postId = existing.id;
      const currentRel = await relationsOf(trx, postId);
      const same =
        existing.updated_at.getTime() === p.updatedAt.getTime() &&
        existing.slug === p.slug &&
        sameList(currentRel.tags, wantTags) &&
        sameList(currentRel.authors, wantAuthors);
      if (same) {
        summary.unchanged++;
        continue;
      }
      if (existing.slug !== p.slug) summary.changedSlugs.push(existing.slug);
      const { created_at: _created, ...changes } = row;
      await trx.updateTable('blog_posts').set(changes).where('id', '=', postId).execute();
      summary.updated++;
      summary.changedSlugs.push(p.slug);
    }
    await trx.deleteFrom('blog_post_tags').where('post_id', '=', postId).execute();
    await trx.deleteFrom('blog_post_authors').where('post_id', '=', postId).execute();
    if (wantTags.length) await trx.insertInto('blog_post_tags').values(wantTags.map((tag_id, sort_order) => ({ post_id: postId, tag_id, sort_order }))).execute();
    if (wantAuthors.length) await trx.insertInto('blog_post_authors').values(wantAuthors.map((author_id, sort_order) => ({ post_id: postId, author_id, sort_order }))).execute();
  }

  const removals: { id: string; slug: string }[] = [];
  if (batch.keepOnly) {
    const ghostRows = await trx.selectFrom('blog_posts').select(['id', 'slug', 'type', 'ghost_id']).where('source', '=', 'ghost').execute();
    for (const r of ghostRows) {
      const keep = r.type === 'post' ? batch.keepOnly.posts : batch.keepOnly.pages;
      if (!keep.has(r.ghost_id!)) removals.push(r);
    }
  }
  if (batch.removeSourceIds?.length) {
    removals.push(...(await trx.selectFrom('blog_posts').select(['id', 'slug']).where('ghost_id', 'in', batch.removeSourceIds).execute()));
  }
  if (removals.length) {
    await trx.deleteFrom('blog_posts').where('id', 'in', removals.map((r) => r.id)).execute();
    summary.removed = removals.length;
    summary.changedSlugs.push(...removals.map((r) => r.slug));
  }

  if (batch.site) summary.sharedChanged = (await upsertSetting(trx, 'site', batch.site, now)) || summary.sharedChanged;
  if (batch.navigation) summary.sharedChanged = (await replaceNavigation(trx, batch.navigation)) || summary.sharedChanged;
  for (const [key, value] of Object.entries(batch.settings ?? {})) await upsertSetting(trx, key, value, now);
  summary.changedSlugs = [...new Set(summary.changedSlugs)];
  return summary;
}

/**
 * Authors and tags from Ghost are matched by Ghost id (or take over a slug), inserted or
 * updated when they differ, and — for a full list — the Ghost rows not in it are removed.
 */
async function upsertGhostRows(
  trx: Transaction<Database>,
  table: 'blog_authors' | 'blog_tags',
  rows: ({ slug: string; ghost_id: string } & Record<string, string | null>)[],
  now: Date,
  removeOthers: boolean,
): Promise<boolean> {
  // The two tables share every column used here; kysely cannot express that generically.
  const t = trx as unknown as Transaction<Pick<Database, 'blog_tags'>>;
  const name = table as 'blog_tags';
  const existing = (await t.selectFrom(name).selectAll().execute()) as unknown as ({ id: string; slug: string; source: string; ghost_id: string | null } & Record<string, unknown>)[];
  const byGhost = new Map(existing.filter((r) => r.ghost_id).map((r) => [r.ghost_id!, r]));
  const bySlug = new Map(existing.map((r) => [r.slug, r]));
  let changed = false;
  for (const row of rows) {
    const full = { ...row, source: 'ghost' as const } as unknown as { slug: string; name: string; source: 'ghost' };
    const current = byGhost.get(row.ghost_id) ?? bySlug.get(row.slug);
    if (!current) {
      await t.insertInto(name).values({ ...full, created_at: now, updated_at: now }).execute();
      changed = true;
    } else if (!sameFields(current, full)) {
      await t.updateTable(name).set({ ...full, updated_at: now }).where('id', '=', current.id).execute();
      changed = true;
    }
  }
  if (!removeOthers) return changed;
  const keep = new Set(rows.map((r) => r.ghost_id));
  const gone = existing.filter((r) => r.source === 'ghost' && r.ghost_id && !keep.has(r.ghost_id)).map((r) => r.id);
  if (gone.length) {
    await t.deleteFrom(name).where('id', 'in', gone).execute();
    changed = true;
  }
  return changed;
}

const authorRow = (a: ImportedAuthor) => ({ slug: a.slug, ghost_id: a.sourceId, name: a.name, bio: a.bio, profile_image: a.profileImage, website: a.website, location: a.location });
const tagRow = (t: ImportedTag) => ({ slug: t.slug, ghost_id: t.sourceId, name: t.name, description: t.description, visibility: t.visibility });

async function relationsOf(trx: Transaction<Database>, postId: string) {
  const tags = await trx.selectFrom('blog_post_tags').select('tag_id').where('post_id', '=', postId).orderBy('sort_order').execute();
  const authors = await trx.selectFrom('blog_post_authors').select('author_id').where('post_id', '=', postId).orderBy('sort_order').execute();
  return { tags: tags.map((t) => t.tag_id), authors: authors.map((a) => a.author_id) };
}

/** Reads a JSON value stored with `settings` (e.g. the sync mark). */
export async function readSetting<T>(db: Kysely<Database>, key: string): Promise<T | undefined> {
  const row = await db.selectFrom('site_settings').select('value').where('key', '=', key).executeTakeFirst();
  return row?.value as T | undefined;
}

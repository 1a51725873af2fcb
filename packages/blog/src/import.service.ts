import type { Kysely, Transaction } from 'kysely';
import { systemClock, type Clock } from '@rose/core';
import type { Database, PostVisibility } from '@rose/db';
import type { SiteSettings } from '@rose/site-chrome';
import { loadRelations, replaceNavigation, replaceRelations, sameFields, sameList, upsertSetting } from './blog.repository.ts';
import { sanitizePostHtml } from '@rose/rich-text';
import { resolveGatedBlocks, splitAtMembersMarker } from './markdown.ts';
import { slugProblem } from './slug-rules.ts';

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
  /**
   * Raw HTML anyone may read, sanitised here before it is stored. For a gated post that is
   * what the source shows anonymous readers: Ghost's Content API cuts it at the members-only
   * marker (or empties it).
   */
  html: string;
  /**
   * For a gated post, the whole body as staff see it (Ghost's Admin API), marker included: what
   * follows the marker is stored as the members-only part. Null when the source did not give
   * it (no Admin API key); members then see the teaser and a note.
   */
  membersHtml: string | null;
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

/** Tags and authors of one post or page, as source ids in order. */
export interface ImportedRelations {
  tagSourceIds: string[];
  authorSourceIds: string[];
}

export interface ImportBatch {
  /** When given, replaces all Ghost-sourced authors (Ghost has no updated_at for them). */
  authors?: ImportedAuthor[];
  tags?: ImportedTag[];
  /** Adds or updates these without removing others (a single post arriving by webhook). */
  mergeAuthors?: ImportedAuthor[];
  mergeTags?: ImportedTag[];
  upsertPosts?: ImportedPost[];
  /**
   * Tags and authors of published posts/pages by source id. Those not in `upsertPosts` whose
   * links differ are relinked: Ghost does not move `updated_at` when only these change.
   */
  relations?: ReadonlyMap<string, ImportedRelations>;
  /** Ghost-sourced posts/pages whose source id is not in this set are removed (reconcile). */
  keepOnly?: { posts: ReadonlySet<string>; pages: ReadonlySet<string> };
  /** Individual removals (a webhook saying a post was deleted or unpublished). */
  removeSourceIds?: string[];
  site?: SiteSettings;
  navigation?: { primary: { label: string; url: string }[]; secondary: { label: string; url: string }[] };
  /** Extra site_settings rows written in the same transaction (e.g. the sync mark). */
  settings?: Record<string, unknown>;
}

export interface SkippedItem {
  kind: 'post' | 'page' | 'tag' | 'author';
  slug: string;
  /** Why the blog cannot serve it, e.g. "reserved for the blog's own pages". */
  reason: string;
}

export interface ImportSummary {
  added: number;
  updated: number;
  unchanged: number;
  removed: number;
  /** Posts/pages whose tags or authors were relinked while the post itself was unchanged. */
  relinked: number;
  /**
   * Items left out because their slug cannot be served (see `slugProblem`). A post already
   * imported under an earlier slug is removed (and counted in `removed`).
   */
  skipped: SkippedItem[];
  /** Gated posts stored without their members-only part (the source did not give it). */
  gatedWithoutBody: string[];
  /** Slugs whose pages must be rebuilt (added, changed or removed posts/pages). */
  changedSlugs: string[];
  /** Tags, authors, navigation or site settings changed: every page may show them. */
  sharedChanged: boolean;
}

/**
 * Applies a batch from an external source (Ghost) to the blog tables in one transaction.
 * The one import rule for every path (full sync, incremental sync, webhook): slugs the blog
 * cannot serve are skipped and reported, HTML is sanitised, a gated post's members-only part
 * is kept apart from what static pages show, and a Ghost row may take over a slug first
 * loaded from `content/` (or left by a deleted Ghost item). Pass an open transaction to make
 * it part of a larger unit of work (the outbox job).
 */
export async function applyImport(db: Kysely<Database> | Transaction<Database>, batch: ImportBatch, deps: { clock?: Clock } = {}): Promise<ImportSummary> {
  const run = (trx: Transaction<Database>) => applyInTransaction(trx, batch, deps.clock ?? systemClock);
  return db.isTransaction ? run(db as Transaction<Database>) : db.transaction().execute(run);
}

async function applyInTransaction(trx: Transaction<Database>, batch: ImportBatch, clock: Clock): Promise<ImportSummary> {
  const now = clock.now();
  const summary: ImportSummary = { added: 0, updated: 0, unchanged: 0, removed: 0, relinked: 0, skipped: [], gatedWithoutBody: [], changedSlugs: [], sharedChanged: false };
  const servable = <T extends { slug: string }>(items: T[], kind: 'tag' | 'author') =>
    items.filter((item) => {
      const reason = slugProblem(item.slug, kind);
      if (reason) summary.skipped.push({ kind, slug: item.slug, reason });
      return !reason;
    });

  const authors = batch.authors ?? batch.mergeAuthors;
  const tags = batch.tags ?? batch.mergeTags;
  if (authors) summary.sharedChanged = (await upsertGhostRows(trx, 'blog_authors', servable(authors, 'author').map(authorRow), now, Boolean(batch.authors))) || summary.sharedChanged;
  if (tags) summary.sharedChanged = (await upsertGhostRows(trx, 'blog_tags', servable(tags, 'tag').map(tagRow), now, Boolean(batch.tags))) || summary.sharedChanged;

  const authorIds = new Map((await trx.selectFrom('blog_authors').select(['id', 'ghost_id']).where('ghost_id', 'is not', null).execute()).map((a) => [a.ghost_id!, a.id]));
  const tagIds = new Map((await trx.selectFrom('blog_tags').select(['id', 'ghost_id']).where('ghost_id', 'is not', null).execute()).map((t) => [t.ghost_id!, t.id]));
  const linksOf = (r: ImportedRelations) => ({
    tags: r.tagSourceIds.flatMap((id) => (tagIds.has(id) ? [tagIds.get(id)!] : [])),
    authors: r.authorSourceIds.flatMap((id) => (authorIds.has(id) ? [authorIds.get(id)!] : [])),
  });
  const removals: { id: string; slug: string }[] = [];

  for (const p of batch.upsertPosts ?? []) {
    const columns = ['id', 'slug', 'updated_at', 'html', 'members_html'] as const;
    const reason = slugProblem(p.slug, 'post');
    if (reason) {
      summary.skipped.push({ kind: p.type, slug: p.slug, reason });
      // Served under an earlier slug until now: that page must go, as it has in Ghost.
      const earlier = await trx.selectFrom('blog_posts').select(['id', 'slug']).where('ghost_id', '=', p.sourceId).executeTakeFirst();
      if (earlier) removals.push(earlier);
      continue;
    }
    const gated = p.visibility !== 'public';
    if (gated && p.membersHtml === null) summary.gatedWithoutBody.push(p.slug);
    const row = {
      type: p.type,
      slug: p.slug,
      title: p.title,
      // Public columns hold only what the source shows anyone; the members-only part is apart.
      html: sanitizePostHtml(p.html),
      members_html: gated && p.membersHtml !== null ? sanitizePostHtml(resolveGatedBlocks(splitAtMembersMarker(p.membersHtml).rest, p.visibility as 'members' | 'paid' | 'tiers')) : null,
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
    const want = linksOf(p);
    const existing =
      (await trx.selectFrom('blog_posts').select(columns).where('ghost_id', '=', p.sourceId).executeTakeFirst()) ??
      (await trx.selectFrom('blog_posts').select(columns).where('slug', '=', p.slug).executeTakeFirst());
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
        existing.html === row.html &&
        existing.members_html === row.members_html &&
        sameList(currentRel.tags, want.tags) &&
        sameList(currentRel.authors, want.authors);
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
    await replaceRelations(trx, postId, want.tags, want.authors);
  }

  if (batch.relations) {
    const upserted = new Set((batch.upsertPosts ?? []).map((p) => p.sourceId));
    const current = await loadRelations(trx);
    const ghostRows = await trx.selectFrom('blog_posts').select(['id', 'slug', 'ghost_id']).where('source', '=', 'ghost').execute();
    for (const r of ghostRows) {
      const wanted = batch.relations.get(r.ghost_id!);
      if (!wanted || upserted.has(r.ghost_id!)) continue;
      const want = linksOf(wanted);
      const have = current.get(r.id) ?? { tags: [], authors: [] };
      if (sameList(have.tags, want.tags) && sameList(have.authors, want.authors)) continue;
      await replaceRelations(trx, r.id, want.tags, want.authors);
      summary.relinked++;
      summary.changedSlugs.push(r.slug);
    }
  }

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
  const removeIds = [...new Set(removals.map((r) => r.id))];
  if (removeIds.length) {
    await trx.deleteFrom('blog_posts').where('id', 'in', removeIds).execute();
    summary.removed = removeIds.length;
    summary.changedSlugs.push(...removals.map((r) => r.slug));
  }

  if (batch.site) summary.sharedChanged = (await upsertSetting(trx, 'site', batch.site, now)) || summary.sharedChanged;
  if (batch.navigation) summary.sharedChanged = (await replaceNavigation(trx, batch.navigation)) || summary.sharedChanged;
  for (const [key, value] of Object.entries(batch.settings ?? {})) await upsertSetting(trx, key, value, now);
  summary.changedSlugs = [...new Set(summary.changedSlugs)];
  return summary;
}

type NamedRow = { id: string; slug: string; source: string; ghost_id: string | null } & Record<string, unknown>;

/**
 * Authors and tags from Ghost: each is matched by Ghost id first; one Ghost does not know by
 * id takes over the row holding its slug, if no other incoming item claims that row (a
 * content/ row, or one deleted in Ghost and re-created with the same slug — so posts keep
 * their links). For a full list, Ghost rows nobody claimed are removed, before anything is
 * renamed, so their slugs are free; renames go through a parking slug so two items may swap.
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
  const existing = (await t.selectFrom(name).selectAll().execute()) as unknown as NamedRow[];
  const byGhost = new Map(existing.filter((r) => r.ghost_id).map((r) => [r.ghost_id!, r]));
  const bySlug = new Map(existing.map((r) => [r.slug, r]));
  const claimed = new Set<string>();
  const plan: { row: (typeof rows)[number]; current: NamedRow | undefined }[] = rows.map((row) => {
    const current = byGhost.get(row.ghost_id);
    if (current) claimed.add(current.id);
    return { row, current };
  });
  for (const step of plan) {
    if (step.current) continue;
    const holder = bySlug.get(step.row.slug);
    if (holder && !claimed.has(holder.id)) {
      claimed.add(holder.id);
      step.current = holder;
    }
  }

  let changed = false;
  if (removeOthers) {
    const gone = existing.filter((r) => r.source === 'ghost' && !claimed.has(r.id)).map((r) => r.id);
    if (gone.length) {
      await t.deleteFrom(name).where('id', 'in', gone).execute();
      changed = true;
    }
  }
  const renamed = plan.filter((s) => s.current && s.current.slug !== s.row.slug);
  for (const s of renamed) await t.updateTable(name).set({ slug: `~renaming-${s.current!.id}` }).where('id', '=', s.current!.id).execute();
  for (const { row, current } of plan) {
    const full = { ...row, source: 'ghost' as const } as unknown as { slug: string; name: string; source: 'ghost' };
    if (!current) {
      await t.insertInto(name).values({ ...full, created_at: now, updated_at: now }).execute();
      changed = true;
    } else if (!sameFields(current, full)) {
      await t.updateTable(name).set({ ...full, updated_at: now }).where('id', '=', current.id).execute();
      changed = true;
    }
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

/**
 * Source ids of gated Ghost posts/pages stored without their members-only part, so a sync
 * that can now read bodies (GHOST_ADMIN_KEY set later) fetches them without `--full`.
 */
export async function listGatedWithoutBody(db: Kysely<Database>): Promise<{ posts: string[]; pages: string[] }> {
  const rows = await db
    .selectFrom('blog_posts')
    .select(['ghost_id', 'type'])
    .where('source', '=', 'ghost')
    .where('visibility', '<>', 'public')
    .where('members_html', 'is', null)
    .execute();
  return { posts: rows.filter((r) => r.type === 'post').map((r) => r.ghost_id!), pages: rows.filter((r) => r.type === 'page').map((r) => r.ghost_id!) };
}

import type { Kysely } from 'kysely';
import type { Database } from '@rose/db';

/** A post as the blog's ActivityPub actor publishes it. */
export interface FederatedPost {
  id: string;
  slug: string;
  title: string;
  /** What everyone may read (the whole body of a public post), already sanitised. */
  html: string;
  /** A site path or URL, as stored. */
  featureImage: string | null;
  publishedAt: Date;
  /** Its public tags, in order. */
  tags: { slug: string; name: string }[];
}

/**
 * The published public posts (drafts, pages and members-only posts stay home), for the blog
 * actor: one Article each.
 */
export async function listFederatedPosts(db: Kysely<Database>): Promise<FederatedPost[]> {
  // Two hundred at a time (by id): on the embedded database one query for every post's HTML
  // grows the WASM heap for good, and holds the one session while a rebuild (or a `rose`
  // command) waits to read; a small batch keeps each wait to a few milliseconds.
  const batchSize = 200;
  const posts: { id: string; slug: string; title: string; html: string; feature_image: string | null; published_at: Date | null }[] = [];
  for (let last: string | undefined; ; ) {
    let query = db
      .selectFrom('blog_posts')
      .select(['id', 'slug', 'title', 'html', 'feature_image', 'published_at'])
      .where('type', '=', 'post')
      .where('status', '=', 'published')
      .where('visibility', '=', 'public')
      .where('published_at', 'is not', null)
      .orderBy('id')
      .limit(batchSize);
    if (last !== undefined) query = query.where('id', '>', last);
    const batch = await query.execute();
    posts.push(...batch);
    if (batch.length < batchSize) break;
    last = batch.at(-1)!.id;
  }
  const tags = posts.length
    ? await db.selectFrom('blog_post_tags as pt').innerJoin('blog_tags as t', 't.id', 'pt.tag_id').select(['pt.post_id', 't.slug', 't.name']).where('t.visibility', '=', 'public').orderBy('pt.sort_order').execute()
    : [];
  const byPost = new Map<string, { slug: string; name: string }[]>();
  for (const t of tags) {
    const list = byPost.get(t.post_id);
    if (list) list.push({ slug: t.slug, name: t.name });
    else byPost.set(t.post_id, [{ slug: t.slug, name: t.name }]);
  }
  return posts.map((p) => ({ id: p.id, slug: p.slug, title: p.title, html: p.html, featureImage: p.feature_image, publishedAt: p.published_at!, tags: byPost.get(p.id) ?? [] }));
}

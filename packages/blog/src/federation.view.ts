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
  const posts = await db
    .selectFrom('blog_posts')
    .select(['id', 'slug', 'title', 'html', 'feature_image', 'published_at'])
    .where('type', '=', 'post')
    .where('status', '=', 'published')
    .where('visibility', '=', 'public')
    .where('published_at', 'is not', null)
    .execute();
  const tags = posts.length
    ? await db.selectFrom('blog_post_tags as pt').innerJoin('blog_tags as t', 't.id', 'pt.tag_id').select(['pt.post_id', 't.slug', 't.name']).where('t.visibility', '=', 'public').orderBy('pt.sort_order').execute()
    : [];
  const byPost = new Map<string, { slug: string; name: string }[]>();
  for (const t of tags) byPost.set(t.post_id, [...(byPost.get(t.post_id) ?? []), { slug: t.slug, name: t.name }]);
  return posts.map((p) => ({ id: p.id, slug: p.slug, title: p.title, html: p.html, featureImage: p.feature_image, publishedAt: p.published_at!, tags: byPost.get(p.id) ?? [] }));
}

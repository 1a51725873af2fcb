import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely';
import type { Timestamp, CreatedAt, UpdatedAt, ContentSource } from './columns.ts';

export type PostType = 'post' | 'page';
export type PostStatus = 'published' | 'draft' | 'scheduled';
export type PostVisibility = 'public' | 'members' | 'paid' | 'tiers';

export interface BlogAuthorsTable {
  id: Generated<string>;
  slug: string;
  name: string;
  bio: string | null;
  profile_image: string | null;
  website: string | null;
  location: string | null;
  source: ContentSource;
  ghost_id: string | null;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

export interface BlogTagsTable {
  id: Generated<string>;
  slug: string;
  name: string;
  description: string | null;
  visibility: ColumnType<'public' | 'internal', 'public' | 'internal' | undefined, 'public' | 'internal'>;
  source: ContentSource;
  ghost_id: string | null;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

/** Posts and pages share one table (as in Ghost), so a slug is unique across both. */
export interface BlogPostsTable {
  id: Generated<string>;
  type: PostType;
  slug: string;
  title: string;
  /** What everyone may read: the whole body, or for a gated post its public teaser ('' if none). */
  html: string;
  /** A gated post's members-only part (after the members-only marker); null for public posts, or when the source did not give it. */
  members_html: string | null;
  excerpt: string | null;
  feature_image: string | null;
  feature_image_alt: string | null;
  status: PostStatus;
  visibility: ColumnType<PostVisibility, PostVisibility | undefined, PostVisibility>;
  featured: ColumnType<boolean, boolean | undefined, boolean>;
  published_at: Timestamp | null;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
  source: ContentSource;
  /** Where the row came from: a path under content/ or a Ghost URL; for messages. */
  source_ref: string | null;
  ghost_id: string | null;
  ghost_uuid: string | null;
}

export type MemberTier = 'free' | 'paid';

/** Which members pay (staff set it); a user without a row is a free member. */
export interface MemberTiersTable {
  user_id: string;
  tier: MemberTier;
  updated_at: UpdatedAt;
}

export interface BlogPostTagsTable {
  post_id: string;
  tag_id: string;
  sort_order: number;
}

export interface BlogPostAuthorsTable {
  post_id: string;
  author_id: string;
  sort_order: number;
}

export interface BlogNavigationTable {
  id: Generated<string>;
  menu: 'primary' | 'secondary';
  position: number;
  label: string;
  url: string;
}

/** The blog part (`@rose/blog`), member tiers included until a membership part exists. */
export interface BlogTables {
  blog_authors: BlogAuthorsTable;
  blog_tags: BlogTagsTable;
  blog_posts: BlogPostsTable;
  blog_post_tags: BlogPostTagsTable;
  blog_post_authors: BlogPostAuthorsTable;
  blog_navigation: BlogNavigationTable;
  member_tiers: MemberTiersTable;
}

export type BlogPost = Selectable<BlogPostsTable>;
export type NewBlogPost = Insertable<BlogPostsTable>;
export type BlogPostUpdate = Updateable<BlogPostsTable>;
export type BlogAuthor = Selectable<BlogAuthorsTable>;
export type BlogTag = Selectable<BlogTagsTable>;
export type BlogNavigationItem = Selectable<BlogNavigationTable>;

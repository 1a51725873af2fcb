import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely';

/** timestamptz: read as Date, written as Date or ISO string. */
export type Timestamp = ColumnType<Date, Date | string, Date | string>;
export type CreatedAt = ColumnType<Date, Date | string | undefined, never>;
export type UpdatedAt = ColumnType<Date, Date | string | undefined, Date | string>;

export type UserRole = 'member' | 'staff' | 'admin';
export type PostType = 'post' | 'page';
export type PostStatus = 'published' | 'draft' | 'scheduled';
export type PostVisibility = 'public' | 'members' | 'paid' | 'tiers';
export type ContentSource = 'content' | 'ghost';

export interface UsersTable {
  id: Generated<string>;
  email: string;
  display_name: string;
  role: ColumnType<UserRole, UserRole | undefined, UserRole>;
  password_hash: string | null;
  email_verified_at: Timestamp | null;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

export interface SessionsTable {
  /** SHA-256 (hex) of the session token; the token itself only lives in the cookie. */
  id: string;
  user_id: string;
  expires_at: Timestamp;
  created_at: CreatedAt;
  last_seen_at: ColumnType<Date, Date | string | undefined, Date | string>;
  user_agent: string | null;
  ip: string | null;
}

export interface EmailTokensTable {
  id: string;
  user_id: string;
  kind: 'verify-email' | 'reset-password' | 'change-email';
  /** For 'change-email': the address the account moves to once the link is opened. */
  new_email: string | null;
  expires_at: Timestamp;
  used_at: Timestamp | null;
  created_at: CreatedAt;
}

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

export interface SiteSettingsTable {
  key: string;
  value: ColumnType<unknown, string, string>;
  updated_at: UpdatedAt;
}

export type JobStatus = 'pending' | 'running' | 'done' | 'failed';

export interface JobsTable {
  id: Generated<number>;
  type: string;
  payload: ColumnType<unknown, string | undefined, string>;
  status: ColumnType<JobStatus, JobStatus | undefined, JobStatus>;
  attempts: ColumnType<number, number | undefined, number>;
  max_attempts: ColumnType<number, number | undefined, number>;
  run_at: ColumnType<Date, Date | string | undefined, Date | string>;
  locked_at: Timestamp | null;
  locked_by: string | null;
  last_error: string | null;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
  finished_at: Timestamp | null;
}

export interface InboundDeliveriesTable {
  source: string;
  delivery_id: string;
  received_at: CreatedAt;
}

export interface OidcPayloadsTable {
  model: string;
  id: string;
  payload: ColumnType<Record<string, unknown>, string, string>;
  grant_id: string | null;
  uid: string | null;
  user_code: string | null;
  expires_at: Timestamp | null;
  consumed_at: Timestamp | null;
}

export interface OidcKeysTable {
  kid: string;
  private_jwk: ColumnType<Record<string, unknown>, string, string>;
  created_at: CreatedAt;
  retired_at: Timestamp | null;
}

export interface OauthClientsTable {
  client_id: string;
  metadata: ColumnType<Record<string, unknown>, string, string>;
  first_party: ColumnType<boolean, boolean | undefined, boolean>;
  created_at: CreatedAt;
}

/** An image the site publishes: its original's size and the variants made from it (ADR 0010). */
export interface MediaImagesTable {
  /** What content refers to, e.g. `/images/market.jpg` for content/images/market.jpg. */
  ref: string;
  source: ContentSource;
  /** SHA-256 of the original's bytes and the variant recipe. */
  source_hash: string;
  width: number;
  height: number;
  variants: ColumnType<MediaVariant[], string, string>;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

export interface MediaVariant {
  /** A file of `media_files`, named by its content hash. */
  name: string;
  type: 'image/avif' | 'image/webp' | 'image/jpeg' | 'image/png';
  width: number;
  height: number;
  bytes: number;
}

/** Bytes of published media files; a name always means the same bytes. */
export interface MediaFilesTable {
  name: string;
  content_type: string;
  bytes: Uint8Array;
  created_at: CreatedAt;
}

export interface Database {
  users: UsersTable;
  blog_authors: BlogAuthorsTable;
  blog_tags: BlogTagsTable;
  blog_posts: BlogPostsTable;
  blog_post_tags: BlogPostTagsTable;
  blog_post_authors: BlogPostAuthorsTable;
  blog_navigation: BlogNavigationTable;
  member_tiers: MemberTiersTable;
  site_settings: SiteSettingsTable;
  jobs: JobsTable;
  sessions: SessionsTable;
  email_tokens: EmailTokensTable;
  inbound_deliveries: InboundDeliveriesTable;
  oidc_payloads: OidcPayloadsTable;
  oidc_keys: OidcKeysTable;
  oauth_clients: OauthClientsTable;
  media_images: MediaImagesTable;
  media_files: MediaFilesTable;
}

export type Job = Selectable<JobsTable>;
export type Session = Selectable<SessionsTable>;

export type User = Selectable<UsersTable>;
export type NewUser = Insertable<UsersTable>;
export type BlogPost = Selectable<BlogPostsTable>;
export type NewBlogPost = Insertable<BlogPostsTable>;
export type BlogPostUpdate = Updateable<BlogPostsTable>;
export type BlogAuthor = Selectable<BlogAuthorsTable>;
export type BlogTag = Selectable<BlogTagsTable>;
export type BlogNavigationItem = Selectable<BlogNavigationTable>;

import { sql, type Kysely } from 'kysely';

// Migrations take Kysely<any>: they describe the schema as it was at this point in time,
// not as packages/db/src/schema.ts says it is today.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Db = Kysely<any>;

const now = sql`now()`;

export async function up(db: Db): Promise<void> {
  await db.schema
    .createTable('users')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('email', 'text', (c) => c.notNull())
    .addColumn('display_name', 'text', (c) => c.notNull())
    .addColumn('role', 'text', (c) => c.notNull().defaultTo('member').check(sql`role in ('member', 'staff', 'admin')`))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(now))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(now))
    .execute();
  // Emails compare case-insensitively: one account per address however it is typed.
  await db.schema.createIndex('users_email_lower_key').unique().on('users').expression(sql`lower(email)`).execute();

  await db.schema
    .createTable('blog_authors')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('slug', 'text', (c) => c.notNull().unique())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('bio', 'text')
    .addColumn('profile_image', 'text')
    .addColumn('website', 'text')
    .addColumn('location', 'text')
    .addColumn('source', 'text', (c) => c.notNull().check(sql`source in ('content', 'ghost')`))
    .addColumn('ghost_id', 'text', (c) => c.unique())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(now))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(now))
    .execute();

  await db.schema
    .createTable('blog_tags')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('slug', 'text', (c) => c.notNull().unique())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('description', 'text')
    .addColumn('visibility', 'text', (c) => c.notNull().defaultTo('public').check(sql`visibility in ('public', 'internal')`))
    .addColumn('source', 'text', (c) => c.notNull().check(sql`source in ('content', 'ghost')`))
    .addColumn('ghost_id', 'text', (c) => c.unique())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(now))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(now))
    .execute();

  await db.schema
    .createTable('blog_posts')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('type', 'text', (c) => c.notNull().check(sql`type in ('post', 'page')`))
    .addColumn('slug', 'text', (c) => c.notNull().unique())
    .addColumn('title', 'text', (c) => c.notNull())
    .addColumn('html', 'text', (c) => c.notNull())
    .addColumn('excerpt', 'text')
    .addColumn('feature_image', 'text')
    .addColumn('feature_image_alt', 'text')
    .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('published', 'draft', 'scheduled')`))
    .addColumn('visibility', 'text', (c) =>
      c.notNull().defaultTo('public').check(sql`visibility in ('public', 'members', 'paid', 'tiers')`),
    )
    .addColumn('featured', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('published_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(now))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(now))
    .addColumn('source', 'text', (c) => c.notNull().check(sql`source in ('content', 'ghost')`))
    .addColumn('source_ref', 'text')
    .addColumn('ghost_id', 'text', (c) => c.unique())
    .addColumn('ghost_uuid', 'text')
    .execute();
  // The blog index lists published posts newest first.
  await db.schema
    .createIndex('blog_posts_listing_idx')
    .on('blog_posts')
    .columns(['type', 'status', 'published_at desc'])
    .execute();

  await db.schema
    .createTable('blog_post_tags')
    .addColumn('post_id', 'uuid', (c) => c.notNull().references('blog_posts.id').onDelete('cascade'))
    .addColumn('tag_id', 'uuid', (c) => c.notNull().references('blog_tags.id').onDelete('cascade'))
    .addColumn('sort_order', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('blog_post_tags_pkey', ['post_id', 'tag_id'])
    .execute();
  await db.schema.createIndex('blog_post_tags_tag_idx').on('blog_post_tags').column('tag_id').execute();

  await db.schema
    .createTable('blog_post_authors')
    .addColumn('post_id', 'uuid', (c) => c.notNull().references('blog_posts.id').onDelete('cascade'))
    .addColumn('author_id', 'uuid', (c) => c.notNull().references('blog_authors.id').onDelete('cascade'))
    .addColumn('sort_order', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('blog_post_authors_pkey', ['post_id', 'author_id'])
    .execute();
  await db.schema.createIndex('blog_post_authors_author_idx').on('blog_post_authors').column('author_id').execute();

  await db.schema
    .createTable('blog_navigation')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('menu', 'text', (c) => c.notNull().check(sql`menu in ('primary', 'secondary')`))
    .addColumn('position', 'integer', (c) => c.notNull())
    .addColumn('label', 'text', (c) => c.notNull())
    .addColumn('url', 'text', (c) => c.notNull())
    .addUniqueConstraint('blog_navigation_menu_position_key', ['menu', 'position'])
    .execute();

  await db.schema
    .createTable('site_settings')
    .addColumn('key', 'text', (c) => c.primaryKey())
    .addColumn('value', 'jsonb', (c) => c.notNull())
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(now))
    .execute();
}

export async function down(db: Db): Promise<void> {
  for (const table of [
    'site_settings',
    'blog_navigation',
    'blog_post_authors',
    'blog_post_tags',
    'blog_posts',
    'blog_tags',
    'blog_authors',
    'users',
  ]) {
    await db.schema.dropTable(table).ifExists().execute();
  }
}

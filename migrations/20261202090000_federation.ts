import { sql, type Kysely } from 'kysely';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Db = Kysely<any>;

const now = sql`now()`;

// ActivityPub (packages/federation): our actors and their keys, who follows whom, what our
// actors published, what other servers sent us, notifications, moderation, and Fedify's
// key–value store. Remote HTML is stored sanitised; raw activities are kept for the inbox log.
export async function up(db: Db): Promise<void> {
  // Fedify's own state (document and key caches, idempotency records, circuit breaker).
  await db.schema
    .createTable('fedify_kv')
    // Byte order (collate "C"): Fedify lists keys by prefix, a range scan on this index.
    .addColumn('key', sql`text collate "C"`, (c) => c.primaryKey())
    .addColumn('value', 'jsonb', (c) => c.notNull())
    .addColumn('expires_at', 'timestamptz')
    .execute();
  await db.schema.createIndex('fedify_kv_expires').on('fedify_kv').column('expires_at').where(sql.ref('expires_at'), 'is not', null).execute();

  // One per part (blog, market, events) and one per member who turned it on.
  await db.schema
    .createTable('ap_actors')
    .addColumn('handle', 'text', (c) => c.primaryKey().check(sql`handle ~ '^[a-z0-9_]{1,30}$'`))
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('part', 'member')`))
    .addColumn('user_id', 'uuid', (c) => c.unique().references('users.id').onDelete('cascade'))
    .addColumn('type', 'text', (c) => c.notNull().check(sql`type in ('Service', 'Group', 'Person', 'Application', 'Organization')`))
    .addColumn('display_name', 'text', (c) => c.notNull())
    .addColumn('summary', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('manually_approves_followers', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(now))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(now))
    .addCheckConstraint('ap_actors_member_has_user', sql`(kind = 'member') = (user_id is not null)`)
    .execute();

  // Signing keys (RSA for draft-cavage, Ed25519 for RFC 9421 / object proofs); rotated, never edited.
  await db.schema
    .createTable('ap_keys')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('actor', 'text', (c) => c.notNull().references('ap_actors.handle').onDelete('cascade'))
    .addColumn('algorithm', 'text', (c) => c.notNull().check(sql`algorithm in ('RSASSA-PKCS1-v1_5', 'Ed25519')`))
    .addColumn('public_jwk', 'jsonb', (c) => c.notNull())
    .addColumn('private_jwk', 'jsonb', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(now))
    .addColumn('retired_at', 'timestamptz')
    .execute();
  await db.schema.createIndex('ap_keys_active').on('ap_keys').columns(['actor', 'algorithm']).unique().where(sql.ref('retired_at'), 'is', null).execute();

  // Other servers' actors we have met, as last fetched (summary sanitised).
  await db.schema
    .createTable('ap_remote_actors')
    .addColumn('uri', 'text', (c) => c.primaryKey())
    .addColumn('host', 'text', (c) => c.notNull())
    .addColumn('handle', 'text')
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('name', 'text')
    .addColumn('summary_html', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('url', 'text')
    .addColumn('icon_url', 'text')
    .addColumn('inbox', 'text')
    .addColumn('shared_inbox', 'text')
    .addColumn('followers_url', 'text')
    .addColumn('manually_approves_followers', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('moved_to', 'text')
    .addColumn('fetched_at', 'timestamptz', (c) => c.notNull().defaultTo(now))
    .addColumn('gone_at', 'timestamptz')
    .execute();
  await db.schema.createIndex('ap_remote_actors_handle').on('ap_remote_actors').column('handle').execute();

  // Remote actors following ours.
  await db.schema
    .createTable('ap_followers')
    .addColumn('actor', 'text', (c) => c.notNull().references('ap_actors.handle').onDelete('cascade'))
    .addColumn('follower_uri', 'text', (c) => c.notNull())
    .addColumn('follow_id', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('pending', 'accepted')`))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(now))
    .addPrimaryKeyConstraint('ap_followers_pk', ['actor', 'follower_uri'])
    .execute();
  await db.schema.createIndex('ap_followers_follower').on('ap_followers').column('follower_uri').execute();

  // Our actors following remote ones.
  await db.schema
    .createTable('ap_following')
    .addColumn('actor', 'text', (c) => c.notNull().references('ap_actors.handle').onDelete('cascade'))
    .addColumn('target_uri', 'text', (c) => c.notNull())
    .addColumn('follow_id', 'text', (c) => c.notNull().unique())
    .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('pending', 'accepted')`))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(now))
    .addPrimaryKeyConstraint('ap_following_pk', ['actor', 'target_uri'])
    .execute();
  // Every incoming post asks whether one of ours follows its author.
  await db.schema.createIndex('ap_following_target').on('ap_following').column('target_uri').execute();

  // What our actors published (blog posts as Articles, members' Notes, products, events).
  await db.schema
    .createTable('ap_objects')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('actor', 'text', (c) => c.notNull().references('ap_actors.handle').onDelete('cascade'))
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('source', 'text', (c) => c.unique())
    .addColumn('name', 'text')
    .addColumn('summary', 'text')
    .addColumn('content_html', 'text', (c) => c.notNull())
    .addColumn('url', 'text')
    .addColumn('in_reply_to', 'text')
    .addColumn('visibility', 'text', (c) => c.notNull().check(sql`visibility in ('public', 'unlisted', 'followers', 'direct')`))
    .addColumn('tags', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    .addColumn('extra', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('digest', 'text', (c) => c.notNull())
    .addColumn('published_at', 'timestamptz', (c) => c.notNull().defaultTo(now))
    .addColumn('updated_at', 'timestamptz')
    .addColumn('deleted_at', 'timestamptz')
    .execute();
  await db.schema.createIndex('ap_objects_actor_published').on('ap_objects').columns(['actor', 'published_at']).execute();
  // The replies island finds a blog post's object by its page.
  await db.schema.createIndex('ap_objects_url').on('ap_objects').column('url').execute();

  // Posts other servers sent us (sanitised): the timeline, replies to our posts, mentions.
  await db.schema
    .createTable('ap_posts')
    .addColumn('uri', 'text', (c) => c.primaryKey())
    .addColumn('actor_uri', 'text', (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('url', 'text')
    .addColumn('name', 'text')
    .addColumn('summary', 'text')
    .addColumn('content_html', 'text', (c) => c.notNull())
    .addColumn('sensitive', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('language', 'text')
    .addColumn('in_reply_to', 'text')
    .addColumn('visibility', 'text', (c) => c.notNull().check(sql`visibility in ('public', 'unlisted', 'followers', 'direct')`))
    .addColumn('attachments', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    .addColumn('emojis', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    .addColumn('mentions', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    .addColumn('hashtags', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    .addColumn('published_at', 'timestamptz', (c) => c.notNull().defaultTo(now))
    .addColumn('updated_at', 'timestamptz')
    .addColumn('received_at', 'timestamptz', (c) => c.notNull().defaultTo(now))
    .addColumn('hidden_at', 'timestamptz')
    .execute();
  await db.schema.createIndex('ap_posts_actor_published').on('ap_posts').columns(['actor_uri', 'published_at']).execute();
  await db.schema.createIndex('ap_posts_in_reply_to').on('ap_posts').column('in_reply_to').execute();
  // Timelines look for mentions of a member; hashtag pages for a tag.
  await sql`create index ap_posts_mentions on ap_posts using gin (mentions jsonb_path_ops)`.execute(db);
  await sql`create index ap_posts_hashtags on ap_posts using gin (hashtags jsonb_path_ops)`.execute(db);

  // Likes and boosts of our objects.
  await db.schema
    .createTable('ap_reactions')
    .addColumn('object_uri', 'text', (c) => c.notNull())
    .addColumn('actor_uri', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('like', 'announce')`))
    .addColumn('activity_id', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(now))
    .addPrimaryKeyConstraint('ap_reactions_pk', ['object_uri', 'actor_uri', 'kind'])
    .execute();
  await db.schema.createIndex('ap_reactions_activity').on('ap_reactions').column('activity_id').execute();

  // Every activity received and what became of it (`rose social inbox`); the id makes delivery idempotent.
  await db.schema
    .createTable('ap_inbox')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('activity_id', 'text', (c) => c.notNull().unique())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('actor_uri', 'text', (c) => c.notNull())
    .addColumn('object_uri', 'text')
    .addColumn('recipient', 'text')
    .addColumn('outcome', 'text', (c) => c.notNull())
    .addColumn('payload', 'jsonb', (c) => c.notNull())
    .addColumn('received_at', 'timestamptz', (c) => c.notNull().defaultTo(now))
    .execute();
  await db.schema.createIndex('ap_inbox_received').on('ap_inbox').column('received_at').execute();

  await db.schema
    .createTable('ap_notifications')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('actor', 'text', (c) => c.notNull().references('ap_actors.handle').onDelete('cascade'))
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('follow', 'follow-request', 'mention', 'reply', 'like', 'announce')`))
    .addColumn('from_uri', 'text', (c) => c.notNull())
    .addColumn('object_uri', 'text')
    .addColumn('activity_id', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(now))
    .addColumn('read_at', 'timestamptz')
    .addUniqueConstraint('ap_notifications_once', ['actor', 'kind', 'activity_id'])
    .execute();
  await db.schema.createIndex('ap_notifications_actor_created').on('ap_notifications').columns(['actor', 'created_at']).execute();

  // Staff (actor null: the whole co-op) or a member blocking a remote actor or a whole instance.
  await db.schema
    .createTable('ap_blocks')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('actor', 'text', (c) => c.references('ap_actors.handle').onDelete('cascade'))
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('actor', 'domain')`))
    .addColumn('target', 'text', (c) => c.notNull())
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(now))
    .execute();
  await sql`create unique index ap_blocks_once on ap_blocks (coalesce(actor, ''), kind, target)`.execute(db);
}

export async function down(db: Db): Promise<void> {
  for (const table of ['ap_blocks', 'ap_notifications', 'ap_inbox', 'ap_reactions', 'ap_posts', 'ap_objects', 'ap_following', 'ap_followers', 'ap_remote_actors', 'ap_keys', 'ap_actors', 'fedify_kv']) {
    await db.schema.dropTable(table).execute();
  }
}

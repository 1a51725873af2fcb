import { sql, type Kysely } from 'kysely';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Db = Kysely<any>;

// Members-only content: a gated post keeps its public teaser in `html` (what static pages
// show) and the rest in `members_html` (read on demand, after checking who asks). Member
// tiers say which signed-in members may read `paid` posts.
export async function up(db: Db): Promise<void> {
  await db.schema.alterTable('blog_posts').addColumn('members_html', 'text').execute();
  // Gated posts from content/ stored their whole body in `html`: move it out of the column
  // static pages read (the next seed splits it at the members-only marker). Gated posts from
  // Ghost hold only what Ghost's Content API shows anonymous readers: the teaser already.
  await sql`update blog_posts set members_html = html, html = '' where visibility <> 'public' and source = 'content'`.execute(db);

  await db.schema
    .createTable('member_tiers')
    .addColumn('user_id', 'uuid', (c) => c.primaryKey().references('users.id').onDelete('cascade'))
    .addColumn('tier', 'text', (c) => c.notNull().check(sql`tier in ('free', 'paid')`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
}

export async function down(db: Db): Promise<void> {
  await db.schema.dropTable('member_tiers').ifExists().execute();
  // The body goes back into one column, teaser first, as it was before.
  await sql`update blog_posts set html = html || members_html where members_html is not null`.execute(db);
  await db.schema.alterTable('blog_posts').dropColumn('members_html').execute();
}

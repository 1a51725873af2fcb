import { sql, type Kysely } from 'kysely';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Db = Kysely<any>;

// Changing an email address: the link goes to the new address and carries it.
export async function up(db: Db): Promise<void> {
  await db.schema.alterTable('email_tokens').addColumn('new_email', 'text').execute();
  await sql`alter table email_tokens drop constraint if exists email_tokens_kind_check`.execute(db);
  await sql`alter table email_tokens add constraint email_tokens_kind_check check (kind in ('verify-email', 'reset-password', 'change-email'))`.execute(db);
}

export async function down(db: Db): Promise<void> {
  await db.deleteFrom('email_tokens').where('kind', '=', 'change-email').execute();
  await sql`alter table email_tokens drop constraint if exists email_tokens_kind_check`.execute(db);
  await sql`alter table email_tokens add constraint email_tokens_kind_check check (kind in ('verify-email', 'reset-password'))`.execute(db);
  await db.schema.alterTable('email_tokens').dropColumn('new_email').execute();
}

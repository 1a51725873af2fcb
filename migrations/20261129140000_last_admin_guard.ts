import { sql, type Kysely } from 'kysely';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Db = Kysely<any>;

// The co-op must always keep an admin: whatever changes a role or removes an account (the
// CLI, a future staff page, plain SQL), taking away the last admin is refused with SQLSTATE
// RA001. It runs after the row changed, so it also sees the other rows one statement
// changed; the advisory lock serialises concurrent demotions, so two admins demoted at once
// cannot both succeed.
export async function up(db: Db): Promise<void> {
  await sql`
    create function rose_keep_last_admin() returns trigger language plpgsql as $$
    begin
      if tg_op = 'UPDATE' and new.role = 'admin' then
        return null;
      end if;
      perform pg_advisory_xact_lock(hashtext('rose_keep_last_admin'));
      if not exists (select 1 from users where role = 'admin') then
        raise exception '% is the last admin', old.email
          using errcode = 'RA001', hint = 'Make another account admin first (rose users set-role --email E --role admin).';
      end if;
      return null;
    end
    $$`.execute(db);
  await sql`
    create trigger users_keep_last_admin
    after update of role or delete on users
    for each row when (old.role = 'admin')
    execute function rose_keep_last_admin()`.execute(db);
}

export async function down(db: Db): Promise<void> {
  await sql`drop trigger if exists users_keep_last_admin on users`.execute(db);
  await sql`drop function if exists rose_keep_last_admin()`.execute(db);
}

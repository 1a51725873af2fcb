import { sql, type Kysely } from 'kysely';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Db = Kysely<any>;

// Wakes workers listening on `rose_jobs` when a transaction that queued jobs commits
// (Postgres delivers notifications on commit, and folds repeats within a transaction), so a
// job queued by another process starts in milliseconds rather than at the next poll. Workers
// still poll: embedded PGlite does not pass notifications between processes. ADR 0012.
export async function up(db: Db): Promise<void> {
  await sql`
    create function rose_jobs_notify() returns trigger language plpgsql as $$
    begin
      perform pg_notify('rose_jobs', '');
      return null;
    end
    $$`.execute(db);
  await sql`create trigger jobs_notify after insert on jobs for each statement execute function rose_jobs_notify()`.execute(db);
}

export async function down(db: Db): Promise<void> {
  await sql`drop trigger if exists jobs_notify on jobs`.execute(db);
  await sql`drop function if exists rose_jobs_notify()`.execute(db);
}

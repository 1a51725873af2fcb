import { sql, type Kysely } from 'kysely';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Db = Kysely<any>;

// `rose build --targeted` hands its rebuild to a running server (which keeps the renderer and
// the data warm) through the outbox; this row is how the command follows it: claimed, live
// (the server serves the new pages), done (the release is complete and current) or failed.
export async function up(db: Db): Promise<void> {
  await db.schema
    .createTable('build_requests')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('parts', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    .addColumn('requested_by', 'text', (c) => c.notNull())
    .addColumn('requested_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('state', 'text', (c) => c.notNull().defaultTo('queued').check(sql`state in ('queued', 'running', 'live', 'done', 'failed', 'withdrawn')`))
    .addColumn('worker', 'text')
    .addColumn('release_id', 'text')
    .addColumn('summary', 'jsonb')
    .addColumn('error', 'text')
    .addColumn('live_at', 'timestamptz')
    .addColumn('finished_at', 'timestamptz')
    .execute();
}

export async function down(db: Db): Promise<void> {
  await db.schema.dropTable('build_requests').execute();
}

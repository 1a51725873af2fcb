import type { Kysely } from 'kysely';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Db = Kysely<any>;

// The id of the request a job was queued by (`X-Request-Id`, @rose/observability), so the
// worker's log lines for it can be found beside the request's. Nullable: jobs queued outside
// a request (the CLI, schedules) have none. Adding a nullable column is safe with servers of
// the previous release still running (they never write it).
export async function up(db: Db): Promise<void> {
  await db.schema.alterTable('jobs').addColumn('request_id', 'text').execute();
}

export async function down(db: Db): Promise<void> {
  await db.schema.alterTable('jobs').dropColumn('request_id').execute();
}

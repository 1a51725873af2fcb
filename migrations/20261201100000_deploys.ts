import { sql, type Kysely } from 'kysely';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Db = Kysely<any>;

// One row per `rose deploy` of a target, kept in the database that target's servers use, so
// whoever deploys next (from any machine) knows what is live there and what changed since.
export async function up(db: Db): Promise<void> {
  await db.schema
    .createTable('deploys')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('target', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('local', 'ssh', 'swarm')`))
    .addColumn('started_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('finished_at', 'timestamptz')
    .addColumn('deployed_by', 'text', (c) => c.notNull())
    .addColumn('commit', 'text', (c) => c.notNull())
    .addColumn('parts', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    // Narrowed with --parts: changes to the other parts since the last full deploy are still to ship.
    .addColumn('partial', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('release_id', 'text')
    .addColumn('previous_release_id', 'text')
    .addColumn('result', 'text', (c) => c.notNull().defaultTo('running').check(sql`result in ('running', 'succeeded', 'failed', 'rolled-back')`))
    .addColumn('message', 'text')
    .addColumn('steps', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    .execute();
  await db.schema.createIndex('deploys_target_started').on('deploys').columns(['target', 'started_at']).execute();
}

export async function down(db: Db): Promise<void> {
  await db.schema.dropTable('deploys').execute();
}

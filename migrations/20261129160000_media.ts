import { sql, type Kysely } from 'kysely';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Db = Kysely<any>;

// Images published by the site (ADR 0010): each source image is turned into resized
// AVIF/WebP/JPEG variants when content arrives (seed), and builds only copy bytes. The bytes
// live in the database, so any process that can build (the CLI, a worker on another machine)
// has them; files are named by their content hash, so a name always means the same bytes.
export async function up(db: Db): Promise<void> {
  await db.schema
    .createTable('media_images')
    // What content refers to: `/images/market.jpg` for a file of content/images/.
    .addColumn('ref', 'text', (c) => c.primaryKey())
    .addColumn('source', 'text', (c) => c.notNull().check(sql`source in ('content', 'ghost')`))
    // SHA-256 of the original's bytes and the recipe that made the variants: unchanged means
    // nothing to redo.
    .addColumn('source_hash', 'text', (c) => c.notNull())
    .addColumn('width', 'integer', (c) => c.notNull().check(sql`width > 0`))
    .addColumn('height', 'integer', (c) => c.notNull().check(sql`height > 0`))
    .addColumn('variants', 'jsonb', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema
    .createTable('media_files')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('content_type', 'text', (c) => c.notNull())
    .addColumn('bytes', 'bytea', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
}

export async function down(db: Db): Promise<void> {
  await db.schema.dropTable('media_files').ifExists().execute();
  await db.schema.dropTable('media_images').ifExists().execute();
}

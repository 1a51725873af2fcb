import { sql, type Kysely } from 'kysely';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Db = Kysely<any>;

const now = sql`now()`;
const slug = sql`~ '^[a-z0-9]+(-[a-z0-9]+)*$'`;

// The market (@rose/market): producers, products with variants, order cycles, and what
// supplier scraping keeps between runs. Prices are integer minor units with an ISO 4217
// currency, never floats. Products and variants are archived, never deleted: orders will
// refer to them. Every change made by staff is audited.
export async function up(db: Db): Promise<void> {
  await db.schema
    .createTable('market_categories')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('slug', 'text', (c) => c.notNull().unique().check(sql`slug ${slug}`))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('description', 'text')
    .addColumn('position', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('source', 'text', (c) => c.notNull().check(sql`source in ('content', 'staff')`))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(now))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(now))
    .execute();

  await db.schema
    .createTable('market_producers')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('slug', 'text', (c) => c.notNull().unique().check(sql`slug ${slug}`))
    .addColumn('name', 'text', (c) => c.notNull())
    // Sanitised HTML made from the producer's markdown story.
    .addColumn('story_html', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('location', 'text')
    .addColumn('website', 'text')
    // A media ref (`/market/images/higher-farm.jpg`), resolved through media_images.
    .addColumn('image', 'text')
    .addColumn('contact_email', 'text')
    .addColumn('contact_phone', 'text')
    .addColumn('featured', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('source', 'text', (c) => c.notNull().check(sql`source in ('content', 'staff')`))
    .addColumn('archived_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(now))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(now))
    .execute();

  await db.schema
    .createTable('market_products')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('slug', 'text', (c) => c.notNull().unique().check(sql`slug ${slug}`))
    .addColumn('producer_id', 'uuid', (c) => c.notNull().references('market_producers.id'))
    .addColumn('category_id', 'uuid', (c) => c.references('market_categories.id'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('image', 'text')
    // Whether the producer offers it at all now (seasonal); orderable also needs an open cycle.
    .addColumn('available', 'boolean', (c) => c.notNull().defaultTo(true))
    .addColumn('source', 'text', (c) => c.notNull().check(sql`source in ('content', 'staff', 'scrape')`))
    // Scraped products: the supplier (slug of content/market/suppliers.json) and the page.
    .addColumn('supplier', 'text')
    .addColumn('supplier_url', 'text')
    .addColumn('archived_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(now))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(now))
    .addCheckConstraint('market_products_supplier_check', sql`(supplier is null) = (supplier_url is null)`)
    .execute();
  await db.schema.createIndex('market_products_supplier_url_key').unique().on('market_products').columns(['supplier', 'supplier_url']).execute();
  await db.schema.createIndex('market_products_producer_idx').on('market_products').column('producer_id').execute();
  await db.schema.createIndex('market_products_category_idx').on('market_products').column('category_id').execute();

  await db.schema
    .createTable('market_variants')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('product_id', 'uuid', (c) => c.notNull().references('market_products.id'))
    .addColumn('sku', 'text', (c) => c.notNull().unique().check(sql`sku ~ '^[A-Z0-9]+(-[A-Z0-9]+)*$'`))
    // A scraped variant's SKU as the supplier writes it ('' when the page gives none).
    .addColumn('supplier_sku', 'text')
    .addColumn('unit', 'text', (c) => c.notNull())
    .addColumn('size', 'text')
    .addColumn('price_minor', 'integer', (c) => c.notNull().check(sql`price_minor >= 0`))
    .addColumn('currency', 'text', (c) => c.notNull().check(sql`currency ~ '^[A-Z]{3}$'`))
    // 'tracked': stock_count is how many are left; 'on-demand': made to order, no count.
    .addColumn('stock_mode', 'text', (c) => c.notNull().check(sql`stock_mode in ('tracked', 'on-demand')`))
    .addColumn('stock_count', 'integer')
    .addColumn('position', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('archived_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(now))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(now))
    .addCheckConstraint(
      'market_variants_stock_check',
      sql`(stock_mode = 'tracked' and stock_count is not null and stock_count >= 0) or (stock_mode = 'on-demand' and stock_count is null)`,
    )
    .execute();
  await db.schema.createIndex('market_variants_product_idx').on('market_variants').column('product_id').execute();

  await db.schema
    .createTable('market_cycles')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('slug', 'text', (c) => c.notNull().unique().check(sql`slug ${slug}`))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('opens_at', 'timestamptz', (c) => c.notNull())
    .addColumn('closes_at', 'timestamptz', (c) => c.notNull())
    // The IANA zone the times were given in and are shown in (Europe/London).
    .addColumn('time_zone', 'text', (c) => c.notNull())
    .addColumn('note', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('source', 'text', (c) => c.notNull().check(sql`source in ('content', 'staff')`))
    .addColumn('archived_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(now))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(now))
    .addCheckConstraint('market_cycles_times_check', sql`closes_at > opens_at`)
    .execute();
  await db.schema
    .createTable('market_cycle_products')
    .addColumn('cycle_id', 'uuid', (c) => c.notNull().references('market_cycles.id').onDelete('cascade'))
    .addColumn('product_id', 'uuid', (c) => c.notNull().references('market_products.id'))
    .addPrimaryKeyConstraint('market_cycle_products_pkey', ['cycle_id', 'product_id'])
    .execute();
  await db.schema.createIndex('market_cycle_products_product_idx').on('market_cycle_products').column('product_id').execute();
  await db.schema
    .createTable('market_cycle_producers')
    .addColumn('cycle_id', 'uuid', (c) => c.notNull().references('market_cycles.id').onDelete('cascade'))
    .addColumn('producer_id', 'uuid', (c) => c.notNull().references('market_producers.id'))
    .addPrimaryKeyConstraint('market_cycle_producers_pkey', ['cycle_id', 'producer_id'])
    .execute();

  // Who changed what in the market, and when (staff pages, CLI, scraper).
  await db.schema
    .createTable('market_audit')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('at', 'timestamptz', (c) => c.notNull().defaultTo(now))
    // 'user:<uuid>' for staff pages, 'cli:<os user>' for commands, 'scrape:<supplier>'.
    .addColumn('actor', 'text', (c) => c.notNull())
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('entity', 'text', (c) => c.notNull())
    .addColumn('entity_slug', 'text', (c) => c.notNull())
    .addColumn('details', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .execute();
  await db.schema.createIndex('market_audit_entity_idx').on('market_audit').columns(['entity', 'entity_slug']).execute();

  // Supplier scraping: one row per run, and the validators of every page for conditional
  // requests on the next run.
  await db.schema
    .createTable('market_scrape_runs')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('supplier', 'text', (c) => c.notNull())
    .addColumn('started_at', 'timestamptz', (c) => c.notNull())
    .addColumn('finished_at', 'timestamptz')
    .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('running', 'ok', 'failed', 'dry-run')`))
    .addColumn('pages', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('report', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('error', 'text')
    .execute();
  await db.schema.createIndex('market_scrape_runs_supplier_idx').on('market_scrape_runs').columns(['supplier', 'started_at desc']).execute();
  await db.schema
    .createTable('market_scrape_pages')
    .addColumn('url', 'text', (c) => c.primaryKey())
    .addColumn('supplier', 'text', (c) => c.notNull())
    .addColumn('etag', 'text')
    .addColumn('last_modified', 'text')
    // The product found on the page (its canonical URL): kept as it is when the page answers 304.
    .addColumn('product_url', 'text')
    .addColumn('fetched_at', 'timestamptz', (c) => c.notNull())
    .execute();

  // Market images live in the media tables beside the blog's, under their own sources.
  await sql`alter table media_images drop constraint if exists media_images_source_check`.execute(db);
  await sql`alter table media_images add constraint media_images_source_check check (source in ('content', 'ghost', 'market', 'scrape'))`.execute(db);
}

export async function down(db: Db): Promise<void> {
  await sql`delete from media_images where source in ('market', 'scrape')`.execute(db);
  await sql`delete from media_files where name not in (select v->>'name' from media_images, jsonb_array_elements(variants) as v)`.execute(db);
  await sql`alter table media_images drop constraint if exists media_images_source_check`.execute(db);
  await sql`alter table media_images add constraint media_images_source_check check (source in ('content', 'ghost'))`.execute(db);
  for (const table of [
    'market_scrape_pages',
    'market_scrape_runs',
    'market_audit',
    'market_cycle_producers',
    'market_cycle_products',
    'market_cycles',
    'market_variants',
    'market_products',
    'market_producers',
    'market_categories',
  ]) {
    await db.schema.dropTable(table).ifExists().execute();
  }
}

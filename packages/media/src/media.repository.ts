import { sql, type Kysely, type Transaction } from 'kysely';
import type { MediaSource, Database, MediaVariant } from '@rose/db';
import type { ProcessedImage } from './image-variants.ts';

/** An image as the database holds it (no bytes). */
export interface StoredImage {
  ref: string;
  source: MediaSource;
  sourceHash: string;
  width: number;
  height: number;
  variants: MediaVariant[];
}

/**
 * One image a source wants to have. `processed` is needed when the database does not have
 * this `sourceHash` for `ref` yet (see `imageHashes`); otherwise the stored one is kept as is.
 */
export interface ImageInput {
  ref: string;
  sourceHash: string;
  processed?: ProcessedImage;
}

export interface ImageCounts {
  added: number;
  updated: number;
  unchanged: number;
  removed: number;
}

const CHUNK = 100;

/** The images a source has, as ref → source hash: what a seed compares against before processing. */
export async function imageHashes(db: Kysely<Database>, source: MediaSource): Promise<Map<string, string>> {
  const rows = await db.selectFrom('media_images').select(['ref', 'source_hash']).where('source', '=', source).execute();
  return new Map(rows.map((r) => [r.ref, r.source_hash]));
}

/**
 * Makes the images of `source` exactly `images`, inside the caller's transaction: new and
 * changed ones are stored with their files, unchanged ones kept, the rest removed, and files
 * no image uses any more deleted. Refs owned by another source are refused.
 *
 * @example
 * await db.transaction().execute((trx) => replaceImages(trx, 'content', inputs, new Date()));
 */
export async function replaceImages(trx: Transaction<Database>, source: MediaSource, images: readonly ImageInput[], now: Date): Promise<ImageCounts> {
  return storeImages(trx, source, images, now, { removeOthers: true });
}

/**
 * Adds or updates `images` of `source` and keeps its other images: for sources that grow a
 * few images at a time (supplier scraping), where no one call knows them all.
 */
export async function upsertImages(trx: Transaction<Database>, source: MediaSource, images: readonly ImageInput[], now: Date): Promise<ImageCounts> {
  return storeImages(trx, source, images, now, { removeOthers: false });
}

async function storeImages(trx: Transaction<Database>, source: MediaSource, images: readonly ImageInput[], now: Date, opts: { removeOthers: boolean }): Promise<ImageCounts> {
  const counts: ImageCounts = { added: 0, updated: 0, unchanged: 0, removed: 0 };
  const existing = new Map((await trx.selectFrom('media_images').select(['ref', 'source', 'source_hash']).execute()).map((r) => [r.ref, r]));
  const wanted = new Set(images.map((i) => i.ref));
  const gone = opts.removeOthers ? [...existing.values()].filter((r) => r.source === source && !wanted.has(r.ref)).map((r) => r.ref) : [];
  for (let i = 0; i < gone.length; i += CHUNK) await trx.deleteFrom('media_images').where('ref', 'in', gone.slice(i, i + CHUNK)).execute();
  counts.removed = gone.length;

  for (const image of images) {
    const row = existing.get(image.ref);
    if (row && row.source !== source) throw new Error(`Image ${image.ref} belongs to ${row.source}, not ${source}`);
    if (row?.source_hash === image.sourceHash) {
      counts.unchanged++;
      continue;
    }
    const p = image.processed;
    if (!p || p.sourceHash !== image.sourceHash) throw new Error(`Image ${image.ref} changed but was not processed (hash ${image.sourceHash})`);
    for (let i = 0; i < p.variants.length; i += CHUNK) {
      const files = p.variants.slice(i, i + CHUNK).map((v) => ({ name: v.name, content_type: v.type, bytes: v.data }));
      await trx.insertInto('media_files').values(files).onConflict((oc) => oc.column('name').doNothing()).execute();
    }
    const variants = JSON.stringify(p.variants.map(({ name, type, width, height, bytes }) => ({ name, type, width, height, bytes })));
    await trx
      .insertInto('media_images')
      .values({ ref: image.ref, source, source_hash: p.sourceHash, width: p.width, height: p.height, variants, created_at: now, updated_at: now })
      .onConflict((oc) => oc.column('ref').doUpdateSet({ source_hash: p.sourceHash, width: p.width, height: p.height, variants, updated_at: now }))
      .execute();
    if (row) counts.updated++;
    else counts.added++;
  }
  if (counts.removed + counts.updated > 0) await deleteUnusedFiles(trx);
  return counts;
}

/** Files no image lists any more (replaced or removed images). */
async function deleteUnusedFiles(trx: Transaction<Database>): Promise<void> {
  await sql`delete from media_files where name not in (select v->>'name' from media_images, jsonb_array_elements(variants) as v)`.execute(trx);
}

/** The stored images with these refs (unknown refs are left out). */
export async function loadImages(db: Kysely<Database>, refs: readonly string[]): Promise<StoredImage[]> {
  const out: StoredImage[] = [];
  const unique = [...new Set(refs)];
  for (let i = 0; i < unique.length; i += CHUNK) {
    const rows = await db.selectFrom('media_images').select(['ref', 'source', 'source_hash', 'width', 'height', 'variants']).where('ref', 'in', unique.slice(i, i + CHUNK)).execute();
    for (const r of rows) out.push({ ref: r.ref, source: r.source, sourceHash: r.source_hash, width: r.width, height: r.height, variants: r.variants });
  }
  return out.sort((a, b) => (a.ref < b.ref ? -1 : a.ref > b.ref ? 1 : 0));
}

/** Bytes of media files by name; names not stored are missing from the map. */
export async function readMediaFiles(db: Kysely<Database>, names: readonly string[]): Promise<Map<string, Uint8Array>> {
  const out = new Map<string, Uint8Array>();
  for (let i = 0; i < names.length; i += CHUNK) {
    const rows = await db.selectFrom('media_files').select(['name', 'bytes']).where('name', 'in', names.slice(i, i + CHUNK)).execute();
    for (const r of rows) out.set(r.name, r.bytes);
  }
  return out;
}

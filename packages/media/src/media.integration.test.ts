import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, databaseKinds, type TestDatabase } from '@rose/testing';
import type { ProcessedImage } from './image-variants.ts';
import { fillMediaFolder, mediaFolder } from './media-folder.ts';
import { imageHashes, loadImages, readMediaFiles, replaceImages, type ImageInput } from './media.repository.ts';

/** A processed image without running sharp: the repository only stores what it is given. */
function processed(stem: string, content: string): ProcessedImage {
  const variants = [480, 960].map((width) => {
    const data = Buffer.from(`${content}-${width}`);
    const hash = createHash('sha256').update(data).digest('hex').slice(0, 16);
    return { name: `${stem}-${width}.${hash}.webp`, type: 'image/webp' as const, width, height: width / 2, bytes: data.length, data };
  });
  return { sourceHash: `hash-of-${content}`, width: 960, height: 480, variants };
}
const input = (ref: string, p: ProcessedImage, withFiles = true): ImageInput => ({ ref, sourceHash: p.sourceHash, ...(withFiles ? { processed: p } : {}) });

describe.each(databaseKinds)('media store on %s', (kind) => {
  let t: TestDatabase;
  let dir: string;
  const now = new Date('2026-11-29T12:00:00Z');
  const replace = (images: ImageInput[]) => t.db.transaction().execute((trx) => replaceImages(trx, 'content', images, now));
  const fileNames = async () => (await t.db.selectFrom('media_files').select('name').orderBy('name').execute()).map((r) => r.name);

  beforeAll(async () => {
    t = await createTestDatabase(kind);
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'rose-media-'));
  });
  afterAll(async () => {
    await t?.drop();
    await fs.rm(dir, { recursive: true, force: true });
  });

  const market = processed('market', 'market-v1');
  const bread = processed('bread', 'bread-v1');

  it('stores new images with their files, and keeps unchanged ones without their files being sent again', async () => {
    expect(await replace([input('/images/market.jpg', market), input('/images/bread.jpg', bread)])).toEqual({ added: 2, updated: 0, unchanged: 0, removed: 0 });
    expect(await imageHashes(t.db, 'content')).toEqual(new Map([['/images/market.jpg', 'hash-of-market-v1'], ['/images/bread.jpg', 'hash-of-bread-v1']]));
    expect(await fileNames()).toEqual([...market.variants, ...bread.variants].map((v) => v.name).sort());
    // A second seed with the same originals: hashes match, nothing processed or written.
    expect(await replace([input('/images/market.jpg', market, false), input('/images/bread.jpg', bread, false)])).toEqual({ added: 0, updated: 0, unchanged: 2, removed: 0 });
    const [stored] = await loadImages(t.db, ['/images/market.jpg', '/images/unknown.jpg']);
    expect(stored).toEqual({ ref: '/images/market.jpg', source: 'content', sourceHash: 'hash-of-market-v1', width: 960, height: 480, variants: market.variants.map(({ data: _data, ...v }) => v) });
  });

  it('reads the bytes back as they were stored', async () => {
    const files = await readMediaFiles(t.db, [market.variants[0]!.name, 'missing-1.0123456789abcdef.webp']);
    expect([...files.keys()]).toEqual([market.variants[0]!.name]);
    expect(Buffer.from(files.get(market.variants[0]!.name)!).toString()).toBe('market-v1-480');
  });

  it('replaces a changed image and removes a gone one, deleting files nothing uses', async () => {
    const market2 = processed('market', 'market-v2');
    expect(await replace([input('/images/market.jpg', market2)])).toEqual({ added: 0, updated: 1, unchanged: 0, removed: 1 });
    expect(await fileNames()).toEqual(market2.variants.map((v) => v.name).sort());
    expect(await loadImages(t.db, ['/images/bread.jpg'])).toEqual([]);
  });

  it('refuses a changed image that was not processed (nothing is written)', async () => {
    await expect(replace([{ ref: '/images/market.jpg', sourceHash: 'hash-of-market-v3' }])).rejects.toThrow(/changed but was not processed/);
    expect((await imageHashes(t.db, 'content')).get('/images/market.jpg')).toBe('hash-of-market-v2');
  });

  it('fills a local folder from the database once, checking each file against its name', async () => {
    const names = (await loadImages(t.db, ['/images/market.jpg']))[0]!.variants.map((v) => v.name);
    expect(await fillMediaFolder(t.db, dir, names)).toBe(2);
    expect(await fillMediaFolder(t.db, dir, names)).toBe(0);
    expect((await fs.readdir(dir)).sort()).toEqual([...names].sort());
    expect((await mediaFolder(dir).read(names[0]!)).toString()).toMatch(/^market-v2-/);
    await expect(mediaFolder(dir).read('../secret')).rejects.toThrow(/Not a media file name/);
    await expect(fillMediaFolder(t.db, dir, ['gone-1.0123456789abcdef.webp'])).rejects.toThrow(/not stored in the database/);
  });
});

import { promises as fs } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ContentError } from '@rose/core';
import { createTestDatabase, databaseKinds, type TestDatabase } from '@rose/testing';
import { loadBlogSnapshot, refreshBlogSnapshot } from './blog.view.ts';
import { prepareContentImages, readContentImages } from './content-images.ts';
import { loadContent } from './content-loader.ts';
import { post, writeContentFixture } from './content.fixture.ts';
import { blogPageKeys } from './page-keys.ts';
import { seedContent } from './seed.service.ts';

async function jpeg(colour: string): Promise<Buffer> {
  return sharp({ create: { width: 1000, height: 600, channels: 3, background: colour } }).jpeg().toBuffer();
}

const withImage = (title: string, image: string) => post({ title, date: '2025-05-01T10:00:00Z', authors: ['ann'], feature_image: image, feature_image_alt: 'Stalls in the yard' }, 'Market day.');

describe.each(databaseKinds)('content images on %s', (kind) => {
  let t: TestDatabase;
  let dir: string;
  const seed = async () => {
    const bundle = await loadContent(dir);
    const images = await prepareContentImages(t.db, await readContentImages(dir, bundle));
    return { images, summary: await seedContent(t.db, bundle, { images }) };
  };

  beforeAll(async () => {
    t = await createTestDatabase(kind);
    dir = await writeContentFixture({
      'posts/market-day.md': withImage('Market day', '/images/market.jpg'),
      'pages/visit.md': post({ title: 'Visit', feature_image: '/images/market.jpg' }, 'Come.'),
    });
    await fs.mkdir(path.join(dir, 'images'));
    await fs.writeFile(path.join(dir, 'images', 'market.jpg'), await jpeg('#9c2f4a'));
  });
  afterAll(async () => {
    await t?.drop();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('stores the variants of each image posts refer to, with the posts, and the snapshot shows them responsively', async () => {
    const { summary } = await seed();
    expect(summary.images).toEqual({ added: 1, updated: 0, unchanged: 0, removed: 0 });
    const snapshot = await loadBlogSnapshot(t.db);
    const market = snapshot.posts.find((p) => p.slug === 'market-day')!;
    expect(market.featureImage).toMatch(/^\/blog\/images\/market-1000\.[0-9a-f]{16}\.jpg$/);
    expect(market.featureImageSet).toMatchObject({ src: market.featureImage, width: 1000, height: 600, type: 'image/jpeg' });
    expect(market.featureImageSet!.srcset).toMatch(/^\/blog\/images\/market-480\.\w+\.jpg 480w, \/blog\/images\/market-960\.\w+\.jpg 960w, \/blog\/images\/market-1000\.\w+\.jpg 1000w$/);
    expect(market.featureImageSet!.sources.map((s) => s.type)).toEqual(['image/avif', 'image/webp']);
    // The page uses the same image: one set of files.
    expect(snapshot.pages.find((p) => p.slug === 'visit')!.featureImageSet).toEqual(market.featureImageSet);
    expect(snapshot.mediaFiles).toHaveLength(9);
    // Each file is a page key of its own (named by content: the name is the key).
    const keys = blogPageKeys(snapshot, 10);
    for (const f of snapshot.mediaFiles) expect(keys.get(f.url)).toBe(f.name);
  });

  it('a second seed of the same files processes nothing and changes nothing', async () => {
    const { images, summary } = await seed();
    expect(images.every((i) => i.processed === undefined)).toBe(true);
    expect(summary.unchanged).toBe(true);
    expect(summary.images).toEqual({ added: 0, updated: 0, unchanged: 1, removed: 0 });
  });

  it('a changed image gets new files and new URLs; a targeted refresh of another post sees it', async () => {
    const before = await loadBlogSnapshot(t.db);
    await fs.writeFile(path.join(dir, 'images', 'market.jpg'), await jpeg('#2f6f5e'));
    const { summary } = await seed();
    expect(summary.images).toEqual({ added: 0, updated: 1, unchanged: 0, removed: 0 });
    const after = await loadBlogSnapshot(t.db);
    const src = after.posts.find((p) => p.slug === 'market-day')!.featureImage;
    expect(src).not.toBe(before.posts.find((p) => p.slug === 'market-day')!.featureImage);
    const refreshed = await refreshBlogSnapshot(t.db, before, ['first-post']);
    expect(refreshed.posts.find((p) => p.slug === 'market-day')!.featureImage).toBe(src);
    expect(refreshed.mediaFiles.map((f) => f.name).sort()).toEqual(after.mediaFiles.map((f) => f.name).sort());
    const stored = (await t.db.selectFrom('media_files').select('name').execute()).map((r) => r.name).sort();
    expect(stored).toEqual(after.mediaFiles.map((f) => f.name).sort());
  });

  it('refuses a reference to a missing image, naming the post and field, and changes nothing', async () => {
    await fs.writeFile(path.join(dir, 'posts', 'broken.md'), withImage('Broken', '/images/nowhere.jpg'));
    await fs.writeFile(path.join(dir, 'posts', 'escape.md'), withImage('Escape', '/images/../site.json'));
    const bundle = await loadContent(dir);
    const error = await readContentImages(dir, bundle).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ContentError);
    expect((error as ContentError).message).toContain('posts/broken.md: feature_image: no file images/nowhere.jpg in the content folder');
    expect((error as ContentError).message).toContain('posts/escape.md: feature_image: "/images/../site.json" is not a file of images/');
    await fs.rm(path.join(dir, 'posts', 'broken.md'));
    await fs.rm(path.join(dir, 'posts', 'escape.md'));
  });

  it('an image no post refers to any more is removed, with its files', async () => {
    await fs.writeFile(path.join(dir, 'posts', 'market-day.md'), post({ title: 'Market day', date: '2025-05-01T10:00:00Z', authors: ['ann'] }, 'Market day.'));
    await fs.writeFile(path.join(dir, 'pages', 'visit.md'), post({ title: 'Visit' }, 'Come.'));
    const { summary } = await seed();
    expect(summary.images).toEqual({ added: 0, updated: 0, unchanged: 0, removed: 1 });
    const snapshot = await loadBlogSnapshot(t.db);
    expect(snapshot.images).toEqual([]);
    expect(snapshot.mediaFiles).toEqual([]);
    expect(await t.db.selectFrom('media_files').select('name').execute()).toEqual([]);
  });
});

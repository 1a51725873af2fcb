import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { precompressTree } from './precompress.ts';

const page = (n: number) => `<!DOCTYPE html><html><head><title>Post ${n}</title></head><body>${'<p>The co-op market opens on Saturday with bread, cheese and apples.</p>'.repeat(40)}</body></html>`;

describe('precompressTree', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'precompress-'));
    await fs.mkdir(path.join(dir, 'blog', 'post'), { recursive: true });
    await fs.mkdir(path.join(dir, '_astro'), { recursive: true });
    await fs.writeFile(path.join(dir, 'blog', 'post', 'index.html'), page(1));
    await fs.writeFile(path.join(dir, '_astro', 'site.css'), 'body { color: #1f2421; background: #fbfaf6; }\n'.repeat(50));
    await fs.writeFile(path.join(dir, 'robots.txt'), 'User-agent: *\n');
    await fs.writeFile(path.join(dir, 'noise.txt'), randomBytes(4096));
    await fs.writeFile(path.join(dir, 'photo.png'), Buffer.alloc(8192));
  });
  afterEach(() => fs.rm(dir, { recursive: true, force: true }));

  const exists = (f: string) => fs.access(path.join(dir, f)).then(() => true, () => false);

  it('writes brotli and gzip variants that decompress to the file, with its modification time', async () => {
    const summary = await precompressTree(dir);
    const html = await fs.readFile(path.join(dir, 'blog/post/index.html'));
    const br = await fs.readFile(path.join(dir, 'blog/post/index.html.br'));
    const gz = await fs.readFile(path.join(dir, 'blog/post/index.html.gz'));
    expect(zlib.brotliDecompressSync(br).equals(html)).toBe(true);
    expect(zlib.gunzipSync(gz).equals(html)).toBe(true);
    expect(br.length).toBeLessThan(html.length / 4);
    expect(zlib.brotliDecompressSync(await fs.readFile(path.join(dir, '_astro/site.css.br'))).toString()).toContain('background');
    const [source, variant] = await Promise.all([fs.stat(path.join(dir, 'blog/post/index.html')), fs.stat(path.join(dir, 'blog/post/index.html.br'))]);
    expect(Math.abs(source.mtimeMs - variant.mtimeMs)).toBeLessThan(1);
    expect(summary).toMatchObject({ files: 4, written: 4, upToDate: 0, removed: 0 });
    expect((await fs.readdir(dir, { recursive: true })).filter((f) => f.includes('.tmp'))).toEqual([]);
  });

  it('skips tiny files, files that do not shrink and types that are not text', async () => {
    await precompressTree(dir);
    expect(await exists('robots.txt.br')).toBe(false);
    expect(await exists('noise.txt.br')).toBe(false);
    expect(await exists('noise.txt.gz')).toBe(false);
    expect(await exists('photo.png.br')).toBe(false);
  });

  it('leaves current variants alone on a second run', async () => {
    await precompressTree(dir);
    const before = await fs.stat(path.join(dir, 'blog/post/index.html.br'));
    const summary = await precompressTree(dir);
    expect(summary).toMatchObject({ written: 0, upToDate: 4, removed: 0 });
    expect((await fs.stat(path.join(dir, 'blog/post/index.html.br'))).ino).toBe(before.ino);
  });

  it('replaces a stale variant through a new file, leaving a hard-linked copy (another release) as it was', async () => {
    await precompressTree(dir);
    const other = await fs.mkdtemp(path.join(os.tmpdir(), 'precompress-other-'));
    try {
      await fs.link(path.join(dir, 'blog/post/index.html.br'), path.join(other, 'index.html.br'));
      const oldBytes = await fs.readFile(path.join(other, 'index.html.br'));
      // A targeted build puts a freshly rendered page beside the linked variants.
      const file = path.join(dir, 'blog/post/index.html');
      await fs.rm(file);
      await fs.writeFile(file, page(2));
      await fs.utimes(file, new Date(), new Date(Date.now() + 5_000));
      const summary = await precompressTree(dir);
      expect(summary.written).toBe(2);
      expect(zlib.brotliDecompressSync(await fs.readFile(`${file}.br`)).toString()).toContain('Post 2');
      expect(zlib.gunzipSync(await fs.readFile(`${file}.gz`)).toString()).toContain('Post 2');
      expect((await fs.readFile(path.join(other, 'index.html.br'))).equals(oldBytes)).toBe(true);
    } finally {
      await fs.rm(other, { recursive: true, force: true });
    }
  });

  it('removes the variants of a page that is gone, and its then empty folder', async () => {
    await precompressTree(dir);
    await fs.rm(path.join(dir, 'blog/post/index.html'));
    const summary = await precompressTree(dir);
    expect(summary.removed).toBe(2);
    expect(await exists('blog/post')).toBe(false);
    expect(await exists('blog')).toBe(true);
  });

  it('removes a stale variant when the file no longer shrinks', async () => {
    await precompressTree(dir);
    const file = path.join(dir, 'blog/post/index.html');
    await fs.writeFile(file, randomBytes(4096));
    await fs.utimes(file, new Date(), new Date(Date.now() + 5_000));
    await precompressTree(dir);
    expect(await exists('blog/post/index.html.br')).toBe(false);
    expect(await exists('blog/post/index.html.gz')).toBe(false);
  });

  it('compresses only the files named, when given', async () => {
    await fs.writeFile(path.join(dir, 'blog/other.html'), page(3));
    const progress: number[] = [];
    const summary = await precompressTree(dir, { files: ['blog/other.html'], onProgress: ({ done }) => progress.push(done) });
    expect(summary).toMatchObject({ files: 1, written: 2 });
    expect(progress).toEqual([1]);
    expect(await exists('blog/other.html.br')).toBe(true);
    expect(await exists('blog/post/index.html.br')).toBe(false);
    await expect(precompressTree(dir, { files: ['../outside.html'] })).rejects.toThrow(/outside/);
  });

  it('reports progress for every compressible file', async () => {
    const seen: string[] = [];
    await precompressTree(dir, { onProgress: ({ done, total }) => seen.push(`${done}/${total}`) });
    expect(seen).toEqual(['1/4', '2/4', '3/4', '4/4']);
  });
});

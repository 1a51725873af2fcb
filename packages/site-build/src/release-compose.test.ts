import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { writeRendered } from './release-compose.ts';

const page = (title: string, islandId = 'a1') =>
  Buffer.from(`<!DOCTYPE html><html><head><meta name="rose-release" content="r-${islandId}"></head><body><h1>${title}</h1>${'<p>Words of a page long enough to compress.</p>'.repeat(60)}<div data-island-id="${islandId}"></div></body></html>`);

async function folders() {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'rose-compose-'));
  const live = path.join(root, 'live', 'client');
  const staged = path.join(root, 'staged', 'client');
  await fs.mkdir(live, { recursive: true });
  await fs.mkdir(staged, { recursive: true });
  return { live, staged };
}

describe('writeRendered', () => {
  it('writes a new page with brotli and gzip variants of the same bytes, dated like the page', async () => {
    const { staged } = await folders();
    const body = page('Hello');
    expect(writeRendered(undefined, staged, { file: 'blog/hello/index.html', body }, new Set())).toBe(true);
    const file = path.join(staged, 'blog/hello/index.html');
    expect(await fs.readFile(file)).toEqual(body);
    expect(brotliDecompressSync(await fs.readFile(`${file}.br`))).toEqual(body);
    expect(gunzipSync(await fs.readFile(`${file}.gz`))).toEqual(body);
    const [source, br, gz] = await Promise.all([file, `${file}.br`, `${file}.gz`].map((f) => fs.stat(f)));
    expect(Math.abs(br!.mtimeMs - source!.mtimeMs)).toBeLessThan(1);
    expect(Math.abs(gz!.mtimeMs - source!.mtimeMs)).toBeLessThan(1);
  });

  it('leaves out a page equal to the live one but for per-render ids, and writes one that changed', async () => {
    const { live, staged } = await folders();
    await fs.mkdir(path.join(live, 'blog/hello'), { recursive: true });
    await fs.writeFile(path.join(live, 'blog/hello/index.html'), page('Hello', 'old'));
    expect(writeRendered(live, staged, { file: 'blog/hello/index.html', body: page('Hello', 'new') }, new Set())).toBe(false);
    await expect(fs.access(path.join(staged, 'blog/hello/index.html'))).rejects.toThrow();
    expect(writeRendered(live, staged, { file: 'blog/hello/index.html', body: page('Hello again', 'new') }, new Set())).toBe(true);
  });

  it('gives small files no variants, and refuses a path outside the release', async () => {
    const { staged } = await folders();
    expect(writeRendered(undefined, staged, { file: 'robots.txt', body: Buffer.from('User-agent: *\n') }, new Set())).toBe(true);
    expect((await fs.readdir(staged)).sort()).toEqual(['robots.txt']);
    expect(() => writeRendered(undefined, staged, { file: '../escape.html', body: page('x') }, new Set())).toThrow(/outside the release/);
    expect(() => writeRendered(undefined, staged, { file: '/etc/x.html', body: page('x') }, new Set())).toThrow(/outside the release/);
  });
});

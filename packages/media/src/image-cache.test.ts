import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { processImageCached } from './image-cache.ts';

describe('processImageCached', () => {
  it('gives the same variants from the cache, and makes them again when a cached file is damaged', async () => {
    const cacheDir = await fs.mkdtemp(path.join(os.tmpdir(), 'rose-image-cache-'));
    const original = await sharp({ create: { width: 600, height: 400, channels: 3, background: '#3a7' } }).jpeg().toBuffer();
    const first = await processImageCached(original, { stem: 'Green Field', label: 'green.jpg', cacheDir });
    const [entry] = await fs.readdir(cacheDir);
    expect(entry).toMatch(/^[0-9a-f]{64}-green-field$/);
    const second = await processImageCached(original, { stem: 'Green Field', label: 'green.jpg', cacheDir });
    expect(second).toEqual(first);
    // A cached file whose bytes no longer match its name is not trusted.
    const victim = first.variants[0]!.name;
    await fs.writeFile(path.join(cacheDir, entry!, victim), 'garbage');
    const third = await processImageCached(original, { stem: 'Green Field', label: 'green.jpg', cacheDir });
    expect(third.variants.map((v) => v.name)).toEqual(first.variants.map((v) => v.name));
    expect(Buffer.from(third.variants[0]!.data).equals(Buffer.from(first.variants[0]!.data))).toBe(true);
    // …and the entry is whole again.
    expect(await fs.readFile(path.join(cacheDir, entry!, victim))).toEqual(Buffer.from(first.variants[0]!.data));
  });
});

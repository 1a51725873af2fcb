import { createHash } from 'node:crypto';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { RoseError } from '@rose/core';
import { processImage, sourceHashOf, variantRecipe } from './image-variants.ts';
import { responsiveImage } from './responsive-image.ts';

/** A picture with some detail (so encoders have work to do), as JPEG or PNG. */
async function picture(width: number, height: number, opts: { alpha?: boolean; orientation?: number } = {}): Promise<Buffer> {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><defs><linearGradient id="g"><stop offset="0" stop-color="#9c2f4a"/><stop offset="1" stop-color="#2f6f5e"/></linearGradient></defs><rect width="${width}" height="${height}" fill="url(#g)" ${opts.alpha ? 'opacity="0.5"' : ''}/><circle cx="${width / 3}" cy="${height / 2}" r="${height / 4}" fill="#f0b429"/></svg>`;
  const image = sharp(Buffer.from(svg));
  if (opts.alpha) return image.png().toBuffer();
  return (opts.orientation ? image.withMetadata({ orientation: opts.orientation }) : image).jpeg({ quality: 90 }).toBuffer();
}

describe('processImage', () => {
  it('makes AVIF, WebP and JPEG variants at each width up to the original, named by their content', async () => {
    const original = await picture(1600, 1000);
    const image = await processImage(original, { stem: 'Market Day!', label: 'images/market.jpg' });
    expect(image).toMatchObject({ width: 1600, height: 1000, sourceHash: sourceHashOf(original) });
    expect(image.variants.map((v) => `${v.type} ${v.width}x${v.height}`)).toEqual([
      'image/avif 1440x900',
      'image/avif 960x600',
      'image/avif 480x300',
      'image/webp 1440x900',
      'image/webp 960x600',
      'image/webp 480x300',
      'image/jpeg 1440x900',
      'image/jpeg 960x600',
      'image/jpeg 480x300',
    ]);
    for (const v of image.variants) {
      const hash = createHash('sha256').update(v.data).digest('hex').slice(0, 16);
      expect(v.name).toBe(`market-day-${v.width}.${hash}.${{ 'image/avif': 'avif', 'image/webp': 'webp', 'image/jpeg': 'jpg' }[v.type as 'image/avif']}`);
      expect(v.bytes).toBe(v.data.length);
      const meta = await sharp(v.data).metadata();
      expect({ format: meta.format, width: meta.width, height: meta.height }).toEqual({ format: { 'image/avif': 'heif', 'image/webp': 'webp', 'image/jpeg': 'jpeg' }[v.type as 'image/avif'], width: v.width, height: v.height });
    }
    // The smaller formats are smaller.
    const at = (type: string) => image.variants.find((v) => v.type === type && v.width === 960)!.bytes;
    expect(at('image/avif')).toBeLessThan(at('image/jpeg'));
    expect(at('image/webp')).toBeLessThan(at('image/jpeg'));
  });

  it('never enlarges: a small original gets one variant per type, at its own width', async () => {
    const image = await processImage(await picture(300, 200), { stem: 'small', label: 'images/small.jpg' });
    expect(image.variants.map((v) => `${v.type} ${v.width}x${v.height}`)).toEqual(['image/avif 300x200', 'image/webp 300x200', 'image/jpeg 300x200']);
  });

  it('includes the original width when it falls between two steps', async () => {
    const image = await processImage(await picture(1200, 600), { stem: 'mid', label: 'images/mid.jpg' });
    expect(image.variants.filter((v) => v.type === 'image/webp').map((v) => v.width)).toEqual([1200, 960, 480]);
  });

  it('turns a camera picture upright (EXIF orientation) and drops its metadata', async () => {
    const image = await processImage(await picture(800, 400, { orientation: 6 }), { stem: 'turned', label: 'images/turned.jpg' });
    expect({ width: image.width, height: image.height }).toEqual({ width: 400, height: 800 });
    const widest = image.variants.find((v) => v.type === 'image/jpeg')!;
    expect({ width: widest.width, height: widest.height }).toEqual({ width: 400, height: 800 });
    const meta = await sharp(widest.data).metadata();
    expect(meta.orientation).toBeUndefined();
    expect(meta.exif).toBeUndefined();
  });

  it('keeps transparency: PNG instead of JPEG as the fallback', async () => {
    const image = await processImage(await picture(600, 300, { alpha: true }), { stem: 'logo', label: 'images/logo.png' });
    expect(image.variants.filter((v) => v.type === 'image/png').map((v) => v.name)).toEqual([expect.stringMatching(/^logo-600\.[0-9a-f]{16}\.png$/), expect.stringMatching(/^logo-480\.[0-9a-f]{16}\.png$/)]);
    expect(image.variants.some((v) => v.type === 'image/jpeg')).toBe(false);
    expect(responsiveImage({ ref: '/images/logo.png', source: 'content', sourceHash: image.sourceHash, width: 600, height: 300, variants: image.variants }, (n) => `/m/${n}`)).toMatchObject({ type: 'image/png', width: 600, height: 300 });
  });

  it('is deterministic: the same original gives the same files', async () => {
    const original = await picture(500, 500);
    const [a, b] = await Promise.all([processImage(original, { stem: 'x', label: 'x' }), processImage(original, { stem: 'x', label: 'x' })]);
    expect(a.variants.map((v) => v.name)).toEqual(b.variants.map((v) => v.name));
    expect(sourceHashOf(original)).toBe(createHash('sha256').update(variantRecipe).update(original).digest('hex'));
  });

  it('refuses a file that is not an image, naming it', async () => {
    const error = await processImage(Buffer.from('<html>not an image</html>'), { stem: 'x', label: 'content/images/broken.jpg' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RoseError);
    expect((error as RoseError).message).toMatch(/^content\/images\/broken\.jpg is not an image that can be read/);
  });
});

describe('responsiveImage', () => {
  it('lists AVIF then WebP sources and the fallback, narrowest first, sized by the widest fallback', () => {
    const v = (type: 'image/avif' | 'image/webp' | 'image/jpeg', width: number) => ({ name: `a-${width}.0123456789abcdef.${type.slice(6)}`, type, width, height: width / 2, bytes: 1 });
    const image = { ref: '/images/a.jpg', source: 'content' as const, sourceHash: 'h', width: 2000, height: 1000, variants: [v('image/jpeg', 960), v('image/webp', 960), v('image/avif', 480), v('image/jpeg', 480), v('image/avif', 960), v('image/webp', 480)] };
    expect(responsiveImage(image, (n) => `/blog/images/${n}`)).toEqual({
      src: '/blog/images/a-960.0123456789abcdef.jpeg',
      width: 960,
      height: 480,
      type: 'image/jpeg',
      srcset: '/blog/images/a-480.0123456789abcdef.jpeg 480w, /blog/images/a-960.0123456789abcdef.jpeg 960w',
      sources: [
        { type: 'image/avif', srcset: '/blog/images/a-480.0123456789abcdef.avif 480w, /blog/images/a-960.0123456789abcdef.avif 960w' },
        { type: 'image/webp', srcset: '/blog/images/a-480.0123456789abcdef.webp 480w, /blog/images/a-960.0123456789abcdef.webp 960w' },
      ],
    });
  });
});

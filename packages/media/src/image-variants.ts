import { createHash } from 'node:crypto';
import sharp, { type Metadata } from 'sharp';
import { RoseError } from '@rose/core';
import type { MediaVariant } from '@rose/db';

/** A file made from an original: its content-hashed name, type, size and bytes. */
export interface VariantFile extends MediaVariant {
  data: Buffer;
}

/** What processing an original gives: its displayed size and every variant file. */
export interface ProcessedImage {
  /** SHA-256 of the original's bytes and `variantRecipe`: the same hash means the same files. */
  sourceHash: string;
  /** Size of the original once turned upright (EXIF orientation applied). */
  width: number;
  height: number;
  /** Widest first within each type: AVIF, WebP, then the fallback (JPEG, or PNG with transparency). */
  variants: VariantFile[];
}

/** Widths made (never wider than the original): phone, a column at 1x/2x, a wide screen at 2x. */
export const variantWidths: readonly number[] = [480, 960, 1440];

/**
 * How variants are made. Part of `sourceHash`: changing it (new widths, new quality) makes
 * the next seed redo every image once.
 */
export const variantRecipe = `v1 widths=${variantWidths.join(',')} avif=q50e1 webp=q72e4 jpeg=q76moz png=c9`;

const extensions = { 'image/avif': 'avif', 'image/webp': 'webp', 'image/jpeg': 'jpg', 'image/png': 'png' } as const;

/** Largest original accepted (pixels), so a huge file cannot exhaust memory while seeding. */
const maxInputPixels = 60_000_000;

/** The hash `processImage` gives an original, without processing it: to skip unchanged ones. */
export function sourceHashOf(original: Uint8Array): string {
  return createHash('sha256').update(variantRecipe).update(original).digest('hex');
}

/**
 * Turns an original (JPEG, PNG, WebP, AVIF, GIF or TIFF) into resized AVIF and WebP variants
 * and a fallback (JPEG; PNG when it has transparency) at each of `variantWidths` up to its own
 * width, named `<stem>-<width>.<16 hex of SHA-256>.<ext>`. Metadata (EXIF, GPS, profiles) is
 * dropped after applying the orientation. Throws a RoseError naming `label` when the file is
 * not an image sharp can read.
 *
 * @example
 * const image = await processImage(await fs.readFile('content/images/market.jpg'), { stem: 'market', label: 'content/images/market.jpg' });
 * image.variants[0]; // { name: 'market-1440.3fa9…c2.avif', type: 'image/avif', width: 1440, height: 900, … }
 */
export async function processImage(original: Uint8Array, opts: { stem: string; label: string }): Promise<ProcessedImage> {
  const input = Buffer.from(original.buffer, original.byteOffset, original.byteLength);
  const stem = opts.stem.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') || 'image';
  let meta: Metadata;
  try {
    meta = await sharp(input, { limitInputPixels: maxInputPixels }).metadata();
  } catch (error) {
    throw new RoseError({
      code: 'bad-image',
      title: 'Unreadable image',
      message: `${opts.label} is not an image that can be read (${(error as Error).message}).`,
      hint: 'Use a JPEG, PNG, WebP or AVIF file, or remove the reference to it.',
      cause: error,
    });
  }
  if (!meta.width || !meta.height) {
    throw new RoseError({ code: 'bad-image', title: 'Unreadable image', message: `${opts.label} has no width or height.`, hint: 'Use a JPEG, PNG, WebP or AVIF file.' });
  }
  // Orientations 5-8 turn the picture a quarter: width and height swap.
  const turned = (meta.orientation ?? 1) >= 5;
  const width = turned ? meta.height : meta.width;
  const height = turned ? meta.width : meta.height;
  const fallback = meta.hasAlpha ? 'image/png' : 'image/jpeg';
  const widths = variantWidths.filter((w) => w < width);
  // The original's own width too when it falls between two steps (or below the first).
  if (widths.length < variantWidths.length) widths.push(width);
  widths.sort((a, b) => b - a);

  const jobs: Promise<VariantFile>[] = [];
  for (const type of ['image/avif', 'image/webp', fallback] as const) {
    for (const w of widths) jobs.push(encode(input, type, w, stem));
  }
  return { sourceHash: sourceHashOf(original), width, height, variants: await Promise.all(jobs) };
}

async function encode(input: Buffer, type: keyof typeof extensions, width: number, stem: string): Promise<VariantFile> {
  let pipeline = sharp(input, { limitInputPixels: maxInputPixels }).autoOrient().resize({ width, withoutEnlargement: true });
  switch (type) {
    case 'image/avif':
      pipeline = pipeline.avif({ quality: 50, effort: 1 });
      break;
    case 'image/webp':
      pipeline = pipeline.webp({ quality: 72, effort: 4 });
      break;
    case 'image/jpeg':
      pipeline = pipeline.flatten({ background: '#ffffff' }).jpeg({ quality: 76, mozjpeg: true });
      break;
    case 'image/png':
      pipeline = pipeline.png({ compressionLevel: 9 });
      break;
  }
  const { data, info } = await pipeline.toBuffer({ resolveWithObject: true });
  const hash = createHash('sha256').update(data).digest('hex').slice(0, 16);
  return { name: `${stem}-${info.width}.${hash}.${extensions[type]}`, type, width: info.width, height: info.height, bytes: data.length, data };
}

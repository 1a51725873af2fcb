import type { MediaVariant } from '@rose/db';
import type { StoredImage } from './media.repository.ts';

/** What a page needs to show an image responsively: `<picture>` sources and the fallback `<img>`. */
export interface ResponsiveImage {
  /** The widest fallback file (JPEG, or PNG): `<img src>`, og:image, feeds. */
  src: string;
  /** Intrinsic size of `src`, for `width`/`height` (the browser reserves the space). */
  width: number;
  height: number;
  /** Fallback files by width (`url 480w, …`). */
  srcset: string;
  type: 'image/jpeg' | 'image/png';
  /** Smaller formats first (AVIF, then WebP), each with its widths. */
  sources: { type: 'image/avif' | 'image/webp'; srcset: string }[];
}

/** A file the site publishes for an image: its name, URL and type. */
export interface PublishedFile {
  name: string;
  url: string;
  type: MediaVariant['type'];
}

const preferred = ['image/avif', 'image/webp'] as const;

/**
 * The `<picture>` description of a stored image, with URLs made by `urlOf` (the part that
 * publishes the files decides where they live).
 *
 * @example
 * responsiveImage(image, (name) => blogLinks.image(name)).sources[0].srcset; // '/blog/images/market-480.ab…avif 480w, …'
 */
export function responsiveImage(image: StoredImage, urlOf: (name: string) => string): ResponsiveImage {
  const byType = (type: MediaVariant['type']) => image.variants.filter((v) => v.type === type).sort((a, b) => a.width - b.width);
  const srcsetOf = (list: MediaVariant[]) => list.map((v) => `${urlOf(v.name)} ${v.width}w`).join(', ');
  const fallbackType = image.variants.some((v) => v.type === 'image/png') ? 'image/png' : 'image/jpeg';
  const fallback = byType(fallbackType);
  const widest = fallback.at(-1);
  if (!widest) throw new Error(`Image ${image.ref} has no ${fallbackType} variant`);
  return {
    src: urlOf(widest.name),
    width: widest.width,
    height: widest.height,
    srcset: srcsetOf(fallback),
    type: fallbackType,
    sources: preferred.map((type) => ({ type, srcset: srcsetOf(byType(type)) })).filter((s) => s.srcset !== ''),
  };
}

/** Every file of an image, as the part publishing it lists them. */
export function publishedFiles(image: StoredImage, urlOf: (name: string) => string): PublishedFile[] {
  return image.variants.map((v) => ({ name: v.name, url: urlOf(v.name), type: v.type }));
}

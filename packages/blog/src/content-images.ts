import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Kysely } from 'kysely';
import { ContentError, type Clock } from '@rose/core';
import type { Database } from '@rose/db';
import { imageHashes, processImageCached, sourceHashOf, type ImageInput } from '@rose/media';
import type { ContentBundle } from './content-loader.ts';
import { seedContent, type SeedSummary } from './seed.service.ts';

/** How content refers to a file of its `images/` folder: `/images/<file>`. */
export const contentImagePrefix = '/images/';

const imageExtensions = new Set(['.jpg', '.jpeg', '.png', '.webp', '.avif', '.gif', '.tif', '.tiff']);

/** An image of the content folder that some post or page refers to. */
export interface ContentImage {
  /** `/images/market.jpg`: the value of `feature_image`. */
  ref: string;
  /** Path relative to the content folder, for messages. */
  file: string;
  bytes: Buffer;
  sourceHash: string;
}

/** Whether a `feature_image` value names a file of the content folder's `images/`. */
export function isContentImageRef(value: string): boolean {
  return value.startsWith(contentImagePrefix);
}

/**
 * Reads every image of `<contentDir>/images/` that a post or page of the bundle refers to
 * (`feature_image: /images/market.jpg`). A reference to a file that is missing, outside the
 * folder or not an image is a ContentError naming each post and field; nothing is changed.
 *
 * @example
 * const images = await readContentImages('content', bundle); // [{ ref: '/images/market.jpg', … }]
 */
export async function readContentImages(contentDir: string, bundle: ContentBundle): Promise<ContentImage[]> {
  const problems: string[] = [];
  const wanted = new Map<string, string>();
  for (const post of bundle.posts) {
    const ref = post.featureImage;
    if (!ref || !isContentImageRef(ref)) continue;
    const rel = ref.slice(1);
    const ext = path.extname(rel).toLowerCase();
    if (rel.split('/').some((s) => s === '' || s === '.' || s === '..')) problems.push(`${post.file}: feature_image: "${ref}" is not a file of images/`);
    else if (!imageExtensions.has(ext)) problems.push(`${post.file}: feature_image: "${ref}" is not an image (expected .jpg, .png, .webp, .avif or .gif)`);
    else if (!wanted.has(ref)) wanted.set(ref, post.file);
  }
  const images: ContentImage[] = [];
  for (const [ref, usedBy] of wanted) {
    const file = ref.slice(1);
    try {
      const bytes = await fs.readFile(path.join(contentDir, file));
      images.push({ ref, file, bytes, sourceHash: sourceHashOf(bytes) });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      problems.push(`${usedBy}: feature_image: ${code === 'ENOENT' ? `no file ${file} in the content folder` : `${file} cannot be read (${code ?? String(error)})`}`);
    }
  }
  if (problems.length > 0) {
    const message = `${problems.length} problem(s) in ${contentDir}:\n${problems.map((p) => `  ${p}`).join('\n')}`;
    const error = new ContentError(problems[0]!.split(':')[0]!, message, `Put the images in ${path.join(contentDir, 'images')}/ (or fix the references) and run \`rose db seed\` again; nothing was changed.`);
    Object.defineProperty(error, 'message', { value: message });
    throw error;
  }
  return images.sort((a, b) => (a.ref < b.ref ? -1 : 1));
}

/**
 * Makes the responsive variants of the images the database does not have yet (or has from
 * other bytes): what `seedContent` stores with the posts, in the same transaction. Unchanged
 * images cost a hash, not a re-encode.
 */
export async function prepareContentImages(db: Kysely<Database>, images: readonly ContentImage[], opts: { cacheDir?: string | undefined } = {}): Promise<ImageInput[]> {
  const known = await imageHashes(db, 'content');
  return Promise.all(
    images.map(async (image): Promise<ImageInput> => {
      if (known.get(image.ref) === image.sourceHash) return { ref: image.ref, sourceHash: image.sourceHash };
      const stem = path.basename(image.file, path.extname(image.file));
      return { ref: image.ref, sourceHash: image.sourceHash, processed: await processImageCached(image.bytes, { stem, label: image.file, cacheDir: opts.cacheDir }) };
    }),
  );
}

/**
 * `seedContent` together with the images of `contentDir` the bundle refers to: what
 * `rose db seed` and `rose dev` (on every content edit) do. A missing or unreadable image is a
 * ContentError and nothing changes.
 *
 * @example
 * await seedContentWithImages(db, 'content', await loadContent('content'));
 */
export async function seedContentWithImages(db: Kysely<Database>, contentDir: string, bundle: ContentBundle, deps: { clock?: Clock; prune?: boolean; imageCacheDir?: string } = {}): Promise<SeedSummary> {
  const { imageCacheDir, ...seedDeps } = deps;
  const images = await prepareContentImages(db, await readContentImages(contentDir, bundle), { cacheDir: imageCacheDir });
  return seedContent(db, bundle, { ...seedDeps, images });
}

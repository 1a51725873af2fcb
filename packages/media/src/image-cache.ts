import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { processImage, sourceHashOf, type ProcessedImage } from './image-variants.ts';

/**
 * `processImage` through a folder of earlier results: an original seen before (same bytes, same
 * recipe, same stem) costs a hash and a few reads instead of a dozen encodes. Every process and
 * test of one checkout can share the folder (`node_modules/.cache/rose-images`): entries are
 * named by the source hash and written through a rename, and a file whose bytes do not match
 * its name is ignored (the image is made again).
 *
 * @example
 * const image = await processImageCached(bytes, { stem: 'market', label: 'content/images/market.jpg', cacheDir });
 */
export async function processImageCached(original: Uint8Array, opts: { stem: string; label: string; cacheDir?: string | undefined }): Promise<ProcessedImage> {
  if (!opts.cacheDir) return processImage(original, opts);
  const stem = opts.stem.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') || 'image';
  const dir = path.join(opts.cacheDir, `${sourceHashOf(original)}-${stem}`);
  const cached = await readEntry(dir);
  if (cached) return cached;
  // Missing or damaged: whatever is there goes, so the fresh result can take its place.
  await fs.rm(dir, { recursive: true, force: true }).catch(() => undefined);
  const image = await processImage(original, opts);
  await writeEntry(dir, image).catch(() => undefined); // a cache that cannot be written only costs time
  return image;
}

type Meta = Omit<ProcessedImage, 'variants'> & { variants: Omit<ProcessedImage['variants'][number], 'data'>[] };

async function readEntry(dir: string): Promise<ProcessedImage | undefined> {
  try {
    const meta = JSON.parse(await fs.readFile(path.join(dir, 'meta.json'), 'utf8')) as Meta;
    const variants = await Promise.all(
      meta.variants.map(async (v) => {
        const data = await fs.readFile(path.join(dir, v.name));
        const hash = createHash('sha256').update(data).digest('hex').slice(0, 16);
        if (!v.name.includes(`.${hash}.`) || data.length !== v.bytes) throw new Error('damaged');
        return { ...v, data };
      }),
    );
    return { ...meta, variants };
  } catch {
    return undefined;
  }
}

async function writeEntry(dir: string, image: ProcessedImage): Promise<void> {
  const tmp = `${dir}.${randomBytes(6).toString('hex')}.tmp`;
  await fs.mkdir(tmp, { recursive: true });
  try {
    for (const v of image.variants) await fs.writeFile(path.join(tmp, v.name), v.data);
    const meta: Meta = { sourceHash: image.sourceHash, width: image.width, height: image.height, variants: image.variants.map(({ data: _data, ...v }) => v) };
    await fs.writeFile(path.join(tmp, 'meta.json'), JSON.stringify(meta));
    await fs.rename(tmp, dir);
  } catch (error) {
    await fs.rm(tmp, { recursive: true, force: true });
    // Another process wrote the same entry first: theirs is as good as ours.
    if ((error as NodeJS.ErrnoException).code !== 'ENOTEMPTY' && (error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
}

/** The image cache of a project: shared by every process and test of one checkout. */
export function imageCacheDir(projectRoot: string): string {
  return path.join(projectRoot, 'node_modules', '.cache', 'rose-images');
}

import { randomBytes } from 'node:crypto';
import { closeSync, futimesSync, openSync, promises as fs, writeFileSync, type Stats } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { extensionOf, isCompressibleFile } from './content-types.ts';
import { forEachLimit } from './pool.ts';

const brotli = promisify(zlib.brotliCompress);
const gzip = promisify(zlib.gzip);

export interface PrecompressOptions {
  /** Called after each file is done (`done` of `total` compressible files). */
  onProgress?: (progress: { done: number; total: number }) => void;
  /** Files compressed at once (default 4: zlib and file reads share libuv's four threads). */
  concurrency?: number;
  /** Brotli quality for pages and data (default 5); stylesheets and scripts get 9. */
  brotliQuality?: number;
  /** Gzip level (default 6). */
  gzipLevel?: number;
  /** Files smaller than this are left alone (default 1024 bytes). */
  minBytes?: number;
  /**
   * Only these files (paths relative to `dir`, e.g. the pages a targeted build wrote) instead
   * of the whole tree; no sweep for orphaned variants then.
   */
  files?: readonly string[];
}

export interface PrecompressSummary {
  /** Compressible files looked at. */
  files: number;
  /** Variants written (`.br` and `.gz` counted apart). */
  written: number;
  /** Variants already up to date (left as they were). */
  upToDate: number;
  /** Variants removed: of files that are gone, changed into something that no longer shrinks, or became too small. */
  removed: number;
  bytesIn: number;
  brotliBytes: number;
  gzipBytes: number;
  seconds: number;
}

type Settings = { concurrency: number; brotliQuality: number; gzipLevel: number; minBytes: number };

const variants = [
  {
    suffix: '.br',
    compress: (data: Buffer, file: string, o: Settings) => brotli(data, brotliParams(data.length, file, o.brotliQuality)),
    compressSync: (data: Buffer, file: string, o: Settings) => zlib.brotliCompressSync(data, brotliParams(data.length, file, o.brotliQuality)),
  },
  {
    suffix: '.gz',
    compress: (data: Buffer, _file: string, o: Settings) => gzip(data, { level: o.gzipLevel }),
    compressSync: (data: Buffer, _file: string, o: Settings) => zlib.gzipSync(data, { level: o.gzipLevel }),
  },
] as const;

const assetExtensions = new Set(['css', 'js', 'mjs', 'svg']);

function brotliParams(size: number, file: string, quality: number): zlib.BrotliOptions {
  return {
    params: {
      [zlib.constants.BROTLI_PARAM_MODE]: zlib.constants.BROTLI_MODE_TEXT,
      // Stylesheets and scripts are few and fetched by every page: worth a slower, smaller encoding.
      [zlib.constants.BROTLI_PARAM_QUALITY]: assetExtensions.has(extensionOf(file)) ? Math.max(quality, 9) : quality,
      [zlib.constants.BROTLI_PARAM_SIZE_HINT]: size,
    },
  };
}

/** A variant is current when it carries its source's modification time (set when written). */
export function isVariantCurrent(source: { mtimeMs: number }, variant: { mtimeMs: number }): boolean {
  return Math.abs(source.mtimeMs - variant.mtimeMs) < 1;
}

/**
 * Writes `X.br` and `X.gz` beside every compressible file `X` under `dir` (html, css, js,
 * json, xml, svg, txt, webmanifest, …) that is at least `minBytes` long and shrinks by at
 * least 5%, so a server can send them without compressing per request. Variants that are
 * current (same modification time as their file) are kept, so a release composed from hard
 * links of the previous one only compresses its new pages; stale ones are replaced through
 * a new file and a rename (never written in place: the old inode may be shared with another
 * release); variants whose file is gone are removed.
 *
 * @example
 * const summary = await precompressTree('dist/releases/20261129T120000000Z-ab12/client');
 * console.log(`${summary.written} variants in ${summary.seconds.toFixed(1)} s`);
 */
export async function precompressTree(dir: string, opts: PrecompressOptions = {}): Promise<PrecompressSummary> {
  const started = performance.now();
  const o = settingsOf(opts);
  const files = new Set<string>();
  if (opts.files) {
    for (const f of opts.files) {
      const file = path.resolve(dir, f);
      if (path.relative(dir, file).startsWith('..')) throw new Error(`precompressTree: ${f} is outside ${dir}`);
      files.add(file);
      for (const suffix of ['.br', '.gz']) if (await fs.access(file + suffix).then(() => true, () => false)) files.add(file + suffix);
    }
  } else {
    for (const entry of await fs.readdir(dir, { recursive: true, withFileTypes: true })) {
      if (entry.isFile()) files.add(path.join(entry.parentPath, entry.name));
    }
  }
  const summary: PrecompressSummary = { files: 0, written: 0, upToDate: 0, removed: 0, bytesIn: 0, brotliBytes: 0, gzipBytes: 0, seconds: 0 };
  const sources: string[] = [];
  const orphans: string[] = [];
  for (const file of files) {
    const variantOf = file.endsWith('.br') ? file.slice(0, -3) : file.endsWith('.gz') ? file.slice(0, -3) : undefined;
    if (variantOf !== undefined) {
      if (!opts.files && isCompressibleFile(variantOf) && !files.has(variantOf)) orphans.push(file);
    } else if (isPrecompressed(file)) {
      sources.push(file);
    }
  }
  summary.files = sources.length;

  await forEachLimit(orphans, o.concurrency, async (file) => {
    await fs.rm(file, { force: true });
    summary.removed++;
    // A removed page leaves its folder empty once its variants go too.
    await fs.rmdir(path.dirname(file)).catch(() => {});
  });

  let done = 0;
  await forEachLimit(sources, o.concurrency, async (file) => {
    const source = await fs.stat(file);
    const existing = await Promise.all(variants.map((v) => (files.has(file + v.suffix) ? fs.stat(file + v.suffix).catch(() => undefined) : undefined)));
    const stale = variants.filter((_, i) => !(existing[i] && isVariantCurrent(source, existing[i])));
    summary.upToDate += variants.length - stale.length;
    if (stale.length > 0) {
      const removeStale = (suffix: string, i: number) => {
        if (!existing[i]) return;
        summary.removed++;
        return fs.rm(file + suffix, { force: true });
      };
      if (source.size < o.minBytes) {
        await Promise.all(variants.map((v, i) => (stale.includes(v) ? removeStale(v.suffix, i) : undefined)));
      } else {
        const data = await fs.readFile(file);
        summary.bytesIn += data.length;
        await Promise.all(
          stale.map(async (v) => {
            const out = await v.compress(data, file, o);
            if (!shrinksEnough(out, data)) return removeStale(v.suffix, variants.indexOf(v));
            await writeVariant(file + v.suffix, out, source, existing[variants.indexOf(v)] !== undefined);
            summary.written++;
            if (v.suffix === '.br') summary.brotliBytes += out.length;
            else summary.gzipBytes += out.length;
          }),
        );
      }
    }
    opts.onProgress?.({ done: ++done, total: sources.length });
  });
  summary.seconds = (performance.now() - started) / 1000;
  return summary;
}

/**
 * Writes `X.br` and `X.gz` beside a new file (`source`: its stat) from the bytes still in
 * memory: a build compresses each page as it writes it instead of reading the tree back.
 * Same rules as `precompressTree` (compressible types, at least `minBytes`, only when it
 * shrinks by 5%). For files just created in a folder being staged: a variant that is
 * already there is an error, never overwritten. Synchronous, for a render thread (no
 * round trips through libuv's pool for each of a build's thousands of small writes).
 * Answers how many variants it wrote.
 */
export function precompressNewFileSync(file: string, data: Buffer, source: Stats, opts: Omit<PrecompressOptions, 'files' | 'onProgress' | 'concurrency'> = {}): number {
  const o = settingsOf(opts);
  if (data.length < o.minBytes || !isPrecompressed(file)) return 0;
  let written = 0;
  for (const v of variants) {
    const out = v.compressSync(data, file, o);
    if (!shrinksEnough(out, data)) continue;
    const fd = openSync(file + v.suffix, 'wx');
    try {
      writeFileSync(fd, out);
      // The modification time last, as writeVariant does: a cut-short variant is never current.
      futimesSync(fd, source.atime, source.mtimeMs / 1000);
    } finally {
      closeSync(fd);
    }
    written++;
  }
  return written;
}

/** Files that get variants: compressible types, not hidden (a variant's own temporary file, say). */
function isPrecompressed(file: string): boolean {
  return isCompressibleFile(file) && !path.basename(file).startsWith('.');
}

/** A variant is kept only when it saves at least 5%: otherwise the file is sent as it is. */
function shrinksEnough(compressed: Buffer, original: Buffer): boolean {
  return compressed.length <= original.length * 0.95;
}

function settingsOf(opts: PrecompressOptions): Settings {
  return { concurrency: opts.concurrency ?? 4, brotliQuality: opts.brotliQuality ?? 5, gzipLevel: opts.gzipLevel ?? 6, minBytes: opts.minBytes ?? 1024 };
}

/**
 * The modification time is set last: a variant cut short (a crash, a full disk) never
 * carries its file's time, so it is never taken for current. One that exists is replaced
 * through a new file and a rename, never rewritten: its inode may be another release's too.
 */
async function writeVariant(target: string, data: Buffer, source: Stats, replacing: boolean): Promise<void> {
  const file = replacing ? path.join(path.dirname(target), `.${path.basename(target)}.${randomBytes(4).toString('hex')}.tmp`) : target;
  try {
    const handle = await fs.open(file, 'wx');
    try {
      await handle.writeFile(data);
      await handle.utimes(source.atime, source.mtimeMs / 1000);
    } finally {
      await handle.close();
    }
    if (replacing) await fs.rename(file, target);
  } catch (error) {
    if (replacing) await fs.rm(file, { force: true });
    throw error;
  }
}

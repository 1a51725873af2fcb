import { promises as fs } from 'node:fs';
import path from 'node:path';
import { contentTypeOf, extensionOf, isCompressibleFile } from './content-types.ts';
import { isVariantCurrent } from './precompress.ts';
import { forEachLimit } from './pool.ts';

export interface FileVariant {
  abs: string;
  size: number;
}

/** One file of a release as the server sees it. */
export interface StaticFile {
  /** Path inside the release's client folder, with `/` separators (`blog/index.html`). */
  rel: string;
  abs: string;
  size: number;
  mtimeMs: number;
  contentType: string;
  html: boolean;
  cacheControl: string;
  /** Strong validator of the file as it is; variants append `-br`/`-gz`. */
  etag: string;
  lastModified: string;
  br?: FileVariant;
  gzip?: FileVariant;
}

export interface StaticIndex {
  /** URL path (decoded) → file: `/blog/rss.xml`, and `/blog/` for `blog/index.html`. */
  files: Map<string, StaticFile>;
  /** URL paths of folders with an index page, without the trailing slash (`/blog`): redirected. */
  folders: Set<string>;
}

export interface IndexOptions {
  /**
   * Folders (inside the client folder) of content-hashed assets, cached for a year. Default
   * `['_astro/']`. Files named `<name>.<16 to 64 hex digits>.<ext>` anywhere (media variants)
   * are content-hashed too.
   */
  immutablePrefixes?: readonly string[];
}

/** A file name carrying a hash of its content before the extension (never a page). */
const contentHashedName = /\.[0-9a-f]{16,64}\.(?!html?$)[a-z0-9]+$/;

export const cacheControls = {
  immutable: 'public, max-age=31536000, immutable',
  html: 'public, no-cache',
  other: 'public, max-age=300',
} as const;

/**
 * Lists every regular file under `root` once (size, modification time, type, caching rule,
 * current precompressed variants). Symbolic links and dot-files are left out: nothing outside
 * the release, no half-written temporary files.
 */
export async function indexStaticFiles(root: string, opts: IndexOptions = {}): Promise<StaticIndex> {
  const immutable = opts.immutablePrefixes ?? ['_astro/'];
  const rels: string[] = [];
  for (const entry of await fs.readdir(root, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const rel = path.relative(root, path.join(entry.parentPath, entry.name)).split(path.sep).join('/');
    if (rel.split('/').some((segment) => segment.startsWith('.') && segment !== '.well-known')) continue;
    rels.push(rel);
  }
  const files = new Map<string, StaticFile>();
  const folders = new Set<string>();
  await addFiles(root, rels, new Set(rels), immutable, files, folders);
  return { files, folders };
}

/**
 * The index of a release made of `base` plus the files a build just wrote under `root`
 * (`written`, paths inside the client folder) minus the `removed` ones, without walking the
 * tree again: what a server uses to serve a rebuild's pages the moment they are written.
 * Unchanged files are still served from where `base` found them.
 */
export async function patchStaticIndex(base: StaticIndex, root: string, change: { written: readonly string[]; removed: readonly string[] }, opts: IndexOptions = {}): Promise<StaticIndex> {
  const files = new Map(base.files);
  const folders = new Set(base.folders);
  for (const rel of [...change.removed, ...change.written]) {
    for (const key of urlPathsOf(rel)) files.delete(key);
    if (rel.endsWith('/index.html')) folders.delete(`/${rel.slice(0, -'/index.html'.length)}`);
  }
  const candidates = change.written.flatMap((rel) => [rel, `${rel}.br`, `${rel}.gz`]);
  const present = new Set<string>();
  await forEachLimit(candidates, 16, async (rel) => {
    if (await fs.access(path.join(root, rel)).then(() => true, () => false)) present.add(rel);
  });
  await addFiles(root, change.written, present, opts.immutablePrefixes ?? ['_astro/'], files, folders);
  return { files, folders };
}

function urlPathsOf(rel: string): string[] {
  if (rel === 'index.html') return ['/index.html', '/'];
  if (rel.endsWith('/index.html')) return [`/${rel}`, `/${rel.slice(0, -'index.html'.length)}`];
  return [`/${rel}`];
}

async function addFiles(root: string, rels: readonly string[], present: ReadonlySet<string>, immutable: readonly string[], files: Map<string, StaticFile>, folders: Set<string>): Promise<void> {
  const stats = new Map<string, { size: number; mtimeMs: number }>();
  const toStat = [...new Set(rels.flatMap((rel) => [rel, ...['.br', '.gz'].map((s) => rel + s).filter((v) => present.has(v))]))];
  await forEachLimit(toStat, 32, async (rel) => {
    const s = await fs.lstat(path.join(root, rel)).catch(() => undefined);
    if (s?.isFile()) stats.set(rel, { size: s.size, mtimeMs: s.mtimeMs });
  });
  for (const rel of rels) {
    const stat = stats.get(rel);
    if (!stat) continue;
    const variantOf = rel.endsWith('.br') || rel.endsWith('.gz') ? rel.slice(0, -3) : undefined;
    // Precompressed variants are served in place of their file, never as files of their own.
    if (variantOf !== undefined && isCompressibleFile(variantOf)) continue;
    const variant = (suffix: string): FileVariant | undefined => {
      const v = present.has(rel + suffix) ? stats.get(rel + suffix) : undefined;
      return v && isVariantCurrent(stat, v) ? { abs: path.join(root, rel + suffix), size: v.size } : undefined;
    };
    const ext = extensionOf(rel);
    const html = ext === 'html' || ext === 'htm';
    const file: StaticFile = {
      rel,
      abs: path.join(root, rel),
      size: stat.size,
      mtimeMs: stat.mtimeMs,
      contentType: contentTypeOf(rel),
      html,
      cacheControl: immutable.some((p) => rel.startsWith(p)) || contentHashedName.test(rel) ? cacheControls.immutable : html ? cacheControls.html : cacheControls.other,
      etag: `"${stat.size.toString(36)}-${Math.floor(stat.mtimeMs).toString(36)}"`,
      lastModified: new Date(stat.mtimeMs).toUTCString(),
      ...(isCompressibleFile(rel) ? { br: variant('.br'), gzip: variant('.gz') } : {}),
    };
    files.set(`/${rel}`, file);
    if (rel === 'index.html') files.set('/', file);
    else if (rel.endsWith('/index.html')) {
      const folder = `/${rel.slice(0, -'index.html'.length)}`;
      files.set(folder, file);
      folders.add(folder.slice(0, -1));
    }
  }
}

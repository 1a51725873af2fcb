import { closeSync, fstatSync, mkdirSync, openSync, promises as fs, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { precompressNewFileSync } from '@rose/static-files';

/** Files a release keeps beside `client/` and `server/` that a new release writes itself. */
const ownManifests = new Set(['release.json', 'pages.json']);

/**
 * Fills `toDir` with hard links to the files of `fromDir`, except the `skip` ones (paths
 * relative to `fromDir`, `/`-separated). Folders are created only when a file goes in them,
 * so pages that were removed leave no empty folders behind. Unchanged files cost a link, not
 * a copy; replaced files must be written as new files (never through the link).
 */
export async function linkTree(fromDir: string, toDir: string, skip: ReadonlySet<string>): Promise<number> {
  let count = 0;
  const made = new Set<string>();
  const ensureDir = async (rel: string) => {
    if (made.has(rel)) return;
    made.add(rel);
    await fs.mkdir(path.join(toDir, rel), { recursive: true });
  };
  const walk = async (rel: string): Promise<void> => {
    const entries = await fs.readdir(path.join(fromDir, rel), { withFileTypes: true });
    const files: string[] = [];
    const dirs: string[] = [];
    for (const e of entries) {
      const child = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) dirs.push(child);
      else if (e.isFile() && !skip.has(child) && !(rel === '' && ownManifests.has(e.name))) files.push(child);
    }
    if (files.length) {
      await ensureDir(rel);
      await Promise.all(files.map((f) => fs.link(path.join(fromDir, f), path.join(toDir, f))));
      count += files.length;
    }
    await Promise.all(dirs.map(walk));
  };
  await walk('');
  return count;
}

/** The precompressed siblings a static file may have (written by the static-files package). */
export function withVariants(file: string): string[] {
  return [file, `${file}.br`, `${file}.gz`];
}

/**
 * Writes a rendered file, with its compressed variants, into a release being staged, unless
 * the live release (`liveClient`, if any) has the same bytes but for per-render differences:
 * an unchanged file stays a hard link to the live one. Says whether it wrote. Files are
 * written and compressed as they are rendered, by the thread that rendered them, never all
 * held at once or read back. Synchronous: a build's thousands of small reads and writes cost
 * a third less without a round trip through libuv's pool each. A render thread has nothing
 * else to do meanwhile; on a server's own thread (a targeted rebuild, or a part under 500
 * pages) each page blocks it for about a millisecond, as rendering it does.
 */
export function writeRendered(liveClient: string | undefined, stagedClient: string, file: { file: string; body: Buffer }, madeDirs: Set<string>): boolean {
  if (liveClient) {
    const live = readIfThere(path.join(liveClient, file.file));
    if (live && sameIgnoringIslandIds(live, file.body)) return false;
  }
  const target = path.join(stagedClient, file.file);
  // Paths come from content (slugs): never let one write outside the release.
  if (path.relative(stagedClient, target).startsWith('..') || path.isAbsolute(file.file)) throw new Error(`A rendered file would land outside the release: ${JSON.stringify(file.file)}`);
  const dir = path.dirname(target);
  if (!madeDirs.has(dir)) {
    mkdirSync(dir, { recursive: true });
    madeDirs.add(dir);
  }
  // A new file (never through a link to another release's inode); its time dates the variants.
  const fd = openSync(target, 'wx');
  let stat;
  try {
    writeFileSync(fd, file.body);
    stat = fstatSync(fd);
  } finally {
    closeSync(fd);
  }
  precompressNewFileSync(target, file.body, stat);
  return true;
}

function readIfThere(file: string): Buffer | undefined {
  try {
    return readFileSync(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/**
 * What differs between two renders of an unchanged page: server-island URLs carry the
 * component id and props encrypted with a fresh IV, islands get random ids (all anchored on
 * literal prefixes: a bare UUID pattern cost seconds per thousand pages), and the layout names the release that
 * rendered it. Pages equal but for these count as unchanged and stay linked.
 */
const perRender = [/(\/_server-islands\/[A-Za-z0-9_]+\?)[^"]*/g, /(data-island-id=")[^"]*/g, /(replaceServerIsland\(")[^"]*/g, /(<meta name="rose-release" content=")[^"]*/g];
export function normalisePerRender(html: string): string {
  return perRender.reduce((s, re) => s.replace(re, '$1'), html);
}
function sameIgnoringIslandIds(a: Buffer, b: Buffer): boolean {
  if (a.equals(b)) return true;
  if (Math.abs(a.length - b.length) > 256) return false;
  return normalisePerRender(a.toString('utf8')) === normalisePerRender(b.toString('utf8'));
}

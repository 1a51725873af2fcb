import { closeSync, fstatSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { precompressNewFileSync } from '@rose/static-files';

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

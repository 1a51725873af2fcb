import { promises as fs } from 'node:fs';
import path from 'node:path';

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

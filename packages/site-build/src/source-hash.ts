import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';

/**
 * Hash of everything that shapes the rendered HTML: the site's source, the packages, the
 * Astro config and the lockfile. Equal hashes mean a release's kept renderer is the code
 * that would be built now, so pages can be re-rendered without a new Astro build.
 */
export async function sourceHash(root: string): Promise<string> {
  const hash = createHash('sha256');
  const files: string[] = ['astro.config.ts', 'package-lock.json'];
  for (const dir of ['sites', 'packages']) {
    for (const entry of await fs.readdir(path.join(root, dir), { recursive: true, withFileTypes: true })) {
      if (!entry.isFile() || entry.parentPath.includes('node_modules') || /\.test\.ts$|\.md$/.test(entry.name)) continue;
      files.push(path.relative(root, path.join(entry.parentPath, entry.name)));
    }
  }
  const contents = await Promise.all(files.sort().map((f) => fs.readFile(path.join(root, f))));
  files.forEach((f, i) => {
    hash.update(f);
    hash.update(contents[i]!);
  });
  return hash.digest('hex').slice(0, 16);
}

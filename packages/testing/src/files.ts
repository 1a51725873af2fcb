import { promises as fs } from 'node:fs';
import path from 'node:path';

/** Regular files under `dir` with more than one link: shared with another release by a hard link. */
export async function countLinkedFiles(dir: string): Promise<number> {
  let n = 0;
  for (const entry of await fs.readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && (await fs.stat(path.join(entry.parentPath, entry.name))).nlink > 1) n++;
  }
  return n;
}

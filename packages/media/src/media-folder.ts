import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Kysely } from 'kysely';
import type { Database } from '@rose/db';
import { readMediaFiles } from './media.repository.ts';

/** `<stem>-<width>.<16 hex>.<ext>`: the only names a media folder holds or reads. */
const mediaName = /^[a-z0-9-]+-\d+\.([0-9a-f]{16})\.(avif|webp|jpg|png)$/;

/** Whether `name` is a media file name (and so safe as a path segment). */
export function isMediaName(name: string): boolean {
  return mediaName.test(name);
}

/** A local folder of media files by name: what pages read while a build renders them. */
export interface MediaFolder {
  readonly dir: string;
  /** The bytes of a file the folder holds (after `fillMediaFolder`). */
  read(name: string): Promise<Buffer>;
}

export function mediaFolder(dir: string): MediaFolder {
  return {
    dir,
    async read(name) {
      if (!isMediaName(name)) throw new Error(`Not a media file name: ${JSON.stringify(name)}`);
      return fs.readFile(path.join(dir, name));
    },
  };
}

/**
 * Makes sure `dir` holds every file in `names`, copying the missing ones from the database
 * (names are content hashes, so a file already there is the right one). Each file is checked
 * against its name's hash and written through a temporary file and a rename, so processes
 * filling the same folder at once, or one killed half-way, leave only whole files.
 * Returns how many files it wrote.
 */
export async function fillMediaFolder(db: Kysely<Database>, dir: string, names: readonly string[]): Promise<number> {
  await fs.mkdir(dir, { recursive: true });
  const present = new Set(await fs.readdir(dir));
  const missing = [...new Set(names)].filter((n) => !present.has(n));
  if (missing.length === 0) return 0;
  for (const n of missing) if (!isMediaName(n)) throw new Error(`Not a media file name: ${JSON.stringify(n)}`);
  let written = 0;
  for (let i = 0; i < missing.length; i += 50) {
    const batch = missing.slice(i, i + 50);
    const files = await readMediaFiles(db, batch);
    for (const name of batch) {
      const bytes = files.get(name);
      if (!bytes) throw new Error(`Media file ${name} is listed by an image but not stored in the database; run \`rose db seed\` again.`);
      const expected = mediaName.exec(name)![1];
      if (createHash('sha256').update(bytes).digest('hex').slice(0, 16) !== expected) throw new Error(`Media file ${name} in the database does not match its name's hash.`);
      const tmp = path.join(dir, `.${name}.${randomBytes(4).toString('hex')}.tmp`);
      await fs.writeFile(tmp, bytes);
      await fs.rename(tmp, path.join(dir, name));
      written++;
    }
  }
  return written;
}

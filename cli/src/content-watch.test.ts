import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { loadContent, seedContentWithImages } from '@rose/blog';
import { systemClock } from '@rose/core';
import { createTestDatabase, repoRoot, type TestDatabase } from '@rose/testing';
import { watchContent, type ContentWatch, type ReseedOutcome } from './content-watch.ts';
import type { Output } from './output.ts';

// `rose dev` re-seeds content/ edits into the database its pages read.
describe('rose dev content watch', () => {
  let t: TestDatabase;
  let dir: string;
  let watch: ContentWatch;
  const printed: string[] = [];
  const outcomes: ReseedOutcome[] = [];
  const waiters: Array<() => void> = [];
  const out: Output = { info: (l) => printed.push(l), error: (l) => printed.push(l), verbose: false, isTTY: false };

  /** Resolves with the first re-seed outcome (from now on) that matches. */
  const nextOutcome = async (match: (o: ReseedOutcome) => boolean): Promise<ReseedOutcome> => {
    const from = outcomes.length;
    for (;;) {
      const found = outcomes.slice(from).find(match);
      if (found) return found;
      await new Promise<void>((resolve) => waiters.push(resolve));
    }
  };
  const title = (slug: string) => t.db.selectFrom('blog_posts').select('title').where('slug', '=', slug).executeTakeFirstOrThrow().then((r) => r.title);

  let slug: string;
  let file: string;
  let original: string;

  beforeAll(async () => {
    t = await createTestDatabase('pglite');
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'rose-content-watch-'));
    await fs.cp(path.join(repoRoot, 'content'), dir, { recursive: true });
    // The demo's pictures take seconds to encode: this copy starts without them.
    await fs.rm(path.join(dir, 'images'), { recursive: true });
    await fs.mkdir(path.join(dir, 'images'));
    for (const name of await fs.readdir(path.join(dir, 'posts'))) {
      const post = path.join(dir, 'posts', name);
      await fs.writeFile(post, (await fs.readFile(post, 'utf8')).replace(/^feature_image(_alt)?: .*\n/gm, ''));
    }
    await seedContentWithImages(t.db, dir, await loadContent(dir), { clock: systemClock });
    const name = (await fs.readdir(path.join(dir, 'posts'))).sort()[0]!;
    slug = name.replace(/\.md$/, '');
    file = path.join(dir, 'posts', name);
    original = await fs.readFile(file, 'utf8');
    watch = watchContent({
      dir,
      seed: (bundle) => seedContentWithImages(t.db, dir, bundle, { clock: systemClock }),
      out,
      debounceMs: 50,
      onReseeded: (outcome) => {
        outcomes.push(outcome);
        for (const wake of waiters.splice(0)) wake();
      },
    });
  });

  afterAll(async () => {
    await watch?.stop();
    await t?.drop();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('an edited post is in the database once the edit settles', async () => {
    await fs.writeFile(file, original.replace(/^title: .*$/m, 'title: "Edited while rose dev runs"'));
    await nextOutcome((o) => o.ok && o.summary.posts.updated === 1);
    expect(await title(slug)).toBe('Edited while rose dev runs');
    expect(printed.join('\n')).toMatch(/Content re-seeded from .*: posts \+0 ~1 -0\./);
  });

  it('a picture added to images/ and given to a post is made into variants and stored with it', async () => {
    await fs.writeFile(path.join(dir, 'images', 'bees.png'), await sharp({ create: { width: 600, height: 400, channels: 3, background: '#f0b429' } }).png().toBuffer());
    await fs.writeFile(file, original.replace(/^title: .*$/m, '$&\nfeature_image: /images/bees.png\nfeature_image_alt: "Bees on a frame"'));
    await nextOutcome((o) => o.ok && o.summary.images.added === 1);
    expect(printed.join('\n')).toMatch(/Content re-seeded from .*: posts \+0 ~1 -0, images \+1 ~0 -0\./);
    const stored = await t.db.selectFrom('media_images').select(['width', 'height', 'variants']).where('ref', '=', '/images/bees.png').executeTakeFirstOrThrow();
    expect({ width: stored.width, height: stored.height, types: [...new Set(stored.variants.map((v) => v.type))].sort() }).toEqual({ width: 600, height: 400, types: ['image/avif', 'image/jpeg', 'image/webp'] });
    // A reference to a picture that is not there is reported, and changes nothing.
    await fs.writeFile(file, original.replace(/^title: .*$/m, '$&\nfeature_image: /images/wasps.png'));
    await nextOutcome((o) => !o.ok);
    expect(printed.at(-1)).toContain('feature_image: no file images/wasps.png in the content folder');
    await fs.writeFile(file, original.replace(/^title: .*$/m, 'title: "Edited while rose dev runs"'));
    await nextOutcome((o) => o.ok && o.summary.images.removed === 1);
  });

  it('a broken file is reported by name and changes nothing; fixing it re-seeds', async () => {
    await fs.writeFile(file, original.replace(/^date: .*$/m, 'date: "not a date"'));
    const failed = await nextOutcome((o) => !o.ok);
    expect(failed.ok).toBe(false);
    expect(printed.at(-1)).toContain('✖ Content not re-seeded');
    expect(printed.at(-1)).toContain(path.basename(file));
    expect(await title(slug)).toBe('Edited while rose dev runs');

    await fs.writeFile(file, original);
    await nextOutcome((o) => o.ok && o.summary.posts.updated === 1);
    expect(await title(slug)).toBe(original.match(/^title: "(.*)"$/m)![1]);
  });
});

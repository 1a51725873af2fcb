import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFixedClock } from '@rose/core';
import { createReleaseStore } from '@rose/releases';
import { makeProjectTempDir } from '@rose/testing';
import { createContext } from '../context.ts';
import { createMemoryOutput } from '../memory-output.ts';
import { releaseList, releaseRollback } from './release.ts';

describe('rose release', () => {
  let tmp: string;
  let distDir: string;
  const ids: string[] = [];
  const context = () => {
    const out = createMemoryOutput();
    return { out, ctx: createContext(out, { ROSE_DATA_DIR: path.join(tmp, 'data'), ROSE_DIST_DIR: distDir }) };
  };

  beforeAll(async () => {
    tmp = await makeProjectTempDir('release-cli');
    distDir = path.join(tmp, 'dist');
    const clock = createFixedClock(new Date('2026-11-24T10:00:00Z'));
    const store = createReleaseStore({ distDir, clock });
    for (let i = 0; i < 3; i++) {
      clock.advance(1000);
      const staged = await store.stage();
      await store.publish(staged, { pages: 10 + i, seconds: 1.5, parts: ['blog'] });
      ids.push(staged.id);
    }
  });
  afterAll(() => fs.rm(tmp, { recursive: true, force: true }));

  it('rollback --to "" is an error and changes nothing', async () => {
    const { ctx } = context();
    await expect(releaseRollback(ctx, { to: '' })).rejects.toMatchObject({ title: 'No release given' });
    expect(await fs.readlink(path.join(distDir, 'current'))).toBe(`releases/${ids[2]}`);
  });

  it('list shows a release with a damaged release.json as damaged, and rollback refuses it', async () => {
    await fs.writeFile(path.join(distDir, 'releases', ids[1]!, 'release.json'), '{"pages": "many"}');
    const { ctx, out } = context();
    await releaseList(ctx);
    expect(out.lines).toEqual([
      `Releases in ${path.join(distDir, 'releases')} (newest first):`,
      expect.stringMatching(new RegExp(`^  → ${ids[2]}  \\S+\\s+12 pages\\s+1\\.5 s  blog  \\(live\\)$`)),
      `    ${ids[1]}  DAMAGED: release.json has a missing or malformed createdAt, pages, seconds, parts`,
      expect.stringMatching(new RegExp(`^    ${ids[0]}  \\S+\\s+10 pages`)),
      '1 damaged release(s) cannot be rolled back to; `rose build` makes a new one, and old ones are removed as new builds come.',
    ]);
    await expect(releaseRollback(ctx, { to: ids[1] })).rejects.toMatchObject({ title: 'Damaged release' });
    expect(await fs.readlink(path.join(distDir, 'current'))).toBe(`releases/${ids[2]}`);
    await releaseRollback(ctx, {});
    expect(out.lines.at(-1)).toBe(`Switched the live release from ${ids[2]} to ${ids[0]}. A running \`rose serve\` follows within a second.`);
  });
});

import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createFixedClock } from '@rose/core';
import { createReleaseStore } from './releases.ts';

async function tempDist() {
  return fs.mkdtemp(path.join(os.tmpdir(), 'rose-releases-'));
}

describe('release store', () => {
  it('publishes releases atomically, newest first, and keeps the last N', async () => {
    const distDir = await tempDist();
    const clock = createFixedClock(new Date('2026-11-24T10:00:00Z'));
    const store = createReleaseStore({ distDir, keep: 3, clock });
    expect(await store.current()).toBeUndefined();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      clock.advance(1000);
      const staged = await store.stage();
      await fs.mkdir(path.join(staged.dir, 'client'));
      await fs.writeFile(path.join(staged.dir, 'client', 'index.html'), `release ${i}`);
      await store.publish(staged, { pages: 1, seconds: 0.1, parts: ['blog'] });
      await store.prune();
      ids.push(staged.id);
      // `current` always resolves to a complete release.
      expect(await fs.readFile(path.join(distDir, 'current', 'client', 'index.html'), 'utf8')).toBe(`release ${i}`);
    }
    const list = await store.list();
    expect(list.map((r) => r.id)).toEqual([ids[4], ids[3], ids[2]]);
    expect(list[0]!.current).toBe(true);
    expect(list[0]!.pages).toBe(1);
    expect((await fs.readlink(path.join(distDir, 'current'))).startsWith('releases/')).toBe(true);
  });

  it('rolls back to the previous release or a named one, never to nothing', async () => {
    const distDir = await tempDist();
    const clock = createFixedClock(new Date('2026-11-24T10:00:00Z'));
    const store = createReleaseStore({ distDir, clock });
    await expect(store.rollback()).rejects.toThrow(/no releases yet/);
    const a = await store.stage();
    await store.publish(a, { pages: 1, seconds: 1, parts: [] });
    await expect(store.rollback()).rejects.toThrow(/oldest one kept/);
    clock.advance(1000);
    const b = await store.stage();
    await store.publish(b, { pages: 2, seconds: 1, parts: [] });
    expect(await store.rollback()).toEqual({ from: b.id, to: a.id });
    expect((await store.current())!.id).toBe(a.id);
    expect(await store.rollback(b.id)).toEqual({ from: a.id, to: b.id });
    await expect(store.rollback('20200101T000000000Z-abcd')).rejects.toThrow(/no release "20200101T000000000Z-abcd"/);
  });

  it('never prunes the current release, and discards failed builds', async () => {
    const distDir = await tempDist();
    const clock = createFixedClock(new Date('2026-11-24T10:00:00Z'));
    const store = createReleaseStore({ distDir, keep: 2, clock });
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      clock.advance(1000);
      const s = await store.stage();
      await store.publish(s, { pages: i, seconds: 1, parts: [] });
      await store.prune();
      ids.push(s.id);
    }
    await store.rollback(ids[1]);
    clock.advance(1000);
    const failed = await store.stage();
    await store.discard(failed);
    await expect(fs.access(failed.dir)).rejects.toThrow();
    clock.advance(1000);
    const next = await store.stage();
    await store.publish(next, { pages: 9, seconds: 1, parts: [] });
    expect((await store.prune()).pruned).toEqual([ids[1]]);
    expect((await store.list()).map((r) => r.id)).toEqual([next.id, ids[2]]);
  });

  it('ignores half-written release folders', async () => {
    const distDir = await tempDist();
    const store = createReleaseStore({ distDir });
    await store.stage(); // crashed before publish: no manifest
    expect(await store.list()).toEqual([]);
  });
});

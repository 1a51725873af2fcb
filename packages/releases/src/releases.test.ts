import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createFixedClock } from '@rose/core';
import { createReleaseStore, type ReleaseStore } from './releases.ts';

async function tempDist() {
  return fs.mkdtemp(path.join(os.tmpdir(), 'rose-releases-'));
}

/** Stages and publishes one release whose only page says `text`, a second after the last. */
async function publishOne(store: ReleaseStore, clock: ReturnType<typeof createFixedClock>, text: string) {
  clock.advance(1000);
  const staged = await store.stage();
  await fs.mkdir(path.join(staged.dir, 'client'));
  await fs.writeFile(path.join(staged.dir, 'client', 'index.html'), text);
  await store.publish(staged, { pages: 1, seconds: 0.1, parts: ['blog'] });
  return staged;
}

describe('release store', () => {
  it('publishes releases atomically, newest first, and keeps the last N', async () => {
    const distDir = await tempDist();
    const clock = createFixedClock(new Date('2026-11-24T10:00:00Z'));
    const store = createReleaseStore({ distDir, keep: 3, clock });
    expect(await store.current()).toBeUndefined();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const staged = await publishOne(store, clock, `release ${i}`);
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

  it('refuses an empty release id instead of taking it as "the previous one"', async () => {
    const distDir = await tempDist();
    const clock = createFixedClock(new Date('2026-11-24T10:00:00Z'));
    const store = createReleaseStore({ distDir, clock });
    const a = await store.stage();
    await store.publish(a, { pages: 1, seconds: 1, parts: [] });
    clock.advance(1000);
    const b = await store.stage();
    await store.publish(b, { pages: 1, seconds: 1, parts: [] });
    for (const empty of ['', '  ']) {
      await expect(store.rollback(empty)).rejects.toMatchObject({ title: 'No release given', message: '--to needs a release id, but the value is empty.' });
    }
    expect((await store.current())!.id).toBe(b.id);
  });

  it('lists releases with a damaged release.json as damaged, skips them and never makes them live', async () => {
    const distDir = await tempDist();
    const clock = createFixedClock(new Date('2026-11-24T10:00:00Z'));
    const store = createReleaseStore({ distDir, keep: 3, clock });
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) {
      clock.advance(1000);
      const s = await store.stage();
      await store.publish(s, { pages: i, seconds: 1, parts: ['blog'] });
      ids.push(s.id);
    }
    const [oldest, older, previous, live] = ids as [string, string, string, string];
    await fs.writeFile(path.join(distDir, 'releases', previous, 'release.json'), '{"id": "trunc');
    await fs.writeFile(path.join(distDir, 'releases', older, 'release.json'), '{}');
    expect((await store.list()).map((r) => r.id)).toEqual([live, oldest]);
    expect(await store.damaged()).toEqual([
      { id: previous, dir: path.join(distDir, 'releases', previous), current: false, problem: expect.stringMatching(/^release\.json is not valid JSON \(/) },
      { id: older, dir: path.join(distDir, 'releases', older), current: false, problem: 'release.json has a missing or malformed createdAt, pages, seconds, parts' },
    ]);

    await expect(store.rollback(previous)).rejects.toMatchObject({ title: 'Damaged release', message: expect.stringContaining(`Release ${previous} cannot be made live: release.json is not valid JSON`) });
    expect((await store.current())!.id).toBe(live);
    // "The previous release" is the newest good one before the live one.
    expect(await store.rollback()).toEqual({ from: live, to: oldest });

    // Retention counts damaged releases like any other and never removes the live one.
    expect((await store.prune()).pruned).toEqual([]);
    clock.advance(1000);
    const next = await store.stage();
    await store.publish(next, { pages: 9, seconds: 1, parts: [] });
    expect((await store.prune()).pruned).toEqual([older, oldest]);
    expect((await store.list()).map((r) => r.id)).toEqual([next.id, live]);
    expect((await store.damaged()).map((r) => r.id)).toEqual([previous]);
  });

  it('prunes in the background: old releases leave the listing at once and their folders go; two prunes at once both succeed', async () => {
    const distDir = await tempDist();
    const clock = createFixedClock(new Date('2026-11-24T10:00:00Z'));
    const store = createReleaseStore({ distDir, keep: 2, clock });
    const other = createReleaseStore({ distDir, keep: 2, clock });
    for (let i = 0; i < 5; i++) await publishOne(store, clock, `release ${i}`);
    const [a, b] = await Promise.all([store.prune(), other.prune()]);
    expect(new Set([...a.pruned, ...b.pruned]).size).toBe(3);
    expect((await store.list()).length).toBe(2);
    const releasesDir = path.join(distDir, 'releases');
    const idPattern = /^\d{8}T\d{9}Z-[0-9a-f]{4}$/;
    expect((await fs.readdir(releasesDir)).filter((n) => idPattern.test(n)).length).toBe(2);
    // The detached removal finishes on its own.
    for (let i = 0; i < 100 && (await fs.readdir(releasesDir)).some((n) => n.startsWith('.pruned-')); i++) await new Promise((r) => setTimeout(r, 50));
    expect((await fs.readdir(releasesDir)).filter((n) => n.startsWith('.pruned-'))).toEqual([]);
  });
});


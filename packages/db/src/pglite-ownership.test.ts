import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { embeddedPaths, prepareSocketDir, processStart, readSocketInfo, socketFile, tryTakeOwnership, writeSocketInfo } from './pglite-ownership.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rose-ownership-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
let n = 0;
const freshPaths = () => embeddedPaths(path.join(tmp, `case-${++n}`, 'pglite'));

/** The pid of a process that has already exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(child.stdout);
}

describe('embedded database ownership', () => {
  it('takes a free data dir, and names the holder to the next comer', () => {
    const paths = freshPaths();
    const first = tryTakeOwnership(paths);
    expect(first.owned).toBe(true);
    const second = tryTakeOwnership(paths);
    // Another thread of this process holds it: that is a live owner, not a stale lock.
    expect(second).toMatchObject({ owned: false, holder: { pid: process.pid, processStart } });
    if (first.owned) first.release();
    expect(fs.existsSync(paths.lockPath)).toBe(false);
    expect(tryTakeOwnership(paths).owned).toBe(true);
  });

  it('breaks the lock of a process that is gone, with the socket file it advertised', () => {
    const paths = freshPaths();
    fs.mkdirSync(path.dirname(paths.lockPath), { recursive: true });
    const pid = deadPid();
    fs.writeFileSync(paths.lockPath, JSON.stringify({ pid, processStart: 1, token: 'old' }));
    writeSocketInfo(paths.infoPath, { pid, token: 'old', command: 'rose serve', socketDir: '/nowhere', port: 5432, startedAt: new Date(0).toISOString() });
    const taken = tryTakeOwnership(paths);
    expect(taken.owned).toBe(true);
    expect(readSocketInfo(paths.infoPath)).toBeUndefined();
    expect(JSON.parse(fs.readFileSync(paths.lockPath, 'utf8'))).toMatchObject({ pid: process.pid });
  });

  it('breaks a lock left by an earlier process that had our pid (a restarted container), and an old pid-only lock', () => {
    const reused = freshPaths();
    fs.mkdirSync(path.dirname(reused.lockPath), { recursive: true });
    fs.writeFileSync(reused.lockPath, JSON.stringify({ pid: process.pid, processStart: processStart - 60_000, token: 'before-restart' }));
    expect(tryTakeOwnership(reused).owned).toBe(true);

    const legacy = freshPaths();
    fs.mkdirSync(path.dirname(legacy.lockPath), { recursive: true });
    fs.writeFileSync(legacy.lockPath, String(deadPid()));
    expect(tryTakeOwnership(legacy).owned).toBe(true);
  });

  it('leaves the lock of a live process alone', () => {
    const paths = freshPaths();
    fs.mkdirSync(path.dirname(paths.lockPath), { recursive: true });
    const record = JSON.stringify({ pid: process.ppid, processStart: 1, token: 'parent' });
    fs.writeFileSync(paths.lockPath, record);
    expect(tryTakeOwnership(paths)).toMatchObject({ owned: false, holder: { pid: process.ppid } });
    expect(fs.readFileSync(paths.lockPath, 'utf8')).toBe(record);
  });

  it('puts the socket in a private folder, or in a private temp folder when the path is too long for a unix socket', () => {
    const short = freshPaths();
    fs.mkdirSync(path.dirname(short.dataDir), { recursive: true });
    const near = prepareSocketDir(short);
    expect(near).toEqual({ dir: short.socketDir, temporary: false });
    expect(fs.statSync(near.dir).mode & 0o777).toBe(0o700);

    const deep = embeddedPaths(path.join(tmp, 'x'.repeat(120), 'pglite'));
    const far = prepareSocketDir(deep);
    expect(far.temporary).toBe(true);
    expect(Buffer.byteLength(socketFile(far.dir))).toBeLessThanOrEqual(103);
    expect(fs.statSync(far.dir).mode & 0o777).toBe(0o700);
    fs.rmSync(far.dir, { recursive: true });
  });
});

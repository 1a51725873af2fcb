import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const heartbeatMs = 10_000;
const staleMs = 60_000;

interface LockOwner {
  token: string;
  pid: number;
  host: string;
}

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function lockIsStale(lockDir: string): Promise<boolean> {
  let owner: LockOwner;
  try {
    owner = JSON.parse(await fs.readFile(path.join(lockDir, 'owner.json'), 'utf8')) as LockOwner;
  } catch {
    // The owner writes owner.json right after mkdir; without it, only age tells.
    const stat = await fs.stat(lockDir).catch(() => undefined);
    return stat !== undefined && Date.now() - stat.mtimeMs > staleMs;
  }
  if (owner.host === os.hostname() && !processAlive(owner.pid)) return true;
  const stat = await fs.stat(lockDir).catch(() => undefined);
  return stat !== undefined && Date.now() - stat.mtimeMs > staleMs;
}

/**
 * Cross-process lock: a directory (mkdir is atomic) whose mtime the holder refreshes. A lock whose
 * holder died on this host, or whose heartbeat stopped, is broken. Breaking it wrongly must cost
 * only duplicate work: callers write to private folders and publish by an atomic rename.
 *
 * @example
 * await withDirLock(`${cacheDir}.lock`, console.log, () => install(cacheDir));
 */
export async function withDirLock<T>(lockDir: string, log: (line: string) => void, fn: () => Promise<T>): Promise<T> {
  const owner: LockOwner = { token: randomBytes(8).toString('hex'), pid: process.pid, host: os.hostname() };
  let announced = false;
  for (;;) {
    try {
      await fs.mkdir(lockDir);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    if (await lockIsStale(lockDir)) {
      log(`breaking stale lock ${lockDir}`);
      const aside = `${lockDir}.stale-${owner.token}`;
      await fs.rename(lockDir, aside).then(() => fs.rm(aside, { recursive: true, force: true }), () => undefined);
      continue;
    }
    if (!announced) {
      log(`waiting for another process to finish (${lockDir})`);
      announced = true;
    }
    // Polling the lock: the holder may be another process, which cannot signal us.
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  await fs.writeFile(path.join(lockDir, 'owner.json'), JSON.stringify(owner));
  const heartbeat = setInterval(() => {
    const now = new Date();
    fs.utimes(lockDir, now, now).catch(() => undefined);
  }, heartbeatMs);
  heartbeat.unref();
  try {
    return await fn();
  } finally {
    clearInterval(heartbeat);
    // Only release our own lock: if it was wrongly broken, it may belong to someone else by now.
    const current = await fs.readFile(path.join(lockDir, 'owner.json'), 'utf8').catch(() => '');
    if (current.includes(owner.token)) await fs.rm(lockDir, { recursive: true, force: true });
  }
}

import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * Who owns an embedded data directory, and where the owner shares it.
 *
 * - `<dir>.lock` (created exclusively) names the owner: `{pid, processStart, token}`. Only the
 *   owner opens PGlite; PGlite is single-process and two writers corrupt the folder.
 * - `<dir>.socket.json` (written atomically once the socket listens, removed on exit) tells
 *   other processes where to connect; its `token` must match the lock's, so a file left by a
 *   killed owner is never trusted.
 * - `<dir>-socket/.s.PGSQL.5432`: the unix socket, in a 0700 folder (pg and psql connect to
 *   `host=<that folder>`).
 *
 * A lock whose process is gone (or whose pid was reused by a later process) is stale and is
 * broken by the next process that wants the database.
 */
export interface EmbeddedPaths {
  readonly dataDir: string;
  readonly lockPath: string;
  readonly infoPath: string;
  readonly socketDir: string;
}

export function embeddedPaths(dataDir: string): EmbeddedPaths {
  return { dataDir, lockPath: `${dataDir}.lock`, infoPath: `${dataDir}.socket.json`, socketDir: `${dataDir}-socket` };
}

export interface LockRecord {
  readonly pid: number;
  /** Epoch ms when the owning process started: tells a live owner from a reused pid. */
  readonly processStart?: number;
  readonly token?: string;
}

/** Where the owner accepts connections (`<dataDir>.socket.json`). */
export interface SocketInfo {
  readonly pid: number;
  readonly token: string;
  /** What the owner runs, for messages (`rose serve`). */
  readonly command: string;
  /** The folder holding `.s.PGSQL.<port>`: pg's and psql's `host`. */
  readonly socketDir: string;
  readonly port: number;
  readonly startedAt: string;
  /** Set when the owner could not listen on a socket: why (others are refused at once). */
  readonly unshared?: string;
}

export type Ownership =
  | { readonly owned: true; readonly token: string; release(): void }
  | { readonly owned: false; readonly holder: LockRecord };

/** Protocol-wise every socket is "port 5432"; the number only names the socket file. */
export const SOCKET_PORT = 5432;

/** When this process started (the same in every thread of it). */
export const processStart = Math.round(Date.now() - process.uptime() * 1000);

/**
 * Takes the lock on `paths.dataDir` if nobody holds it (breaking a stale one), or names the
 * live holder — possibly another thread of this very process.
 */
export function tryTakeOwnership(paths: EmbeddedPaths): Ownership {
  fs.mkdirSync(path.dirname(paths.lockPath), { recursive: true });
  for (let attempt = 0; attempt < 5; attempt++) {
    const token = randomUUID();
    const record: LockRecord = { pid: process.pid, processStart, token };
    try {
      fs.writeFileSync(paths.lockPath, JSON.stringify(record), { flag: 'wx', mode: 0o600 });
      return { owned: true, token, release: () => removeIfOurs(paths.lockPath, token) };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = readLock(paths.lockPath);
    if (!holder) continue; // released between our attempt and the read
    if (!isStale(holder)) return { owned: false, holder };
    breakStaleLock(paths, holder);
  }
  throw new Error(`Could not take the lock ${paths.lockPath}: it changed hands five times in a row`);
}

export function readLock(lockPath: string): LockRecord | undefined {
  let text: string;
  try {
    text = fs.readFileSync(lockPath, 'utf8');
  } catch {
    return undefined;
  }
  try {
    const parsed = JSON.parse(text) as Partial<LockRecord>;
    if (typeof parsed.pid === 'number') return parsed as LockRecord;
  } catch {
    // a lock from before the socket: just the pid
  }
  const pid = Number.parseInt(text, 10);
  return Number.isInteger(pid) ? { pid } : { pid: -1 };
}

export function isStale(holder: LockRecord): boolean {
  if (holder.pid <= 0) return true;
  if (holder.pid === process.pid) {
    // Another thread of this process (the build reads its snapshot in a worker thread), or
    // a lock from an earlier process that had our pid (containers restart as pid 1).
    return holder.processStart === undefined || Math.abs(holder.processStart - processStart) > 2000;
  }
  return !isAlive(holder.pid);
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Moves the stale lock aside and checks it is the one judged stale; if a live process took
 * the lock in between, its lock is put back.
 */
function breakStaleLock(paths: EmbeddedPaths, stale: LockRecord): void {
  const aside = `${paths.lockPath}.stale-${process.pid}-${randomUUID().slice(0, 8)}`;
  try {
    fs.renameSync(paths.lockPath, aside);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  const moved = readLock(aside);
  if (moved && moved.pid === stale.pid && moved.token === stale.token) {
    const info = readSocketInfo(paths.infoPath);
    if (info && (info.token === stale.token || !isAlive(info.pid))) fs.rmSync(paths.infoPath, { force: true });
  } else {
    try {
      fs.linkSync(aside, paths.lockPath);
    } catch {
      // someone holds it again; theirs stands
    }
  }
  fs.rmSync(aside, { force: true });
}

export function readSocketInfo(infoPath: string): SocketInfo | undefined {
  try {
    const info = JSON.parse(fs.readFileSync(infoPath, 'utf8')) as SocketInfo;
    return typeof info.pid === 'number' && typeof info.socketDir === 'string' ? info : undefined;
  } catch {
    return undefined;
  }
}

/** Written to a temporary name and renamed, so a reader sees the whole file or none. */
export function writeSocketInfo(infoPath: string, info: SocketInfo): void {
  const tmp = `${infoPath}.${process.pid}-${randomUUID().slice(0, 8)}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify(info, null, 2)}\n`, { mode: 0o600 });
  fs.renameSync(tmp, infoPath);
}

/** Removes a lock or socket file only while it still carries our token. */
export function removeIfOurs(file: string, token: string): void {
  try {
    if (fs.readFileSync(file, 'utf8').includes(token)) fs.unlinkSync(file);
  } catch {
    // already gone
  }
}

// Unix socket paths are limited to 104 bytes (macOS) / 108 (Linux), the final NUL included.
const MAX_SOCKET_PATH = 103;

/**
 * A private (0700) folder for the socket: `<dataDir>-socket`, or a fresh folder under the
 * system temp dir when that path would be too long for a unix socket.
 */
export function prepareSocketDir(paths: EmbeddedPaths): { dir: string; temporary: boolean } {
  if (Buffer.byteLength(socketFile(paths.socketDir)) <= MAX_SOCKET_PATH) {
    const existing = fs.lstatSync(paths.socketDir, { throwIfNoEntry: false });
    if (existing && !existing.isDirectory()) throw new Error(`${paths.socketDir} exists and is not a folder (move it away)`);
    fs.mkdirSync(paths.socketDir, { recursive: true, mode: 0o700 });
    fs.chmodSync(paths.socketDir, 0o700);
    return { dir: paths.socketDir, temporary: false };
  }
  return { dir: fs.mkdtempSync(path.join(os.tmpdir(), 'rose-pglite-')), temporary: true };
}

export function socketFile(socketDir: string): string {
  return path.join(socketDir, `.s.PGSQL.${SOCKET_PORT}`);
}

/** `rose serve` for the CLI; the script name otherwise. Shown to other processes. */
export function describeThisCommand(): string {
  const script = path.basename(process.argv[1] ?? 'node');
  if (!/^rose(\.js)?$/.test(script)) return script;
  const words: string[] = [];
  for (const arg of process.argv.slice(2)) {
    if (arg.startsWith('-') || words.length === 3) break;
    words.push(arg);
  }
  return ['rose', ...words].join(' ');
}

/**
 * The live process, other than this one, that holds the embedded database in `dataDir` and
 * shares it (`rose serve`, `rose dev`, …), read from its lock and socket files without
 * opening anything; undefined when nobody else does.
 */
export function embeddedOwner(dataDir: string): { pid: number; command: string } | undefined {
  const paths = embeddedPaths(dataDir);
  const holder = readLock(paths.lockPath);
  if (!holder || holder.pid === process.pid || isStale(holder)) return undefined;
  const info = readSocketInfo(paths.infoPath);
  if (!info || info.pid !== holder.pid || info.unshared) return undefined;
  return { pid: holder.pid, command: info.command };
}

import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSshd, type Sshd } from './sshd.ts';

// The real sshd the deploy tests use, and the rsync/ssh commands an ssh deploy is built from:
// upload a release hard-linked to the previous one, then switch `current` atomically.

function run(command: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(command, args, { timeout: 30_000, encoding: 'utf8' }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr });
    });
  });
}

/** Single-quotes a word for the far side's shell. */
const q = (word: string) => `'${word.replace(/'/g, `'\\''`)}'`;

/** Atomic switch of `<root>/current` to `releases/<id>`: a new symlink under a temp name renamed over the old one. */
const switchCommand = (root: string, id: string) =>
  `cd ${q(root)} && test -d ${q(`releases/${id}`)} && ln -sfn ${q(`releases/${id}`)} ${q(`current.tmp-${id}`)} && mv -T ${q(`current.tmp-${id}`)} current`;

const filesTransferred = (stats: string) => Number(/Number of regular files transferred: ([\d,]+)/.exec(stats)?.[1]?.replace(/,/g, '') ?? NaN);

async function writeTree(dir: string, files: Record<string, string>, mtime: Date): Promise<void> {
  for (const [name, text] of Object.entries(files)) {
    const file = path.join(dir, name);
    await fs.mkdir(path.dirname(file), { recursive: true });
    await fs.writeFile(file, text);
    await fs.utimes(file, mtime, mtime);
  }
}

describe('startSshd: a real OpenSSH server on loopback', () => {
  let sshd: Sshd;
  let local: string;
  const ssh = (command: string) => run('ssh', [...sshd.sshArgs, sshd.destination, command]);
  const upload = (id: string, extra: string[]) =>
    run('rsync', ['-a', '--stats', ...extra, '-e', sshd.sshCommand, `${local}/releases/${id}/`, `${sshd.destination}:${sshd.root}/releases/${id}/`]);
  const inode = async (id: string, name: string) => {
    const s = await fs.stat(path.join(sshd.root, 'releases', id, name));
    return { ino: s.ino, nlink: s.nlink };
  };

  beforeAll(async () => {
    sshd = await startSshd();
    local = await fs.mkdtemp(path.join(os.tmpdir(), 'rose-sshd-test-'));
  });
  afterAll(async () => {
    await sshd?.stop();
    if (local) await fs.rm(local, { recursive: true, force: true });
  });

  it('runs a command over ssh with the throwaway key and a pinned host key', async () => {
    const result = await ssh('echo ok');
    expect(result, sshd.output()).toMatchObject({ code: 0, stdout: 'ok\n' });
    expect(sshd.sshCommand).toContain('StrictHostKeyChecking=yes');
    expect(await fs.readFile(sshd.knownHostsFile, 'utf8')).toMatch(new RegExp(`^\\[127\\.0\\.0\\.1\\]:${sshd.port} ssh-ed25519 \\S+\\n$`));
  });

  it('refuses a key it was not given, and the client refuses a host key it was not given', async () => {
    const other = path.join(local, 'other_ed25519');
    expect((await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', other])).code).toBe(0);
    const wrongKey = sshd.sshArgs.map((arg) => (arg === sshd.identityFile ? other : arg));
    const refused = await run('ssh', [...wrongKey, sshd.destination, 'echo ok']);
    expect(refused.code).toBe(255);
    expect(refused.stderr).toContain('Permission denied (publickey)');

    const strangeHost = path.join(local, 'known_hosts');
    await fs.writeFile(strangeHost, `[127.0.0.1]:${sshd.port} ${(await fs.readFile(`${other}.pub`, 'utf8')).split(' ').slice(0, 2).join(' ')}\n`);
    const wrongHost = sshd.sshArgs.map((arg) => (arg === `UserKnownHostsFile=${sshd.knownHostsFile}` ? `UserKnownHostsFile=${strangeHost}` : arg));
    const unverified = await run('ssh', [...wrongHost, sshd.destination, 'echo ok']);
    expect(unverified.code).toBe(255);
    expect(unverified.stderr).toContain('Host key verification failed');
  });

  it('uploads releases with rsync, hard-linking unchanged files to the previous release instead of sending them', async () => {
    const built = new Date('2026-01-01T00:00:00Z');
    await writeTree(path.join(local, 'releases', 'r1'), { 'index.html': 'home v1', 'blog/a.html': 'post a', 'blog/b.html': 'post b', 'release.txt': 'r1' }, built);
    expect((await ssh(`mkdir -p ${q(`${sshd.root}/releases`)}`)).code).toBe(0);
    const first = await upload('r1', []);
    expect(first, first.stderr).toMatchObject({ code: 0 });
    expect(filesTransferred(first.stdout)).toBe(4);
    expect(await fs.readFile(path.join(sshd.root, 'releases', 'r1', 'blog', 'a.html'), 'utf8')).toBe('post a');

    // r2: r1 with unchanged files keeping their mtimes (copied), one post changed, one added.
    await fs.cp(path.join(local, 'releases', 'r1'), path.join(local, 'releases', 'r2'), { recursive: true, preserveTimestamps: true });
    await writeTree(path.join(local, 'releases', 'r2'), { 'blog/b.html': 'post b, edited', 'blog/c.html': 'post c', 'release.txt': 'r2' }, new Date());
    // The previous release named relative to the destination folder: the far side's layout, not ours.
    const second = await upload('r2', ['--link-dest=../r1']);
    expect(second, second.stderr).toMatchObject({ code: 0 });
    expect(filesTransferred(second.stdout)).toBe(3);
    expect(await inode('r2', 'blog/a.html')).toEqual({ ...(await inode('r1', 'blog/a.html')), nlink: 2 });
    expect(await inode('r2', 'index.html')).toEqual({ ...(await inode('r1', 'index.html')), nlink: 2 });
    expect((await inode('r2', 'blog/b.html')).nlink).toBe(1);
    expect(await fs.readFile(path.join(sshd.root, 'releases', 'r2', 'blog', 'b.html'), 'utf8')).toBe('post b, edited');

    // r3: built again from scratch, so every file has a new mtime; only index.html changed. With
    // --checksum and without --times, rsync compares contents and still hard-links the rest.
    const rebuilt = new Date('2026-02-01T00:00:00Z');
    await writeTree(path.join(local, 'releases', 'r3'), { 'index.html': 'home v3', 'blog/a.html': 'post a', 'blog/b.html': 'post b, edited', 'blog/c.html': 'post c', 'release.txt': 'r3' }, rebuilt);
    const third = await upload('r3', ['--no-times', '--checksum', '--link-dest=../r2']);
    expect(third, third.stderr).toMatchObject({ code: 0 });
    expect(filesTransferred(third.stdout)).toBe(2);
    expect(await inode('r3', 'blog/a.html')).toEqual({ ...(await inode('r1', 'blog/a.html')), nlink: 3 });
    expect(await inode('r3', 'blog/c.html')).toEqual({ ...(await inode('r2', 'blog/c.html')), nlink: 2 });
    expect((await inode('r3', 'index.html')).nlink).toBe(1);
  });

  it('switches current to a new release atomically: a reader never finds it missing', async () => {
    const current = path.join(sshd.root, 'current');
    expect((await ssh(switchCommand(sshd.root, 'r2'))).code).toBe(0);
    expect(await fs.readlink(current)).toBe('releases/r2');

    // A reader in a thread, reading through `current` as a static file server does, counting what it finds.
    const counts = new Int32Array(new SharedArrayBuffer(4 * 4)); // [stop, r2 seen, r3 seen, failed reads]
    const reader = new Worker(
      `const { workerData: { file, counts } } = require('node:worker_threads');
       const fs = require('node:fs');
       while (Atomics.load(counts, 0) === 0) {
         try {
           const id = fs.readFileSync(file, 'utf8');
           Atomics.add(counts, id === 'r2' ? 1 : id === 'r3' ? 2 : 3, 1);
         } catch { Atomics.add(counts, 3, 1); }
       }`,
      { eval: true, workerData: { file: path.join(current, 'release.txt'), counts } },
    );
    try {
      const deadline = Date.now() + 30_000;
      while (Atomics.load(counts, 1) === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
      // Switch back and forth until the reader has seen the new release, ending on it.
      const flips = Array.from({ length: 20 }, () => `${switchCommand(sshd.root, 'r3')} && ${switchCommand(sshd.root, 'r2')}`).join(' && ');
      while (Atomics.load(counts, 2) === 0 && Date.now() < deadline) {
        const result = await ssh(flips);
        expect(result, result.stderr).toMatchObject({ code: 0 });
      }
      expect((await ssh(switchCommand(sshd.root, 'r3'))).code).toBe(0);
    } finally {
      Atomics.store(counts, 0, 1);
      await new Promise((resolve) => reader.once('exit', resolve));
    }
    expect(Atomics.load(counts, 1)).toBeGreaterThan(0);
    expect(Atomics.load(counts, 2)).toBeGreaterThan(0);
    expect(Atomics.load(counts, 3)).toBe(0);
    expect(await fs.readlink(current)).toBe('releases/r3');
    expect(await fs.readFile(path.join(current, 'index.html'), 'utf8')).toBe('home v3');
    expect((await fs.readdir(sshd.root)).sort()).toEqual(['current', 'releases']);
  });

  it('stop() ends sshd and removes its folder', async () => {
    const other = await startSshd();
    const pid = Number((await fs.readFile(path.join(path.dirname(other.identityFile), 'sshd.pid'), 'utf8')).trim());
    expect(pid).toBeGreaterThan(0);
    await other.stop();
    await expect(fs.access(path.dirname(other.identityFile))).rejects.toThrow();
    expect(() => process.kill(pid, 0)).toThrow();
    const connect = await new Promise<string>((resolve) => {
      const socket = net.connect(other.port, other.host, () => (socket.destroy(), resolve('connected')));
      socket.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    });
    expect(connect).toBe('ECONNREFUSED');
  });
});
